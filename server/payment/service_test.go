package payment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/server/payment"
	"github.com/didacto/didacto/server/payment/portonetest"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/server/store/sqlstore"
	"github.com/didacto/didacto/wire"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const month = 30 * 24 * time.Hour

var plans = []payment.Plan{
	{ID: "monthly", Name: "Premium 30 days", PriceKRW: 9900, Period: month},
	{ID: "yearly", Name: "Premium 365 days", PriceKRW: 99000, Period: 365 * 24 * time.Hour},
}

// harness is one service on a real SQLite store, talking to a fake PortOne,
// with its webhook handlers on a loopback server.
type harness struct {
	t       testing.TB
	clk     *clock
	fake    *portonetest.Server
	st      *sqlstore.Store
	svc     *payment.Service
	hooks   *httptest.Server
	secrets []string
	prof    store.User
	student store.User
}

type gateway int

const (
	none gateway = iota
	v1
	v2
)

func newHarness(t testing.TB, gw gateway) *harness {
	t.Helper()
	h := &harness{t: t, clk: &clock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}}
	h.fake = portonetest.New(t, h.clk.Now)
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "pay.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	cfg := payment.Config{Plans: plans}
	switch gw {
	case v1:
		cfg.V1Key, cfg.V1Secret, cfg.V1StoreCode, cfg.V1PG, cfg.V1BaseURL = portonetest.ImpKey, portonetest.ImpSecret, "imp00000000", "html5_inicis", h.fake.V1URL
	case v2:
		h.secrets = []string{portonetest.NewWebhookSecret(), portonetest.NewWebhookSecret()}
		cfg.V2Secret, cfg.V2StoreID, cfg.V2ChannelKey, cfg.V2BaseURL = portonetest.V2Secret, "store-test", "channel-key-test", h.fake.V2URL
		cfg.WebhookSecrets = h.secrets
	}
	logger := slog.New(slog.DiscardHandler)
	if _, bench := t.(*testing.B); !bench {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h.svc, err = payment.New(cfg, st, logger, h.clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/v1/payments/webhook/v1", h.svc.WebhookV1())
	mux.Handle("/api/v1/payments/webhook/v2", h.svc.WebhookV2())
	h.hooks = httptest.NewServer(mux)
	t.Cleanup(h.hooks.Close)
	h.prof = h.user(wire.RoleProfessor, "prof@example.com")
	h.student = h.user(wire.RoleStudent, "student@example.com")
	return h
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

func (h *harness) ctx() context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	h.t.Cleanup(cancel)
	return c
}

func (h *harness) user(role wire.Role, email string) store.User {
	u, err := h.st.CreateUser(context.Background(), store.User{Email: email, Name: string(role), Role: role, PasswordHash: "x"})
	if err != nil {
		h.t.Fatal(err)
	}
	return u
}

func (h *harness) order(planID string) wire.Order {
	h.t.Helper()
	o, err := h.svc.CreateOrder(h.ctx(), h.prof.ID, planID)
	if err != nil {
		h.t.Fatalf("CreateOrder: %v", err)
	}
	return o
}

func (h *harness) premiumUntil() time.Time {
	h.t.Helper()
	u, err := h.st.UserByID(context.Background(), h.prof.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return u.PremiumUntil
}

func (h *harness) status(muid string) wire.OrderStatus {
	h.t.Helper()
	o, err := h.st.OrderByMerchantUID(context.Background(), muid)
	if err != nil {
		h.t.Fatal(err)
	}
	return o.Status
}

// post sends a request to a webhook endpoint and returns status and body.
func (h *harness) post(req *http.Request) (int, string) {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req.WithContext(h.ctx()))
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (h *harness) webhookV1(impUID, muid, status string) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, h.hooks.URL+"/api/v1/payments/webhook/v1", bytes.NewReader(portonetest.V1Event(impUID, muid, status)))
	req.Header.Set("Content-Type", "application/json")
	return h.post(req)
}

