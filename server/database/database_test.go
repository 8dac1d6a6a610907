package database_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/database"
	"github.com/didacto/didacto/server/database/dsn"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// roundTrip proves the opened store works and persists.
func roundTrip(t *testing.T, s store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	u, err := s.CreateUser(ctx, store.User{Email: "a@example.org", Name: "A", Role: wire.RoleStudent, PasswordHash: "h"})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if got, err := s.UserByEmail(ctx, "A@example.org"); err != nil || got.ID != u.ID {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
}

func TestOpenDefaultSQLite(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "nested", "data")
	s, err := database.Open(context.Background(), "", dataDir, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	roundTrip(t, s)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st, err := os.Stat(dataDir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v, %v; want mode 0700", st, err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, dsn.DefaultFile)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	// Reopening keeps the data and does not re-run migrations.
	s, err = database.Open(context.Background(), "sqlite://"+filepath.Join(dataDir, dsn.DefaultFile), "", nil)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	if _, err := s.UserByEmail(context.Background(), "a@example.org"); err != nil {
		t.Fatalf("user lost on reopen: %v", err)
	}
}

func TestOpenPostgres(t *testing.T) {
	url := testenv.PostgresURL(t)
	s, err := database.Open(context.Background(), url, t.TempDir(), nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	roundTrip(t, s)
}

func TestOpenRejects(t *testing.T) {
	_, err := database.Open(context.Background(), "mongodb://localhost/x", t.TempDir(), nil)
	if err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Fatalf("Open(mongodb) error = %v", err)
	}
}

// TestSQLiteFileIsPrivate is the review's F12: the file holds the
// token-signing key and password hashes; it was created 0644.
func TestSQLiteFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // a data dir made by hand
		t.Fatal(err)
	}
	path := filepath.Join(dir, dsn.DefaultFile)
	s, err := database.Open(context.Background(), "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, s)
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", filepath.Base(p), st, err)
		}
	}
	s.Close()
	// An existing file open to others is narrowed.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = database.Open(context.Background(), "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("reopened: %v, %v; want mode 0600", st, err)
	}
}
