package portone_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/server/payment/portone"
	"github.com/didacto/didacto/server/payment/portonetest"
)

func headers(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

// The published Standard Webhooks test vector: what PortOne's (and every
// other sender's) signer produces must verify.
func TestVerifierStandardVector(t *testing.T) {
	at := time.Unix(1614265330, 0)
	v, err := portone.NewVerifier([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, func() time.Time { return at })
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"test": 2432232314}`)
	id, err := v.Verify(headers("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="), body)
	if err != nil || id != "msg_p5jXN8AQM9LWM0D4loKWxJek" {
		t.Fatalf("vector: id %q, err %v", id, err)
	}
	// The fake gateway's independent signer agrees with the vector.
	if got := portonetest.Sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body); got != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("portonetest.Sign = %s", got)
	}
}

func TestVerifier(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	oldSecret, newSecret, other := portonetest.NewWebhookSecret(), portonetest.NewWebhookSecret(), portonetest.NewWebhookSecret()
	v, err := portone.NewVerifier([]string{newSecret, oldSecret}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	body := portonetest.V2Event("Transaction.Paid", "pay-1", now)
	ts := now.Unix()
	sig := func(secret string, ts int64) string { return portonetest.Sign(secret, "wh-1", ts, body) }

	cases := []struct {
		name string
		h    http.Header
		body []byte
		want error
	}{
		{"new secret", headers("wh-1", ts, sig(newSecret, ts)), body, nil},
		{"old secret during rotation", headers("wh-1", ts, sig(oldSecret, ts)), body, nil},
		{"several signatures, one good", headers("wh-1", ts, "v1,Zm9v "+sig(other, ts)+" "+sig(oldSecret, ts)), body, nil},
		{"4:59 late", headers("wh-1", ts-299, sig(newSecret, ts-299)), body, nil},
		{"unknown secret", headers("wh-1", ts, sig(other, ts)), body, portone.ErrWebhookSignature},
		{"body changed", headers("wh-1", ts, sig(newSecret, ts)), append([]byte(" "), body...), portone.ErrWebhookSignature},
		{"id changed", headers("wh-2", ts, sig(newSecret, ts)), body, portone.ErrWebhookSignature},
		{"timestamp changed", headers("wh-1", ts+1, sig(newSecret, ts)), body, portone.ErrWebhookSignature},
		{"v2 scheme only", headers("wh-1", ts, "v1a,"+strings.TrimPrefix(sig(newSecret, ts), "v1,")), body, portone.ErrWebhookSignature},
		{"not base64", headers("wh-1", ts, "v1,!!!"), body, portone.ErrWebhookSignature},
		{"replayed 6 minutes later", headers("wh-1", ts-360, sig(newSecret, ts-360)), body, portone.ErrWebhookTimestamp},
		{"from the future", headers("wh-1", ts+360, sig(newSecret, ts+360)), body, portone.ErrWebhookTimestamp},
		{"no id", headers("", ts, sig(newSecret, ts)), body, portone.ErrWebhookHeaders},
		{"no signature", headers("wh-1", ts, ""), body, portone.ErrWebhookHeaders},
		{"timestamp not a number", func() http.Header {
			h := headers("wh-1", ts, sig(newSecret, ts))
			h.Set("webhook-timestamp", "12:00")
			return h
		}(), body, portone.ErrWebhookHeaders},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := v.Verify(c.h, c.body)
			if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Fatalf("Verify = %q, %v; want %v", id, err, c.want)
			}
			if c.want == nil && id != c.h.Get("webhook-id") {
				t.Fatalf("id %q", id)
			}
		})
	}
}

func TestNewVerifierRejectsBadSecrets(t *testing.T) {
	for _, s := range [][]string{nil, {""}, {"whsec_%%%"}} {
		if _, err := portone.NewVerifier(s, nil); err == nil {
			t.Errorf("NewVerifier(%q) accepted", s)
		}
	}
	// The prefix is optional, as in the reference implementations.
	if _, err := portone.NewVerifier([]string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, nil); err != nil {
		t.Errorf("secret without prefix: %v", err)
	}
}

func TestDecodeV1Webhook(t *testing.T) {
	w, err := portone.DecodeV1Webhook("application/json", []byte(`{"imp_uid":"imp_1","merchant_uid":"didacto_ab","status":"paid"}`))
	if err != nil || w.ImpUID != "imp_1" || w.MerchantUID != "didacto_ab" || w.Status != "paid" {
		t.Fatalf("json: %+v %v", w, err)
	}
	w, err = portone.DecodeV1Webhook("application/x-www-form-urlencoded; charset=utf-8", []byte(`imp_uid=imp_2&merchant_uid=m2&status=cancelled&cancellation_id=c1`))
	if err != nil || w.ImpUID != "imp_2" || w.CancellationID != "c1" {
		t.Fatalf("form: %+v %v", w, err)
	}
	for _, bad := range []string{
		``, `{}`, `[]`, `{"imp_uid":"imp_1"}`, `{"imp_uid":"../x","merchant_uid":"m"}`,
		`{"imp_uid":"imp_1","merchant_uid":"` + strings.Repeat("m", 41) + `"}`,
		`{"imp_uid":"imp 1","merchant_uid":"m"}`, `{"imp_uid":1,"merchant_uid":"m"}`,
	} {
		if _, err := portone.DecodeV1Webhook("application/json", []byte(bad)); !errors.Is(err, portone.ErrWebhookBody) {
			t.Errorf("%s: %v, want ErrWebhookBody", bad, err)
		}
	}
}

func TestDecodeV2Webhook(t *testing.T) {
	w, err := portone.DecodeV2Webhook(portonetest.V2Event("Transaction.Paid", "pay-1", time.Now()))
	if err != nil || !w.IsTransaction() || w.Data.PaymentID != "pay-1" {
		t.Fatalf("%+v %v", w, err)
	}
	w, err = portone.DecodeV2Webhook([]byte(`{"type":"BillingKey.Issued","timestamp":"2026-11-23T00:00:00Z","data":{"billingKey":"bk"}}`))
	if err != nil || w.IsTransaction() {
		t.Fatalf("other type: %+v %v", w, err)
	}
	for _, bad := range []string{``, `{}`, `{"type":""}`, `{"type":"Transaction.Paid","data":{}}`, `{"type":"Transaction.Paid","data":{"paymentId":"a/b"}}`, `null`} {
		if _, err := portone.DecodeV2Webhook([]byte(bad)); !errors.Is(err, portone.ErrWebhookBody) {
			t.Errorf("%s: %v, want ErrWebhookBody", bad, err)
		}
	}
}