func (h *harness) webhookV2(secret, id, typ, paymentID string, at time.Time) (int, string) {
	body := portonetest.V2Event(typ, paymentID, at)
	return h.post(portonetest.SignedV2Request(h.hooks.URL+"/api/v1/payments/webhook/v2", secret, id, at, body))
}

func wantErr(t *testing.T, err, want error, code string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	if _, c, ok := payment.Problem(err); !ok || c != code {
		t.Fatalf("Problem(%v) = %s, want %s", err, c, code)
	}
}

func TestDisabled(t *testing.T) {
	h := newHarness(t, none)
	if h.svc.Enabled() {
		t.Fatal("enabled without keys")
	}
	pl := h.svc.Plans()
	if pl.PaymentsEnabled || len(pl.Plans) != 2 || pl.Plans[0].PeriodDays != 30 || pl.Plans[1].PriceKRW != 99000 {
		t.Fatalf("plans %+v", pl)
	}
	_, err := h.svc.CreateOrder(h.ctx(), h.prof.ID, "monthly")
	wantErr(t, err, payment.ErrDisabled, wire.CodePaymentsDisabled)
	_, err = h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{PaymentID: "x"})
	wantErr(t, err, payment.ErrDisabled, wire.CodePaymentsDisabled)
	if code, body := h.webhookV1("imp_1", "m", "paid"); code != http.StatusServiceUnavailable || !bytes.Contains([]byte(body), []byte(wire.CodePaymentsDisabled)) {
		t.Fatalf("v1 webhook: %d %s", code, body)
	}
	if code, _ := h.webhookV2(portonetest.NewWebhookSecret(), "wh", "Transaction.Paid", "p", h.clk.Now()); code != http.StatusServiceUnavailable {
		t.Fatalf("v2 webhook: %d", code)
	}
	if !h.premiumUntil().IsZero() {
		t.Fatal("premium granted while disabled")
	}
}

func TestConfigValidate(t *testing.T) {
	for name, cfg := range map[string]payment.Config{
		"half v1":    {V1Key: "k"},
		"half v2":    {V2Secret: "s", V2StoreID: "store"},
		"cheap plan": {Plans: []payment.Plan{{ID: "p", Name: "p", PriceKRW: 1, Period: month}}},
		"dup plan":   {Plans: []payment.Plan{plans[0], plans[0]}},
		"bad secret": {V2Secret: "s", V2StoreID: "st", V2ChannelKey: "c", WebhookSecrets: []string{"whsec_%%"}},
	} {
		if _, err := payment.New(cfg, nil, nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestOrderRules(t *testing.T) {
	h := newHarness(t, v1)
	_, err := h.svc.CreateOrder(h.ctx(), h.prof.ID, "lifetime")
	wantErr(t, err, payment.ErrUnknownPlan, wire.CodeUnknownPlan)
	_, err = h.svc.CreateOrder(h.ctx(), h.student.ID, "monthly")
	wantErr(t, err, payment.ErrNotProfessor, wire.CodeForbidden)
	_, err = h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: "imp_1"})
	wantErr(t, err, payment.ErrBadRequest, wire.CodeBadRequest)
	_, err = h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: "imp_1", MerchantUID: "m", PaymentID: "p"})
	wantErr(t, err, payment.ErrBadRequest, wire.CodeBadRequest)
	_, err = h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: "imp_1", MerchantUID: "nope"})
	wantErr(t, err, payment.ErrNotFound, wire.CodeNotFound)

	o := h.order("monthly")
	if len(o.MerchantUID) > 40 || o.Amount != 9900 || o.Currency != "KRW" || o.Status != wire.OrderPending ||
		o.PortOne.Version != "v1" || o.PortOne.StoreCode != "imp00000000" || o.PortOne.PG != "html5_inicis" || o.PortOne.OrderName != "Premium 30 days" {
		t.Fatalf("order %+v", o)
	}
	if amt, ok := h.fake.Prepared(o.MerchantUID); !ok || amt != 9900 {
		t.Fatalf("prepared at PortOne: %d %v, want 9900", amt, ok)
	}
	// The window refuses another amount once prepared.
	if _, err := h.fake.PayV1(o.MerchantUID, 100); err == nil {
		t.Fatal("fake accepted an amount other than the prepared one")
	}
	imp, err := h.fake.PayV1(o.MerchantUID, 9900)
	if err != nil {
		t.Fatal(err)
	}
	// Another user cannot complete (or probe) this order.
	other := h.user(wire.RoleProfessor, "other@example.com")
	_, err = h.svc.Complete(h.ctx(), other.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	wantErr(t, err, payment.ErrNotFound, wire.CodeNotFound)
	// A V1 order is not completed with a V2 body.
	_, err = h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{PaymentID: o.MerchantUID})
	wantErr(t, err, payment.ErrBadRequest, wire.CodeBadRequest)
}

