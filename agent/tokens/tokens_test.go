package tokens

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/internal/testenv"
)

// go-keyring talks to the process-wide session bus (godbus caches it), so
// each keyring situation runs in a child test process with its own bus.
const childEnv = "DIDACTO_TOKENS_CHILD" // "keyring" or "file": where tokens must land

func TestKeyringUnlocked(t *testing.T) {
	bus := startBus(t)
	startKeyring(t, bus, true)
	runChild(t, "keyring", "DBUS_SESSION_BUS_ADDRESS="+bus)
}

func TestFallbackWhenKeyringLocked(t *testing.T) {
	bus := startBus(t)
	startKeyring(t, bus, false)
	runChild(t, "file", "DBUS_SESSION_BUS_ADDRESS="+bus)
}

func TestFallbackWithoutSecretService(t *testing.T) {
	runChild(t, "file", "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus")
}

// TestChild is the body the tests above run in a child process.
func TestChild(t *testing.T) {
	want := os.Getenv(childEnv)
	if want == "" {
		t.Skip("run by the keyring tests in a child process")
	}
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "tokens.json")
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	svc := fmt.Sprintf("didacto-test-%d", os.Getpid())
	s := New(svc, "agent", file, log)
	if _, err := s.Load(ctx); !errors.Is(err, client.ErrNoTokens) {
		t.Fatalf("empty Load: %v", err)
	}
	tok := client.Tokens{AccessToken: "a1", RefreshToken: "r1", ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Second)}
	if err := s.Save(ctx, tok); err != nil {
		t.Fatal(err)
	}
	st, statErr := os.Stat(file)
	switch want {
	case "keyring":
		if statErr == nil {
			t.Fatal("tokens written to the file although the keyring works")
		}
		if s.UsingFile() {
			t.Fatal("UsingFile with a working keyring")
		}
	case "file":
		if statErr != nil {
			t.Fatalf("no fallback file: %v", statErr)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("fallback file mode %v", st.Mode().Perm())
		}
		if !s.UsingFile() || !strings.Contains(logs.String(), "keyring") {
			t.Fatalf("no warning about the fallback: %s", logs.String())
		}
	}
	// A new store (next run) finds the same tokens.
	s2 := New(svc, "agent", file, log)
	got, err := s2.Load(ctx)
	if err != nil || !got.ExpiresAt.Equal(tok.ExpiresAt) || got.AccessToken != "a1" || got.RefreshToken != "r1" {
		t.Fatalf("reload: %+v %v", got, err)
	}
	if s2.Current().AccessToken != "a1" {
		t.Fatal("Current after Load")
	}
	// A rotation replaces them.
	if err := s2.Save(ctx, client.Tokens{AccessToken: "a2", RefreshToken: "r2"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := New(svc, "agent", file, log).Load(ctx); got.RefreshToken != "r2" {
		t.Fatalf("after rotation: %+v", got)
	}
	// Sign out (the client saves empty tokens) removes them everywhere.
	if err := s2.Save(ctx, client.Tokens{}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(svc, "agent", file, log).Load(ctx); !errors.Is(err, client.ErrNoTokens) {
		t.Fatalf("after sign out: %v", err)
	}
	if _, err := os.Stat(file); err == nil {
		t.Fatal("token file left after sign out")
	}
}

func runChild(t *testing.T, want string, env ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), append(env, childEnv+"="+want, "HOME="+t.TempDir())...)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestChild") {
		t.Fatalf("child (%s): %v\n%s", want, err, out)
	}
}

// startBus starts a private D-Bus session daemon and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	bin := testenv.LookPath(t, "dbus-daemon")
	cmd := exec.Command(bin, "--session", "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(3 * time.Second) })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatalf("dbus-daemon printed no address: %s", p.Output())
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not start")
	}
	return ""
}

// startKeyring runs gnome-keyring-daemon's secrets component on bus, with a
// fresh login keyring unlocked by a password (or left without one: locked).
func startKeyring(t *testing.T, bus string, unlock bool) {
	t.Helper()
	bin := testenv.LookPath(t, "gnome-keyring-daemon")
	args := []string{"--foreground", "--components=secrets"}
	if unlock {
		args = append(args, "--unlock")
	}
	cmd := exec.Command(bin, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, "HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_RUNTIME_DIR="+home)
	if unlock {
		cmd.Stdin = strings.NewReader("test-password")
	}
	p, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(3 * time.Second) })
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has)
		if err == nil && has {
			return
		}
		if time.Now().After(deadline) || p.Exited() {
			t.Fatalf("gnome-keyring did not take org.freedesktop.secrets (%v):\n%s", err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
