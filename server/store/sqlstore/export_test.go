package sqlstore

import (
	"context"
	"database/sql"
	"testing"
)

// Pragmas reads the connection settings of both pools, keyed "w.name" and
// "r.name".
func Pragmas(t *testing.T, s *Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	for prefix, db := range map[string]*sql.DB{"w.": s.w, "r.": s.r} {
		for _, name := range []string{"journal_mode", "foreign_keys", "synchronous", "busy_timeout", "query_only"} {
			var v string
			if err := db.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v); err != nil {
				t.Fatalf("pragma %s: %v", name, err)
			}
			out[prefix+name] = v
		}
	}
	return out
}

// DB is the store's write pool, for tests that inspect the schema.
func DB(s *Store) *sql.DB { return s.w }