func TestV1Paid(t *testing.T) {
	h := newHarness(t, v1)
	o := h.order("monthly")
	imp, err := h.fake.PayV1(o.MerchantUID, 9900)
	if err != nil {
		t.Fatal(err)
	}
	// The buyer took 31 minutes: the first access token has expired.
	h.clk.Add(31 * time.Minute)
	paidAt := h.clk.Now()
	res, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if res.Plan != wire.PlanPremium || res.PremiumUntil == nil || !res.PremiumUntil.Equal(paidAt.Add(month)) ||
		res.Payment.Status != wire.OrderPaid || res.Payment.PortOneID != imp || res.Payment.PaidAt == nil {
		t.Fatalf("result %+v", res)
	}
	if h.fake.TokenRequests() != 2 {
		t.Fatalf("%d token requests, want 2 (one expired)", h.fake.TokenRequests())
	}
	// The browser retries; a webhook arrives late: nothing is extended again.
	h.clk.Add(time.Minute)
	res2, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	if err != nil || !res2.PremiumUntil.Equal(*res.PremiumUntil) {
		t.Fatalf("second Complete: %+v, %v", res2, err)
	}
	if code, body := h.webhookV1(imp, o.MerchantUID, "paid"); code != http.StatusOK {
		t.Fatalf("webhook: %d %s", code, body)
	}
	if got := h.premiumUntil(); !got.Equal(paidAt.Add(month)) {
		t.Fatalf("premium until %v, want %v", got, paidAt.Add(month))
	}
	_, err = h.svc.CreateOrder(h.ctx(), h.prof.ID, "monthly")
	wantErr(t, err, payment.ErrAlreadyPremium, wire.CodeAlreadyPremium)
	if st, _, _ := payment.Problem(err); st/100 != 4 {
		t.Fatalf("already premium answers %d, want 4xx", st)
	}
	page, err := h.svc.Payments(h.ctx(), h.prof.ID, store.PageRequest{Page: 1, Size: 10})
	if err != nil || page.Total != 1 || len(page.Items) != 1 || page.Items[0].Status != wire.OrderPaid || page.Items[0].Gateway != "v1" {
		t.Fatalf("history %+v, %v", page, err)
	}
	if page, _ := h.svc.Payments(h.ctx(), h.student.ID, store.PageRequest{Page: 1, Size: 10}); page.Total != 0 {
		t.Fatalf("another user's history shows %d orders", page.Total)
	}
}

func TestV1Failed(t *testing.T) {
	h := newHarness(t, v1)
	o := h.order("monthly")
	imp := h.fake.FailV1(o.MerchantUID, 9900)
	_, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	wantErr(t, err, payment.ErrNotPaid, wire.CodePaymentNotPaid)
	if s := h.status(o.MerchantUID); s != wire.OrderFailed {
		t.Fatalf("status %s, want failed", s)
	}
	// The buyer tries again in the window and pays.
	imp2, err := h.fake.PayV1(o.MerchantUID, 9900)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp2, MerchantUID: o.MerchantUID}); err != nil {
		t.Fatalf("after retry: %v", err)
	}
	// The stale failed attempt does not undo it.
	if code, _ := h.webhookV1(imp, o.MerchantUID, "failed"); code != http.StatusOK || h.status(o.MerchantUID) != wire.OrderPaid {
		t.Fatalf("stale failure webhook: %d, status %s", code, h.status(o.MerchantUID))
	}
	// An unknown imp_uid is not a payment.
	_, err = h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: "imp_999", MerchantUID: o.MerchantUID})
	wantErr(t, err, payment.ErrNotPaid, wire.CodePaymentNotPaid)
}

