// Package config loads the server's settings from, in rising priority, a
// config file, DIDACTO_* environment variables and command-line flags.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// Config is every server setting.
type Config struct {
	Addr        string // listen address
	DataDir     string // SQLite file and local state
	DatabaseURL string // "" = SQLite in DataDir; postgres://… = PostgreSQL
	RedisURL    string // "" = in-memory locks, frames and relay
	PublicURL   string // how browsers reach the server (origin checks, cookies)
	TLSCert     string
	TLSKey      string
	Demo        bool   // create demo accounts on first start
	LogLevel    string // debug, info, warn, error
	LogFormat   string // text or json
	Replica     string // this replica's name in logs and the audit log
	TimeZone    string // attendance days are counted in this zone
	ICEServers  []string
	// TURN credentials for the turn: URLs of ICEServers: a static
	// username/credential, or TURNSecret (coturn's static-auth-secret) for
	// per-user credentials that expire after TURNTTL.
	TURNUsername, TURNCredential, TURNSecret string
	TURNTTL                                  time.Duration
	// Frame and presence tuning.
	FrameTTL time.Duration // a frame older than this is not shown
	RoomTTL  time.Duration // signaling seat lease: a crashed client or replica frees its rooms within it
	// HTTP timeouts: a request's headers and body must arrive within
	// ReadTimeout and its answer leave within WriteTimeout (streams extend
	// theirs); an idle keep-alive connection closes after IdleTimeout.
	ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// Caps on long-lived connections per replica: signaling websockets and
	// monitoring event streams, per account and per client address.
	MaxSocketsPerUser, MaxSocketsPerAddress int
	MaxStreamsPerUser, MaxStreamsPerAddress int
	// JoinCooldown is how long a rejected student waits before asking to
	// join the same lecture again.
	JoinCooldown time.Duration
	// AuditRetention: audit rows older than this are pruned (0: kept).
	AuditRetention time.Duration
	// MetricsToken, when set, is the bearer token /metrics asks for; without
	// it /metrics answers loopback clients only.
	MetricsToken string
	// TrustedProxies are the load balancers whose X-Forwarded-For names the
	// client for the per-address limits (addresses or CIDR prefixes).
	TrustedProxies []string
	// PortOne (payments). Empty keys switch payments off.
	PortOne PortOne
}

// PortOne holds the payment gateway settings.
type PortOne struct {
	V1Key, V1Secret, V1StoreCode   string
	V1PG                           string
	V2Secret, V2StoreID, V2Channel string
	WebhookSecrets                 []string
	V1BaseURL, V2BaseURL           string
	// The browser SDKs the payment page loads (PortOne's CDN by default).
	V1SDKURL, V2SDKURL string
	Plans              []Plan // empty: the built-in plans
}

// Plan is a Premium plan from the config file (`plans:` list).
type Plan struct {
	ID       string
	Name     string
	PriceKRW int64
	Period   time.Duration
}

