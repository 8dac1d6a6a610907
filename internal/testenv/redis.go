package testenv

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Redis is a throwaway redis-server on 127.0.0.1.
type Redis struct {
	Addr string
	bin  string
	port int
	dir  string
	proc *Proc
}

// URL is the redis:// URL of the server.
func (r *Redis) URL() string { return "redis://" + r.Addr + "/0" }

// StartRedis starts a redis-server with no persistence; it is stopped when
// the test ends.
func StartRedis(tb testing.TB) *Redis {
	tb.Helper()
	r := &Redis{bin: LookPath(tb, "redis-server"), dir: tb.TempDir()}
	// A free port can be taken by another process before redis binds it
	// (parallel test binaries): then try another one.
	var err error
	for range 3 {
		r.port = FreePort(tb)
		r.Addr = "127.0.0.1:" + strconv.Itoa(r.port)
		if err = r.Start(); err == nil || !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on the same port.
func (r *Redis) Start() error {
	cmd := exec.Command(r.bin, "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--protected-mode", "yes")
	p, err := StartProc(cmd)
	if err != nil {
		return err
	}
	r.proc = p
	if err := waitTCP(r.Addr, 10*time.Second, p); err != nil {
		p.Stop(time.Second)
		return fmt.Errorf("redis-server: %w\n%s", err, p.Output())
	}
	return nil
}

// Stop ends the server (its data is lost: it keeps none).
func (r *Redis) Stop() {
	if r.proc != nil {
		r.proc.Stop(5 * time.Second)
	}
}