func TestV1Tampered(t *testing.T) {
	h := newHarness(t, v1)
	o := h.order("monthly")
	imp := h.fake.ForgeV1(o.MerchantUID, 100) // a client that bypassed the prepared amount
	_, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	wantErr(t, err, payment.ErrTampered, wire.CodePaymentTampered)
	cancels := h.fake.Cancels()
	if len(cancels) != 1 || !cancels[0].Accepted || cancels[0].ID != imp || cancels[0].Checksum != 100 {
		t.Fatalf("cancels %+v, want one accepted with checksum 100", cancels)
	}
	if p, _ := h.fake.Payment(imp); p.Status != "cancelled" {
		t.Fatalf("payment at PortOne is %s, want cancelled", p.Status)
	}
	// Committed, and nothing granted, whoever asks next.
	if s := h.status(o.MerchantUID); s != wire.OrderTampered {
		t.Fatalf("status %s, want tampered", s)
	}
	if code, _ := h.webhookV1(imp, o.MerchantUID, "cancelled"); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	_, err = h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	wantErr(t, err, payment.ErrTampered, wire.CodePaymentTampered)
	if len(h.fake.Cancels()) != 1 || !h.premiumUntil().IsZero() {
		t.Fatalf("cancels %d, premium %v", len(h.fake.Cancels()), h.premiumUntil())
	}
	page, _ := h.svc.Payments(h.ctx(), h.prof.ID, store.PageRequest{Page: 1, Size: 10})
	if page.Items[0].Status != wire.OrderTampered {
		t.Fatalf("history %+v", page.Items)
	}
}

// The refund of a tampered payment fails (PortOne cancel endpoint down): the
// order is tampered anyway, the webhook answers 502, and the next delivery
// retries the cancel.
func TestV1TamperedCancelRetried(t *testing.T) {
	h := newHarness(t, v1)
	o := h.order("monthly")
	imp := h.fake.ForgeV1(o.MerchantUID, 50000)
	h.fake.SetCancelsDown(true)
	_, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	wantErr(t, err, payment.ErrTampered, wire.CodePaymentTampered)
	if s := h.status(o.MerchantUID); s != wire.OrderTampered {
		t.Fatalf("status %s, want tampered although the cancel failed", s)
	}
	if code, _ := h.webhookV1(imp, o.MerchantUID, "paid"); code != http.StatusBadGateway {
		t.Fatalf("webhook while cancel is down: %d, want 502 so PortOne retries", code)
	}
	h.fake.SetCancelsDown(false)
	if code, _ := h.webhookV1(imp, o.MerchantUID, "paid"); code != http.StatusOK {
		t.Fatalf("redelivery: %d", code)
	}
	if p, _ := h.fake.Payment(imp); p.Status != "cancelled" || p.CancelAmount != 50000 {
		t.Fatalf("payment %+v, want fully cancelled", p)
	}
	if !h.premiumUntil().IsZero() {
		t.Fatal("premium granted")
	}
}