// Load parses args (without the program name) and the environment.
func Load(args []string) (Config, error) {
	fs := pflag.NewFlagSet("didacto-server", pflag.ContinueOnError)
	fs.String("config", "", "config file (yaml, toml or json)")
	fs.String("addr", "127.0.0.1:8080", "listen address")
	fs.String("data-dir", "./data", "data directory (SQLite database)")
	fs.String("database-url", "", "database URL: empty for SQLite in the data dir, or postgres://…")
	fs.String("redis-url", "", "Redis URL (redis://host:port/db) for several replicas; empty = in memory")
	fs.String("public-url", "", "public base URL, e.g. https://didacto.school.example")
	fs.String("tls-cert", "", "TLS certificate file")
	fs.String("tls-key", "", "TLS key file")
	fs.Bool("demo", false, "create a demo professor and student on first start")
	fs.String("log-level", "info", "log level: debug, info, warn, error")
	fs.String("log-format", "text", "log format: text or json")
	fs.String("replica", "", "replica name (default: host name)")
	fs.String("time-zone", "Local", "IANA time zone in which attendance days are counted")
	fs.StringSlice("ice-servers", nil, "STUN/TURN URLs handed to both peers (empty: LAN only)")
	fs.String("turn-username", "", "TURN username for the turn: URLs (static credentials)")
	fs.String("turn-credential", "", "TURN password for the turn: URLs (static credentials)")
	fs.String("turn-secret", "", "TURN REST shared secret (coturn static-auth-secret): short-lived credentials per user")
	fs.Duration("turn-ttl", 12*time.Hour, "lifetime of the credentials made from --turn-secret")
	fs.Duration("frame-ttl", 60*time.Second, "how long a student's last frame stays on the grid")
	fs.Duration("room-ttl", 15*time.Second, "signaling seat lease; a crashed client or replica frees its rooms within it")
	fs.Duration("read-timeout", 30*time.Second, "time for a request's headers and body to arrive")
	fs.Duration("write-timeout", 30*time.Second, "time for an answer to be written (event streams and websockets are exempt)")
	fs.Duration("idle-timeout", 60*time.Second, "how long an idle keep-alive connection stays open")
	fs.Int("max-sockets-per-user", 16, "signaling websockets one account may hold open on a replica")
	fs.Int("max-sockets-per-address", 500, "signaling websockets one client address may hold open on a replica")
	fs.Int("max-streams-per-user", 8, "monitoring event streams one account may hold open on a replica")
	fs.Int("max-streams-per-address", 200, "monitoring event streams one client address may hold open on a replica")
	fs.Duration("join-cooldown", 10*time.Minute, "how long a rejected student waits before asking to join the same lecture again (0: no wait)")
	fs.String("audit-retention", "180d", "audit rows older than this are deleted, hourly (e.g. 90d, 720h; 0: keep them all)")
	fs.StringSlice("trusted-proxies", nil, "load balancers (addresses or CIDRs) whose X-Forwarded-For names the client for per-address limits")
	fs.String("metrics-token", "", "bearer token for /metrics (without it /metrics answers loopback clients only)")
	fs.String("portone-v1-key", "", "PortOne V1 REST API key (imp_key)")
	fs.String("portone-v1-secret", "", "PortOne V1 REST API secret")
	fs.String("portone-v1-store-code", "", "PortOne V1 merchant identification code (imp…)")
	fs.String("portone-v1-pg", "", "PortOne V1 PG code for the payment window (e.g. html5_inicis)")
	fs.String("portone-v2-secret", "", "PortOne V2 API secret")
	fs.String("portone-v2-store-id", "", "PortOne V2 store id")
	fs.String("portone-v2-channel-key", "", "PortOne V2 channel key")
	fs.StringSlice("portone-webhook-secrets", nil, "PortOne V2 webhook secrets (whsec_…), two during rotation")
	fs.String("portone-v1-base-url", "https://api.iamport.kr", "PortOne V1 API base URL")
	fs.String("portone-v2-base-url", "https://api.portone.io", "PortOne V2 API base URL")
	fs.String("portone-v1-sdk-url", "https://cdn.iamport.kr/v1/iamport.js", "PortOne V1 browser SDK the payment page loads")
	fs.String("portone-v2-sdk-url", "https://cdn.portone.io/v2/browser-sdk.js", "PortOne V2 browser SDK the payment page loads")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}

	v := viper.New()
	v.SetEnvPrefix("DIDACTO")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(fs); err != nil {
		return Config{}, fmt.Errorf("binding flags: %w", err)
	}
	if path := v.GetString("config"); path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("reading config file %s: %w", path, err)
		}
	}
	c := Config{
		Addr: v.GetString("addr"), DataDir: v.GetString("data-dir"), DatabaseURL: v.GetString("database-url"),
		RedisURL: v.GetString("redis-url"), PublicURL: strings.TrimRight(v.GetString("public-url"), "/"),
		TLSCert: v.GetString("tls-cert"), TLSKey: v.GetString("tls-key"), Demo: v.GetBool("demo"),
		LogLevel: v.GetString("log-level"), LogFormat: v.GetString("log-format"), Replica: v.GetString("replica"),
		TimeZone: v.GetString("time-zone"), ICEServers: stringList(v, "ice-servers"), FrameTTL: v.GetDuration("frame-ttl"), RoomTTL: v.GetDuration("room-ttl"),
		ReadTimeout: v.GetDuration("read-timeout"), WriteTimeout: v.GetDuration("write-timeout"), IdleTimeout: v.GetDuration("idle-timeout"),
		TURNUsername: v.GetString("turn-username"), TURNCredential: v.GetString("turn-credential"),
		MaxSocketsPerUser: v.GetInt("max-sockets-per-user"), MaxSocketsPerAddress: v.GetInt("max-sockets-per-address"),
		MaxStreamsPerUser: v.GetInt("max-streams-per-user"), MaxStreamsPerAddress: v.GetInt("max-streams-per-address"),
		JoinCooldown: v.GetDuration("join-cooldown"), MetricsToken: v.GetString("metrics-token"), TrustedProxies: stringList(v, "trusted-proxies"),
		TURNSecret: v.GetString("turn-secret"), TURNTTL: v.GetDuration("turn-ttl"),
		PortOne: PortOne{
			V1Key: v.GetString("portone-v1-key"), V1Secret: v.GetString("portone-v1-secret"),
			V1StoreCode: v.GetString("portone-v1-store-code"), V2Secret: v.GetString("portone-v2-secret"),
			V2StoreID: v.GetString("portone-v2-store-id"), V2Channel: v.GetString("portone-v2-channel-key"),
			WebhookSecrets: stringList(v, "portone-webhook-secrets"),
			V1BaseURL:      v.GetString("portone-v1-base-url"), V2BaseURL: v.GetString("portone-v2-base-url"),
			V1PG: v.GetString("portone-v1-pg"), V1SDKURL: v.GetString("portone-v1-sdk-url"),
			V2SDKURL: v.GetString("portone-v2-sdk-url"),
		},
	}
	if r := v.GetString("audit-retention"); r != "0" && r != "" {
		d, err := parsePeriod(r)
		if err != nil {
			return Config{}, fmt.Errorf("--audit-retention %q: %w", r, err)
		}
		c.AuditRetention = d
	}
	plans, err := loadPlans(v)
	if err != nil {
		return Config{}, err
	}
	c.PortOne.Plans = plans
	return c, c.Validate()
}

