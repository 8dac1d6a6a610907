package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// CreateCommand implements store.Classroom in one transaction.
func (s *Store) CreateCommand(ctx context.Context, c store.Command, students []int64, lock store.ScreenLock) (store.Command, error) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now()
	}
	c.CreatedAt = ts(c.CreatedAt)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO class_commands (lecture_id, kind, text, url, actor_id, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, c.LectureID, c.Kind, c.Text, c.URL, c.ActorID, c.CreatedAt).Scan(&c.ID); err != nil {
			return fmt.Errorf("storing a %s command: %w", c.Kind, err)
		}
		for _, sid := range students {
			if _, err := tx.ExecContext(ctx, `INSERT INTO class_command_results (command_id, student_id, lecture_id, state, at)
				VALUES ($1, $2, $3, $4, $5)`, c.ID, sid, c.LectureID, wire.ResultPending, c.CreatedAt); err != nil {
				return fmt.Errorf("storing a %s command for student %d: %w", c.Kind, sid, err)
			}
			if err := applyLock(ctx, tx, c, sid, lock); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.Command{}, err
	}
	return c, nil
}

// applyLock sets or removes the student's lock for a lock, blank or unlock
// command; other kinds leave locks alone.
func applyLock(ctx context.Context, tx *sql.Tx, c store.Command, student int64, lock store.ScreenLock) error {
	var err error
	switch c.Kind {
	case wire.CommandLock, wire.CommandBlank:
		_, err = tx.ExecContext(ctx, `INSERT INTO class_locks
			(lecture_id, student_id, mode, message, actor_id, actor_family, command_id, since, until)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (lecture_id, student_id) DO UPDATE SET mode = excluded.mode, message = excluded.message,
				actor_id = excluded.actor_id, actor_family = excluded.actor_family, command_id = excluded.command_id,
				since = excluded.since, until = excluded.until`,
			c.LectureID, student, c.Kind, c.Text, c.ActorID, lock.ActorFamily, c.ID, c.CreatedAt, ts(lock.Until))
	case wire.CommandUnlock:
		_, err = tx.ExecContext(ctx, `DELETE FROM class_locks WHERE lecture_id = $1 AND student_id = $2`, c.LectureID, student)
	}
	if err != nil {
		return fmt.Errorf("applying %s to student %d: %w", c.Kind, student, err)
	}
	return nil
}

// CommandByID implements store.Classroom.
func (s *Store) CommandByID(ctx context.Context, id int64) (store.Command, []store.CommandResult, error) {
	var c store.Command
	err := s.r.QueryRowContext(ctx, `SELECT id, lecture_id, kind, text, url, actor_id, created_at FROM class_commands WHERE id = $1`, id).
		Scan(&c.ID, &c.LectureID, &c.Kind, &c.Text, &c.URL, &c.ActorID, tcol(&c.CreatedAt))
	if err != nil {
		return store.Command{}, nil, notFound(err)
	}
	results, err := scanResults(s.r.QueryContext(ctx, `SELECT r.command_id, r.student_id, c.kind, r.state, r.reason, r.reply, r.at
		FROM class_command_results r JOIN class_commands c ON c.id = r.command_id
		WHERE r.command_id = $1 ORDER BY r.student_id`, id))
	if err != nil {
		return store.Command{}, nil, fmt.Errorf("results of command %d: %w", id, err)
	}
	return c, results, nil
}

