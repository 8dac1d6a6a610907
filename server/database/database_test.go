package database_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/database"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestParse(t *testing.T) {
	cases := []struct {
		url, dataDir string
		want         database.Target
		err          string
	}{
		{"", "/var/lib/didacto", database.Target{Kind: database.SQLite, Path: "/var/lib/didacto/didacto.db"}, ""},
		{"  ", "data", database.Target{Kind: database.SQLite, Path: "data/didacto.db"}, ""},
		{"", "", database.Target{}, "no data directory"},
		{"sqlite:///srv/d.db", "x", database.Target{Kind: database.SQLite, Path: "/srv/d.db"}, ""},
		{"SQLite://rel/d.db", "x", database.Target{Kind: database.SQLite, Path: "rel/d.db"}, ""},
		{"sqlite:d.db", "x", database.Target{Kind: database.SQLite, Path: "d.db"}, ""},
		{"file:/srv/d.db", "x", database.Target{Kind: database.SQLite, Path: "/srv/d.db"}, ""},
		{"/srv/data/../d.db", "x", database.Target{Kind: database.SQLite, Path: "/srv/d.db"}, ""},
		{"d.db", "x", database.Target{Kind: database.SQLite, Path: "d.db"}, ""},
		{"postgres://u:p@db:5432/didacto?sslmode=disable", "x", database.Target{Kind: database.Postgres, URL: "postgres://u:p@db:5432/didacto?sslmode=disable"}, ""},
		{"postgresql://db/didacto", "x", database.Target{Kind: database.Postgres, URL: "postgresql://db/didacto"}, ""},
		{"postgres:///didacto?host=/run/postgresql", "x", database.Target{Kind: database.Postgres, URL: "postgres:///didacto?host=/run/postgresql"}, ""},
		{"postgres:///didacto", "x", database.Target{}, "no host"},
		{"mysql://db/didacto", "x", database.Target{}, `unsupported database URL scheme "mysql"`},
		{"redis://localhost:6379", "x", database.Target{}, "unsupported"},
		{"sqlite://", "x", database.Target{}, "no path"},
		{"sqlite:///d.db?mode=ro", "x", database.Target{}, "no query"},
	}
	for _, c := range cases {
		got, err := database.Parse(c.url, c.dataDir)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q) error = %v, want containing %q", c.url, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Parse(%q, %q) = %+v, %v; want %+v", c.url, c.dataDir, got, err, c.want)
		}
	}
}

func TestParseRedactsPassword(t *testing.T) {
	_, err := database.Parse("postgres://user:s3cret@db:5432/x%zz", "")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v must exist and not show the password", err)
	}
}

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
	if _, err := os.Stat(filepath.Join(dataDir, database.DefaultFile)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	// Reopening keeps the data and does not re-run migrations.
	s, err = database.Open(context.Background(), "sqlite://"+filepath.Join(dataDir, database.DefaultFile), "", nil)
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

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "sqlite:///srv/d.db", "postgres://u:p@h:5432/db?sslmode=disable",
		"postgresql://h/db", "d.db", "C:\\data\\d.db", "mysql://x", "sqlite:", "file:x.db", "postgres:///x?host=/tmp"} {
		f.Add(s, "data")
	}
	f.Fuzz(func(t *testing.T, raw, dataDir string) {
		got, err := database.Parse(raw, dataDir)
		if err != nil {
			return
		}
		switch got.Kind {
		case database.SQLite:
			if got.Path == "" || got.URL != "" {
				t.Fatalf("Parse(%q) = %+v", raw, got)
			}
		case database.Postgres:
			if got.URL == "" || got.Path != "" {
				t.Fatalf("Parse(%q) = %+v", raw, got)
			}
		default:
			t.Fatalf("Parse(%q) kind %q", raw, got.Kind)
		}
	})
}