// loadPlans reads `plans: [{id, name, price_krw, period: "30d"}]`.
func loadPlans(v *viper.Viper) ([]Plan, error) {
	var raw []struct {
		ID       string `mapstructure:"id"`
		Name     string `mapstructure:"name"`
		PriceKRW int64  `mapstructure:"price_krw"`
		Period   string `mapstructure:"period"`
	}
	if err := v.UnmarshalKey("plans", &raw); err != nil {
		return nil, fmt.Errorf("config plans: %w", err)
	}
	out := make([]Plan, 0, len(raw))
	for _, p := range raw {
		period, err := parsePeriod(p.Period)
		if err != nil {
			return nil, fmt.Errorf("config plan %q: period %q: %w", p.ID, p.Period, err)
		}
		out = append(out, Plan{ID: p.ID, Name: p.Name, PriceKRW: p.PriceKRW, Period: period})
	}
	return out, nil
}

// parsePeriod accepts Go durations and whole days ("30d").
func parsePeriod(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err != nil || n <= 0 {
			return 0, errors.New("days must be a positive whole number")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// stringList reads a list given as a flag, a comma-separated env value or a
// config-file list.
func stringList(v *viper.Viper, key string) []string {
	var out []string
	for _, s := range v.GetStringSlice(key) {
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: %w", c.Addr, err))
	}
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is required when --database-url is empty"))
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			errs = append(errs, fmt.Errorf("--redis-url %q: must be redis://host:port/db", c.RedisURL))
		}
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--public-url %q: must be http(s)://host[:port]", c.PublicURL))
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: must be debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: must be text or json", c.LogFormat))
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("--time-zone %q: %w", c.TimeZone, err))
	}
	if c.FrameTTL < 5*time.Second {
		errs = append(errs, fmt.Errorf("--frame-ttl %s: must be at least 5s", c.FrameTTL))
	}
	if c.RoomTTL < time.Second || c.RoomTTL > 5*time.Minute {
		errs = append(errs, fmt.Errorf("--room-ttl %s: must be between 1s and 5m", c.RoomTTL))
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"read-timeout", c.ReadTimeout}, {"write-timeout", c.WriteTimeout}, {"idle-timeout", c.IdleTimeout}} {
		if t.d < time.Second || t.d > time.Hour {
			errs = append(errs, fmt.Errorf("--%s %s: must be between 1s and 1h", t.name, t.d))
		}
	}
	for _, m := range []struct {
		name string
		n    int
	}{{"max-sockets-per-user", c.MaxSocketsPerUser}, {"max-sockets-per-address", c.MaxSocketsPerAddress},
		{"max-streams-per-user", c.MaxStreamsPerUser}, {"max-streams-per-address", c.MaxStreamsPerAddress}} {
		if m.n < 1 || m.n > 100_000 {
			errs = append(errs, fmt.Errorf("--%s %d: must be between 1 and 100000", m.name, m.n))
		}
	}
	if c.AuditRetention != 0 && c.AuditRetention < time.Hour {
		errs = append(errs, fmt.Errorf("--audit-retention %s: must be 0 (keep) or at least 1h", c.AuditRetention))
	}
	if c.JoinCooldown < 0 || c.JoinCooldown > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("--join-cooldown %s: must be between 0 and 168h", c.JoinCooldown))
	}
	if _, err := c.ProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	turn := false
	for _, s := range c.ICEServers {
		if !strings.HasPrefix(s, "stun:") && !strings.HasPrefix(s, "turn:") && !strings.HasPrefix(s, "turns:") {
			errs = append(errs, fmt.Errorf("--ice-servers %q: must be a stun:, turn: or turns: URL", s))
		}
		turn = turn || strings.HasPrefix(s, "turn")
	}
	static := c.TURNUsername != "" || c.TURNCredential != ""
	switch {
	case static && (c.TURNUsername == "" || c.TURNCredential == ""):
		errs = append(errs, errors.New("--turn-username and --turn-credential go together"))
	case static && c.TURNSecret != "":
		errs = append(errs, errors.New("--turn-secret and static TURN credentials exclude each other"))
	case (static || c.TURNSecret != "") && !turn:
		errs = append(errs, errors.New("TURN credentials without a turn: URL in --ice-servers"))
	case turn && !static && c.TURNSecret == "":
		errs = append(errs, errors.New("a turn: URL in --ice-servers needs --turn-secret or --turn-username and --turn-credential"))
	case c.TURNSecret != "" && (c.TURNTTL < time.Minute || c.TURNTTL > 7*24*time.Hour):
		errs = append(errs, fmt.Errorf("--turn-ttl %s: must be between 1m and 168h", c.TURNTTL))
	}
	return errors.Join(errs...)
}

// SecureCookies reports whether cookies must be marked Secure.
func (c Config) SecureCookies() bool {
	return c.TLSCert != "" || strings.HasPrefix(c.PublicURL, "https://")
}

// ProxyPrefixes parses TrustedProxies; a bare address is a one-address prefix.
func (c Config) ProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies %q: must be an IP address or a CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
