package portone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DefaultV1BaseURL is the production V1 API.
const DefaultV1BaseURL = "https://api.iamport.kr"

// maxResponse bounds what is read from PortOne.
const maxResponse = 1 << 20

// tokenMargin: a cached token is renewed this long before PortOne says it
// expires, so a request never leaves with a token about to die in flight.
const tokenMargin = 60 * time.Second

// V1Config configures a V1 client.
type V1Config struct {
	BaseURL   string // default DefaultV1BaseURL
	ImpKey    string // REST API key
	ImpSecret string // REST API secret
	HTTP      *http.Client
	Now       func() time.Time // default time.Now
}

// V1 is a V1 (IAMPORT) API client. It is safe for concurrent use.
type V1 struct {
	base   string
	key    string
	secret string
	hc     *http.Client
	now    func() time.Time

	mu      sync.Mutex // held while a token is fetched, so callers share one
	token   string
	expires time.Time // local clock
}

// NewV1 returns a V1 client.
func NewV1(cfg V1Config) *V1 {
	c := &V1{base: strings.TrimRight(cfg.BaseURL, "/"), key: cfg.ImpKey, secret: cfg.ImpSecret, hc: cfg.HTTP, now: cfg.Now}
	if c.base == "" {
		c.base = DefaultV1BaseURL
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 15 * time.Second}
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// V1Payment is a payment as GET /payments/{imp_uid} describes it. Times are
// unix seconds (0: not happened).
type V1Payment struct {
	ImpUID       string `json:"imp_uid"`
	MerchantUID  string `json:"merchant_uid"`
	PayMethod    string `json:"pay_method"`
	Amount       int64  `json:"amount"`
	CancelAmount int64  `json:"cancel_amount"`
	Currency     string `json:"currency"`
	Status       string `json:"status"` // ready | paid | cancelled | failed
	Name         string `json:"name"`
	PaidAt       int64  `json:"paid_at"`
	FailedAt     int64  `json:"failed_at"`
	CancelledAt  int64  `json:"cancelled_at"`
	FailReason   string `json:"fail_reason"`
	PGProvider   string `json:"pg_provider"`
	ReceiptURL   string `json:"receipt_url"`
}

// V1 payment statuses.
const (
	V1StatusReady     = "ready"
	V1StatusPaid      = "paid"
	V1StatusCancelled = "cancelled"
	V1StatusFailed    = "failed"
)

// V1Cancel is the body of POST /payments/cancel.
type V1Cancel struct {
	ImpUID      string `json:"imp_uid,omitempty"`
	MerchantUID string `json:"merchant_uid,omitempty"`
	Amount      int64  `json:"amount,omitempty"` // 0: the whole balance
	// Checksum is the cancellable balance before this cancel; PortOne refuses
	// the cancel when it disagrees, so a duplicate cancel cannot go through.
	Checksum int64  `json:"checksum"`
	Reason   string `json:"reason,omitempty"`
}

type v1Envelope struct {
	Code     int             `json:"code"`
	Message  string          `json:"message"`
	Response json.RawMessage `json:"response"`
}

type v1Token struct {
	AccessToken string `json:"access_token"`
	ExpiredAt   int64  `json:"expired_at"`
	Now         int64  `json:"now"`
}

// Payment fetches one payment.
func (c *V1) Payment(ctx context.Context, impUID string) (V1Payment, error) {
	var p V1Payment
	err := c.authed(ctx, http.MethodGet, "/payments/"+url.PathEscape(impUID), nil, &p)
	return p, err
}

// Prepare pre-registers the amount of merchantUID: the payment window then
// refuses any other amount.
func (c *V1) Prepare(ctx context.Context, merchantUID string, amount int64) error {
	body := map[string]any{"merchant_uid": merchantUID, "amount": amount}
	return c.authed(ctx, http.MethodPost, "/payments/prepare", body, nil)
}

// Cancel cancels (refunds) a payment and returns it as it is afterwards.
func (c *V1) Cancel(ctx context.Context, req V1Cancel) (V1Payment, error) {
	var p V1Payment
	err := c.authed(ctx, http.MethodPost, "/payments/cancel", req, &p)
	return p, err
}

// authed calls an endpoint with the cached token; a 401 drops the token and
// the call is tried once more with a fresh one (PortOne may revoke early).
func (c *V1) authed(ctx context.Context, method, path string, body, out any) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		err = c.do(ctx, method, path, tok, body, out)
		if attempt == 0 && errors.Is(err, ErrUnauthorized) {
			c.dropToken(tok)
			continue
		}
		return err
	}
}

func (c *V1) dropToken(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// accessToken returns the cached token or fetches a new one.
func (c *V1) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.now().Before(c.expires) {
		return c.token, nil
	}
	var t v1Token
	body := map[string]string{"imp_key": c.key, "imp_secret": c.secret}
	if err := c.do(ctx, http.MethodPost, "/users/getToken", "", body, &t); err != nil {
		return "", fmt.Errorf("getting access token: %w", err)
	}
	if t.AccessToken == "" {
		return "", fmt.Errorf("getting access token: %w", &APIError{Op: "POST /users/getToken", Status: http.StatusBadGateway, Msg: "empty access_token"})
	}
	// PortOne's clock may differ from ours: keep the lifetime it grants, not
	// its absolute expiry.
	secs := t.ExpiredAt - t.Now // checked in seconds: a Duration of a huge value overflows
	life := 30 * time.Minute
	if t.Now != 0 && secs > 0 && secs <= 3600 {
		life = time.Duration(secs) * time.Second
	}
	c.token, c.expires = t.AccessToken, c.now().Add(life-min(tokenMargin, life/2))
	return c.token, nil
}

// do performs one call and unwraps the {code, message, response} envelope.
func (c *V1) do(ctx context.Context, method, path, token string, body, out any) error {
	op := method + " " + path
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("portone %s: encoding: %w", op, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("portone %s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("portone %s: %w: %w", op, ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("portone %s: reading: %w: %w", op, ErrUnavailable, err)
	}
	var env v1Envelope
	jerr := json.Unmarshal(raw, &env)
	if resp.StatusCode != http.StatusOK || jerr != nil || env.Code != 0 {
		e := &APIError{Op: op, Status: resp.StatusCode, Code: env.Code, Msg: env.Message}
		if jerr != nil {
			e.Msg = "non-JSON answer: " + snippet(raw)
			if resp.StatusCode == http.StatusOK {
				e.Status = http.StatusBadGateway // a 200 we cannot read is the gateway's fault
			}
		}
		return e
	}
	if out == nil {
		return nil
	}
	if len(env.Response) == 0 || string(env.Response) == "null" {
		return &APIError{Op: op, Status: http.StatusNotFound, Msg: "empty response"}
	}
	if err := json.Unmarshal(env.Response, out); err != nil {
		return fmt.Errorf("portone %s: decoding response: %w", op, err)
	}
	return nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
