// Package testenv starts the real components tests run against — PostgreSQL,
// Redis, Xvfb — as throwaway processes on loopback, in temp dirs, on random
// ports, and stops exactly the processes it started.
//
// A missing binary skips the test locally but fails it when
// DIDACTO_TEST_REQUIRE=1 (set by `make test` and CI), so nothing is silently
// left untested where it matters.
package testenv

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LookPath finds a binary on PATH or in extra dirs (glob patterns allowed),
// skipping or failing the test when it is absent.
func LookPath(tb testing.TB, name string, extraDirs ...string) string {
	tb.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, pattern := range extraDirs {
		matches, _ := filepath.Glob(filepath.Join(pattern, name))
		for i := len(matches) - 1; i >= 0; i-- { // newest version last in glob order
			if st, err := os.Stat(matches[i]); err == nil && !st.IsDir() {
				return matches[i]
			}
		}
	}
	Missing(tb, name+" not installed (run scripts/setup.sh)")
	return ""
}

// Missing skips tb, or fails it when DIDACTO_TEST_REQUIRE=1.
func Missing(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv("DIDACTO_TEST_REQUIRE") == "1" {
		tb.Fatalf("required test dependency missing: %s", why)
	}
	tb.Skip(why)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	return port
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitTCP waits until addr accepts connections.
func WaitTCP(addr string, timeout time.Duration) error { return waitTCP(addr, timeout, nil) }

// waitTCP is WaitTCP that gives up at once when p (if any) has exited.
func waitTCP(addr string, timeout time.Duration, p *Proc) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("waiting for %s: the process exited", addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Proc is a process this package started. Stop ends it (and only it) by PID.
type Proc struct {
	Cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	once sync.Once
}

// StartProc starts cmd with its output captured for failure reports.
func StartProc(cmd *exec.Cmd) (*Proc, error) {
	p := &Proc{Cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	if cmd.Stdout == nil {
		cmd.Stdout = p.out
	}
	if cmd.Stderr == nil {
		cmd.Stderr = p.out
	}
	dieWithParent(cmd) // never outlive the test binary
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Output is what the process printed so far.
func (p *Proc) Output() string { return p.out.String() }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM, then SIGKILL after grace, and waits.
func (p *Proc) Stop(grace time.Duration) {
	p.once.Do(func() {
		if p.Exited() {
			return
		}
		_ = p.Cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.Cmd.Process.Kill()
			<-p.done
		}
	})
}

// Kill ends the process at once (a crash, for failure tests).
func (p *Proc) Kill() {
	p.once.Do(func() {
		_ = p.Cmd.Process.Kill()
		<-p.done
	})
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.b.Len() > 1<<20 { // keep memory bounded for chatty processes
		s.b.Reset()
	}
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
