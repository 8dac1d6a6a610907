package sqlstore

import (
	"context"
	"fmt"

	"github.com/didacto/didacto/server/store"
)

// recordPresenceSQL upserts the day's row in one statement; PostgreSQL locks
// the conflicting row (SQLite has one writer), so concurrent sightings apply
// one after the other. The gap is measured from the existing last_seen: only
// a later sighting within MaxGap ($5, microseconds) adds time, so
// out-of-order or repeated sightings never subtract or count twice.
func recordPresenceSQL(d *dialect) string {
	gap := d.microsBetween("excluded.last_seen", "a.last_seen")
	return `INSERT INTO attendance AS a (lecture_id, student_id, day, first_seen, last_seen, connected_us)
		VALUES ($1, $2, $3, $4, $4, 0)
		ON CONFLICT (lecture_id, student_id, day) DO UPDATE SET
			connected_us = a.connected_us + CASE
				WHEN excluded.last_seen > a.last_seen AND ` + gap + ` <= $5
				THEN ` + gap + ` ELSE 0 END,
			first_seen = ` + d.least + `(a.first_seen, excluded.first_seen),
			last_seen = ` + d.greatest + `(a.last_seen, excluded.last_seen)`
}

// RecordPresence upserts the (lecture, student, day) row.
func (s *Store) RecordPresence(ctx context.Context, p store.Presence) error {
	_, err := s.w.ExecContext(ctx, s.sql.recordPresence, p.LectureID, p.StudentID, p.Day, ts(p.SeenAt), p.MaxGap.Microseconds())
	if err != nil {
		return fmt.Errorf("recording presence of student %d in lecture %d: %w", p.StudentID, p.LectureID, err)
	}
	return nil
}

// AttendanceByLecture lists rows with fromDay <= day <= toDay ("" = open).
func (s *Store) AttendanceByLecture(ctx context.Context, lectureID int64, fromDay, toDay string) ([]store.AttendanceRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.lecture_id, a.student_id, u.name, u.email, a.day, a.first_seen, a.last_seen, a.connected_us
		FROM attendance a JOIN users u ON u.id = a.student_id
		WHERE a.lecture_id = $1 AND ($2 = '' OR a.day >= $2) AND ($3 = '' OR a.day <= $3)
		ORDER BY a.day, u.name, a.student_id`, lectureID, fromDay, toDay)
	if err != nil {
		return nil, fmt.Errorf("listing attendance of lecture %d: %w", lectureID, err)
	}
	defer rows.Close()
	out := []store.AttendanceRow{}
	for rows.Next() {
		var (
			r    store.AttendanceRow
			conn int64
		)
		if err := rows.Scan(&r.LectureID, &r.StudentID, &r.StudentName, &r.StudentEmail, &r.Day, tcol(&r.FirstSeen), tcol(&r.LastSeen), &conn); err != nil {
			return nil, fmt.Errorf("listing attendance of lecture %d: %w", lectureID, err)
		}
		r.ConnectedSeconds = conn / 1e6
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing attendance of lecture %d: %w", lectureID, err)
	}
	return out, nil
}
