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
