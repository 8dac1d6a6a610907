package app_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/app"
)

func TestSingleInstance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "agent.sock")
	shown := make(chan struct{}, 4)
	first, err := app.Acquire(path, func() { shown <- struct{}{} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Acquire(path, nil, nil); !errors.Is(err, app.ErrRunning) {
		t.Fatalf("second launch: %v", err)
	}
	select {
	case <-shown:
	case <-time.After(10 * time.Second):
		t.Fatal("the first instance was not asked to show itself")
	}
	if err := first.Release(); err != nil {
		t.Fatal(err)
	}
	// After a clean exit, or a crash that left the socket file, a new launch wins.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := app.Acquire(path, nil, nil)
	if err != nil {
		t.Fatalf("after the first exited: %v", err)
	}
	again.Release()
}

func TestAutostart(t *testing.T) {
	dir := t.TempDir()
	a := app.Autostart{Path: filepath.Join(dir, "autostart", "didacto-agent.desktop"), Exec: "/opt/My Apps/didacto-agent", GOOS: "linux"}
	if on, err := a.Enabled(); err != nil || on {
		t.Fatalf("fresh: %v %v", on, err)
	}
	if err := a.Set(true); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `Exec="/opt/My Apps/didacto-agent"`) || !strings.HasPrefix(string(b), "[Desktop Entry]\n") {
		t.Fatalf("entry:\n%s", b)
	}
	if on, _ := a.Enabled(); !on {
		t.Fatal("not enabled after Set(true)")
	}
	if err := a.Set(false); err != nil {
		t.Fatal(err)
	}
	if on, _ := a.Enabled(); on {
		t.Fatal("still enabled after Set(false)")
	}
	if _, err := os.Stat(a.Path); err == nil {
		t.Fatal("Set(false) without a system entry left a user entry")
	}

	// The package's system-wide entry (/etc/xdg/autostart): on at first;
	// off writes a hiding user entry; on again removes it.
	sys := filepath.Join(dir, "xdg")
	if err := os.MkdirAll(filepath.Join(sys, "autostart"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys, "autostart", "didacto-agent.desktop"), []byte("[Desktop Entry]\nExec=didacto-agent\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.SystemDirs = []string{filepath.Join(dir, "none"), sys}
	if on, err := a.Enabled(); err != nil || !on {
		t.Fatalf("with a system entry: %v %v", on, err)
	}
	if err := a.Set(false); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(a.Path); !strings.Contains(string(b), "Hidden=true") {
		t.Fatalf("turning off over a system entry wrote %q", b)
	}
	if on, _ := a.Enabled(); on {
		t.Fatal("still enabled after hiding the system entry")
	}
	if err := a.Set(true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(a.Path); err == nil {
		t.Fatal("turning on over a system entry kept the hiding user entry")
	}
	if on, _ := a.Enabled(); !on {
		t.Fatal("not enabled again")
	}
	for _, goos := range []string{"windows", "darwin"} {
		m := app.Autostart{Path: a.Path, GOOS: goos}
		if err := m.Set(true); !errors.Is(err, app.ErrManaged) {
			t.Errorf("%s: %v", goos, err)
		}
	}
}
