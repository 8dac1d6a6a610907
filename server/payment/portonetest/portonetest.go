// Package portonetest is a fake PortOne gateway for tests: two loopback
// httptest servers implementing the documented V1 (IAMPORT) and V2 endpoints
// the server uses, a payment window simulation (pay, fail, refund), switches
// for outages and token revocation, and Standard Webhooks signing done the
// way PortOne does it, written independently of the code under test.
package portonetest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Credentials the fake accepts.
const (
	ImpKey    = "test_imp_key"
	ImpSecret = "test_imp_secret"
	V2Secret  = "test_v2_api_secret"
)

// Payment is the fake's record of one payment (V1 and V2 share it).
type Payment struct {
	ImpUID       string // V1 id (also set for V2 payments, unused there)
	MerchantUID  string // V2 paymentId
	Amount       int64
	CancelAmount int64
	Currency     string
	Status       string // ready | paid | failed | cancelled (V1 spelling)
	PaidAt       time.Time
	CancelledAt  time.Time
	V2           bool
}

// CancelCall records one cancel request the fake received.
type CancelCall struct {
	V2          bool
	ID          string // imp_uid (V1) or paymentId (V2)
	Checksum    int64  // V1 checksum or V2 currentCancellableAmount (-1: absent)
	Accepted    bool
	Reason      string
	CancelledAt time.Time
}

// Server is the fake gateway.
type Server struct {
	V1URL string
	V2URL string

	// TokenTTL is the lifetime of V1 tokens (default 30 min).
	TokenTTL time.Duration

	down        atomic.Bool
	cancelsDown atomic.Bool
	seq         atomic.Int64
	tokenReqs   atomic.Int64

	mu       sync.Mutex
	now      func() time.Time
	tokens   map[string]time.Time // token -> expiry
	current  string               // the live token, reissued until it expires
	payments map[string]*Payment  // by imp_uid
	byMUID   map[string]*Payment  // by merchant_uid / paymentId (latest)
	prepared map[string]int64
	cancels  []CancelCall
	fetches  int
}

// New starts the fake on loopback; it stops when the test ends. now is the
// fake's clock (default time.Now).
func New(tb testing.TB, now func() time.Time) *Server {
	tb.Helper()
	if now == nil {
		now = time.Now
	}
	s := &Server{
		TokenTTL: 30 * time.Minute,
		now:      now,
		tokens:   map[string]time.Time{},
		payments: map[string]*Payment{},
		byMUID:   map[string]*Payment{},
		prepared: map[string]int64{},
	}
	v1 := http.NewServeMux()
	v1.HandleFunc("POST /users/getToken", s.v1Token)
	v1.HandleFunc("GET /payments/{imp_uid}", s.v1Payment)
	v1.HandleFunc("POST /payments/prepare", s.v1Prepare)
	v1.HandleFunc("GET /payments/prepare/{merchant_uid}", s.v1Prepared)
	v1.HandleFunc("POST /payments/cancel", s.v1Cancel)
	v2 := http.NewServeMux()
	v2.HandleFunc("GET /payments/{id}", s.v2Payment)
	v2.HandleFunc("POST /payments/{id}/cancel", s.v2Cancel)
	s.sdkHandlers(v1, v2)
	ts1 := httptest.NewServer(s.gate(v1))
	ts2 := httptest.NewServer(s.gate(v2))
	tb.Cleanup(ts1.Close)
	tb.Cleanup(ts2.Close)
	s.V1URL, s.V2URL = ts1.URL, ts2.URL
	return s
}

// SetDown makes every endpoint answer 503 with an HTML page, like a load
// balancer in front of a dead gateway.
func (s *Server) SetDown(down bool) { s.down.Store(down) }

// SetCancelsDown makes only the cancel endpoints answer 503.
func (s *Server) SetCancelsDown(down bool) { s.cancelsDown.Store(down) }

func (s *Server) gate(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.down.Load() || (s.cancelsDown.Load() && strings.HasSuffix(r.URL.Path, "/cancel")) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, "<html><body>503 Service Temporarily Unavailable</body></html>")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// RevokeTokens invalidates every V1 token at once (PortOne may do so before
// expiry); the next call with an old token gets 401.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens, s.current = map[string]time.Time{}, ""
}

// TokenRequests counts POST /users/getToken calls.
func (s *Server) TokenRequests() int64 { return s.tokenReqs.Load() }

// Fetches counts payment look-ups (V1 and V2).
func (s *Server) Fetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches
}

// Cancels returns the cancel requests received so far.
func (s *Server) Cancels() []CancelCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]CancelCall(nil), s.cancels...)
}

