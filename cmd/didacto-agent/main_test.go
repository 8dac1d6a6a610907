package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionAndUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "didacto-agent ") {
		t.Errorf("--version: %d %q %q", code, out.String(), errb.String())
	}
	errb.Reset()
	// The tray needs a graphical session; without one it says to use --headless.
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if code := run(context.Background(), []string{"--system-config", "/nonexistent/agent.yaml"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--headless") {
		t.Errorf("no display: %d %q", code, errb.String())
	}
	errb.Reset()
	// A system config a student could have written is refused.
	t.Setenv("DISPLAY", ":0")
	if code := run(context.Background(), []string{"--system-config", "/nonexistent/agent.yaml"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--system-config") {
		t.Errorf("missing system config: %d %q", code, errb.String())
	}
	t.Setenv("DISPLAY", "")
	errb.Reset()
	if code := run(context.Background(), []string{"--headless", "--server", "localhost"}, &out, &errb); code != 2 {
		t.Errorf("bad server URL: %d %q", code, errb.String())
	}
	if code := run(context.Background(), []string{"--headless", "--width", "5000"}, &out, &errb); code != 2 {
		t.Errorf("bad width: %d", code)
	}
	if code := run(context.Background(), []string{"--bogus"}, &out, &errb); code != 2 {
		t.Errorf("unknown flag: %d", code)
	}
}

// TestPlainHTTPNeedsAllowHTTP: a plain http:// server on another host is
// refused with a clear message unless --allow-http (DIDACTO_ALLOW_HTTP).
func TestPlainHTTPNeedsAllowHTTP(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--headless", "--server", "http://192.0.2.1:8080", "--token-file", t.TempDir() + "/t"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "allow-http") {
		t.Fatalf("plain http to another host: %d %q", code, errb.String())
	}
}

func TestEnvironmentConfigures(t *testing.T) {
	t.Setenv("DIDACTO_HEADLESS", "true")
	t.Setenv("DIDACTO_SERVER", "not a url")
	var out, errb bytes.Buffer
	// The server URL from the environment is used (and rejected).
	if code := run(context.Background(), nil, &out, &errb); code != 2 || !strings.Contains(errb.String(), "not a url") {
		t.Errorf("env: %d %q", code, errb.String())
	}
}

// TestConsentSetting: a consent that is not notify or ask is a clear
// error, from a flag, the environment or the admin's file, and a consent
// the admin locks wins over the flag (headless too).
func TestConsentSetting(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"--headless", "--consent", "maybe"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "--consent") || !strings.Contains(errb.String(), "notify or ask") {
		t.Errorf("--consent maybe: %d %q", code, errb.String())
	}
	errb.Reset()
	t.Setenv("DIDACTO_CONSENT", "always")
	if code := run(context.Background(), []string{"--headless"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `"always"`) {
		t.Errorf("DIDACTO_CONSENT=always: %d %q", code, errb.String())
	}
	t.Setenv("DIDACTO_CONSENT", "")
	errb.Reset()
	admin := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(admin, []byte("consent: sometimes\nlocked: [consent]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code := runAgent(context.Background(), []string{"--headless", "--consent", "notify"}, &out, &errb, admin); code != 2 || !strings.Contains(errb.String(), `"sometimes"`) {
		t.Errorf("locked consent in the admin file: %d %q", code, errb.String())
	}
}

// TestNoLocaleErrorUnderCUTF8: Debian's default locale in services and
// containers is C.UTF-8, which fyne's init cannot parse; the agent says
// nothing about it (internal/clocale).
func TestNoLocaleErrorUnderCUTF8(t *testing.T) {
	cmd := exec.Command(os.Args[0], "--version")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LC_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, agentChildEnv+"=1", "LANG=C.UTF-8")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "didacto-agent") || strings.Contains(string(out), "locale") {
		t.Fatalf("--version under LANG=C.UTF-8: %v\n%s", err, out)
	}
}
