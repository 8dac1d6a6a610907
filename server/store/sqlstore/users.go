package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

const userCols = `id, email, name, role, password_hash, premium_until, created_at`

func scanUser(r row) (store.User, error) {
	var (
		u    store.User
		role string
	)
	if err := r.Scan(&u.ID, &u.Email, &u.Name, &role, &u.PasswordHash, tcol(&u.PremiumUntil), tcol(&u.CreatedAt)); err != nil {
		return store.User{}, notFound(err)
	}
	u.Role = wire.Role(role)
	return u, nil
}

// CreateUser inserts u with its e-mail lower-cased.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	u.Email = strings.ToLower(u.Email)
	u.CreatedAt = ts(s.now())
	if !u.PremiumUntil.IsZero() {
		u.PremiumUntil = ts(u.PremiumUntil)
	}
	err := s.w.QueryRowContext(ctx,
		`INSERT INTO users (email, name, role, password_hash, premium_until, created_at)
		 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
		u.Email, u.Name, string(u.Role), u.PasswordHash, nullTS(u.PremiumUntil), u.CreatedAt).Scan(&u.ID)
	if s.d.isUnique(err) {
		return store.User{}, store.ErrEmailTaken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("creating user: %w", err)
	}
	return u, nil
}

// UserByID returns the user with that id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// UserByEmail looks the e-mail up case-insensitively.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE email = $1`, strings.ToLower(email)))
	if err != nil {
		return store.User{}, fmt.Errorf("user by email: %w", err)
	}
	return u, nil
}

// SetPremiumUntil sets (or, with the zero time, clears) the premium expiry.
func (s *Store) SetPremiumUntil(ctx context.Context, userID int64, until time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET premium_until = $1 WHERE id = $2`, nullTS(until), userID)
	if err != nil {
		return fmt.Errorf("setting premium of user %d: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("setting premium of user %d: %w", userID, store.ErrNotFound)
	}
	return nil
}

// SetPasswordHash implements store.Users.
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, hash string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash, userID)
	if err != nil {
		return fmt.Errorf("setting password of user %d: %w", userID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("setting password of user %d: %w", userID, store.ErrNotFound)
	}
	return nil
}
