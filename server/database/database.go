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
		s, err := sqlstore.OpenSQLite(ctx, tgt.Path, logger)
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		logger.Info("database", "kind", "sqlite", "path", tgt.Path)
		return s, nil
	}
}
