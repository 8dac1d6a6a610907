package sqlstore

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
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.LectureID, e.ActorID, e.SubjectID, e.Action, e.Detail, e.Replica, ts(e.At))
	if err != nil {
		return fmt.Errorf("appending audit %q: %w", e.Action, err)
	}
	return nil
}

// AuditByLecture lists a lecture's entries newest first.
func (s *Store) AuditByLecture(ctx context.Context, lectureID int64, p store.PageRequest) ([]store.AuditEntry, int, error) {
	limit, offset := page(p)
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE lecture_id = $1`, lectureID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting audit of lecture %d: %w", lectureID, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, lecture_id, actor_id, subject_id, action, detail, replica, at
		FROM audit WHERE lecture_id = $1 ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3`, lectureID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("listing audit of lecture %d: %w", lectureID, err)
	}
	defer rows.Close()
	out := []store.AuditEntry{}
	for rows.Next() {
		var e store.AuditEntry
		if err := rows.Scan(&e.ID, &e.LectureID, &e.ActorID, &e.SubjectID, &e.Action, &e.Detail, &e.Replica, tcol(&e.At)); err != nil {
			return nil, 0, fmt.Errorf("listing audit of lecture %d: %w", lectureID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing audit of lecture %d: %w", lectureID, err)
	}
	return out, total, nil
}

// auditBatch bounds one retention transaction, so a large backlog never
// holds SQLite's single writer (which heartbeats and logins wait for) for
// long.
const auditBatch = 1000

// DeleteAuditBefore deletes entries older than before, a batch per
// transaction, through the audit_at index.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 LIMIT $2)`,
			ts(before), auditBatch)
		if err != nil {
			return total, fmt.Errorf("deleting audit before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("deleting audit before %s: %w", before.UTC().Format(time.RFC3339), err)
		}
		total += n
		if n < auditBatch {
			return total, nil
		}
	}
}
