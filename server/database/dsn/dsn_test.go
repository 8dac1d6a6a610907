package dsn_test

import (
	"strings"
	"testing"

	"github.com/didacto/didacto/server/database/dsn"
)

func TestParse(t *testing.T) {
	cases := []struct {
		url, dataDir string
		want         dsn.Target
		err          string
	}{
		{"", "/var/lib/didacto", dsn.Target{Kind: dsn.SQLite, Path: "/var/lib/didacto/didacto.db"}, ""},
		{"  ", "data", dsn.Target{Kind: dsn.SQLite, Path: "data/didacto.db"}, ""},
		{"", "", dsn.Target{}, "no data directory"},
		{"sqlite:///srv/d.db", "x", dsn.Target{Kind: dsn.SQLite, Path: "/srv/d.db"}, ""},
		{"SQLite://rel/d.db", "x", dsn.Target{Kind: dsn.SQLite, Path: "rel/d.db"}, ""},
		{"sqlite:d.db", "x", dsn.Target{Kind: dsn.SQLite, Path: "d.db"}, ""},
		{"file:/srv/d.db", "x", dsn.Target{Kind: dsn.SQLite, Path: "/srv/d.db"}, ""},
		{"/srv/data/../d.db", "x", dsn.Target{Kind: dsn.SQLite, Path: "/srv/d.db"}, ""},
		{"d.db", "x", dsn.Target{Kind: dsn.SQLite, Path: "d.db"}, ""},
		{"postgres://u:p@db:5432/didacto?sslmode=disable", "x", dsn.Target{Kind: dsn.Postgres, URL: "postgres://u:p@db:5432/didacto?sslmode=disable"}, ""},
		{"postgresql://db/didacto", "x", dsn.Target{Kind: dsn.Postgres, URL: "postgresql://db/didacto"}, ""},
		{"postgres:///didacto?host=/run/postgresql", "x", dsn.Target{Kind: dsn.Postgres, URL: "postgres:///didacto?host=/run/postgresql"}, ""},
		{"postgres:///didacto", "x", dsn.Target{}, "no host"},
		{"mysql://db/didacto", "x", dsn.Target{}, `unsupported database URL scheme "mysql"`},
		{"redis://localhost:6379", "x", dsn.Target{}, "unsupported"},
		{"sqlite://", "x", dsn.Target{}, "no path"},
		{"sqlite:///d.db?mode=ro", "x", dsn.Target{}, "no query"},
	}
	for _, c := range cases {
		got, err := dsn.Parse(c.url, c.dataDir)
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
	_, err := dsn.Parse("postgres://user:s3cret@db:5432/x%zz", "")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %v must exist and not show the password", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "sqlite:///srv/d.db", "postgres://u:p@h:5432/db?sslmode=disable",
		"postgresql://h/db", "d.db", "C:\\data\\d.db", "mysql://x", "sqlite:", "file:x.db", "postgres:///x?host=/tmp"} {
		f.Add(s, "data")
	}
	f.Fuzz(func(t *testing.T, raw, dataDir string) {
		got, err := dsn.Parse(raw, dataDir)
		if err != nil {
			return
		}
		switch got.Kind {
		case dsn.SQLite:
			if got.Path == "" || got.URL != "" {
				t.Fatalf("Parse(%q) = %+v", raw, got)
			}
		case dsn.Postgres:
			if got.URL == "" || got.Path != "" {
				t.Fatalf("Parse(%q) = %+v", raw, got)
			}
		default:
			t.Fatalf("Parse(%q) kind %q", raw, got.Kind)
		}
	})
}