// Prepared returns the pre-registered amount of merchantUID.
func (s *Server) Prepared(merchantUID string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.prepared[merchantUID]
	return a, ok
}

// Payment returns a copy of the payment with that imp_uid.
func (s *Server) Payment(impUID string) (Payment, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[impUID]
	if !ok {
		return Payment{}, false
	}
	return *p, true
}

// PayV1 is the buyer paying merchantUID in the V1 window. Like PortOne it
// refuses an amount other than the prepared one (error); it returns imp_uid.
func (s *Server) PayV1(merchantUID string, amount int64) (string, error) {
	s.mu.Lock()
	want, ok := s.prepared[merchantUID]
	s.mu.Unlock()
	if ok && want != amount {
		return "", fmt.Errorf("fake portone: amount %d differs from the prepared %d", amount, want)
	}
	return s.add(merchantUID, amount, "paid", false), nil
}

// ForgeV1 records a paid V1 payment with any amount, as if the window had
// been tampered with where no amount was prepared.
func (s *Server) ForgeV1(merchantUID string, amount int64) string {
	return s.add(merchantUID, amount, "paid", false)
}

// FailV1 records a failed V1 payment attempt.
func (s *Server) FailV1(merchantUID string, amount int64) string {
	return s.add(merchantUID, amount, "failed", false)
}

// PayV2 records a paid V2 payment whose paymentId is paymentID.
func (s *Server) PayV2(paymentID string, amount int64) {
	s.add(paymentID, amount, "paid", true)
}

// FailV2 records a failed V2 payment.
func (s *Server) FailV2(paymentID string, amount int64) {
	s.add(paymentID, amount, "failed", true)
}

// Refund cancels the whole balance of a payment (V1 imp_uid or V2
// paymentId) from the merchant's admin console.
func (s *Server) Refund(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[id]
	if p == nil {
		p = s.byMUID[id]
	}
	if p == nil || p.Status != "paid" {
		return fmt.Errorf("fake portone: no paid payment %q", id)
	}
	p.CancelAmount, p.Status, p.CancelledAt = p.Amount, "cancelled", s.now()
	return nil
}

func (s *Server) add(muid string, amount int64, status string, v2 bool) string {
	imp := fmt.Sprintf("imp_%012d", s.seq.Add(1))
	p := &Payment{ImpUID: imp, MerchantUID: muid, Amount: amount, Currency: "KRW", Status: status, V2: v2}
	if status == "paid" {
		p.PaidAt = s.now()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.payments[imp] = p
	s.byMUID[muid] = p
	return imp
}

// ---- V1 ----

func v1JSON(w http.ResponseWriter, status, code int, msg string, resp any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "response": resp})
}

