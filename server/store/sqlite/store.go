// Package sqlite implements store.Store on an embedded SQLite file
// (modernc.org/sqlite, pure Go): the single-server default.
//
// Every write goes through one dedicated connection whose transactions begin
// IMMEDIATE, so read-check-write rules (plan limits, one waiting request,
// refresh-token rotation) are atomic; reads use a separate query-only pool
// that WAL lets run beside the writer. Times are stored as INTEGER
// microseconds since the epoch (UTC).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/didacto/didacto/server/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite implementation of store.Store.
type Store struct {
	w   *sql.DB // the one write connection; BEGIN IMMEDIATE
	r   *sql.DB // query-only read pool
	log *slog.Logger
	now func() time.Time
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path, applies the
// embedded migrations and returns the store.
func Open(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if path == "" || strings.Contains(path, ":memory:") || strings.Contains(path, "mode=memory") {
		// The writer and the readers are separate connections: each would
		// see its own in-memory database.
		return nil, fmt.Errorf("opening sqlite %q: in-memory databases are not supported, use a file", path)
	}
	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, fmt.Errorf("opening sqlite writer %s: %w", path, err)
	}
	// One writer: SQLite allows one anyway, and queueing in database/sql is
	// cheaper than spinning on SQLITE_BUSY.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrating sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("opening sqlite readers %s: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(0)
	s := &Store{w: w, r: r, log: logger, now: time.Now}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	logger.Debug("sqlite store open", "path", path)
	return s, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN so two stores on one file (or a
		// read-then-write transaction) never deadlock on lock upgrade.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		return fmt.Errorf("goose: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("goose up: %w", err)
	}
	return nil
}

// Ping checks both connections answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("ping sqlite readers: %w", err)
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// inTx runs fn in one IMMEDIATE transaction on the write connection.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// ts encodes t as UTC microseconds.
func ts(t time.Time) int64 { return t.UnixMicro() }

// tm decodes UTC microseconds.
func tm(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullTS encodes a zero time as NULL.
func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func nullTM(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return tm(v.Int64)
}

// isUnique reports whether err is a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// isForeignKey reports whether err is a FOREIGN KEY violation.
func isForeignKey(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// notFound maps sql.ErrNoRows to store.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return err
}

// page normalises a page request: Page < 1 is 1, Size < 1 is 20.
func page(p store.PageRequest) (limit, offset int) {
	if p.Page < 1 {
		p.Page = 1
	}
	if p.Size < 1 {
		p.Size = 20
	}
	return p.Size, p.Offset()
}
