package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPrecedenceFileEnvFlag(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "server.yaml")
	err := os.WriteFile(file, []byte(`
addr: 127.0.0.1:9000
data-dir: /from/file
redis-url: redis://127.0.0.1:6379/0
time-zone: Asia/Seoul
plans:
  - id: term
    name: One term
    price_krw: 30000
    period: 120d
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DIDACTO_DATA_DIR", "/from/env")
	t.Setenv("DIDACTO_ICE_SERVERS", "stun:stun.school.example:3478,turn:turn.school.example")
	t.Setenv("DIDACTO_TURN_SECRET", "coturn-secret")
	c, err := Load([]string{"--config", file, "--redis-url", ""})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" {
		t.Errorf("addr from the file: %q", c.Addr)
	}
	if c.DataDir != "/from/env" {
		t.Errorf("env wins over the file: %q", c.DataDir)
	}
	if c.RedisURL != "" {
		t.Errorf("a flag wins over the file, even when empty: %q", c.RedisURL)
	}
	if c.TimeZone != "Asia/Seoul" || len(c.ICEServers) != 2 {
		t.Errorf("time zone %q, ice %v", c.TimeZone, c.ICEServers)
	}
	if len(c.PortOne.Plans) != 1 || c.PortOne.Plans[0].Period != 120*24*time.Hour || c.PortOne.Plans[0].PriceKRW != 30000 {
		t.Errorf("plans %+v", c.PortOne.Plans)
	}
}

func TestValidationNamesEveryProblem(t *testing.T) {
	_, err := Load([]string{"--addr", "nowhere", "--redis-url", "http://x", "--public-url", "ftp://x",
		"--tls-cert", "c.pem", "--log-level", "loud", "--time-zone", "Mars/Base", "--frame-ttl", "1s",
		"--ice-servers", "http://stun", "--room-ttl", "0s"})
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, want := range []string{"--addr", "--redis-url", "--public-url", "--tls-cert", "--log-level",
		"--time-zone", "--frame-ttl", "--ice-servers", "--room-ttl"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	if _, err := Load([]string{"extra"}); err == nil {
		t.Error("stray argument accepted")
	}
	if _, err := Load([]string{"--config", "/nonexistent.yaml"}); err == nil || !strings.Contains(err.Error(), "/nonexistent.yaml") {
		t.Errorf("missing config file: %v", err)
	}
}

func TestDefaultsAndSecureCookies(t *testing.T) {
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.DatabaseURL != "" || c.RoomTTL != 15*time.Second || c.SecureCookies() {
		t.Fatalf("defaults %+v", c)
	}
	c.PublicURL = "https://didacto.school.example"
	if !c.SecureCookies() {
		t.Fatal("https public URL must mark cookies Secure")
	}
	if _, err := parsePeriod("0d"); err == nil {
		t.Fatal("zero-day period accepted")
	}
}

func TestTURNSettings(t *testing.T) {
	for _, tc := range []struct {
		args []string
		bad  string
	}{
		{[]string{"--ice-servers", "turn:t.example:3478", "--turn-username", "u"}, "go together"},
		{[]string{"--ice-servers", "turn:t.example:3478", "--turn-username", "u", "--turn-credential", "p", "--turn-secret", "s"}, "exclude"},
		{[]string{"--ice-servers", "stun:s.example", "--turn-secret", "s"}, "without a turn: URL"},
		{[]string{"--ice-servers", "turn:t.example", "--turn-secret", "s", "--turn-ttl", "10s"}, "--turn-ttl"},
		{[]string{"--ice-servers", "stun:s.example,turn:t.example"}, "needs --turn-secret"},
		{[]string{"--ice-servers", "stun:s.example,turns:t.example:5349", "--turn-secret", "s"}, ""},
		{[]string{"--ice-servers", "turn:t.example", "--turn-username", "u", "--turn-credential", "p"}, ""},
	} {
		c, err := Load(tc.args)
		if tc.bad == "" {
			if err != nil {
				t.Errorf("%v: %v", tc.args, err)
			} else if len(c.ICEServers) == 0 {
				t.Errorf("%v: no ICE servers", tc.args)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.bad) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.bad)
		}
	}
}

func TestAuditRetention(t *testing.T) {
	for arg, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "720h": 720 * time.Hour, "0": 0} {
		c, err := Load([]string{"--audit-retention", arg})
		if err != nil || c.AuditRetention != want {
			t.Errorf("--audit-retention %s = %s, %v; want %s", arg, c.AuditRetention, err, want)
		}
	}
	if c, err := Load(nil); err != nil || c.AuditRetention != 180*24*time.Hour {
		t.Errorf("default retention %s, %v", c.AuditRetention, err)
	}
	for _, bad := range []string{"10m", "soon", "-1d"} {
		if _, err := Load([]string{"--audit-retention", bad}); err == nil {
			t.Errorf("--audit-retention %s accepted", bad)
		}
	}
}
