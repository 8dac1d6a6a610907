package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var pgDirs = []string{"/usr/lib/postgresql/*/bin"}

// Postgres is a throwaway PostgreSQL cluster shared by the tests of one test
// binary; each test gets its own database (see PostgresURL).
type Postgres struct {
	port int
	dir  string
	bin  string
	as   func(*exec.Cmd) // runs a command as the postgres user (root only), else nil
	proc *Proc
	seq  atomic.Int64
}

var shared struct {
	mu   sync.Mutex
	pg   *Postgres
	err  error
	stop []func()
}

// PostgresURL returns the URL of a fresh, empty database on a PostgreSQL
// server started on first use. Call Main from TestMain so the server is
// stopped when the tests end.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	initdb := LookPath(tb, "initdb", pgDirs...)
	shared.mu.Lock()
	if shared.pg == nil && shared.err == nil {
		shared.pg, shared.err = startPostgres(filepath.Dir(initdb))
		if shared.err == nil {
			pg := shared.pg
			shared.stop = append(shared.stop, func() { pg.proc.Stop(10 * time.Second); os.RemoveAll(pg.dir) })
		}
	}
	pg, err := shared.pg, shared.err
	shared.mu.Unlock()
	if err != nil {
		tb.Fatalf("postgres: %v", err)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), pg.seq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.url("postgres"))
	if err != nil {
		tb.Fatalf("postgres connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	return pg.url(name)
}

func (pg *Postgres) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", pg.port, db)
}

// Main runs the tests, stops the shared servers this package started, and
// fails a passing run that left goroutines behind (every goroutine must
// have an owner that waits for it; see leaks.go).
func Main(m *testing.M) {
	code := m.Run()
	shared.mu.Lock()
	for _, f := range shared.stop {
		f()
	}
	shared.mu.Unlock()
	if code == 0 {
		if err := findLeaks(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func startPostgres(binDir string) (*Postgres, error) {
	pg := &Postgres{bin: binDir}
	dir, err := os.MkdirTemp("", "didacto-pg-")
	if err != nil {
		return nil, err
	}
	pg.dir = dir
	// initdb refuses to run as root: run the cluster as the postgres user.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a 'postgres' user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if pg.as, err = runAsUser(uid, gid); err != nil {
			return nil, err
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initCmd := exec.Command(filepath.Join(binDir, "initdb"), "-D", data, "-U", "postgres",
		"--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
	if pg.as != nil {
		pg.as(initCmd)
	}
	if out, err := initCmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	l, err := freePort()
	if err != nil {
		return nil, err
	}
	pg.port = l
	cmd := exec.Command(filepath.Join(binDir, "postgres"), "-D", data, "-p", strconv.Itoa(pg.port),
		"-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
		"-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=300")
	if pg.as != nil {
		pg.as(cmd)
	}
	p, err := StartProc(cmd)
	if err != nil {
		return nil, err
	}
	pg.proc = p
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, pg.url("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return pg, nil
		}
		cancel()
		if p.Exited() || time.Now().After(deadline) {
			p.Stop(time.Second)
			return nil, fmt.Errorf("postgres did not start: %v\n%s", err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
