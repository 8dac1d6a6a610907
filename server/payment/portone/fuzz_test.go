package portone_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/server/payment/portone"
	"github.com/didacto/didacto/server/payment/portonetest"
)

func validID(s string, max int) bool {
	return s != "" && len(s) <= max && !strings.ContainsAny(s, " /\\?#%\t\r\n")
}

func FuzzDecodeV1Webhook(f *testing.F) {
	f.Add("application/json", []byte(`{"imp_uid":"imp_123456789012","merchant_uid":"didacto_0123456789abcdef01234567","status":"paid"}`))
	f.Add("application/json", []byte(`{"imp_uid":"imp_1","merchant_uid":"m","status":"cancelled","cancellation_id":"c_1"}`))
	f.Add("application/x-www-form-urlencoded", []byte(`imp_uid=imp_1&merchant_uid=m&status=ready`))
	f.Add("application/json", []byte(`{"imp_uid":"imp_1","merchant_uid":"m","status":"paid","extra":[1,2,{}]}`))
	f.Add("text/plain", []byte(`not json`))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		w, err := portone.DecodeV1Webhook(ct, body)
		if err != nil {
			return
		}
		if !validID(w.ImpUID, 128) || !validID(w.MerchantUID, 40) || len(w.Status) > 32 || len(w.CancellationID) > 128 {
			t.Fatalf("accepted %+v from %q", w, body)
		}
		// A decoded webhook survives a round trip unchanged.
		b, _ := json.Marshal(w)
		w2, err := portone.DecodeV1Webhook("application/json", b)
		if err != nil || w2 != w {
			t.Fatalf("round trip %+v -> %+v, %v", w, w2, err)
		}
	})
}

func FuzzDecodeV2Webhook(f *testing.F) {
	at := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for _, typ := range []string{"Transaction.Paid", "Transaction.Cancelled", "Transaction.Failed", "Transaction.VirtualAccountIssued"} {
		f.Add(portonetest.V2Event(typ, "didacto_0123456789abcdef01234567", at))
	}
	f.Add([]byte(`{"type":"BillingKey.Issued","timestamp":"2026-11-23T00:00:00Z","data":{"storeId":"s","billingKey":"b"}}`))
	f.Add([]byte(`{"type":"Transaction.Paid","data":{"paymentId":"p","cancellationId":"c"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := portone.DecodeV2Webhook(body)
		if err != nil {
			return
		}
		if w.Type == "" || len(w.Type) > 64 || (w.IsTransaction() && !validID(w.Data.PaymentID, 128)) {
			t.Fatalf("accepted %+v from %q", w, body)
		}
		b, _ := json.Marshal(w)
		w2, err := portone.DecodeV2Webhook(b)
		if err != nil || w2 != w {
			t.Fatalf("round trip %+v -> %+v, %v", w, w2, err)
		}
	})
}

// FuzzVerify: arbitrary headers and bodies never verify unless signed with
// the secret, and never panic.
func FuzzVerify(f *testing.F) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Unix(1614265330, 0)
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("wh", "1614265330", "v1,AAAA v1,BBBB", []byte(`{}`))
	f.Add("wh", "-1", "v1,", []byte(nil))
	v, err := portone.NewVerifier([]string{secret}, func() time.Time { return now })
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		got, err := v.Verify(h, body)
		if err != nil {
			return
		}
		if got != h.Get("webhook-id") {
			t.Fatalf("id %q != %q", got, h.Get("webhook-id"))
		}
		// Accepted: one of the signatures must be the real one.
		want := portonetest.Sign(secret, h.Get("webhook-id"), mustInt(t, h.Get("webhook-timestamp")), body)
		if !strings.Contains(" "+h.Get("webhook-signature")+" ", " "+want+" ") && !containsEquivalent(h.Get("webhook-signature"), want) {
			t.Fatalf("accepted signature %q; real one %q", sig, want)
		}
	})
}

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("accepted timestamp %q", s)
	}
	return n
}

// containsEquivalent allows separators other than a single space (tabs,
// several spaces), which strings.Fields accepts.
func containsEquivalent(sigs, want string) bool {
	for _, s := range strings.Fields(sigs) {
		if s == want {
			return true
		}
	}
	return false
}
