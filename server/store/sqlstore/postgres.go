package sqlstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// OpenPostgres connects to the PostgreSQL database url names, applies the
// migrations and returns the store. Migrations run under goose's
// advisory-lock session locker, so replicas starting together migrate once.
func OpenPostgres(ctx context.Context, url string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// pgxpool's parser, because it takes the pool_* settings (which earlier
	// versions honoured) out of the URL instead of sending them to the server.
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parsing postgres url: %w", err)
	}
	n := int(cfg.MaxConns)
	if !strings.Contains(url, "pool_max_conns") {
		// pgxpool's default (max(4, CPUs)) queues bursts of requests on small
		// machines; a few more connections are cheap for PostgreSQL.
		n = max(n, 16)
	}
	db := stdlib.OpenDB(*cfg.ConnConfig)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	// As pgxpool did (pool_max_conn_lifetime, pool_max_conn_idle_time; 1 h
	// and 30 min by default): connections are renewed now and then, so a
	// failed-over or rebalanced server is picked up.
	db.SetConnMaxLifetime(cfg.MaxConnLifetime)
	db.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	if err := migrate(ctx, db, postgresDialect); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating postgres: %w", err)
	}
	s, err := newStore(ctx, db, db, postgresDialect, logger)
	if err != nil {
		return nil, err
	}
	logger.Debug("postgres store open", "host", cfg.ConnConfig.Host, "database", cfg.ConnConfig.Database)
	return s, nil
}
