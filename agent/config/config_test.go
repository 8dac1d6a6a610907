package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func flags(t *testing.T, args ...string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("server", "http://flag-default:1", "")
	fs.String("language", "auto", "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestLayers(t *testing.T) {
	dir := t.TempDir()
	sys, usr := filepath.Join(dir, "etc", "agent.yaml"), filepath.Join(dir, "home", "agent.yaml")
	t.Setenv("DIDACTO_SCREEN", "")
	// Defaults only: no files, no flags set.
	c, err := Load(Options{SystemFile: sys, UserFile: usr, Flags: flags(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.String(KeyServer) != "http://127.0.0.1:8080" || c.String(KeyLanguage) != "auto" || c.Int(KeyScreen) != -1 || !c.Bool(KeyAutostart) {
		t.Fatalf("defaults: %v", c.Viper().AllSettings())
	}
	write(t, sys, "server: https://lab.example.org\nlanguage: ko\nscreen: 0\n")
	write(t, usr, "language: en\n")
	c, err = Load(Options{SystemFile: sys, UserFile: usr, Flags: flags(t)})
	if err != nil {
		t.Fatal(err)
	}
	if c.String(KeyServer) != "https://lab.example.org" || c.String(KeyLanguage) != "en" || c.Int(KeyScreen) != 0 {
		t.Fatalf("system then user: %v", c.Viper().AllSettings())
	}
	t.Setenv("DIDACTO_SCREEN", "1")
	t.Setenv("DIDACTO_SERVER", "https://env.example.org")
	c, err = Load(Options{SystemFile: sys, UserFile: usr, Flags: flags(t, "--server", "https://flag.example.org")})
	if err != nil {
		t.Fatal(err)
	}
	if c.Int(KeyScreen) != 1 || c.String(KeyServer) != "https://flag.example.org" {
		t.Fatalf("env then flag: %v", c.Viper().AllSettings())
	}
}

func TestLockedKeysKeepSystemValue(t *testing.T) {
	dir := t.TempDir()
	sys, usr := filepath.Join(dir, "sys.yaml"), filepath.Join(dir, "u", "agent.yaml")
	write(t, sys, "server: https://lab.example.org\nlocked: [Server, autostart]\n")
	write(t, usr, "server: https://evil.example.org\n")
	t.Setenv("DIDACTO_SERVER", "https://env.example.org")
	c, err := Load(Options{SystemFile: sys, UserFile: usr, Flags: flags(t, "--server=https://flag.example.org")})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(KeyServer); got != "https://lab.example.org" {
		t.Fatalf("locked server = %q", got)
	}
	if !c.Locked(KeyServer) || !c.Locked(KeyAutostart) || c.Locked(KeyLanguage) {
		t.Fatal("locked set wrong")
	}
	if !c.Bool(KeyAutostart) {
		t.Fatal("locked key without a system value should keep the default")
	}
	if err := c.Set(KeyServer, "https://x"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Set locked: %v", err)
	}
	if err := c.Set(KeyLanguage, "ko"); err != nil {
		t.Fatal(err)
	}
	if c.String(KeyLanguage) != "ko" {
		t.Fatal("Set did not change the merged view")
	}
	b, err := os.ReadFile(usr)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "language: ko") || !strings.Contains(string(b), "evil") {
		t.Fatalf("user file after Set:\n%s", b)
	}
	// A reload sees the saved value.
	c, err = Load(Options{SystemFile: sys, UserFile: usr})
	if err != nil || c.String(KeyLanguage) != "ko" {
		t.Fatalf("reload: %v %v", err, c)
	}
}

func TestBrokenSystemFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "sys.yaml")
	write(t, sys, "server: [unclosed\n")
	if _, err := Load(Options{SystemFile: sys}); err == nil {
		t.Fatal("malformed system file accepted")
	}
}

func TestSystemPath(t *testing.T) {
	env := func(k string) string {
		if k == "ProgramData" {
			return `D:\PD`
		}
		return ""
	}
	for goos, want := range map[string]string{
		"linux":   "/etc/didacto/agent.yaml",
		"windows": `D:\PD\Didacto\agent.yaml`,
		"darwin":  "/Library/Application Support/Didacto/agent.yaml",
	} {
		if got := SystemPath(goos, env); got != want {
			t.Errorf("%s: %q", goos, got)
		}
	}
}

func TestCheckAdminFile(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to create a root-owned file") // make test and CI run as root
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(good, []byte("locked: [server]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckAdminFile(good, "/etc/didacto/agent.yaml"); err != nil {
		t.Errorf("a root-owned 0644 file: %v", err)
	}
	open := filepath.Join(dir, "open.yaml")
	if err := os.WriteFile(open, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o666); err != nil {
		t.Fatal(err)
	}
	if err := CheckAdminFile(open, ""); err == nil {
		t.Error("a world-writable file was accepted as the admin's")
	}
	student := filepath.Join(dir, "student.yaml")
	if err := os.WriteFile(student, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(student, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := CheckAdminFile(student, ""); err == nil {
		t.Error("a file owned by a user was accepted as the admin's")
	}
	if err := CheckAdminFile(filepath.Join(dir, "missing.yaml"), ""); err == nil {
		t.Error("a missing file was accepted")
	}
	// Where the admin's own file is installed, no other may stand in for
	// it, even a root-owned one (an empty file would unlock everything).
	admin := filepath.Join(dir, "admin.yaml")
	if err := os.WriteFile(admin, []byte("locked: [server]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckAdminFile(good, admin); err == nil || !strings.Contains(err.Error(), "cannot be replaced") {
		t.Errorf("another file beside the admin's: %v", err)
	}
	if err := CheckAdminFile(admin, admin); err != nil {
		t.Errorf("the admin's own file: %v", err)
	}
}

// TestAllowHTTPLockable: the admin's allow-http setting is locked like the
// server URL; without a lock the layers apply as for any key.
func TestAllowHTTPLockable(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "etc", "agent.yaml")
	fs := flags(t)
	fs.Bool("allow-http", false, "")
	t.Setenv("DIDACTO_ALLOW_HTTP", "true")
	c, err := Load(Options{SystemFile: sys, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Bool(KeyAllowHTTP) {
		t.Fatal("unlocked: DIDACTO_ALLOW_HTTP ignored")
	}
	write(t, sys, "server: https://lab.example.org\nallow-http: false\nlocked: [server, allow-http]\n")
	c, err = Load(Options{SystemFile: sys, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	if c.Bool(KeyAllowHTTP) || !c.Locked(KeyAllowHTTP) {
		t.Fatal("a locked allow-http: false was overridden by the environment")
	}
	if err := c.Set(KeyAllowHTTP, true); !errors.Is(err, ErrLocked) {
		t.Fatalf("saving a locked allow-http: %v", err)
	}
}

// TestConsentLockedLikeTheServer: the admin's consent holds over the
// user's file, DIDACTO_CONSENT and --consent once locked, and the settings
// window cannot change it; unlocked, the later layers win as usual.
func TestConsentLockedLikeTheServer(t *testing.T) {
	dir := t.TempDir()
	sys, user := filepath.Join(dir, "sys.yaml"), filepath.Join(dir, "user.yaml")
	write(t, user, "consent: notify\n")
	t.Setenv("DIDACTO_CONSENT", "notify")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	fs.String("consent", "notify", "")
	if err := fs.Parse([]string{"--consent", "notify"}); err != nil {
		t.Fatal(err)
	}
	write(t, sys, "consent: ask\nlocked: [consent]\n")
	c, err := Load(Options{SystemFile: sys, UserFile: user, Flags: fs})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.String(KeyConsent); got != "ask" || !c.Locked(KeyConsent) {
		t.Fatalf("locked consent = %q (locked %v), want ask", got, c.Locked(KeyConsent))
	}
	if err := c.Set(KeyConsent, "notify"); !errors.Is(err, ErrLocked) {
		t.Fatalf("Set locked consent: %v", err)
	}
	write(t, sys, "consent: ask\n")
	if c, err = Load(Options{SystemFile: sys, UserFile: user, Flags: fs}); err != nil {
		t.Fatal(err)
	}
	if got := c.String(KeyConsent); got != "notify" {
		t.Fatalf("unlocked consent = %q, want the flag's notify", got)
	}
	if c, err = Load(Options{}); err != nil {
		t.Fatal(err)
	}
	if got := c.String(KeyConsent); got != "notify" {
		t.Fatalf("default consent = %q", got)
	}
}
