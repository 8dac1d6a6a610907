package portone_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/server/payment/portone"
	"github.com/didacto/didacto/server/payment/portonetest"
)

// clock is a settable clock shared by the fake gateway and the client.
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

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func newV1(t *testing.T) (*portone.V1, *portonetest.Server, *clock) {
	clk := &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	fake := portonetest.New(t, clk.Now)
	c := portone.NewV1(portone.V1Config{BaseURL: fake.V1URL, ImpKey: portonetest.ImpKey, ImpSecret: portonetest.ImpSecret, Now: clk.Now})
	return c, fake, clk
}

func TestV1PaymentAndTokenCache(t *testing.T) {
	c, fake, clk := newV1(t)
	if err := c.Prepare(ctx(t), "m-1", 9900); err != nil {
		t.Fatal(err)
	}
	imp, err := fake.PayV1("m-1", 9900)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.Payment(ctx(t), imp)
	if err != nil {
		t.Fatal(err)
	}
	if p.ImpUID != imp || p.MerchantUID != "m-1" || p.Amount != 9900 || p.Status != portone.V1StatusPaid || p.Currency != "KRW" || p.PaidAt == 0 {
		t.Fatalf("payment %+v", p)
	}
	if n := fake.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for two calls, want 1 (cached)", n)
	}
	// 28 minutes later the 30-minute token is still used...
	clk.Add(28 * time.Minute)
	if _, err := c.Payment(ctx(t), imp); err != nil || fake.TokenRequests() != 1 {
		t.Fatalf("at 28 min: %v, %d token requests", err, fake.TokenRequests())
	}
	// ...and within the last minute it is renewed before it can expire in flight.
	clk.Add(90 * time.Second)
	if _, err := c.Payment(ctx(t), imp); err != nil || fake.TokenRequests() != 2 {
		t.Fatalf("at 29.5 min: %v, %d token requests, want a renewal", err, fake.TokenRequests())
	}
	// Past expiry the old token would be refused; the client has a new one.
	clk.Add(10 * time.Minute)
	if _, err := c.Payment(ctx(t), imp); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestV1TokenRevokedIsRefreshedOnce(t *testing.T) {
	c, fake, _ := newV1(t)
	imp := fake.ForgeV1("m-1", 100)
	if _, err := c.Payment(ctx(t), imp); err != nil {
		t.Fatal(err)
	}
	fake.RevokeTokens()
	if _, err := c.Payment(ctx(t), imp); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if n := fake.TokenRequests(); n != 2 {
		t.Fatalf("%d token requests, want 2", n)
	}
}

func TestV1ConcurrentCallsShareOneToken(t *testing.T) {
	c, fake, _ := newV1(t)
	imp := fake.ForgeV1("m-1", 100)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Payment(ctx(t), imp)
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
	if n := fake.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests from 8 concurrent calls, want 1", n)
	}
}

func TestV1Errors(t *testing.T) {
	c, fake, _ := newV1(t)
	if _, err := c.Payment(ctx(t), "imp_nope"); !errors.Is(err, portone.ErrNotFound) {
		t.Fatalf("unknown payment: %v, want ErrNotFound", err)
	}
	var apiErr *portone.APIError
	if _, err := c.Payment(ctx(t), "imp_nope"); !errors.As(err, &apiErr) || apiErr.Code != 1 || apiErr.Msg == "" {
		t.Fatalf("envelope not carried: %#v", err)
	}
	bad := portone.NewV1(portone.V1Config{BaseURL: fake.V1URL, ImpKey: "wrong", ImpSecret: "wrong"})
	if _, err := bad.Payment(ctx(t), "imp_nope"); !errors.Is(err, portone.ErrUnauthorized) {
		t.Fatalf("wrong keys: %v, want ErrUnauthorized", err)
	}
	imp := fake.ForgeV1("m-1", 5000)
	if _, err := c.Cancel(ctx(t), portone.V1Cancel{ImpUID: imp, Checksum: 4000, Reason: "test"}); !errors.Is(err, portone.ErrRefused) {
		t.Fatalf("wrong checksum: %v, want ErrRefused", err)
	}
	p, err := c.Cancel(ctx(t), portone.V1Cancel{ImpUID: imp, Checksum: 5000, Reason: "test"})
	if err != nil || p.Status != portone.V1StatusCancelled || p.CancelAmount != 5000 {
		t.Fatalf("cancel: %+v, %v", p, err)
	}
	if _, err := c.Cancel(ctx(t), portone.V1Cancel{ImpUID: imp, Checksum: 5000, Reason: "again"}); !errors.Is(err, portone.ErrRefused) {
		t.Fatalf("second cancel: %v, want ErrRefused", err)
	}
	fake.SetDown(true)
	if _, err := c.Payment(ctx(t), imp); !errors.Is(err, portone.ErrUnavailable) {
		t.Fatalf("gateway down: %v, want ErrUnavailable", err)
	}
	fake.SetDown(false)
	dead := portone.NewV1(portone.V1Config{BaseURL: "http://127.0.0.1:1", ImpKey: "k", ImpSecret: "s"})
	if _, err := dead.Payment(ctx(t), imp); !errors.Is(err, portone.ErrUnavailable) {
		t.Fatalf("connection refused: %v, want ErrUnavailable", err)
	}
}

func TestV2(t *testing.T) {
	fake := portonetest.New(t, nil)
	c := portone.NewV2(portone.V2Config{BaseURL: fake.V2URL, APISecret: portonetest.V2Secret, StoreID: "store-test"})
	fake.PayV2("pay-1", 9900)
	p, err := c.Payment(ctx(t), "pay-1")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "pay-1" || p.Status != portone.V2StatusPaid || p.Amount.Total != 9900 || p.Amount.Paid != 9900 || p.Currency != "KRW" || p.PaidAt == nil {
		t.Fatalf("payment %+v", p)
	}
	if _, err := c.Payment(ctx(t), "pay-nope"); !errors.Is(err, portone.ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
	wrongBal := int64(1)
	var apiErr *portone.APIError
	if _, err := c.Cancel(ctx(t), "pay-1", portone.V2Cancel{Reason: "r", CurrentCancellableAmount: &wrongBal}); !errors.As(err, &apiErr) || apiErr.Status != 409 || !errors.Is(err, portone.ErrRefused) {
		t.Fatalf("stale balance: %v, want 409 refused", err)
	}
	bal := int64(9900)
	cn, err := c.Cancel(ctx(t), "pay-1", portone.V2Cancel{Reason: "r", CurrentCancellableAmount: &bal})
	if err != nil || cn.TotalAmount != 9900 {
		t.Fatalf("cancel %+v %v", cn, err)
	}
	if p, _ := c.Payment(ctx(t), "pay-1"); p.Status != portone.V2StatusCancelled || p.Amount.Cancelled != 9900 {
		t.Fatalf("after cancel %+v", p)
	}
	bad := portone.NewV2(portone.V2Config{BaseURL: fake.V2URL, APISecret: "nope"})
	if _, err := bad.Payment(ctx(t), "pay-1"); !errors.Is(err, portone.ErrUnauthorized) {
		t.Fatalf("bad secret: %v", err)
	}
	fake.SetDown(true)
	if _, err := c.Payment(ctx(t), "pay-1"); !errors.Is(err, portone.ErrUnavailable) {
		t.Fatalf("down: %v", err)
	}
}