func (s *Server) v1Token(w http.ResponseWriter, r *http.Request) {
	s.tokenReqs.Add(1)
	var in struct {
		ImpKey    string `json:"imp_key"`
		ImpSecret string `json:"imp_secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.ImpKey != ImpKey || in.ImpSecret != ImpSecret {
		v1JSON(w, http.StatusUnauthorized, -1, "imp_key, imp_secret 파라메터가 누락되었거나 올바르지 않습니다.", nil)
		return
	}
	s.mu.Lock()
	now := s.now()
	// Asking again before expiry returns the same token.
	if exp, ok := s.tokens[s.current]; !ok || !now.Before(exp) {
		b := make([]byte, 20)
		rand.Read(b)
		s.current = hex.EncodeToString(b)
		s.tokens[s.current] = now.Add(s.TokenTTL)
	}
	tok, exp := s.current, s.tokens[s.current]
	s.mu.Unlock()
	v1JSON(w, http.StatusOK, 0, "", map[string]any{"access_token": tok, "expired_at": exp.Unix(), "now": now.Unix()})
}

// authV1 checks the token; it answers 401 itself when it fails.
func (s *Server) authV1(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	exp, ok := s.tokens[r.Header.Get("Authorization")]
	live := ok && s.now().Before(exp)
	s.mu.Unlock()
	if !live {
		v1JSON(w, http.StatusUnauthorized, -1, "Unauthorized", nil)
	}
	return live
}

func (s *Server) v1View(p *Payment) map[string]any {
	unix := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.Unix()
	}
	return map[string]any{
		"imp_uid": p.ImpUID, "merchant_uid": p.MerchantUID, "pay_method": "card", "channel": "pc",
		"pg_provider": "html5_inicis", "amount": p.Amount, "cancel_amount": p.CancelAmount, "currency": p.Currency,
		"status": p.Status, "name": "DIDACTO Premium", "paid_at": unix(p.PaidAt), "failed_at": 0,
		"cancelled_at": unix(p.CancelledAt), "receipt_url": "https://iniweb.inicis.com/receipt/" + p.ImpUID,
		"cancel_history": []any{},
	}
}

func (s *Server) v1Payment(w http.ResponseWriter, r *http.Request) {
	if !s.authV1(w, r) {
		return
	}
	s.mu.Lock()
	s.fetches++
	p := s.payments[r.PathValue("imp_uid")]
	var view map[string]any
	if p != nil && !p.V2 {
		view = s.v1View(p)
	}
	s.mu.Unlock()
	if view == nil {
		v1JSON(w, http.StatusNotFound, 1, "존재하지 않는 결제정보입니다.", nil)
		return
	}
	v1JSON(w, http.StatusOK, 0, "", view)
}

func (s *Server) v1Prepare(w http.ResponseWriter, r *http.Request) {
	if !s.authV1(w, r) {
		return
	}
	var in struct {
		MerchantUID string `json:"merchant_uid"`
		Amount      int64  `json:"amount"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.MerchantUID == "" || len(in.MerchantUID) > 40 || in.Amount <= 0 {
		v1JSON(w, http.StatusBadRequest, 1, "merchant_uid 또는 amount 가 올바르지 않습니다.", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.prepared[in.MerchantUID]; dup {
		v1JSON(w, http.StatusOK, 1, "이미 등록된 merchant_uid 입니다.", nil)
		return
	}
	s.prepared[in.MerchantUID] = in.Amount
	v1JSON(w, http.StatusOK, 0, "", map[string]any{"merchant_uid": in.MerchantUID, "amount": in.Amount})
}

func (s *Server) v1Prepared(w http.ResponseWriter, r *http.Request) {
	if !s.authV1(w, r) {
		return
	}
	amt, ok := s.Prepared(r.PathValue("merchant_uid"))
	if !ok {
		v1JSON(w, http.StatusNotFound, 1, "사전등록된 결제정보가 없습니다.", nil)
		return
	}
	v1JSON(w, http.StatusOK, 0, "", map[string]any{"merchant_uid": r.PathValue("merchant_uid"), "amount": amt})
}

func (s *Server) v1Cancel(w http.ResponseWriter, r *http.Request) {
	if !s.authV1(w, r) {
		return
	}
	var in struct {
		ImpUID      string `json:"imp_uid"`
		MerchantUID string `json:"merchant_uid"`
		Amount      int64  `json:"amount"`
		Checksum    *int64 `json:"checksum"`
		Reason      string `json:"reason"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		v1JSON(w, http.StatusBadRequest, 1, "bad body", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.payments[in.ImpUID]
	if p == nil && in.MerchantUID != "" {
		p = s.byMUID[in.MerchantUID]
	}
	call := CancelCall{ID: in.ImpUID, Checksum: -1, Reason: in.Reason}
	if in.Checksum != nil {
		call.Checksum = *in.Checksum
	}
	defer func() { s.cancels = append(s.cancels, call) }()
	if p == nil || p.V2 {
		v1JSON(w, http.StatusNotFound, 1, "취소할 결제건이 존재하지 않습니다.", nil)
		return
	}
	balance := p.Amount - p.CancelAmount
	if p.Status != "paid" || balance <= 0 {
		v1JSON(w, http.StatusOK, 1, "이미 전액취소된 주문입니다.", nil)
		return
	}
	if in.Checksum != nil && *in.Checksum != balance {
		v1JSON(w, http.StatusOK, 1, "checksum 이 취소가능금액과 일치하지 않습니다.", nil)
		return
	}
	amt := in.Amount
	if amt == 0 || amt > balance {
		amt = balance
	}
	p.CancelAmount += amt
	if p.CancelAmount == p.Amount {
		p.Status, p.CancelledAt = "cancelled", s.now()
	}
	call.Accepted, call.CancelledAt = true, s.now()
	v1JSON(w, http.StatusOK, 0, "", s.v1View(p))
}

// ---- V2 ----

func v2Err(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"type": typ, "message": msg})
}

func (s *Server) authV2(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "PortOne "+V2Secret {
		v2Err(w, http.StatusUnauthorized, "UNAUTHORIZED", "인증 정보가 올바르지 않습니다.")
		return false
	}
	return true
}

func v2Status(p *Payment) string {
	switch {
	case p.Status == "paid" && p.CancelAmount > 0:
		return "PARTIAL_CANCELLED"
	case p.Status == "paid":
		return "PAID"
	case p.Status == "failed":
		return "FAILED"
	case p.Status == "cancelled":
		return "CANCELLED"
	}
	return "READY"
}

func (s *Server) v2View(p *Payment) map[string]any {
	v := map[string]any{
		"status": v2Status(p), "id": p.MerchantUID, "transactionId": p.ImpUID, "merchantId": "merchant-1",
		"storeId": "store-test", "orderName": "DIDACTO Premium", "currency": p.Currency,
		"amount":  map[string]any{"total": p.Amount, "taxFree": 0, "vat": 0, "supply": p.Amount, "discount": 0, "paid": p.Amount, "cancelled": p.CancelAmount, "cancelledTaxFree": 0},
		"version": "V2", "requestedAt": s.now().Format(time.RFC3339),
	}
	if !p.PaidAt.IsZero() {
		v["paidAt"] = p.PaidAt.UTC().Format(time.RFC3339Nano)
	}
	if !p.CancelledAt.IsZero() {
		v["cancelledAt"] = p.CancelledAt.UTC().Format(time.RFC3339Nano)
	}
	return v
}

func (s *Server) v2Payment(w http.ResponseWriter, r *http.Request) {
	if !s.authV2(w, r) {
		return
	}
	s.mu.Lock()
	s.fetches++
	p := s.byMUID[r.PathValue("id")]
	var view map[string]any
	if p != nil && p.V2 {
		view = s.v2View(p)
	}
	s.mu.Unlock()
	if view == nil {
		v2Err(w, http.StatusNotFound, "PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(view)
}

func (s *Server) v2Cancel(w http.ResponseWriter, r *http.Request) {
	if !s.authV2(w, r) {
		return
	}
	var in struct {
		Reason                   string `json:"reason"`
		Amount                   *int64 `json:"amount"`
		CurrentCancellableAmount *int64 `json:"currentCancellableAmount"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Reason == "" {
		v2Err(w, http.StatusBadRequest, "INVALID_REQUEST", "reason is required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	call := CancelCall{V2: true, ID: id, Checksum: -1, Reason: in.Reason}
	if in.CurrentCancellableAmount != nil {
		call.Checksum = *in.CurrentCancellableAmount
	}
	defer func() { s.cancels = append(s.cancels, call) }()
	p := s.byMUID[id]
	if p == nil || !p.V2 {
		v2Err(w, http.StatusNotFound, "PAYMENT_NOT_FOUND", "결제 건이 존재하지 않습니다.")
		return
	}
	if p.Status == "cancelled" {
		v2Err(w, http.StatusConflict, "PAYMENT_ALREADY_CANCELLED", "이미 취소된 결제 건입니다.")
		return
	}
	if p.Status != "paid" {
		v2Err(w, http.StatusConflict, "PAYMENT_NOT_PAID", "결제가 완료되지 않았습니다.")
		return
	}
	balance := p.Amount - p.CancelAmount
	if in.CurrentCancellableAmount != nil && *in.CurrentCancellableAmount != balance {
		v2Err(w, http.StatusConflict, "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN", "취소 가능 잔액 검증에 실패했습니다.")
		return
	}
	amt := balance
	if in.Amount != nil && *in.Amount < balance {
		amt = *in.Amount
	}
	p.CancelAmount += amt
	if p.CancelAmount == p.Amount {
		p.Status, p.CancelledAt = "cancelled", s.now()
	}
	call.Accepted, call.CancelledAt = true, s.now()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"cancellation": map[string]any{
		"status": "SUCCEEDED", "id": fmt.Sprintf("cancel_%d", s.seq.Add(1)), "totalAmount": amt,
		"reason": in.Reason, "requestedAt": s.now().Format(time.RFC3339),
	}})
}

// ---- webhooks ----

// NewWebhookSecret returns a fresh whsec_ secret.
func NewWebhookSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// Sign computes the webhook-signature value PortOne sends: "v1,<base64 of
// HMAC-SHA256(key, id.timestamp.body)>" with key the base64-decoded secret.
func Sign(secret, id string, ts int64, body []byte) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic("portonetest: bad secret: " + err.Error())
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// V2Event builds a V2 webhook body.
func V2Event(typ, paymentID string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": typ, "timestamp": at.UTC().Format(time.RFC3339Nano),
		"data": map[string]string{"storeId": "store-test", "paymentId": paymentID, "transactionId": "tx-" + paymentID},
	})
	return b
}

// SignedV2Request builds a webhook request to url signed with secret.
func SignedV2Request(url, secret, webhookID string, ts time.Time, body []byte) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", webhookID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", Sign(secret, webhookID, ts.Unix(), body))
	return req
}

// V1Event builds a V1 notification body.
func V1Event(impUID, merchantUID, status string) []byte {
	b, _ := json.Marshal(map[string]string{"imp_uid": impUID, "merchant_uid": merchantUID, "status": status})
	return b
}
