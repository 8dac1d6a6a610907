package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/didacto/didacto/server/store"
)

// AppendAudit adds an entry; a zero At is the store's now.
func (s *Store) AppendAudit(ctx context.Context, e store.AuditEntry) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO audit (lecture_id, actor_id, subject_id, action, detail, replica, at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.LectureID, e.ActorID, e.SubjectID, e.Action, e.Detail, e.Replica, ts(e.At))
	if err != nil {
		return fmt.Errorf("appending audit %q: %w", e.Action, err)
	}
	return nil
}

// AuditByLecture lists a lecture's entries newest first.
func (s *Store) AuditByLecture(ctx context.Context, lectureID int64, p store.PageRequest) ([]store.AuditEntry, int, error) {
	limit, offset := page(p)
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE lecture_id = ?`, lectureID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting audit of lecture %d: %w", lectureID, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, lecture_id, actor_id, subject_id, action, detail, replica, at
		FROM audit WHERE lecture_id = ? ORDER BY at DESC, id DESC LIMIT ? OFFSET ?`, lectureID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("listing audit of lecture %d: %w", lectureID, err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var (
			e  store.AuditEntry
			at int64
		)
		if err := rows.Scan(&e.ID, &e.LectureID, &e.ActorID, &e.SubjectID, &e.Action, &e.Detail, &e.Replica, &at); err != nil {
			return nil, 0, fmt.Errorf("listing audit of lecture %d: %w", lectureID, err)
		}
		e.At = tm(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing audit of lecture %d: %w", lectureID, err)
	}
	return out, total, nil
}

// DeleteAuditBefore implements store.Audit.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM audit WHERE at < ?`, ts(before))
	if err != nil {
		return 0, fmt.Errorf("pruning audit before %s: %w", before.Format(time.RFC3339), err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
