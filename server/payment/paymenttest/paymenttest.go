// Package paymenttest is the shared test suite of payment.Store: the SQLite
// and PostgreSQL stores run the same checks, so they behave alike, above all
// the exactly-once transition from pending to paid under concurrency.
package paymenttest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/server/payment"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Backend is a payment store that can also create the users orders belong to.
type Backend interface {
	payment.Store
	CreateUser(ctx context.Context, u store.User) (store.User, error)
}

// Open returns a fresh, empty store for one test.
type Open func(t *testing.T) Backend

var t0 = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)

const month = 30 * 24 * time.Hour

// Run runs the suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Backend)
	}{
		{"Orders", testOrders},
		{"Paging", testPaging},
		{"PaidOnce", testPaidOnce},
		{"PaidExtendsPremium", testPaidExtends},
		{"ConcurrentPaid", testConcurrentPaid},
		{"ConcurrentOrdersOfOneUser", testConcurrentOrders},
		{"FailedThenPaid", testFailedThenPaid},
		{"Tampered", testTampered},
		{"Cancelled", testCancelled},
		{"UnknownOrder", testUnknown},
		{"Webhooks", testWebhooks},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newUser(t *testing.T, s Backend, premium time.Time) store.User {
	t.Helper()
	u, err := s.CreateUser(ctxT(t), store.User{
		Email: "prof-" + rand.Text() + "@example.com", Name: "Prof", Role: wire.RoleProfessor,
		PasswordHash: "x", PremiumUntil: premium,
	})
	if err != nil {
		t.Fatalf("creating user: %v", err)
	}
	return u
}

func newOrder(t *testing.T, s Backend, userID int64, muid string) payment.Order {
	t.Helper()
	o, err := s.CreateOrder(ctxT(t), payment.Order{
		UserID: userID, MerchantUID: muid, PlanID: "premium-monthly", PlanName: "Premium 30", Amount: 9900,
		Currency: "KRW", Period: month, Gateway: payment.GatewayV1,
	})
	if err != nil {
		t.Fatalf("creating order %s: %v", muid, err)
	}
	return o
}

func testOrders(t *testing.T, s Backend) {
	ctx := ctxT(t)
	u := newUser(t, s, time.Time{})
	o := newOrder(t, s, u.ID, "m-1")
	if o.ID == 0 || o.Status != wire.OrderPending || o.CreatedAt.IsZero() {
		t.Fatalf("created order = %+v", o)
	}
	got, err := s.OrderByMerchantUID(ctx, "m-1")
	if err != nil {
		t.Fatal(err)
	}
	want := o
	if got != want {
		t.Fatalf("read back %+v\nwant %+v", got, want)
	}
	if got.Period != month || got.Amount != 9900 || got.Gateway != payment.GatewayV1 {
		t.Fatalf("fields lost: %+v", got)
	}
	if _, err := s.OrderByMerchantUID(ctx, "m-nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown order: %v, want ErrNotFound", err)
	}
	if _, err := s.CreateOrder(ctx, payment.Order{UserID: u.ID, MerchantUID: "m-1", PlanID: "p", PlanName: "p", Amount: 1, Currency: "KRW", Period: month, Gateway: payment.GatewayV1}); err == nil {
		t.Fatal("a second order with the same merchant uid was accepted")
	}
	if _, err := s.CreateOrder(ctx, payment.Order{UserID: u.ID + 1000, MerchantUID: "m-2", PlanID: "p", PlanName: "p", Amount: 1, Currency: "KRW", Period: month, Gateway: payment.GatewayV2}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("order for a missing user: %v, want ErrNotFound", err)
	}
}

