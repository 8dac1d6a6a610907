package portone_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/didacto/didacto/server/payment/portone"
	"github.com/didacto/didacto/server/payment/portonetest"
)

// BenchmarkVerify is one Standard Webhooks check with two active secrets,
// the signature made with the second (the worst case during rotation).
func BenchmarkVerify(b *testing.B) {
	now := time.Now()
	s1, s2 := portonetest.NewWebhookSecret(), portonetest.NewWebhookSecret()
	v, err := portone.NewVerifier([]string{s1, s2}, func() time.Time { return now })
	if err != nil {
		b.Fatal(err)
	}
	body := portonetest.V2Event("Transaction.Paid", "didacto_0123456789abcdef01234567", now)
	req := portonetest.SignedV2Request("http://127.0.0.1/", s2, "wh-1", now, body)
	h := http.Header(req.Header)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}