// PortOne is down: a clear 502, the order stays pending, and a later
// webhook completes it.
func TestV1GatewayDown(t *testing.T) {
	h := newHarness(t, v1)
	h.fake.SetDown(true)
	_, err := h.svc.CreateOrder(h.ctx(), h.prof.ID, "monthly")
	wantErr(t, err, payment.ErrGateway, wire.CodePaymentGateway)
	if page, _ := h.svc.Payments(h.ctx(), h.prof.ID, store.PageRequest{Page: 1, Size: 10}); page.Total != 0 {
		t.Fatalf("an order was created without a prepared amount: %+v", page)
	}
	h.fake.SetDown(false)
	o := h.order("monthly")
	imp, err := h.fake.PayV1(o.MerchantUID, 9900)
	if err != nil {
		t.Fatal(err)
	}
	h.fake.SetDown(true)
	_, err = h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	wantErr(t, err, payment.ErrGateway, wire.CodePaymentGateway)
	if st, _, _ := payment.Problem(err); st != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", st)
	}
	if code, _ := h.webhookV1(imp, o.MerchantUID, "paid"); code != http.StatusBadGateway {
		t.Fatalf("webhook while down: %d, want 502", code)
	}
	if s := h.status(o.MerchantUID); s != wire.OrderPending || !h.premiumUntil().IsZero() {
		t.Fatalf("status %s, premium %v; want pending, none", s, h.premiumUntil())
	}
	h.fake.SetDown(false)
	h.clk.Add(10 * time.Minute)
	if code, body := h.webhookV1(imp, o.MerchantUID, "paid"); code != http.StatusOK {
		t.Fatalf("redelivered webhook: %d %s", code, body)
	}
	want := h.clk.Now().Add(month)
	if got := h.premiumUntil(); !got.Equal(want) || h.status(o.MerchantUID) != wire.OrderPaid {
		t.Fatalf("premium %v, want %v", got, want)
	}
	// The browser's late retry agrees.
	res, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
	if err != nil || !res.PremiumUntil.Equal(want) {
		t.Fatalf("late Complete %+v, %v", res, err)
	}
}

// A V1 webhook body is only a hint: an imp_uid of another order, or one
// PortOne does not know, grants nothing.
func TestV1WebhookNotTrusted(t *testing.T) {
	h := newHarness(t, v1)
	o := h.order("monthly")
	other := h.fake.ForgeV1("someone-elses-order", 9900)
	if code, _ := h.webhookV1(other, o.MerchantUID, "paid"); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	if code, _ := h.webhookV1("imp_forged", o.MerchantUID, "paid"); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	if code, _ := h.webhookV1("imp_1", "unknown-order", "paid"); code != http.StatusOK {
		t.Fatalf("webhook for unknown order %d", code)
	}
	if code, _ := h.post(mustReq(http.MethodPost, h.hooks.URL+"/api/v1/payments/webhook/v1", `{"imp_uid":`)); code != http.StatusBadRequest {
		t.Fatalf("malformed body: %d", code)
	}
	if code, _ := h.post(mustReq(http.MethodGet, h.hooks.URL+"/api/v1/payments/webhook/v1", "")); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", code)
	}
	if s := h.status(o.MerchantUID); s != wire.OrderPending || !h.premiumUntil().IsZero() {
		t.Fatalf("status %s premium %v", s, h.premiumUntil())
	}
}

