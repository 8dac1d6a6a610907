package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/payment/paymenttest"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/server/store/sqlstore"
	"github.com/didacto/didacto/server/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// backend opens fresh stores of one database kind; "name" is a database for
// PostgreSQL and a file for SQLite.
type backend struct {
	name string
	// fresh returns where a new, empty database is.
	fresh func(t testing.TB) string
	open  func(ctx context.Context, where string) (*sqlstore.Store, error)
	// stores is how many stores TestShared opens on one database, at once
	// when concurrent.
	stores     int
	concurrent bool
}

var backends = []backend{
	{
		name:   "sqlite",
		fresh:  func(t testing.TB) string { return filepath.Join(t.TempDir(), "test.db") },
		open:   func(ctx context.Context, p string) (*sqlstore.Store, error) { return sqlstore.OpenSQLite(ctx, p, nil) },
		stores: 2, // two stores on one file stand for two processes sharing it, opened in turn
	},
	{
		name:  "postgres",
		fresh: func(t testing.TB) string { return testenv.PostgresURL(t) },
		open: func(ctx context.Context, u string) (*sqlstore.Store, error) {
			return sqlstore.OpenPostgres(ctx, u, nil)
		},
		stores:     3, // three replicas starting together: the advisory lock runs the migrations once
		concurrent: true,
	},
}

func (b backend) mustOpen(t testing.TB, where string) *sqlstore.Store {
	t.Helper()
	s, err := b.open(context.Background(), where)
	if err != nil {
		t.Fatalf("open %s: %v", b.name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return b.mustOpen(t, b.fresh(t)) })
		})
	}
}

// Several stores open one empty database: the migrations must run once, and
// every rule must hold across the stores.
func TestShared(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storetest.RunShared(t, func(t *testing.T) []store.Store {
				where := b.fresh(t)
				ss := make([]store.Store, b.stores)
				errs := make(chan error, len(ss))
				for i := range ss {
					if !b.concurrent {
						ss[i] = b.mustOpen(t, where)
						errs <- nil
						continue
					}
					go func() {
						s, err := b.open(context.Background(), where)
						if err == nil {
							ss[i] = s
							t.Cleanup(func() { s.Close() })
						}
						errs <- err
					}()
				}
				for range ss {
					if err := <-errs; err != nil {
						t.Fatalf("concurrent open: %v", err)
					}
				}
				return ss
			})
		})
	}
}

func TestPaymentStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			paymenttest.Run(t, func(t *testing.T) paymenttest.Backend { return b.mustOpen(t, b.fresh(t)) })
		})
	}
}

func BenchmarkStore(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			storetest.Bench(b, be.mustOpen(b, be.fresh(b)))
		})
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if s, err := sqlstore.OpenSQLite(context.Background(), path, nil); err == nil {
			s.Close()
			t.Errorf("OpenSQLite(%q) succeeded; an in-memory database would differ between writer and readers", path)
		}
	}
}

// The pragmas the SQLite store relies on are really in force on both pools.
func TestPragmas(t *testing.T) {
	s := backends[0].mustOpen(t, backends[0].fresh(t))
	got := sqlstore.Pragmas(t, s)
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "10000"}
	for k, v := range want {
		if got["w."+k] != v || got["r."+k] != v {
			t.Errorf("pragma %s: writer %q, readers %q, want %q", k, got["w."+k], got["r."+k], v)
		}
	}
	if got["r.query_only"] != "1" || got["w.query_only"] != "0" {
		t.Errorf("query_only: writer %q, readers %q", got["w.query_only"], got["r.query_only"])
	}
}

// Retention finds old entries through the audit_at index, not by reading
// the whole log. (PostgreSQL would scan a table this small anyway, so
// sequential scans are switched off for the check.)
func TestAuditRetentionUsesIndex(t *testing.T) {
	explain := map[string]string{"sqlite": "EXPLAIN QUERY PLAN ", "postgres": "EXPLAIN "}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			conn, err := sqlstore.DB(b.mustOpen(t, b.fresh(t))).Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if b.name == "postgres" {
				if _, err := conn.ExecContext(ctx, "SET enable_seqscan = off"); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := conn.QueryContext(ctx, explain[b.name]+`SELECT id FROM audit WHERE at < $1 LIMIT 1000`, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan strings.Builder
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				for i := range vals {
					vals[i] = new(any)
				}
				if err := rows.Scan(vals...); err != nil {
					t.Fatal(err)
				}
				for _, v := range vals {
					fmt.Fprint(&plan, *v.(*any), " ")
				}
				plan.WriteString("\n")
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan.String(), "audit_at") {
				t.Errorf("retention query does not use audit_at:\n%s", plan.String())
			}
		})
	}
}

// The URL's pool settings (pgxpool's, which earlier versions used) still
// size the pool and are not sent to the server as run-time parameters.
func TestPostgresPoolSize(t *testing.T) {
	pg := backends[1]
	url := pg.fresh(t)
	for _, tc := range []struct {
		url  string
		want int
	}{{url, 16}, {url + "&pool_max_conns=3", 3}} {
		s := pg.mustOpen(t, tc.url)
		if got := sqlstore.DB(s).Stats().MaxOpenConnections; got != tc.want {
			t.Errorf("%s: pool of %d, want %d", tc.url, got, tc.want)
		}
	}
}
