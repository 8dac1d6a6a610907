package payment_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/didacto/didacto/server/payment"
	"github.com/didacto/didacto/server/payment/portonetest"
	"github.com/didacto/didacto/wire"
)

// pendingOrders inserts n pending V2 orders paid at the fake gateway,
// bypassing the already-premium rule (the benchmark completes many orders
// of one professor).
func pendingOrders(b *testing.B, h *harness, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench_%d", i)
		_, err := h.st.CreateOrder(context.Background(), payment.Order{
			UserID: h.prof.ID, MerchantUID: ids[i], PlanID: "monthly", PlanName: "Premium 30 days", Amount: 9900,
			Currency: "KRW", Period: month, Gateway: payment.GatewayV2,
		})
		if err != nil {
			b.Fatal(err)
		}
		h.fake.PayV2(ids[i], 9900)
	}
	return ids
}

// BenchmarkCompleteV2 is one browser completion: a PortOne look-up over
// loopback HTTP plus the paid transition (one SQLite transaction).
func BenchmarkCompleteV2(b *testing.B) {
	h := newHarness(b, v2)
	ids := pendingOrders(b, h, b.N)
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := h.svc.Complete(ctx, h.prof.ID, wire.CompletePaymentRequest{PaymentID: ids[i]}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebhookV2 is one signed webhook delivery over loopback HTTP:
// signature check, dedupe look-up, PortOne look-up, transition, id record.
func BenchmarkWebhookV2(b *testing.B) {
	h := newHarness(b, v2)
	ids := pendingOrders(b, h, b.N)
	url := h.hooks.URL + "/api/v1/payments/webhook/v2"
	now := h.clk.Now()
	b.ResetTimer()
	for i := range b.N {
		req := portonetest.SignedV2Request(url, h.secrets[0], fmt.Sprintf("wh-%d", i), now, portonetest.V2Event("Transaction.Paid", ids[i], now))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}

// BenchmarkDuplicateWebhookV2 is a redelivery of an already processed
// webhook-id: answered from the dedupe table without asking PortOne.
func BenchmarkDuplicateWebhookV2(b *testing.B) {
	h := newHarness(b, v2)
	ids := pendingOrders(b, h, 1)
	url := h.hooks.URL + "/api/v1/payments/webhook/v2"
	body := portonetest.V2Event("Transaction.Paid", ids[0], h.clk.Now())
	send := func() {
		resp, err := http.DefaultClient.Do(portonetest.SignedV2Request(url, h.secrets[0], "wh-dup", h.clk.Now(), body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	send()
	fetches := h.fake.Fetches()
	b.ResetTimer()
	for range b.N {
		send()
	}
	b.StopTimer()
	if h.fake.Fetches() != fetches {
		b.Fatal("duplicates reached PortOne")
	}
}
