// Package dsn parses the server's database setting into a target (SQLite
// file or PostgreSQL URL) without opening anything, so it stays small and
// cheap to fuzz.
package dsn

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
)

// DefaultFile is the SQLite file created in the data directory when no
// database URL is configured.
const DefaultFile = "didacto.db"

// Kind is the database a URL selects.
type Kind string

// Kinds of database.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Target is a parsed database setting: which database and where.
type Target struct {
	Kind Kind
	// Path is the SQLite file (Kind SQLite).
	Path string
	// URL is the connection URL (Kind Postgres).
	URL string
}

// Parse resolves databaseURL against dataDir without touching anything:
// "" is <dataDir>/didacto.db; "sqlite:///abs/path", "sqlite://rel/path",
// "sqlite:path" or a plain file path is SQLite; "postgres://" or
// "postgresql://" is PostgreSQL. Anything else is an error.
func Parse(databaseURL, dataDir string) (Target, error) {
	raw := strings.TrimSpace(databaseURL)
	switch {
	case raw == "":
		if dataDir == "" {
			return Target{}, errors.New("dsn: no database URL and no data directory")
		}
		return Target{Kind: SQLite, Path: filepath.Join(dataDir, DefaultFile)}, nil
	case hasScheme(raw, "postgres"), hasScheme(raw, "postgresql"):
		u, err := url.Parse(raw)
		if err != nil {
			return Target{}, fmt.Errorf("dsn: parsing postgres URL: %w", redact(err))
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return Target{}, errors.New("dsn: postgres URL has no host")
		}
		return Target{Kind: Postgres, URL: raw}, nil
	case hasScheme(raw, "sqlite"), hasScheme(raw, "sqlite3"), hasScheme(raw, "file"):
		rest := raw[strings.Index(raw, ":")+1:]
		// sqlite:///abs → /abs; sqlite://rel → rel; sqlite:rel → rel.
		path := strings.TrimPrefix(rest, "//")
		if i := strings.IndexAny(path, "?#"); i >= 0 {
			return Target{}, fmt.Errorf("dsn: sqlite URL takes no query or fragment: %q", raw)
		}
		if path == "" {
			return Target{}, fmt.Errorf("dsn: sqlite URL has no path: %q", raw)
		}
		return Target{Kind: SQLite, Path: filepath.Clean(path)}, nil
	case strings.Contains(raw, "://"):
		scheme, _, _ := strings.Cut(raw, "://")
		return Target{}, fmt.Errorf("dsn: unsupported database URL scheme %q (want sqlite:// or postgres://)", scheme)
	default:
		return Target{Kind: SQLite, Path: filepath.Clean(raw)}, nil
	}
}

func hasScheme(raw, scheme string) bool {
	return len(raw) > len(scheme) && strings.EqualFold(raw[:len(scheme)+1], scheme+":")
}

// redact drops the URL (which may hold a password) from a url.Parse error.
func redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
