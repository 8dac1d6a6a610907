package portone

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Standard Webhooks headers carried by V2 webhooks.
const (
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// WebhookTolerance is how far a webhook's timestamp may be from our clock.
const WebhookTolerance = 5 * time.Minute

// Webhook verification errors.
var (
	ErrWebhookHeaders   = errors.New("portone webhook: missing or malformed webhook headers")
	ErrWebhookTimestamp = errors.New("portone webhook: timestamp outside the tolerance")
	ErrWebhookSignature = errors.New("portone webhook: no valid signature")
	ErrWebhookBody      = errors.New("portone webhook: malformed body")
)

// Verifier checks Standard Webhooks signatures against one or more secrets
// (two are active while a secret is rotated).
type Verifier struct {
	keys [][]byte
	now  func() time.Time
}

// NewVerifier decodes the whsec_ secrets. now defaults to time.Now.
func NewVerifier(secrets []string, now func() time.Time) (*Verifier, error) {
	if now == nil {
		now = time.Now
	}
	v := &Verifier{now: now}
	for i, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "whsec_"))
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("webhook secret #%d is not whsec_<base64>", i+1)
		}
		v.keys = append(v.keys, key)
	}
	if len(v.keys) == 0 {
		return nil, errors.New("no webhook secret configured")
	}
	return v, nil
}

// Verify checks the headers and signature of a webhook and returns its
// webhook-id. The body must be the raw bytes received.
func (v *Verifier) Verify(h http.Header, body []byte) (string, error) {
	id, tsText, sigs := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || len(id) > 256 || tsText == "" || sigs == "" {
		return "", ErrWebhookHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return "", ErrWebhookHeaders
	}
	now := v.now().Unix()
	tol := int64(WebhookTolerance / time.Second)
	if ts < now-tol || ts > now+tol {
		return "", fmt.Errorf("%w: %d vs now %d", ErrWebhookTimestamp, ts, now)
	}
	signed := make([]byte, 0, len(id)+len(tsText)+len(body)+2)
	signed = append(append(append(append(append(signed, id...), '.'), tsText...), '.'), body...)
	for _, key := range v.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(signed)
		want := mac.Sum(nil)
		for _, s := range strings.Fields(sigs) {
			version, b64, ok := strings.Cut(s, ",")
			if !ok || version != "v1" {
				continue
			}
			got, err := base64.StdEncoding.Strict().DecodeString(b64) // one spelling per MAC: non-zero padding bits are refused
			if err == nil && hmac.Equal(got, want) {
				return id, nil
			}
		}
	}
	return "", ErrWebhookSignature
}

// Bounds of identifiers accepted from webhooks (merchant_uid is at most 40
// characters at PortOne; the others are generous).
const (
	maxMerchantUID = 40
	maxGatewayID   = 128
)

// V1Webhook is the body of a V1 notification.
type V1Webhook struct {
	ImpUID         string `json:"imp_uid"`
	MerchantUID    string `json:"merchant_uid"`
	Status         string `json:"status"`
	CancellationID string `json:"cancellation_id,omitempty"`
}

// DecodeV1Webhook decodes a V1 notification, sent as JSON or as a form.
func DecodeV1Webhook(contentType string, body []byte) (V1Webhook, error) {
	var w V1Webhook
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" {
		q, err := url.ParseQuery(string(body))
		if err != nil {
			return V1Webhook{}, fmt.Errorf("%w: %v", ErrWebhookBody, err)
		}
		w = V1Webhook{ImpUID: q.Get("imp_uid"), MerchantUID: q.Get("merchant_uid"), Status: q.Get("status"), CancellationID: q.Get("cancellation_id")}
	} else if err := json.Unmarshal(body, &w); err != nil {
		return V1Webhook{}, fmt.Errorf("%w: %v", ErrWebhookBody, err)
	}
	if !validID(w.ImpUID, maxGatewayID) || !validID(w.MerchantUID, maxMerchantUID) {
		return V1Webhook{}, fmt.Errorf("%w: imp_uid and merchant_uid are required identifiers", ErrWebhookBody)
	}
	if len(w.Status) > 32 || len(w.CancellationID) > maxGatewayID {
		return V1Webhook{}, fmt.Errorf("%w: field too long", ErrWebhookBody)
	}
	// A form body may carry any bytes; JSON would have replaced them.
	if !utf8.ValidString(w.Status) || !utf8.ValidString(w.CancellationID) {
		return V1Webhook{}, fmt.Errorf("%w: fields must be UTF-8 text", ErrWebhookBody)
	}
	return w, nil
}

// V2 webhook types that concern a payment (others are ignored).
const (
	V2EventPrefix = "Transaction."
)

// V2Webhook is the body of a V2 webhook.
type V2Webhook struct {
	Type      string        `json:"type"`
	Timestamp string        `json:"timestamp"`
	Data      V2WebhookData `json:"data"`
}

// V2WebhookData identifies the payment a V2 webhook is about.
type V2WebhookData struct {
	StoreID        string `json:"storeId,omitempty"`
	PaymentID      string `json:"paymentId,omitempty"`
	TransactionID  string `json:"transactionId,omitempty"`
	CancellationID string `json:"cancellationId,omitempty"`
	BillingKey     string `json:"billingKey,omitempty"`
}

// IsTransaction reports whether the webhook is about a payment.
func (w V2Webhook) IsTransaction() bool { return strings.HasPrefix(w.Type, V2EventPrefix) }

// DecodeV2Webhook decodes a V2 webhook body. A payment event must name its
// paymentId; other event types only need a type (callers ignore them).
func DecodeV2Webhook(body []byte) (V2Webhook, error) {
	var w V2Webhook
	if err := json.Unmarshal(body, &w); err != nil {
		return V2Webhook{}, fmt.Errorf("%w: %v", ErrWebhookBody, err)
	}
	if w.Type == "" || len(w.Type) > 64 {
		return V2Webhook{}, fmt.Errorf("%w: type is required", ErrWebhookBody)
	}
	if w.IsTransaction() && !validID(w.Data.PaymentID, maxGatewayID) {
		return V2Webhook{}, fmt.Errorf("%w: data.paymentId is required for %s", ErrWebhookBody, w.Type)
	}
	for _, s := range []string{w.Timestamp, w.Data.StoreID, w.Data.TransactionID, w.Data.CancellationID, w.Data.BillingKey} {
		if len(s) > maxGatewayID {
			return V2Webhook{}, fmt.Errorf("%w: field too long", ErrWebhookBody)
		}
	}
	return w, nil
}

// validID accepts printable ASCII without spaces or slashes, 1..max bytes:
// gateway identifiers end up in URL paths and logs.
func validID(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == '\\' || c == '?' || c == '#' || c == '%' {
			return false
		}
	}
	return true
}
