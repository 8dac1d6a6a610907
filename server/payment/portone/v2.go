package portone

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultV2BaseURL is the production V2 API.
const DefaultV2BaseURL = "https://api.portone.io"

// V2Config configures a V2 client.
type V2Config struct {
	BaseURL   string // default DefaultV2BaseURL
	APISecret string
	StoreID   string // sent as storeId when set (needed for sub-stores)
	HTTP      *http.Client
}

// V2 is a V2 API client. It is safe for concurrent use.
type V2 struct {
	base    string
	secret  string
	storeID string
	hc      *http.Client
}

// NewV2 returns a V2 client.
func NewV2(cfg V2Config) *V2 {
	c := &V2{base: strings.TrimRight(cfg.BaseURL, "/"), secret: cfg.APISecret, storeID: cfg.StoreID, hc: cfg.HTTP}
	if c.base == "" {
		c.base = DefaultV2BaseURL
	}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 15 * time.Second}
	}
	return c
}

// V2 payment statuses.
const (
	V2StatusReady                = "READY"
	V2StatusPayPending           = "PAY_PENDING"
	V2StatusVirtualAccountIssued = "VIRTUAL_ACCOUNT_ISSUED"
	V2StatusPaid                 = "PAID"
	V2StatusFailed               = "FAILED"
	V2StatusPartialCancelled     = "PARTIAL_CANCELLED"
	V2StatusCancelled            = "CANCELLED"
)

// V2Amount is the money of a V2 payment.
type V2Amount struct {
	Total     int64 `json:"total"`
	TaxFree   int64 `json:"taxFree"`
	Paid      int64 `json:"paid"`
	Cancelled int64 `json:"cancelled"`
}

// V2Payment is a payment as GET /payments/{paymentId} describes it.
type V2Payment struct {
	Status        string     `json:"status"`
	ID            string     `json:"id"` // the merchant's paymentId
	TransactionID string     `json:"transactionId"`
	StoreID       string     `json:"storeId"`
	OrderName     string     `json:"orderName"`
	Currency      string     `json:"currency"`
	Amount        V2Amount   `json:"amount"`
	PaidAt        *time.Time `json:"paidAt,omitempty"`
	CancelledAt   *time.Time `json:"cancelledAt,omitempty"`
	FailedAt      *time.Time `json:"failedAt,omitempty"`
}

// V2Cancel is the body of POST /payments/{paymentId}/cancel.
type V2Cancel struct {
	StoreID string `json:"storeId,omitempty"`
	Reason  string `json:"reason"`
	Amount  *int64 `json:"amount,omitempty"` // nil: the whole balance
	// CurrentCancellableAmount makes PortOne refuse (409) a cancel computed
	// from a stale balance.
	CurrentCancellableAmount *int64 `json:"currentCancellableAmount,omitempty"`
}

// V2Cancellation is what a cancel answers.
type V2Cancellation struct {
	Status      string `json:"status"`
	ID          string `json:"id"`
	TotalAmount int64  `json:"totalAmount"`
}

type v2Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Payment fetches one payment by the merchant's paymentId.
func (c *V2) Payment(ctx context.Context, paymentID string) (V2Payment, error) {
	var p V2Payment
	path := "/payments/" + url.PathEscape(paymentID)
	if c.storeID != "" {
		path += "?storeId=" + url.QueryEscape(c.storeID)
	}
	err := c.do(ctx, http.MethodGet, path, nil, &p)
	return p, err
}

// Cancel cancels (refunds) a payment.
func (c *V2) Cancel(ctx context.Context, paymentID string, req V2Cancel) (V2Cancellation, error) {
	if req.StoreID == "" {
		req.StoreID = c.storeID
	}
	var out struct {
		Cancellation V2Cancellation `json:"cancellation"`
	}
	err := c.do(ctx, http.MethodPost, "/payments/"+url.PathEscape(paymentID)+"/cancel", req, &out)
	return out.Cancellation, err
}

func (c *V2) do(ctx context.Context, method, path string, body, out any) error {
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
	req.Header.Set("Authorization", "PortOne "+c.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
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
	if resp.StatusCode != http.StatusOK {
		var e v2Error
		if json.Unmarshal(raw, &e) != nil || e.Type == "" {
			e.Message = "non-JSON answer: " + snippet(raw)
		}
		return &APIError{Op: op, Status: resp.StatusCode, Type: e.Type, Msg: e.Message}
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &APIError{Op: op, Status: http.StatusBadGateway, Msg: "undecodable answer: " + err.Error()}
	}
	return nil
}
