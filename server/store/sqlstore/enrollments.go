package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Enrollments of deleted lectures are invisible, like the lectures.
const enrollmentCols = `e.id, e.lecture_id, l.title, e.student_id, u.name, u.email, e.status, e.created_at, e.updated_at`
const enrollmentFrom = ` FROM enrollments e
	JOIN lectures l ON l.id = e.lecture_id AND l.deleted_at IS NULL
	JOIN users u ON u.id = e.student_id`

func scanEnrollment(r row) (store.Enrollment, error) {
	var (
		e      store.Enrollment
		status string
	)
	if err := r.Scan(&e.ID, &e.LectureID, &e.LectureTitle, &e.StudentID, &e.StudentName, &e.StudentEmail,
		&status, tcol(&e.CreatedAt), tcol(&e.UpdatedAt)); err != nil {
		return store.Enrollment{}, notFound(err)
	}
	e.Status = wire.EnrollmentStatus(status)
	return e, nil
}

func enrollmentByID(ctx context.Context, q querier, id int64, lock string) (store.Enrollment, error) {
	return scanEnrollment(q.QueryRowContext(ctx, `SELECT `+enrollmentCols+enrollmentFrom+` WHERE e.id = $1`+lock, id))
}

// RequestJoin creates a WAITING request for a live lecture. Two concurrent
// requests collide on the partial unique index: one gets ErrAlreadyWaiting.
func (s *Store) RequestJoin(ctx context.Context, lectureID, studentID int64) (store.Enrollment, error) {
	var out store.Enrollment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := lectureByID(ctx, tx, lectureID); err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM memberships WHERE lecture_id = $1 AND student_id = $2`,
			lectureID, studentID).Scan(&one)
		if err == nil {
			return store.ErrAlreadyMember
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		now := ts(s.now())
		var id int64
		err = tx.QueryRowContext(ctx, `INSERT INTO enrollments (lecture_id, student_id, status, created_at, updated_at)
			VALUES ($1, $2, 'waiting', $3, $3) RETURNING id`, lectureID, studentID, now).Scan(&id)
		switch {
		case s.d.isUnique(err):
			return store.ErrAlreadyWaiting
		case s.d.isForeignKey(err):
			return store.ErrNotFound
		case err != nil:
			return err
		}
		out, err = enrollmentByID(ctx, tx, id, "")
		return err
	})
	if err != nil {
		return store.Enrollment{}, fmt.Errorf("requesting to join lecture %d: %w", lectureID, err)
	}
	return out, nil
}

// EnrollmentByID returns a request of a live lecture.
func (s *Store) EnrollmentByID(ctx context.Context, id int64) (store.Enrollment, error) {
	e, err := enrollmentByID(ctx, s.r, id, "")
	if err != nil {
		return store.Enrollment{}, fmt.Errorf("enrollment %d: %w", id, err)
	}
	return e, nil
}

func (s *Store) listEnrollments(ctx context.Context, col string, id int64, status wire.EnrollmentStatus, p store.PageRequest) ([]store.Enrollment, int, error) {
	limit, offset := page(p)
	where := ` WHERE e.` + col + ` = $1 AND ($2 = '' OR e.status = $2)`
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*)`+enrollmentFrom+where, id, string(status)).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+enrollmentCols+enrollmentFrom+where+`
		ORDER BY e.created_at DESC, e.id DESC LIMIT $3 OFFSET $4`, id, string(status), limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []store.Enrollment{}
	for rows.Next() {
		e, err := scanEnrollment(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, e)
	}
	return out, total, rows.Err()
}

// EnrollmentsByLecture lists a lecture's requests, newest first.
func (s *Store) EnrollmentsByLecture(ctx context.Context, lectureID int64, status wire.EnrollmentStatus, p store.PageRequest) ([]store.Enrollment, int, error) {
	out, total, err := s.listEnrollments(ctx, "lecture_id", lectureID, status, p)
	if err != nil {
		return nil, 0, fmt.Errorf("listing enrollments of lecture %d: %w", lectureID, err)
	}
	return out, total, nil
}

// EnrollmentsByStudent lists a student's requests, newest first.
func (s *Store) EnrollmentsByStudent(ctx context.Context, studentID int64, status wire.EnrollmentStatus, p store.PageRequest) ([]store.Enrollment, int, error) {
	out, total, err := s.listEnrollments(ctx, "student_id", studentID, status, p)
	if err != nil {
		return nil, 0, fmt.Errorf("listing enrollments of student %d: %w", studentID, err)
	}
	return out, total, nil
}