func mustReq(method, url, body string) *http.Request {
	r, _ := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func TestRefundEndsPremium(t *testing.T) {
	t.Run("v1", func(t *testing.T) {
		h := newHarness(t, v1)
		o := h.order("monthly")
		imp, _ := h.fake.PayV1(o.MerchantUID, 9900)
		if _, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID}); err != nil {
			t.Fatal(err)
		}
		h.clk.Add(48 * time.Hour)
		if err := h.fake.Refund(imp); err != nil {
			t.Fatal(err)
		}
		if code, _ := h.webhookV1(imp, o.MerchantUID, "cancelled"); code != http.StatusOK {
			t.Fatalf("webhook %d", code)
		}
		if got := h.premiumUntil(); !got.Equal(h.clk.Now()) || h.status(o.MerchantUID) != wire.OrderCancelled {
			t.Fatalf("premium until %v (status %s), want ended at %v", got, h.status(o.MerchantUID), h.clk.Now())
		}
		// No longer premium: a new order is allowed.
		h.clk.Add(time.Second)
		h.order("monthly")
	})
	t.Run("v2", func(t *testing.T) {
		h := newHarness(t, v2)
		o := h.order("yearly")
		h.fake.PayV2(o.MerchantUID, 99000)
		if code, _ := h.webhookV2(h.secrets[0], "wh-1", "Transaction.Paid", o.MerchantUID, h.clk.Now()); code != http.StatusOK {
			t.Fatalf("paid webhook %d", code)
		}
		if h.premiumUntil().IsZero() {
			t.Fatal("not premium")
		}
		h.clk.Add(time.Hour)
		if err := h.fake.Refund(o.MerchantUID); err != nil {
			t.Fatal(err)
		}
		if code, _ := h.webhookV2(h.secrets[0], "wh-2", "Transaction.Cancelled", o.MerchantUID, h.clk.Now()); code != http.StatusOK {
			t.Fatalf("cancel webhook %d", code)
		}
		if got := h.premiumUntil(); !got.Equal(h.clk.Now()) {
			t.Fatalf("premium until %v, want ended at %v", got, h.clk.Now())
		}
		_, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{PaymentID: o.MerchantUID})
		wantErr(t, err, payment.ErrNotPaid, wire.CodePaymentNotPaid)
	})
}

func TestV2Webhooks(t *testing.T) {
	h := newHarness(t, v2)
	o := h.order("monthly")
	if o.PortOne.Version != "v2" || o.PortOne.StoreID != "store-test" || o.PortOne.ChannelKey != "channel-key-test" || o.PortOne.PaymentID != o.MerchantUID {
		t.Fatalf("checkout %+v", o.PortOne)
	}
	now := h.clk.Now()
	webhookURL := h.hooks.URL + "/api/v1/payments/webhook/v2"
	body := portonetest.V2Event("Transaction.Paid", o.MerchantUID, now)

	// Refused before anything is looked up: bad signatures and replays.
	refused := map[string]*http.Request{
		"unknown secret": portonetest.SignedV2Request(webhookURL, portonetest.NewWebhookSecret(), "wh-1", now, body),
		"replayed 6 min": portonetest.SignedV2Request(webhookURL, h.secrets[0], "wh-1", now.Add(-6*time.Minute), body),
		"unsigned":       mustReq(http.MethodPost, webhookURL, string(body)),
		"body swapped": func() *http.Request {
			r := portonetest.SignedV2Request(webhookURL, h.secrets[0], "wh-1", now, portonetest.V2Event("Transaction.Paid", "other", now))
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			return r
		}(),
	}
	for name, req := range refused {
		if code, _ := h.post(req); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
	if h.fake.Fetches() != 0 {
		t.Fatalf("%d PortOne look-ups for refused webhooks", h.fake.Fetches())
	}
	// Not paid yet: acknowledged, order stays pending.
	if code, _ := h.webhookV2(h.secrets[0], "wh-ready", "Transaction.Ready", o.MerchantUID, now); code != http.StatusOK || h.status(o.MerchantUID) != wire.OrderPending {
		t.Fatalf("ready webhook %d, %s", code, h.status(o.MerchantUID))
	}
	h.fake.PayV2(o.MerchantUID, 9900)
	// Signed with the second (rotating) secret.
	if code, body := h.webhookV2(h.secrets[1], "wh-1", "Transaction.Paid", o.MerchantUID, now); code != http.StatusOK {
		t.Fatalf("paid webhook %d %s", code, body)
	}
	if got := h.premiumUntil(); !got.Equal(now.Add(month)) {
		t.Fatalf("premium %v", got)
	}
	// The same delivery again (PortOne re-signs retries): acknowledged without a look-up.
	fetches := h.fake.Fetches()
	h.clk.Add(time.Minute)
	code, resp := h.webhookV2(h.secrets[0], "wh-1", "Transaction.Paid", o.MerchantUID, h.clk.Now())
	if code != http.StatusOK || !bytes.Contains([]byte(resp), []byte("duplicate")) || h.fake.Fetches() != fetches {
		t.Fatalf("duplicate: %d %s, fetches %d -> %d", code, resp, fetches, h.fake.Fetches())
	}
	// Unknown event types and unknown payments are acknowledged and ignored.
	for _, c := range []struct{ id, typ, pid string }{{"wh-x", "BillingKey.Issued", ""}, {"wh-y", "Transaction.Paid", "not-ours"}} {
		if code, _ := h.webhookV2(h.secrets[0], c.id, c.typ, c.pid, h.clk.Now()); code != http.StatusOK {
			t.Fatalf("%s: %d", c.typ, code)
		}
	}
	if h.fake.Fetches() != fetches {
		t.Fatal("ignored webhooks looked payments up")
	}
	if got := h.premiumUntil(); !got.Equal(now.Add(month)) {
		t.Fatalf("premium %v after duplicates", got)
	}
	res, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{PaymentID: o.MerchantUID})
	if err != nil || res.Plan != wire.PlanPremium || !res.PremiumUntil.Equal(now.Add(month)) {
		t.Fatalf("Complete after webhook %+v %v", res, err)
	}
}

