package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/didacto/didacto/server/store"
)

// CreateRefreshToken stores the first (or a standalone) token of a family.
func (s *Store) CreateRefreshToken(ctx context.Context, t store.RefreshToken) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO refresh_tokens (token_hash, family_id, user_id, kind, expires_at, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6)`,
		t.TokenHash, t.FamilyID, t.UserID, t.Kind, ts(t.ExpiresAt), ts(t.CreatedAt))
	if err != nil {
		return fmt.Errorf("creating refresh token: %w", err)
	}
	return nil
}

type tokenRow struct {
	store.RefreshToken
	rotated bool
	revoked bool
}

func scanToken(r row) (tokenRow, error) {
	var (
		t       tokenRow
		rotated time.Time
	)
	if err := r.Scan(&t.TokenHash, &t.FamilyID, &t.UserID, &t.Kind, tcol(&t.ExpiresAt), tcol(&t.CreatedAt), tcol(&rotated), &t.revoked); err != nil {
		return tokenRow{}, err
	}
	t.rotated = !rotated.IsZero()
	return t, nil
}

const tokenCols = `token_hash, family_id, user_id, kind, expires_at, created_at, rotated_at, revoked`

// RotateRefreshToken retires oldHash and stores next in its family. The old
// row is locked (FOR UPDATE on PostgreSQL, the IMMEDIATE writer on SQLite),
// so a concurrent rotation waits, then sees it rotated and takes the reuse
// path.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash []byte, next store.RefreshToken, now time.Time) (store.RefreshToken, error) {
	var (
		old    tokenRow
		reused bool
	)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		old, err = scanToken(tx.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE token_hash = $1`+s.d.forUpdate, oldHash))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrTokenExpired
		}
		if err != nil {
			return err
		}
		if old.rotated {
			// A rotated token presented again means it leaked: kill the family,
			// and commit that even though the call fails.
			reused = true
			_, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET revoked = true WHERE family_id = $1`, old.FamilyID)
			return err
		}
		if old.revoked || !now.Before(old.ExpiresAt) {
			return store.ErrTokenExpired
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET rotated_at = $1 WHERE token_hash = $2`, ts(now), oldHash); err != nil {
			return err
		}
		next.FamilyID, next.UserID = old.FamilyID, old.UserID
		if next.CreatedAt.IsZero() {
			next.CreatedAt = now
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO refresh_tokens (token_hash, family_id, user_id, kind, expires_at, created_at)
			 VALUES ($1, $2, $3, $4, $5, $6)`,
			next.TokenHash, next.FamilyID, next.UserID, next.Kind, ts(next.ExpiresAt), ts(next.CreatedAt))
		return err
	})
	if reused {
		err = errors.Join(store.ErrTokenReused, err)
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("rotating refresh token: %w", err)
	}
	return old.RefreshToken, nil
}

// LookupRefreshToken returns a live token.
func (s *Store) LookupRefreshToken(ctx context.Context, hash []byte, now time.Time) (store.RefreshToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM refresh_tokens WHERE token_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (t.rotated || t.revoked || !now.Before(t.ExpiresAt))) {
		return store.RefreshToken{}, store.ErrTokenExpired
	}
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("looking up refresh token: %w", err)
	}
	return t.RefreshToken, nil
}

// RevokeFamily revokes every token of the family.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE refresh_tokens SET revoked = true WHERE family_id = $1`, familyID); err != nil {
		return fmt.Errorf("revoking token family: %w", err)
	}
	return nil
}

// Secret returns the named secret, creating it with gen on first use. The
// upsert keeps a concurrent winner's value and returns it, so every replica
// gets the stored one.
func (s *Store) Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("reading secret %q: %w", name, err)
	}
	fresh, err := gen()
	if err != nil {
		return nil, fmt.Errorf("generating secret %q: %w", name, err)
	}
	err = s.w.QueryRowContext(ctx,
		`INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
		 ON CONFLICT (name) DO UPDATE SET name = excluded.name
		 RETURNING value`, name, fresh, ts(s.now())).Scan(&v)
	if err != nil {
		return nil, fmt.Errorf("storing secret %q: %w", name, err)
	}
	return v, nil
}

// RevokeUserTokens implements store.Tokens.
func (s *Store) RevokeUserTokens(ctx context.Context, userID int64, keepFamily string) ([]string, error) {
	rows, err := s.w.QueryContext(ctx, `UPDATE refresh_tokens SET revoked = true
		WHERE user_id = $1 AND family_id <> $2 AND NOT revoked RETURNING family_id`, userID, keepFamily)
	if err != nil {
		return nil, fmt.Errorf("revoking the tokens of user %d: %w", userID, err)
	}
	return distinctFamilies(rows, userID)
}

func distinctFamilies(rows *sql.Rows, userID int64) ([]string, error) {
	defer rows.Close()
	seen := map[string]bool{}
	var out []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			return nil, fmt.Errorf("revoking the tokens of user %d: %w", userID, err)
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("revoking the tokens of user %d: %w", userID, err)
	}
	return out, nil
}
