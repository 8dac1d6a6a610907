package payment

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/didacto/didacto/wire"
)

// Plan is a Premium plan: what it is called, what it costs, what it buys.
type Plan struct {
	ID       string
	Name     string
	PriceKRW int64
	Period   time.Duration
}

// DefaultPlans are used when the configuration lists none.
func DefaultPlans() []Plan {
	return []Plan{
		{ID: "premium-monthly", Name: "DIDACTO Premium (30 days)", PriceKRW: 9900, Period: 30 * 24 * time.Hour},
		{ID: "premium-yearly", Name: "DIDACTO Premium (365 days)", PriceKRW: 99000, Period: 365 * 24 * time.Hour},
	}
}

// Config is the payment part of the server configuration. Secrets come from
// the environment or a secrets file, never from the repository.
type Config struct {
	// V1 (IAMPORT): REST key and secret, the store code ("imp12345678") and
	// PG the browser SDK needs. BaseURL defaults to https://api.iamport.kr.
	V1Key       string
	V1Secret    string
	V1StoreCode string
	V1PG        string
	V1BaseURL   string

	// V2: API secret, store id and channel key. BaseURL defaults to
	// https://api.portone.io. When V2 is configured new orders use it.
	V2Secret     string
	V2StoreID    string
	V2ChannelKey string
	V2BaseURL    string

	// V1SDKURL and V2SDKURL are the browser SDKs the console's payment page
	// loads (defaults: PortOne's CDN). A test or an offline mirror may
	// serve them elsewhere; their origins are allowed on that page only.
	V1SDKURL string
	V2SDKURL string

	// WebhookSecrets are the whsec_ secrets V2 webhooks are signed with; two
	// may be active while rotating. Without one V2 webhooks are refused.
	WebhookSecrets []string

	Plans []Plan // default DefaultPlans()

	HTTP *http.Client // for PortOne calls; default 15 s timeout
}

// V1Enabled reports whether V1 keys are configured.
func (c Config) V1Enabled() bool { return c.V1Key != "" && c.V1Secret != "" && c.V1StoreCode != "" }

// V2Enabled reports whether V2 keys are configured.
func (c Config) V2Enabled() bool {
	return c.V2Secret != "" && c.V2StoreID != "" && c.V2ChannelKey != ""
}

// Validate reports configuration mistakes (a half-configured gateway or a
// bad plan), so the server refuses to start rather than fail at payment time.
func (c Config) Validate() error {
	var errs []error
	if n := count(c.V1Key, c.V1Secret, c.V1StoreCode); n != 0 && n != 3 {
		errs = append(errs, errors.New("payment: V1 needs key, secret and store code together"))
	}
	if n := count(c.V2Secret, c.V2StoreID, c.V2ChannelKey); n != 0 && n != 3 {
		errs = append(errs, errors.New("payment: V2 needs API secret, store id and channel key together"))
	}
	for _, u := range []string{c.V1SDKURL, c.V2SDKURL} {
		if u == "" {
			continue
		}
		pu, err := url.Parse(u)
		loopback := err == nil && (pu.Hostname() == "127.0.0.1" || pu.Hostname() == "::1" || pu.Hostname() == "localhost")
		if err != nil || pu.Host == "" || (pu.Scheme != "https" && !(pu.Scheme == "http" && loopback)) {
			errs = append(errs, fmt.Errorf("payment: SDK URL %q must be https (plain http only on loopback, for tests)", u))
		}
	}
	seen := map[string]bool{}
	for _, p := range c.Plans {
		switch {
		case p.ID == "" || len(p.ID) > 64:
			errs = append(errs, fmt.Errorf("payment: plan %q: id must be 1-64 characters", p.ID))
		case seen[p.ID]:
			errs = append(errs, fmt.Errorf("payment: plan %q listed twice", p.ID))
		case p.PriceKRW < 100:
			errs = append(errs, fmt.Errorf("payment: plan %q: price must be at least 100 KRW", p.ID))
		case p.Period < 24*time.Hour:
			errs = append(errs, fmt.Errorf("payment: plan %q: period must be at least a day", p.ID))
		}
		seen[p.ID] = true
	}
	return errors.Join(errs...)
}

// DefaultV1SDKURL and DefaultV2SDKURL are PortOne's browser SDKs.
const (
	DefaultV1SDKURL = "https://cdn.iamport.kr/v1/iamport.js"
	DefaultV2SDKURL = "https://cdn.portone.io/v2/browser-sdk.js"
)

func (c Config) withDefaults() Config {
	if c.V1SDKURL == "" {
		c.V1SDKURL = DefaultV1SDKURL
	}
	if c.V2SDKURL == "" {
		c.V2SDKURL = DefaultV2SDKURL
	}
	return c
}

func count(ss ...string) int {
	n := 0
	for _, s := range ss {
		if s != "" {
			n++
		}
	}
	return n
}

func (p Plan) wire() wire.Plan {
	return wire.Plan{ID: p.ID, Name: p.Name, PriceKRW: p.PriceKRW, PeriodDays: int(p.Period / (24 * time.Hour))}
}