func testPaging(t *testing.T, s Backend) {
	ctx := ctxT(t)
	a, b := newUser(t, s, time.Time{}), newUser(t, s, time.Time{})
	for i := range 5 {
		newOrder(t, s, a.ID, fmt.Sprintf("a-%d", i))
	}
	newOrder(t, s, b.ID, "b-0")
	p1, total, err := s.OrdersByUser(ctx, a.ID, store.PageRequest{Page: 1, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	p2, _, err := s.OrdersByUser(ctx, a.ID, store.PageRequest{Page: 2, Size: 3})
	if err != nil {
		t.Fatal(err)
	}
	if total != 5 || len(p1) != 3 || len(p2) != 2 {
		t.Fatalf("total %d, pages %d+%d; want 5, 3+2", total, len(p1), len(p2))
	}
	var ids []string
	for _, o := range append(p1, p2...) {
		ids = append(ids, o.MerchantUID)
		if o.UserID != a.ID {
			t.Fatalf("another user's order listed: %+v", o)
		}
	}
	// Created in order a-0..a-4 (ids break ties of equal timestamps).
	if fmt.Sprint(ids) != "[a-4 a-3 a-2 a-1 a-0]" {
		t.Fatalf("order %v, want newest first", ids)
	}
	none, total, err := s.OrdersByUser(ctx, a.ID+b.ID+1000, store.PageRequest{Page: 1, Size: 3})
	if err != nil || total != 0 || len(none) != 0 {
		t.Fatalf("unknown user: %v %d %v", none, total, err)
	}
}

func testPaidOnce(t *testing.T, s Backend) {
	ctx := ctxT(t)
	u := newUser(t, s, time.Time{})
	newOrder(t, s, u.ID, "m-1")
	tr, err := s.MarkOrderPaid(ctx, "m-1", "imp_1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if !tr.Changed || tr.Order.Status != wire.OrderPaid || tr.Order.PortOneID != "imp_1" || !tr.Order.PaidAt.Equal(t0) {
		t.Fatalf("first MarkOrderPaid = %+v", tr)
	}
	if !tr.PremiumUntil.Equal(t0.Add(month)) {
		t.Fatalf("premium until %v, want %v", tr.PremiumUntil, t0.Add(month))
	}
	again, err := s.MarkOrderPaid(ctx, "m-1", "imp_1", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed || !again.PremiumUntil.Equal(t0.Add(month)) || again.Order.Status != wire.OrderPaid {
		t.Fatalf("second MarkOrderPaid = %+v, want unchanged", again)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || !got.PremiumUntil.Equal(t0.Add(month)) {
		t.Fatalf("user premium %v (%v), want %v", got.PremiumUntil, err, t0.Add(month))
	}
}

func testPaidExtends(t *testing.T, s Backend) {
	ctx := ctxT(t)
	future := newUser(t, s, t0.Add(10*24*time.Hour))
	expired := newUser(t, s, t0.Add(-10*24*time.Hour))
	newOrder(t, s, future.ID, "m-future")
	newOrder(t, s, expired.ID, "m-expired")
	tr, err := s.MarkOrderPaid(ctx, "m-future", "imp_f", t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(10*24*time.Hour + month); !tr.PremiumUntil.Equal(want) {
		t.Fatalf("premium still running: until %v, want %v (extended, not restarted)", tr.PremiumUntil, want)
	}
	tr, err = s.MarkOrderPaid(ctx, "m-expired", "imp_e", t0)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(month); !tr.PremiumUntil.Equal(want) {
		t.Fatalf("premium expired: until %v, want %v (from now)", tr.PremiumUntil, want)
	}
}

func testConcurrentPaid(t *testing.T, s Backend) {
	ctx := ctxT(t)
	u := newUser(t, s, time.Time{})
	newOrder(t, s, u.ID, "m-1")
	const n = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		changed int
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := s.MarkOrderPaid(ctx, "m-1", "imp_1", t0.Add(time.Duration(i)*time.Second))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if tr.Changed {
				changed++
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 || changed != 1 {
		t.Fatalf("%d of %d calls changed the order (errors %v); want exactly 1", changed, n, errs)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.PremiumUntil.Sub(t0); d < month || d >= month+n*time.Second {
		t.Fatalf("premium until %v: extended %v, want one period", got.PremiumUntil, d)
	}
}

func testConcurrentOrders(t *testing.T, s Backend) {
	ctx := ctxT(t)
	u := newUser(t, s, time.Time{})
	const n = 4
	for i := range n {
		newOrder(t, s, u.ID, fmt.Sprintf("m-%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr, err := s.MarkOrderPaid(ctx, fmt.Sprintf("m-%d", i), fmt.Sprintf("imp_%d", i), t0)
			if err == nil && !tr.Changed {
				err = fmt.Errorf("order m-%d not changed", i)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(n * month); !got.PremiumUntil.Equal(want) {
		t.Fatalf("premium until %v, want %v: an extension was lost", got.PremiumUntil, want)
	}
}

func testFailedThenPaid(t *testing.T, s Backend) {
	ctx := ctxT(t)
	u := newUser(t, s, time.Time{})
	newOrder(t, s, u.ID, "m-1")
	tr, err := s.MarkOrderFailed(ctx, "m-1", "imp_fail", t0)
	if err != nil || !tr.Changed || tr.Order.Status != wire.OrderFailed || !tr.PremiumUntil.IsZero() {
		t.Fatalf("MarkOrderFailed = %+v, %v", tr, err)
	}
	// The buyer retries in the window with the same merchant uid.
	tr, err = s.MarkOrderPaid(ctx, "m-1", "imp_ok", t0)
	if err != nil || !tr.Changed || tr.Order.PortOneID != "imp_ok" || !tr.PremiumUntil.Equal(t0.Add(month)) {
		t.Fatalf("MarkOrderPaid after failure = %+v, %v", tr, err)
	}
	// A late failure notice for the first attempt changes nothing.
	tr, err = s.MarkOrderFailed(ctx, "m-1", "imp_fail", t0.Add(time.Minute))
	if err != nil || tr.Changed || tr.Order.Status != wire.OrderPaid {
		t.Fatalf("late MarkOrderFailed = %+v, %v", tr, err)
	}
}

func testTampered(t *testing.T, s Backend) {
	ctx := ctxT(t)
	u := newUser(t, s, time.Time{})
	newOrder(t, s, u.ID, "m-1")
	tr, err := s.MarkOrderTampered(ctx, "m-1", "imp_1", 100, t0)
	if err != nil || !tr.Changed || tr.Order.Status != wire.OrderTampered || tr.Order.PaidAmount != 100 || tr.Order.PortOneID != "imp_1" {
		t.Fatalf("MarkOrderTampered = %+v, %v", tr, err)
	}
	for name, call := range map[string]func() (payment.Transition, error){
		"paid":      func() (payment.Transition, error) { return s.MarkOrderPaid(ctx, "m-1", "imp_1", t0) },
		"cancelled": func() (payment.Transition, error) { return s.MarkOrderCancelled(ctx, "m-1", t0) },
		"tampered":  func() (payment.Transition, error) { return s.MarkOrderTampered(ctx, "m-1", "imp_1", 100, t0) },
	} {
		tr, err := call()
		if err != nil || tr.Changed || tr.Order.Status != wire.OrderTampered || !tr.PremiumUntil.IsZero() {
			t.Fatalf("%s after tampered = %+v, %v; want unchanged", name, tr, err)
		}
	}
	// Committed for real: a fresh read sees it.
	o, err := s.OrderByMerchantUID(ctx, "m-1")
	if err != nil || o.Status != wire.OrderTampered {
		t.Fatalf("re-read %+v, %v", o, err)
	}
}

func testCancelled(t *testing.T, s Backend) {
	ctx := ctxT(t)
	u := newUser(t, s, time.Time{})
	newOrder(t, s, u.ID, "m-1")
	newOrder(t, s, u.ID, "m-2")
	newOrder(t, s, u.ID, "m-3")
	if _, err := s.MarkOrderPaid(ctx, "m-1", "imp_1", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MarkOrderPaid(ctx, "m-2", "imp_2", t0); err != nil {
		t.Fatal(err)
	}
	// Refunding one of two paid periods keeps the other.
	later := t0.Add(24 * time.Hour)
	tr, err := s.MarkOrderCancelled(ctx, "m-2", later)
	if err != nil || !tr.Changed || tr.Order.Status != wire.OrderCancelled || !tr.Order.CancelledAt.Equal(later) {
		t.Fatalf("MarkOrderCancelled = %+v, %v", tr, err)
	}
	if want := t0.Add(month); !tr.PremiumUntil.Equal(want) {
		t.Fatalf("after one refund premium until %v, want %v", tr.PremiumUntil, want)
	}
	// Refunding the last one ends Premium now.
	tr, err = s.MarkOrderCancelled(ctx, "m-1", later)
	if err != nil || !tr.Changed || !tr.PremiumUntil.Equal(later) {
		t.Fatalf("last refund = %+v, %v; want premium ended at %v", tr, err, later)
	}
	again, err := s.MarkOrderCancelled(ctx, "m-1", later.Add(time.Hour))
	if err != nil || again.Changed || !again.PremiumUntil.Equal(later) {
		t.Fatalf("repeated refund = %+v, %v; want unchanged", again, err)
	}
	// A pending order is cancelled without touching Premium.
	tr, err = s.MarkOrderCancelled(ctx, "m-3", later)
	if err != nil || !tr.Changed || !tr.PremiumUntil.Equal(later) {
		t.Fatalf("pending cancel = %+v, %v", tr, err)
	}
	if tr, err := s.MarkOrderPaid(ctx, "m-3", "imp_3", later); err != nil || tr.Changed {
		t.Fatalf("paid after cancel = %+v, %v; want unchanged", tr, err)
	}
}

func testUnknown(t *testing.T, s Backend) {
	ctx := ctxT(t)
	calls := map[string]func() (payment.Transition, error){
		"paid":      func() (payment.Transition, error) { return s.MarkOrderPaid(ctx, "nope", "i", t0) },
		"failed":    func() (payment.Transition, error) { return s.MarkOrderFailed(ctx, "nope", "i", t0) },
		"tampered":  func() (payment.Transition, error) { return s.MarkOrderTampered(ctx, "nope", "i", 1, t0) },
		"cancelled": func() (payment.Transition, error) { return s.MarkOrderCancelled(ctx, "nope", t0) },
	}
	for name, call := range calls {
		if _, err := call(); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on an unknown order: %v, want ErrNotFound", name, err)
		}
	}
}

func testWebhooks(t *testing.T, s Backend) {
	ctx := ctxT(t)
	seen := func(id string, since time.Time) bool {
		t.Helper()
		ok, err := s.WebhookSeen(ctx, id, since)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if seen("wh_1", time.Time{}) {
		t.Fatal("unknown id seen")
	}
	if err := s.RecordWebhook(ctx, "wh_1", t0, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordWebhook(ctx, "wh_1", t0, t0.Add(-time.Hour)); err != nil {
		t.Fatalf("recording twice: %v", err)
	}
	if !seen("wh_1", t0.Add(-time.Hour)) || seen("wh_2", t0.Add(-time.Hour)) {
		t.Fatal("dedupe does not tell wh_1 from wh_2")
	}
	if seen("wh_1", t0.Add(time.Second)) {
		t.Fatal("an id older than since counts as seen")
	}
	// Recording a later one forgets those before forgetBefore.
	if err := s.RecordWebhook(ctx, "wh_2", t0.Add(2*time.Hour), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if seen("wh_1", time.Time{}) || !seen("wh_2", time.Time{}) {
		t.Fatal("old webhook ids were not forgotten")
	}
}
