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
