// Package sqlstore implements store.Store once, over database/sql, for both
// of the server's databases: an embedded SQLite file (modernc.org/sqlite,
// pure Go; the single-server default) and PostgreSQL (pgx/v5 stdlib; several
// replicas sharing one database). What differs between the two — column
// types, row locks, time arithmetic, error codes, connection pools — is in
// a small dialect; the queries and the one set of migrations are shared.
//
// Read-check-write rules (plan limits, one waiting request, refresh-token
// rotation, exactly-once payment) are atomic on both: SQLite runs every
// write transaction on one connection that begins IMMEDIATE, PostgreSQL
// takes row locks (FOR UPDATE) inside READ COMMITTED transactions.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/didacto/didacto/server/store"
)

// Store is the SQL implementation of store.Store.
type Store struct {
	w   *sql.DB // write transactions (SQLite: the one IMMEDIATE connection)
	r   *sql.DB // reads (SQLite: a query-only pool; PostgreSQL: w itself)
	d   *dialect
	log *slog.Logger
	now func() time.Time
	// sql holds the queries built from dialect parts, built once.
	sql struct{ recordPresence string }
}

var _ store.Store = (*Store)(nil)

func newStore(ctx context.Context, w, r *sql.DB, d *dialect, logger *slog.Logger) (*Store, error) {
	s := &Store{w: w, r: r, d: d, log: logger, now: time.Now}
	s.sql.recordPresence = recordPresenceSQL(d)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Ping checks the database answers on every pool.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name, err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s readers: %w", s.d.name, err)
		}
	}
	return nil
}

// Close closes the pools.
func (s *Store) Close() error {
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

// inTx runs fn in one transaction on the write pool.
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

// querier is a pool or a transaction.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// row is a *sql.Row or *sql.Rows.
type row interface{ Scan(...any) error }

// ts normalises t to what the database keeps: UTC, microsecond precision.
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTS stores a zero time as NULL.
func nullTS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

// timeCol scans a timestamp of either dialect into *t: SQLite keeps INTEGER
// microseconds since the epoch, PostgreSQL timestamptz; NULL is the zero
// time.
type timeCol struct{ t *time.Time }

func tcol(t *time.Time) timeCol { return timeCol{t} }

func (c timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("scanning a time: unexpected %T", src)
	}
	return nil
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