func scanResults(rows *sql.Rows, err error) ([]store.CommandResult, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.CommandResult{}
	for rows.Next() {
		var r store.CommandResult
		if err := rows.Scan(&r.CommandID, &r.StudentID, &r.Kind, &r.State, &r.Reason, &r.Reply, tcol(&r.At)); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// SetCommandResult implements store.Classroom.
func (s *Store) SetCommandResult(ctx context.Context, r store.CommandResult, lectureID int64) (store.CommandResult, error) {
	if r.At.IsZero() {
		r.At = s.now()
	}
	var out store.CommandResult
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var cur store.CommandResult
		err := tx.QueryRowContext(ctx, `SELECT r.command_id, r.student_id, c.kind, r.state, r.reason, r.reply, r.at
			FROM class_command_results r JOIN class_commands c ON c.id = r.command_id
			WHERE r.command_id = $1 AND r.student_id = $2 AND r.lecture_id = $3`+s.d.forUpdate, r.CommandID, r.StudentID, lectureID).
			Scan(&cur.CommandID, &cur.StudentID, &cur.Kind, &cur.State, &cur.Reason, &cur.Reply, tcol(&cur.At))
		if err != nil {
			return notFound(err)
		}
		next := cur
		if r.State != "" && resultRank(r.State) >= resultRank(cur.State) && !(r.State == wire.ResultDelivered && cur.State != wire.ResultPending) {
			next.State, next.Reason = r.State, r.Reason
		}
		if r.Reply != "" {
			next.Reply = r.Reply
		}
		next.At = ts(r.At)
		if _, err := tx.ExecContext(ctx, `UPDATE class_command_results SET state = $1, reason = $2, reply = $3, at = $4
			WHERE command_id = $5 AND student_id = $6`, next.State, next.Reason, next.Reply, next.At, r.CommandID, r.StudentID); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		return store.CommandResult{}, err
	}
	return out, nil
}

// resultRank orders result states: a state never goes back.
func resultRank(state string) int {
	switch state {
	case wire.ResultPending:
		return 0
	case wire.ResultDelivered:
		return 1
	default: // applied, failed: an agent may fail after applying (or apply a lock again)
		return 2
	}
}

// LatestResults implements store.Classroom.
func (s *Store) LatestResults(ctx context.Context, lectureID int64) ([]store.CommandResult, error) {
	out, err := scanResults(s.r.QueryContext(ctx, `SELECT r.command_id, r.student_id, c.kind, r.state, r.reason, r.reply, r.at
		FROM class_command_results r JOIN class_commands c ON c.id = r.command_id
		WHERE r.lecture_id = $1 AND r.command_id = (SELECT max(r2.command_id) FROM class_command_results r2
			WHERE r2.lecture_id = r.lecture_id AND r2.student_id = r.student_id)
		ORDER BY r.student_id`, lectureID))
	if err != nil {
		return nil, fmt.Errorf("latest command results of lecture %d: %w", lectureID, err)
	}
	return out, nil
}

const lockCols = `k.lecture_id, l.title, k.student_id, k.mode, k.message, k.actor_id, u.name, k.actor_family, k.command_id, k.since, k.until`
const lockFrom = ` FROM class_locks k JOIN lectures l ON l.id = k.lecture_id JOIN users u ON u.id = k.actor_id`

func scanLock(r row, extra ...any) (store.ScreenLock, error) {
	var k store.ScreenLock
	dest := append([]any{&k.LectureID, &k.LectureTitle, &k.StudentID, &k.Mode, &k.Message, &k.ActorID, &k.ActorName,
		&k.ActorFamily, &k.CommandID, tcol(&k.Since), tcol(&k.Until)}, extra...)
	return k, r.Scan(dest...)
}

func (s *Store) locks(ctx context.Context, where string, args ...any) ([]store.ScreenLock, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+lockCols+lockFrom+` WHERE `+where+` ORDER BY k.lecture_id, k.student_id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.ScreenLock{}
	for rows.Next() {
		k, err := scanLock(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// LocksByLecture implements store.Classroom.
func (s *Store) LocksByLecture(ctx context.Context, lectureID int64, now time.Time) ([]store.ScreenLock, error) {
	out, err := s.locks(ctx, `k.lecture_id = $1 AND k.until > $2`, lectureID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("locks of lecture %d: %w", lectureID, err)
	}
	return out, nil
}

// LocksByStudent implements store.Classroom: only the locks of lectures
// that are on and of which the student is still a member count.
func (s *Store) LocksByStudent(ctx context.Context, studentID int64, now time.Time) ([]store.ScreenLock, error) {
	out, err := s.locks(ctx, `k.student_id = $1 AND k.until > $2 AND l.active = true AND l.deleted_at IS NULL
		AND EXISTS (SELECT 1 FROM memberships m WHERE m.lecture_id = k.lecture_id AND m.student_id = k.student_id)`, studentID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("locks of student %d: %w", studentID, err)
	}
	return out, nil
}

// AllLocks implements store.Classroom.
func (s *Store) AllLocks(ctx context.Context) ([]store.LockStatus, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+lockCols+`, l.active AND l.deleted_at IS NULL,
		EXISTS (SELECT 1 FROM memberships m WHERE m.lecture_id = k.lecture_id AND m.student_id = k.student_id)`+lockFrom+`
		ORDER BY k.lecture_id, k.student_id`)
	if err != nil {
		return nil, fmt.Errorf("listing locks: %w", err)
	}
	defer rows.Close()
	out := []store.LockStatus{}
	for rows.Next() {
		var st store.LockStatus
		k, err := scanLock(rows, &st.LectureActive, &st.Member)
		if err != nil {
			return nil, fmt.Errorf("listing locks: %w", err)
		}
		st.ScreenLock = k
		out = append(out, st)
	}
	return out, rows.Err()
}

// ReleaseLocks implements store.Classroom.
func (s *Store) ReleaseLocks(ctx context.Context, locks []store.ScreenLock) ([]store.ScreenLock, error) {
	var out []store.ScreenLock
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = nil
		for _, k := range locks {
			res, err := tx.ExecContext(ctx, `DELETE FROM class_locks WHERE lecture_id = $1 AND student_id = $2 AND command_id = $3`,
				k.LectureID, k.StudentID, k.CommandID)
			if err != nil {
				return fmt.Errorf("releasing the lock of student %d in lecture %d: %w", k.StudentID, k.LectureID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				out = append(out, k)
			}
		}
		return nil
	})
	return out, err
}

// RaiseHand implements store.Classroom.
func (s *Store) RaiseHand(ctx context.Context, lectureID, studentID int64, at time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO class_hands (lecture_id, student_id, raised_at) VALUES ($1, $2, $3)
		ON CONFLICT (lecture_id, student_id) DO NOTHING`, lectureID, studentID, ts(at))
	if err != nil {
		return false, fmt.Errorf("raising the hand of student %d: %w", studentID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// LowerHand implements store.Classroom.
func (s *Store) LowerHand(ctx context.Context, lectureID, studentID int64) (bool, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM class_hands WHERE lecture_id = $1 AND student_id = $2`, lectureID, studentID)
	if err != nil {
		return false, fmt.Errorf("lowering the hand of student %d: %w", studentID, err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// HandsByLecture implements store.Classroom, first raised first.
func (s *Store) HandsByLecture(ctx context.Context, lectureID int64) ([]store.Hand, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT lecture_id, student_id, raised_at FROM class_hands WHERE lecture_id = $1
		ORDER BY raised_at, student_id`, lectureID)
	if err != nil {
		return nil, fmt.Errorf("hands of lecture %d: %w", lectureID, err)
	}
	defer rows.Close()
	out := []store.Hand{}
	for rows.Next() {
		var h store.Hand
		if err := rows.Scan(&h.LectureID, &h.StudentID, tcol(&h.RaisedAt)); err != nil {
			return nil, fmt.Errorf("hands of lecture %d: %w", lectureID, err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}
