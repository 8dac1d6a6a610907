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
