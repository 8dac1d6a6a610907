package wire

import "time"

// EnrollmentEvent is one Server-Sent Event of
// GET /api/v1/lectures/{id}/enrollments/stream (event name "enrollment"):
// a join request of the lecture was filed, cancelled, accepted or rejected.
// The stream opens with an event "hello" ({"lecture_id", "server_now"}); a
// console that reconnects re-reads the list, since events are not replayed.
type EnrollmentEvent struct {
	Enrollment Enrollment `json:"enrollment"`
}

// MaxBulkIDs bounds the ids of one bulk decision.
const MaxBulkIDs = 1000

// BulkDecisionRequest is the body of POST /api/v1/lectures/{id}/enrollments/accept
// and …/reject: either ids, or all=true (every waiting request of the lecture;
// accept only).
type BulkDecisionRequest struct {
	IDs []int64 `json:"ids,omitempty"`
	All bool    `json:"all,omitempty"`
}

// BulkDecisionResult answers a bulk decision. Each request is decided on
// its own: one that fails (not found, no longer waiting) is reported in
// Results with its error and does not undo the others.
type BulkDecisionResult struct {
	Results   []BulkDecisionItem `json:"results"`
	Succeeded int                `json:"succeeded"`
	Failed    int                `json:"failed"`
}

// BulkDecisionItem is the outcome for one enrollment id.
type BulkDecisionItem struct {
	ID         int64       `json:"id"`
	OK         bool        `json:"ok"`
	Enrollment *Enrollment `json:"enrollment,omitempty"`
	Code       string      `json:"code,omitempty"`   // a problem code when !OK
	Detail     string      `json:"detail,omitempty"` // why, for people
}

// AddStudentRequest is the body of POST /api/v1/lectures/{id}/students: the
// professor adds a student account by e-mail (no join request needed).
type AddStudentRequest struct {
	Email         string `json:"email"`
	StudentNumber string `json:"student_number,omitempty"`
}

// RosterImportResult answers POST /api/v1/lectures/{id}/roster (a class
// list CSV) when every row was applied.
type RosterImportResult struct {
	Rows    int `json:"rows"`    // data rows read
	Added   int `json:"added"`   // new members
	Already int `json:"already"` // already members (student number updated)
}

// RosterRowError is one refused line of a class list. The import answers
// 422 with every refused line in Problem.Rows, and nothing is applied.
type RosterRowError struct {
	Line    int    `json:"line"` // 1-based line of the file
	Email   string `json:"email,omitempty"`
	Message string `json:"message"`
}

// ResetCode answers POST /api/v1/lectures/{id}/students/{studentId}/reset-code:
// a one-time code the professor reads out to the student, who sets a new
// password with it (POST /api/v1/auth/reset-password) before ExpiresAt.
type ResetCode struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ResetPasswordRequest is the body of POST /api/v1/auth/reset-password.
type ResetPasswordRequest struct {
	Email       string `json:"email"`
	Code        string `json:"code"`
	NewPassword string `json:"new_password"`
}