func TestV2Tampered(t *testing.T) {
	h := newHarness(t, v2)
	o := h.order("yearly")
	h.fake.PayV2(o.MerchantUID, 990) // V2 has no prepare here: the window was fed another amount
	if code, _ := h.webhookV2(h.secrets[0], "wh-1", "Transaction.Paid", o.MerchantUID, h.clk.Now()); code != http.StatusOK {
		t.Fatalf("webhook %d", code)
	}
	cancels := h.fake.Cancels()
	if len(cancels) != 1 || !cancels[0].V2 || !cancels[0].Accepted || cancels[0].Checksum != 990 || cancels[0].ID != o.MerchantUID {
		t.Fatalf("cancels %+v, want one accepted with currentCancellableAmount 990", cancels)
	}
	_, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{PaymentID: o.MerchantUID})
	wantErr(t, err, payment.ErrTampered, wire.CodePaymentTampered)
	if h.status(o.MerchantUID) != wire.OrderTampered || !h.premiumUntil().IsZero() || len(h.fake.Cancels()) != 1 {
		t.Fatalf("status %s premium %v cancels %d", h.status(o.MerchantUID), h.premiumUntil(), len(h.fake.Cancels()))
	}
}

func TestV2GatewayDown(t *testing.T) {
	h := newHarness(t, v2)
	o := h.order("monthly")
	h.fake.PayV2(o.MerchantUID, 9900)
	h.fake.SetDown(true)
	_, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{PaymentID: o.MerchantUID})
	wantErr(t, err, payment.ErrGateway, wire.CodePaymentGateway)
	if code, _ := h.webhookV2(h.secrets[0], "wh-1", "Transaction.Paid", o.MerchantUID, h.clk.Now()); code != http.StatusBadGateway {
		t.Fatalf("webhook while down: %d", code)
	}
	h.fake.SetDown(false)
	// PortOne retries the same webhook-id: it was not recorded, so it is processed.
	h.clk.Add(2 * time.Minute)
	if code, _ := h.webhookV2(h.secrets[0], "wh-1", "Transaction.Paid", o.MerchantUID, h.clk.Now()); code != http.StatusOK {
		t.Fatalf("retry: %d", code)
	}
	if h.status(o.MerchantUID) != wire.OrderPaid || !h.premiumUntil().Equal(h.clk.Now().Add(month)) {
		t.Fatalf("status %s premium %v", h.status(o.MerchantUID), h.premiumUntil())
	}
}

