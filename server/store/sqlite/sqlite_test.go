package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/server/store/sqlite"
	"github.com/didacto/didacto/server/store/storetest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"), nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, open)
}

// Two stores on one file stand for two processes sharing it.
func TestShared(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) []store.Store {
		path := filepath.Join(t.TempDir(), "shared.db")
		var ss []store.Store
		for range 2 {
			s, err := sqlite.Open(context.Background(), path, nil)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			ss = append(ss, s)
		}
		return ss
	})
}

func BenchmarkStore(b *testing.B) {
	s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.Bench(b, s)
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		if s, err := sqlite.Open(context.Background(), path, nil); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded; an in-memory database would differ between writer and readers", path)
		}
	}
}

// The pragmas the store relies on are really in force on both pools.
func TestPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got := sqlite.Pragmas(t, s)
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
