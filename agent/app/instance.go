package app

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrRunning: another instance answered and was asked to show itself.
var ErrRunning = errors.New("the agent is already running")

// Instance is the single-instance guard: a local socket in the user's
// runtime dir. A second launch connects, asks the first to show its window
// and exits.
type Instance struct {
	ln   net.Listener
	path string
}

// SocketPath is the guard's socket for this user.
func SocketPath() string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("didacto-%d", os.Getuid()))
	}
	return filepath.Join(dir, "didacto-agent.sock")
}

// Acquire takes the guard at path, or returns ErrRunning after telling the
// running instance to show itself. onShow is called (from a goroutine) each
// time a later launch knocks.
func Acquire(path string, onShow func(), log *slog.Logger) (*Instance, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("instance dir: %w", err)
	}
	for attempt := 0; attempt < 2; attempt++ {
		ln, err := net.Listen("unix", path)
		if err == nil {
			in := &Instance{ln: ln, path: path}
			go in.serve(onShow, log)
			return in, nil
		}
		c, derr := net.DialTimeout("unix", path, 2*time.Second)
		if derr == nil {
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			_, _ = c.Write([]byte("show\n"))
			_, _ = bufio.NewReader(c).ReadString('\n') // wait for the ack
			c.Close()
			return nil, ErrRunning
		}
		// Nobody listens: a crashed instance left its socket behind.
		if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			return nil, fmt.Errorf("removing stale %s: %w", path, rerr)
		}
	}
	return nil, fmt.Errorf("cannot take the single-instance socket %s", path)
}

func (in *Instance) serve(onShow func(), log *slog.Logger) {
	for {
		c, err := in.ln.Accept()
		if err != nil {
			return
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		if strings.TrimSpace(line) == "show" {
			if log != nil {
				log.Info("another launch asked to show the window")
			}
			if onShow != nil {
				onShow()
			}
		}
		_, _ = c.Write([]byte("ok\n"))
		c.Close()
	}
}

// Release closes the socket (and removes it).
func (in *Instance) Release() error {
	return in.ln.Close()
}
