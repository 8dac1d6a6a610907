package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" driver
)

// OpenSQLite opens (creating if needed) the SQLite database file at path,
// applies the migrations and returns the store.
//
// Every write goes through one dedicated connection whose transactions begin
// IMMEDIATE, so read-check-write rules are atomic; reads use a separate
// query-only pool that WAL lets run beside the writer.
func OpenSQLite(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory") {
		// The writer and the readers are separate connections: each would
		// see its own in-memory database.
		return nil, fmt.Errorf("opening sqlite %q: in-memory databases are not supported, use a file", path)
	}
	w, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return nil, fmt.Errorf("opening sqlite writer %s: %w", path, err)
	}
	// One writer: SQLite allows one anyway, and queueing in database/sql is
	// cheaper than spinning on SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w, sqliteDialect); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrating sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening sqlite readers %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	s, err := newStore(ctx, w, r, sqliteDialect, logger)
	if err != nil {
		return nil, err
	}
	logger.Debug("sqlite store open", "path", path)
	return s, nil
}

func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Times are INTEGER microseconds since the epoch (UTC): they sort and
	// compare as numbers and keep PostgreSQL's precision.
	q.Set("_time_integer_format", "unix_micro")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN so two stores on one file (or a
		// read-then-write transaction) never deadlock on lock upgrade.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}
