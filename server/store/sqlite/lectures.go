package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/didacto/didacto/server/store"
)

const lectureCols = `l.id, l.owner_id, u.name, l.title, l.code, l.active, l.created_at, l.updated_at`
const lectureFrom = ` FROM lectures l JOIN users u ON u.id = l.owner_id`

func scanLecture(row interface{ Scan(...any) error }) (store.Lecture, error) {
	var (
		l                store.Lecture
		created, updated int64
	)
	if err := row.Scan(&l.ID, &l.OwnerID, &l.OwnerName, &l.Title, &l.Code, &l.Active, &created, &updated); err != nil {
		return store.Lecture{}, notFound(err)
	}
	l.CreatedAt, l.UpdatedAt = tm(created), tm(updated)
	return l, nil
}

func scanLectures(rows *sql.Rows, err error) ([]store.Lecture, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Lecture{}
	for rows.Next() {
		l, err := scanLecture(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func lectureByID(ctx context.Context, q querier, id int64) (store.Lecture, error) {
	return scanLecture(q.QueryRowContext(ctx, `SELECT `+lectureCols+lectureFrom+` WHERE l.id = ? AND l.deleted_at IS NULL`, id))
}

// CreateLecture inserts an inactive lecture; ErrCodeTaken on a live code.
func (s *Store) CreateLecture(ctx context.Context, l store.Lecture) (store.Lecture, error) {
	now := ts(s.now())
	var out store.Lecture
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx,
			`INSERT INTO lectures (owner_id, title, code, active, created_at, updated_at)
			 VALUES (?, ?, ?, 0, ?, ?) RETURNING id`, l.OwnerID, l.Title, l.Code, now, now).Scan(&id)
		switch {
		case isUnique(err):
			return store.ErrCodeTaken
		case isForeignKey(err):
			return store.ErrNotFound
		case err != nil:
			return err
		}
		out, err = lectureByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Lecture{}, fmt.Errorf("creating lecture: %w", err)
	}
	return out, nil
}

// LectureByID returns a live lecture.
func (s *Store) LectureByID(ctx context.Context, id int64) (store.Lecture, error) {
	l, err := lectureByID(ctx, s.r, id)
	if err != nil {
		return store.Lecture{}, fmt.Errorf("lecture %d: %w", id, err)
	}
	return l, nil
}

// LectureByCode returns the live lecture with that code.
func (s *Store) LectureByCode(ctx context.Context, code string) (store.Lecture, error) {
	l, err := scanLecture(s.r.QueryRowContext(ctx, `SELECT `+lectureCols+lectureFrom+` WHERE l.code = ? AND l.deleted_at IS NULL`, code))
	if err != nil {
		return store.Lecture{}, fmt.Errorf("lecture by code: %w", err)
	}
	return l, nil
}

// LecturesByOwner lists the owner's live lectures, newest first.
func (s *Store) LecturesByOwner(ctx context.Context, ownerID int64, p store.PageRequest) ([]store.Lecture, int, error) {
	limit, offset := page(p)
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM lectures WHERE owner_id = ? AND deleted_at IS NULL`, ownerID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting lectures of owner %d: %w", ownerID, err)
	}
	out, err := scanLectures(s.r.QueryContext(ctx, `SELECT `+lectureCols+lectureFrom+`
		WHERE l.owner_id = ? AND l.deleted_at IS NULL
		ORDER BY l.created_at DESC, l.id DESC LIMIT ? OFFSET ?`, ownerID, limit, offset))
	if err != nil {
		return nil, 0, fmt.Errorf("listing lectures of owner %d: %w", ownerID, err)
	}
	return out, total, nil
}

// LecturesByMember lists the live lectures the student belongs to, newest first.
func (s *Store) LecturesByMember(ctx context.Context, studentID int64, p store.PageRequest) ([]store.Lecture, int, error) {
	limit, offset := page(p)
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM memberships m JOIN lectures l ON l.id = m.lecture_id
		WHERE m.student_id = ? AND l.deleted_at IS NULL`, studentID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting lectures of member %d: %w", studentID, err)
	}
	out, err := scanLectures(s.r.QueryContext(ctx, `SELECT `+lectureCols+lectureFrom+`
		JOIN memberships m ON m.lecture_id = l.id
		WHERE m.student_id = ? AND l.deleted_at IS NULL
		ORDER BY l.created_at DESC, l.id DESC LIMIT ? OFFSET ?`, studentID, limit, offset))
	if err != nil {
		return nil, 0, fmt.Errorf("listing lectures of member %d: %w", studentID, err)
	}
	return out, total, nil
}

// UpdateLectureTitle renames a live lecture.
func (s *Store) UpdateLectureTitle(ctx context.Context, id int64, title string) (store.Lecture, error) {
	var out store.Lecture
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE lectures SET title = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL`,
			title, ts(s.now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		out, err = lectureByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Lecture{}, fmt.Errorf("renaming lecture %d: %w", id, err)
	}
	return out, nil
}

// DeleteLecture soft-deletes a live lecture and switches it off, so it no
// longer counts against the owner's active limit.
func (s *Store) DeleteLecture(ctx context.Context, id int64) error {
	now := ts(s.now())
	res, err := s.w.ExecContext(ctx, `UPDATE lectures SET deleted_at = ?, updated_at = ?, active = 0
		WHERE id = ? AND deleted_at IS NULL`, now, now, id)
	if err != nil {
		return fmt.Errorf("deleting lecture %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("deleting lecture %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// SetLectureActive switches monitoring; the limit check and the update run
// in one IMMEDIATE transaction on the single writer, so they are atomic.
func (s *Store) SetLectureActive(ctx context.Context, id int64, active bool, maxActive int) (store.Lecture, error) {
	var out store.Lecture
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		l, err := lectureByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if l.Active == active {
			out = l
			return nil
		}
		if active && maxActive > 0 {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM lectures
				WHERE owner_id = ? AND active = 1 AND deleted_at IS NULL`, l.OwnerID).Scan(&n); err != nil {
				return err
			}
			if n >= maxActive {
				return store.ErrLimitReached
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE lectures SET active = ?, updated_at = ? WHERE id = ?`,
			active, ts(s.now()), id); err != nil {
			return err
		}
		out, err = lectureByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Lecture{}, fmt.Errorf("setting lecture %d active=%t: %w", id, active, err)
	}
	return out, nil
}
