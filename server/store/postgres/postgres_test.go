package postgres_test

import (
	"context"
	"testing"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/server/store/postgres"
	"github.com/didacto/didacto/server/store/storetest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func open(t *testing.T) store.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testenv.PostgresURL(t), nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, open)
}

// Three replicas start at once on one empty database: the migrations must
// run once (advisory lock), and every rule must hold across them.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) []store.Store {
		url := testenv.PostgresURL(t)
		ss := make([]store.Store, 3)
		errs := make(chan error, len(ss))
		for i := range ss {
			go func() {
				s, err := postgres.Open(context.Background(), url, nil)
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
}

func BenchmarkStore(b *testing.B) {
	s, err := postgres.Open(context.Background(), testenv.PostgresURL(b), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.Bench(b, s)
}
