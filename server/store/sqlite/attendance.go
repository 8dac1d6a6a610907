package sqlite

import (
	"context"
	"fmt"

	"github.com/didacto/didacto/server/store"
)

// RecordPresence upserts the day's row in one statement (atomic on the single
// writer). In ON CONFLICT DO UPDATE the bare column names are the old row, so
// the gap is measured from the previous last_seen: only a later sighting
// within MaxGap adds time, so out-of-order or repeated sightings never
// subtract or count twice.
func (s *Store) RecordPresence(ctx context.Context, p store.Presence) error {
	seen := ts(p.SeenAt)
	_, err := s.w.ExecContext(ctx, `INSERT INTO attendance (lecture_id, student_id, day, first_seen, last_seen, connected_us)
		VALUES (?, ?, ?, ?, ?, 0)
		ON CONFLICT (lecture_id, student_id, day) DO UPDATE SET
			connected_us = connected_us + CASE
				WHEN excluded.last_seen > last_seen AND excluded.last_seen - last_seen <= ?
				THEN excluded.last_seen - last_seen ELSE 0 END,
			first_seen = min(first_seen, excluded.first_seen),
			last_seen = max(last_seen, excluded.last_seen)`,
		p.LectureID, p.StudentID, p.Day, seen, seen, p.MaxGap.Microseconds())
	if err != nil {
		return fmt.Errorf("recording presence of student %d in lecture %d: %w", p.StudentID, p.LectureID, err)
	}
	return nil
}

// AttendanceByLecture lists rows with fromDay <= day <= toDay ("" = open).
func (s *Store) AttendanceByLecture(ctx context.Context, lectureID int64, fromDay, toDay string) ([]store.AttendanceRow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.lecture_id, a.student_id, u.name, u.email, a.day, a.first_seen, a.last_seen, a.connected_us
		FROM attendance a JOIN users u ON u.id = a.student_id
		WHERE a.lecture_id = ? AND (? = '' OR a.day >= ?) AND (? = '' OR a.day <= ?)
		ORDER BY a.day, u.name, a.student_id`, lectureID, fromDay, fromDay, toDay, toDay)
	if err != nil {
		return nil, fmt.Errorf("listing attendance of lecture %d: %w", lectureID, err)
	}
	defer rows.Close()
	out := []store.AttendanceRow{}
	for rows.Next() {
		var (
			r                 store.AttendanceRow
			first, last, conn int64
		)
		if err := rows.Scan(&r.LectureID, &r.StudentID, &r.StudentName, &r.StudentEmail, &r.Day, &first, &last, &conn); err != nil {
			return nil, fmt.Errorf("listing attendance of lecture %d: %w", lectureID, err)
		}
		r.FirstSeen, r.LastSeen, r.ConnectedSeconds = tm(first), tm(last), conn/1e6
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing attendance of lecture %d: %w", lectureID, err)
	}
	return out, nil
}