// The browser's complete and three webhooks race for one payment: Premium is
// extended exactly once and every caller sees success.
func TestConcurrentCompletion(t *testing.T) {
	for _, gw := range []gateway{v1, v2} {
		t.Run(fmt.Sprintf("v%d", gw), func(t *testing.T) {
			h := newHarness(t, gw)
			o := h.order("monthly")
			var req wire.CompletePaymentRequest
			var imp string
			if gw == v1 {
				imp, _ = h.fake.PayV1(o.MerchantUID, 9900)
				req = wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID}
			} else {
				h.fake.PayV2(o.MerchantUID, 9900)
				req = wire.CompletePaymentRequest{PaymentID: o.MerchantUID}
			}
			now := h.clk.Now()
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			wg.Add(4)
			go func() {
				defer wg.Done()
				_, err := h.svc.Complete(h.ctx(), h.prof.ID, req)
				errs <- err
			}()
			for i := range 3 {
				go func() {
					defer wg.Done()
					var code int
					var body string
					if gw == v1 {
						code, body = h.webhookV1(imp, o.MerchantUID, "paid")
					} else {
						// Two deliveries of one event and one of another.
						code, body = h.webhookV2(h.secrets[i%2], fmt.Sprintf("wh-%d", i/2), "Transaction.Paid", o.MerchantUID, now)
					}
					if code != http.StatusOK {
						errs <- fmt.Errorf("webhook %d: %d %s", i, code, body)
						return
					}
					errs <- nil
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			if got := h.premiumUntil(); !got.Equal(now.Add(month)) {
				t.Fatalf("premium until %v, want exactly one period from %v", got, now)
			}
			page, _ := h.svc.Payments(h.ctx(), h.prof.ID, store.PageRequest{Page: 1, Size: 10})
			if page.Total != 1 || page.Items[0].Status != wire.OrderPaid {
				t.Fatalf("history %+v", page)
			}
		})
	}
}

func TestProblemUnknown(t *testing.T) {
	if st, code, ok := payment.Problem(errors.New("boom")); ok || st != 500 || code != wire.CodeInternal {
		t.Fatalf("unknown error: %d %s %v", st, code, ok)
	}
	// A tamper whose refund failed still reads as tampered to the browser.
	err := errors.Join(payment.ErrTampered, fmt.Errorf("%w: x", payment.ErrGateway))
	if _, code, _ := payment.Problem(err); code != wire.CodePaymentTampered {
		t.Fatalf("joined: %s", code)
	}
	b, _ := json.Marshal(wire.CompletePaymentRequest{PaymentID: "p"})
	if string(b) != `{"payment_id":"p"}` {
		t.Fatalf("wire: %s", b)
	}
}

// Concurrent verifications of one tampered payment refund it exactly once:
// the checksum makes every later cancel fail at PortOne.
func TestConcurrentTampered(t *testing.T) {
	h := newHarness(t, v1)
	o := h.order("monthly")
	imp := h.fake.ForgeV1(o.MerchantUID, 1000)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	wg.Add(4)
	go func() {
		defer wg.Done()
		_, err := h.svc.Complete(h.ctx(), h.prof.ID, wire.CompletePaymentRequest{ImpUID: imp, MerchantUID: o.MerchantUID})
		if !errors.Is(err, payment.ErrTampered) {
			errs <- fmt.Errorf("Complete: %v, want ErrTampered", err)
		}
	}()
	for range 3 {
		go func() {
			defer wg.Done()
			if code, body := h.webhookV1(imp, o.MerchantUID, "paid"); code != http.StatusOK {
				errs <- fmt.Errorf("webhook: %d %s", code, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	accepted := 0
	for _, c := range h.fake.Cancels() {
		if c.Accepted {
			accepted++
		}
	}
	if accepted != 1 {
		t.Fatalf("%d accepted cancels, want 1 (%+v)", accepted, h.fake.Cancels())
	}
	if p, _ := h.fake.Payment(imp); p.CancelAmount != 1000 || h.status(o.MerchantUID) != wire.OrderTampered || !h.premiumUntil().IsZero() {
		t.Fatalf("payment %+v, order %s, premium %v", p, h.status(o.MerchantUID), h.premiumUntil())
	}
}
