package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/didacto/didacto/server/store"
)

const lectureCols = `l.id, l.owner_id, u.name, l.title, l.code, l.active, l.created_at, l.updated_at`
const lectureFrom = ` FROM lectures l JOIN users u ON u.id = l.owner_id`

func scanLecture(r row) (store.Lecture, error) {
	var l store.Lecture
	if err := r.Scan(&l.ID, &l.OwnerID, &l.OwnerName, &l.Title, &l.Code, &l.Active, tcol(&l.CreatedAt), tcol(&l.UpdatedAt)); err != nil {
		return store.Lecture{}, notFound(err)
	}
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

func lectureByID(ctx context.Context, q querier, id int64) (store.Lecture, error) {
	return scanLecture(q.QueryRowContext(ctx, `SELECT `+lectureCols+lectureFrom+` WHERE l.id = $1 AND l.deleted_at IS NULL`, id))
}

// CreateLecture inserts an inactive lecture; ErrCodeTaken on a live code.
func (s *Store) CreateLecture(ctx context.Context, l store.Lecture) (store.Lecture, error) {
	now := ts(s.now())
	var out store.Lecture
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx,
			`INSERT INTO lectures (owner_id, title, code, active, created_at, updated_at)
			 VALUES ($1, $2, $3, false, $4, $4) RETURNING id`, l.OwnerID, l.Title, l.Code, now).Scan(&id)
		switch {
		case s.d.isUnique(err):
			return store.ErrCodeTaken
		case s.d.isForeignKey(err):
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
	l, err := scanLecture(s.r.QueryRowContext(ctx, `SELECT `+lectureCols+lectureFrom+` WHERE l.code = $1 AND l.deleted_at IS NULL`, code))
	if err != nil {
		return store.Lecture{}, fmt.Errorf("lecture by code: %w", err)
	}
	return l, nil
}

// LecturesByOwner lists the owner's live lectures, newest first.
func (s *Store) LecturesByOwner(ctx context.Context, ownerID int64, p store.PageRequest) ([]store.Lecture, int, error) {
	limit, offset := page(p)
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM lectures WHERE owner_id = $1 AND deleted_at IS NULL`, ownerID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting lectures of owner %d: %w", ownerID, err)
	}
	out, err := scanLectures(s.r.QueryContext(ctx, `SELECT `+lectureCols+lectureFrom+`
		WHERE l.owner_id = $1 AND l.deleted_at IS NULL
		ORDER BY l.created_at DESC, l.id DESC LIMIT $2 OFFSET $3`, ownerID, limit, offset))
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
		WHERE m.student_id = $1 AND l.deleted_at IS NULL`, studentID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting lectures of member %d: %w", studentID, err)
	}
	out, err := scanLectures(s.r.QueryContext(ctx, `SELECT `+lectureCols+lectureFrom+`
		JOIN memberships m ON m.lecture_id = l.id
		WHERE m.student_id = $1 AND l.deleted_at IS NULL
		ORDER BY l.created_at DESC, l.id DESC LIMIT $2 OFFSET $3`, studentID, limit, offset))
	if err != nil {
		return nil, 0, fmt.Errorf("listing lectures of member %d: %w", studentID, err)
	}
	return out, total, nil
}

// UpdateLectureTitle renames a live lecture.
func (s *Store) UpdateLectureTitle(ctx context.Context, id int64, title string) (store.Lecture, error) {
	var out store.Lecture
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE lectures SET title = $1, updated_at = $2 WHERE id = $3 AND deleted_at IS NULL`,
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
	res, err := s.w.ExecContext(ctx, `UPDATE lectures SET deleted_at = $1, updated_at = $1, active = false
		WHERE id = $2 AND deleted_at IS NULL`, now, id)
	if err != nil {
		return fmt.Errorf("deleting lecture %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("deleting lecture %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// SetLectureActive switches monitoring. On PostgreSQL activations of one
// owner serialize on the owner's user row (FOR NO KEY UPDATE, which does not
// block foreign key checks), so the count and the update are atomic across
// connections and replicas; on SQLite the single IMMEDIATE writer does it.
func (s *Store) SetLectureActive(ctx context.Context, id int64, active bool, maxActive int) (store.Lecture, error) {
	var out store.Lecture
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var owner int64
		if err := tx.QueryRowContext(ctx, `SELECT owner_id FROM lectures WHERE id = $1 AND deleted_at IS NULL`, id).Scan(&owner); err != nil {
			return notFound(err)
		}
		if active && maxActive > 0 && s.d.forNoKeyUpdate != "" {
			if _, err := tx.ExecContext(ctx, `SELECT 1 FROM users WHERE id = $1`+s.d.forNoKeyUpdate, owner); err != nil {
				return err
			}
		}
		// Re-read under the lock (READ COMMITTED: a fresh snapshot per statement).
		var cur bool
		if err := tx.QueryRowContext(ctx, `SELECT active FROM lectures WHERE id = $1 AND deleted_at IS NULL`+s.d.forNoKeyUpdate, id).Scan(&cur); err != nil {
			return notFound(err)
		}
		if cur != active {
			if active && maxActive > 0 {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM lectures
					WHERE owner_id = $1 AND active AND deleted_at IS NULL`, owner).Scan(&n); err != nil {
					return err
				}
				if n >= maxActive {
					return store.ErrLimitReached
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE lectures SET active = $1, updated_at = $2 WHERE id = $3`,
				active, ts(s.now()), id); err != nil {
				return err
			}
		}
		var err error
		out, err = lectureByID(ctx, tx, id)
		return err
	})
	if err != nil {
		return store.Lecture{}, fmt.Errorf("setting lecture %d active=%t: %w", id, active, err)
	}
	return out, nil
}
