package sqlstore

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// lookupChunk bounds the e-mails of one IN (...) lookup (SQLite allows 32766
// parameters, PostgreSQL 65535; smaller chunks keep statements cheap to plan).
const lookupChunk = 500

// AddMembers implements store.Lectures in one transaction.
func (s *Store) AddMembers(ctx context.Context, lectureID int64, entries []store.RosterEntry) (store.RosterOutcome, error) {
	var out store.RosterOutcome
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = store.RosterOutcome{}
		if _, err := lectureByID(ctx, tx, lectureID); err != nil {
			return err
		}
		type account struct {
			id   int64
			role string
		}
		accounts := make(map[string]account, len(entries))
		for start := 0; start < len(entries); start += lookupChunk {
			chunk := entries[start:min(start+lookupChunk, len(entries))]
			args := make([]any, len(chunk))
			marks := make([]string, len(chunk))
			for i, e := range chunk {
				args[i] = strings.ToLower(e.Email)
				marks[i] = fmt.Sprintf("$%d", i+1)
			}
			rows, err := tx.QueryContext(ctx, `SELECT id, email, role FROM users WHERE email IN (`+strings.Join(marks, ", ")+`)`, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var (
					a     account
					email string
				)
				if err := rows.Scan(&a.id, &email, &a.role); err != nil {
					rows.Close()
					return err
				}
				accounts[email] = a
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		var problems []store.RosterProblem
		for i, e := range entries {
			a, ok := accounts[strings.ToLower(e.Email)]
			switch {
			case !ok:
				problems = append(problems, store.RosterProblem{Index: i, Err: store.ErrNotFound})
			case a.role != string(wire.RoleStudent):
				problems = append(problems, store.RosterProblem{Index: i, Err: store.ErrNotStudent})
			}
		}
		if len(problems) > 0 {
			return &store.RosterError{Problems: problems}
		}
		members := map[int64]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT student_id FROM memberships WHERE lecture_id = $1`, lectureID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			members[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := ts(s.now())
		for _, e := range entries {
			id := accounts[strings.ToLower(e.Email)].id
			if members[id] {
				out.Already++
				if e.StudentNumber != "" {
					if _, err := tx.ExecContext(ctx, `UPDATE memberships SET student_number = $1 WHERE lecture_id = $2 AND student_id = $3`,
						e.StudentNumber, lectureID, id); err != nil {
						return err
					}
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (lecture_id, student_id, joined_at, student_number)
				VALUES ($1, $2, $3, $4)`, lectureID, id, now, e.StudentNumber); err != nil {
				return err
			}
			members[id] = true
			out.Added = append(out.Added, id)
		}
		// Waiting requests of students who are members now are settled.
		_, err = tx.ExecContext(ctx, `UPDATE enrollments SET status = 'accepted', updated_at = $2
			WHERE lecture_id = $1 AND status = 'waiting'
			AND student_id IN (SELECT student_id FROM memberships WHERE lecture_id = $1)`, lectureID, now)
		return err
	})
	var re *store.RosterError
	if errors.As(err, &re) {
		return store.RosterOutcome{}, re
	}
	if err != nil {
		return store.RosterOutcome{}, fmt.Errorf("adding %d members to lecture %d: %w", len(entries), lectureID, err)
	}
	return out, nil
}

// PutPasswordReset implements store.Resets.
func (s *Store) PutPasswordReset(ctx context.Context, r store.PasswordReset) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO password_resets (user_id, code_hash, created_by, lecture_id, attempts, expires_at, created_at)
		VALUES ($1, $2, $3, $4, 0, $5, $6)
		ON CONFLICT (user_id) DO UPDATE SET code_hash = excluded.code_hash, created_by = excluded.created_by,
			lecture_id = excluded.lecture_id, attempts = 0, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		r.UserID, r.CodeHash, r.CreatedBy, r.LectureID, ts(r.ExpiresAt), ts(s.now()))
	if s.d.isForeignKey(err) {
		return fmt.Errorf("storing reset code of user %d: %w", r.UserID, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("storing reset code of user %d: %w", r.UserID, err)
	}
	return nil
}

// RedeemPasswordReset implements store.Resets.
func (s *Store) RedeemPasswordReset(ctx context.Context, userID int64, codeHash []byte, passwordHash string, now time.Time, maxAttempts int) error {
	lock := s.d.forUpdate // "" on SQLite, whose writer is single
	var wrong bool
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var (
			hash     []byte
			attempts int
			expires  time.Time
		)
		err := tx.QueryRowContext(ctx, `SELECT code_hash, attempts, expires_at FROM password_resets WHERE user_id = $1`+lock, userID).
			Scan(&hash, &attempts, tcol(&expires))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrResetInvalid
		}
		if err != nil {
			return err
		}
		if !now.Before(expires) || attempts >= maxAttempts {
			_, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1`, userID)
			wrong = err == nil // commit the deletion, then refuse
			return err
		}
		if subtle.ConstantTimeCompare(hash, codeHash) != 1 {
			if attempts+1 >= maxAttempts {
				_, err = tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1`, userID)
			} else {
				_, err = tx.ExecContext(ctx, `UPDATE password_resets SET attempts = attempts + 1 WHERE user_id = $1`, userID)
			}
			wrong = err == nil
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM password_resets WHERE user_id = $1`, userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users SET password_hash = $1 WHERE id = $2`, passwordHash, userID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrResetInvalid
		}
		return nil
	})
	if wrong && err == nil {
		err = store.ErrResetInvalid
	}
	if err != nil {
		return fmt.Errorf("redeeming reset code of user %d: %w", userID, err)
	}
	return nil
}