// setStatus moves a WAITING request to status in tx, holding the request's
// row lock (PostgreSQL; SQLite's writer is single) so two decisions cannot
// both see it WAITING.
func (s *Store) setStatus(ctx context.Context, tx *sql.Tx, id, studentID int64, status wire.EnrollmentStatus) (store.Enrollment, error) {
	lock := ""
	if s.d.forNoKeyUpdate != "" {
		lock = s.d.forNoKeyUpdate + " OF e"
	}
	e, err := enrollmentByID(ctx, tx, id, lock)
	if err != nil {
		return store.Enrollment{}, err
	}
	if studentID != 0 && e.StudentID != studentID {
		return store.Enrollment{}, store.ErrNotFound
	}
	if e.Status != wire.EnrollmentWaiting {
		return store.Enrollment{}, store.ErrInvalidState
	}
	now := ts(s.now())
	if _, err := tx.ExecContext(ctx, `UPDATE enrollments SET status = $1, updated_at = $2 WHERE id = $3`, string(status), now, id); err != nil {
		return store.Enrollment{}, err
	}
	if status == wire.EnrollmentAccepted {
		if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (lecture_id, student_id, joined_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, e.LectureID, e.StudentID, now); err != nil {
			return store.Enrollment{}, err
		}
	}
	return enrollmentByID(ctx, tx, id, "")
}

// DecideEnrollment accepts (adding the membership) or rejects a WAITING request.
func (s *Store) DecideEnrollment(ctx context.Context, id int64, accept bool) (store.Enrollment, error) {
	status := wire.EnrollmentRejected
	if accept {
		status = wire.EnrollmentAccepted
	}
	var out store.Enrollment
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		out, err = s.setStatus(ctx, tx, id, 0, status)
		return err
	})
	if err != nil {
		return store.Enrollment{}, fmt.Errorf("deciding enrollment %d: %w", id, err)
	}
	return out, nil
}

// CancelEnrollment cancels the student's own WAITING request; another
// student's request is NotFound.
func (s *Store) CancelEnrollment(ctx context.Context, id, studentID int64) (store.Enrollment, error) {
	var out store.Enrollment
	err := s.inTx(ctx, func(tx *sql.Tx) (err error) {
		out, err = s.setStatus(ctx, tx, id, studentID, wire.EnrollmentCancelled)
		return err
	})
	if err != nil {
		return store.Enrollment{}, fmt.Errorf("cancelling enrollment %d: %w", id, err)
	}
	return out, nil
}

// IsMember reports whether the student belongs to the live lecture.
func (s *Store) IsMember(ctx context.Context, lectureID, studentID int64) (bool, error) {
	var ok bool
	err := s.r.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM memberships m JOIN lectures l ON l.id = m.lecture_id
		WHERE m.lecture_id = $1 AND m.student_id = $2 AND l.deleted_at IS NULL)`, lectureID, studentID).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("checking membership: %w", err)
	}
	return ok, nil
}

// Members lists a live lecture's members by name.
func (s *Store) Members(ctx context.Context, lectureID int64, p store.PageRequest) ([]store.Member, int, error) {
	limit, offset := page(p)
	const from = ` FROM memberships m JOIN users u ON u.id = m.student_id
		JOIN lectures l ON l.id = m.lecture_id AND l.deleted_at IS NULL WHERE m.lecture_id = $1`
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*)`+from, lectureID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting members of lecture %d: %w", lectureID, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT m.student_id, u.name, u.email, m.joined_at, m.student_number`+from+`
		ORDER BY u.name, m.student_id LIMIT $2 OFFSET $3`, lectureID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("listing members of lecture %d: %w", lectureID, err)
	}
	defer rows.Close()
	out := []store.Member{}
	for rows.Next() {
		var m store.Member
		if err := rows.Scan(&m.StudentID, &m.Name, &m.Email, tcol(&m.JoinedAt), &m.StudentNumber); err != nil {
			return nil, 0, fmt.Errorf("listing members of lecture %d: %w", lectureID, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing members of lecture %d: %w", lectureID, err)
	}
	return out, total, nil
}

// RemoveMember ends a membership; ErrNotFound when there was none.
func (s *Store) RemoveMember(ctx context.Context, lectureID, studentID int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM memberships WHERE lecture_id = $1 AND student_id = $2
		AND lecture_id IN (SELECT id FROM lectures WHERE deleted_at IS NULL)`, lectureID, studentID)
	if err != nil {
		return fmt.Errorf("removing member %d of lecture %d: %w", studentID, lectureID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("removing member %d of lecture %d: %w", studentID, lectureID, store.ErrNotFound)
	}
	return nil
}
