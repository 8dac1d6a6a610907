// Package database chooses and opens the server's store from its
// configuration: SQLite in the data directory by default, or the database a
// URL names (sqlite:// or a file path for SQLite, postgres:// for
// PostgreSQL).
package database

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/didacto/didacto/server/database/dsn"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/server/store/sqlstore"
)

// Open opens the store the setting names (see dsn.Parse), creating the
// SQLite file's directory (0700) when needed, and runs the migrations.
func Open(ctx context.Context, databaseURL, dataDir string, logger *slog.Logger) (store.Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tgt, err := dsn.Parse(databaseURL, dataDir)
	if err != nil {
		return nil, err
	}
	switch tgt.Kind {
	case dsn.Postgres:
		s, err := sqlstore.OpenPostgres(ctx, tgt.URL, logger)
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		logger.Info("database", "kind", "postgres")
		return s, nil
	default:
		if err := os.MkdirAll(filepath.Dir(tgt.Path), 0o700); err != nil {
			return nil, fmt.Errorf("database: creating directory for %s: %w", tgt.Path, err)
		}
		if err := private(tgt.Path, logger); err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		s, err := sqlstore.OpenSQLite(ctx, tgt.Path, logger)
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		logger.Info("database", "kind", "sqlite", "path", tgt.Path)
		return s, nil
	}
}

// private makes the SQLite file (and its -wal and -shm files, which SQLite
// creates with the file's mode) readable by the server's user only: it holds
// the token-signing key and password hashes. A missing file is created 0600;
// an existing one open to others is narrowed, with a warning.
func private(path string, logger *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			continue // no journal yet
		}
		if st.Mode().Perm()&0o077 != 0 {
			logger.Warn("database file was readable by others; narrowing it to 0600", "path", p, "mode", st.Mode().Perm().String())
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("narrowing %s to 0600: %w", p, err)
			}
		}
	}
	return nil
}
