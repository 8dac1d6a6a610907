package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/server/payment/portonetest"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestConsoleBuysPremium buys Premium through the console's payment page in
// headless Chromium, against a fake PortOne whose fake browser SDK is loaded
// from its own origin (so the page's CSP is exercised): V1 paid and
// cancelled, a V1 amount change refused by the window (the amount was
// registered beforehand), and a V2 payment of another amount refunded at once.
func TestConsoleBuysPremium(t *testing.T) {
	e := needE2E(t)
	fake := portonetest.New(t, nil)
	v1 := servertest.Start(t, func(c *config.Config) {
		c.PortOne = config.PortOne{V1Key: portonetest.ImpKey, V1Secret: portonetest.ImpSecret,
			V1StoreCode: portonetest.StoreCode, V1PG: "html5_inicis", V1BaseURL: fake.V1URL,
			V1SDKURL: fake.V1URL + "/sdk/iamport.js"}
	})
	v2 := servertest.Start(t, func(c *config.Config) {
		c.PortOne = config.PortOne{V2Secret: portonetest.V2Secret, V2StoreID: portonetest.StoreID,
			V2Channel: "channel-key-test", V2BaseURL: fake.V2URL, V2SDKURL: fake.V2URL + "/sdk/browser-sdk.js",
			WebhookSecrets: []string{portonetest.NewWebhookSecret()}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for _, tc := range []struct {
		srv          *servertest.Instance
		choice, want string
	}{
		{v1, "pay", string(wire.OrderPaid)},
		{v1, "cancel", string(wire.OrderPending)},
		{v1, "tamper", string(wire.OrderPending)},
		{v2, "tamper", string(wire.OrderTampered)},
		{v2, "pay", string(wire.OrderPaid)},
	} {
		env := append(screenshotEnv(), "BASE_URL="+tc.srv.URL, "CHOICE="+tc.choice, "WANT="+tc.want)
		out := e.run(t, ctx, "pay.mjs", env...)
		if tc.choice != "pay" {
			continue
		}
		// What Premium buys, through the real server: the free limit of 3
		// active lectures is lifted.
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var who struct{ Email string }
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &who); err != nil {
			t.Fatalf("pay.mjs said %q: %v", lines[len(lines)-1], err)
		}
		c := tc.srv.NewClient(t)
		var pair wire.TokenPair
		c.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: who.Email, Password: servertest.Password}, &pair)
		c.Token = pair.AccessToken
		var me wire.User
		c.Must(200, "GET", "/api/v1/me", nil, &me)
		if me.Plan != wire.PlanPremium || me.PremiumUntil == nil {
			t.Fatalf("after paying: %+v", me)
		}
		for i := range 4 {
			var l wire.Lecture
			c.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: fmt.Sprintf("Premium %d", i)}, &l)
			c.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
		}
		var hist wire.Page[wire.PaymentRecord]
		c.Must(200, "GET", "/api/v1/payments", nil, &hist)
		if hist.Total != 1 || hist.Items[0].Status != wire.OrderPaid {
			t.Errorf("payment history %+v", hist)
		}
	}
	// The V2 tamper was refunded at PortOne with the right balance.
	refunded := false
	for _, c := range fake.Cancels() {
		refunded = refunded || (c.V2 && c.Accepted && c.Checksum >= 0)
	}
	if !refunded {
		t.Errorf("no accepted V2 refund with currentCancellableAmount at the fake: %+v", fake.Cancels())
	}
}
