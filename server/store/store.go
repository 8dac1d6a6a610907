// Package store defines the server's persistence contract: the domain records
// and the Store interface that both the SQLite (embedded default) and the
// PostgreSQL (scale-out) implementations satisfy, with the same behaviour,
// checked by one shared test suite (storetest).
//
// Rules that must hold under concurrency (plan limits, one waiting request,
// refresh-token rotation) are enforced inside the store's transactions, not by
// callers checking first.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/didacto/didacto/wire"
)

// Sentinel errors every implementation returns (possibly wrapped).
var (
	ErrNotFound       = errors.New("store: not found")
	ErrEmailTaken     = errors.New("store: email already registered")
	ErrCodeTaken      = errors.New("store: lecture code already in use")
	ErrAlreadyWaiting = errors.New("store: a waiting request already exists")
	ErrAlreadyMember  = errors.New("store: already a member")
	ErrInvalidState   = errors.New("store: invalid state for this operation")
	ErrLimitReached   = errors.New("store: plan limit reached")
	ErrTokenReused    = errors.New("store: refresh token reused; family revoked")
	ErrTokenExpired   = errors.New("store: refresh token expired or revoked")
)

// User is an account.
type User struct {
	ID           int64
	Email        string // stored lower-cased
	Name         string
	Role         wire.Role
	PasswordHash string
	PremiumUntil time.Time // zero: never premium
	CreatedAt    time.Time
}

// Lecture is a class owned by a professor.
type Lecture struct {
	ID        int64
	OwnerID   int64
	OwnerName string // filled on reads
	Title     string
	Code      string
	Active    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Enrollment is a join request and its outcome.
type Enrollment struct {
	ID           int64
	LectureID    int64
	LectureTitle string // filled on reads
	StudentID    int64
	StudentName  string // filled on reads
	StudentEmail string // filled on reads
	Status       wire.EnrollmentStatus
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Member is an accepted student of a lecture.
type Member struct {
	StudentID int64
	Name      string
	Email     string
	JoinedAt  time.Time
}

// RefreshToken is one link of a rotating refresh-token family. Only the hash
// of the secret is stored.
type RefreshToken struct {
	TokenHash []byte
	FamilyID  string
	UserID    int64
	Kind      string // "bearer" (agent) or "cookie" (console session)
	ExpiresAt time.Time
	CreatedAt time.Time
}

// PageRequest selects one page of a list; Page starts at 1.
type PageRequest struct {
	Page int
	Size int
}

// Offset is the number of rows before the page.
func (p PageRequest) Offset() int { return (p.Page - 1) * p.Size }

// Users persists accounts.
type Users interface {
	// CreateUser inserts u (ID and CreatedAt are set by the store) and returns
	// it; ErrEmailTaken when the e-mail is registered (case-insensitive).
	CreateUser(ctx context.Context, u User) (User, error)
	UserByID(ctx context.Context, id int64) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	// SetPremiumUntil sets the premium expiry (zero clears it).
	SetPremiumUntil(ctx context.Context, userID int64, until time.Time) error
	// SetPasswordHash replaces the password hash; ErrNotFound for no user.
	SetPasswordHash(ctx context.Context, userID int64, hash string) error
}

// Tokens persists refresh tokens and server secrets.
type Tokens interface {
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// RotateRefreshToken atomically retires oldHash and stores next in the same
	// family, returning the retired token. A token that was already rotated
	// revokes its whole family and returns ErrTokenReused; an unknown, revoked
	// or expired one returns ErrTokenExpired.
	RotateRefreshToken(ctx context.Context, oldHash []byte, next RefreshToken, now time.Time) (RefreshToken, error)
	// LookupRefreshToken returns a live (not rotated, not revoked, not
	// expired) token; ErrTokenExpired otherwise.
	LookupRefreshToken(ctx context.Context, hash []byte, now time.Time) (RefreshToken, error)
	// RevokeFamily revokes every token of the family (logout).
	RevokeFamily(ctx context.Context, familyID string) error
	// RevokeUserTokens revokes every family of the user but keepFamily
	// ("" keeps none) and returns the families it revoked: a password change
	// signs the other sessions out.
	RevokeUserTokens(ctx context.Context, userID int64, keepFamily string) ([]string, error)
	// Secret returns the named server secret, creating it with gen on first
	// use; all replicas sharing a database get the same value.
	Secret(ctx context.Context, name string, gen func() ([]byte, error)) ([]byte, error)
}

// Lectures persists lectures and their membership.
type Lectures interface {
	// CreateLecture inserts l (inactive); ErrCodeTaken when the code collides.
	CreateLecture(ctx context.Context, l Lecture) (Lecture, error)
	// LectureByID returns a lecture that is not deleted.
	LectureByID(ctx context.Context, id int64) (Lecture, error)
	LectureByCode(ctx context.Context, code string) (Lecture, error)
	LecturesByOwner(ctx context.Context, ownerID int64, p PageRequest) ([]Lecture, int, error)
	LecturesByMember(ctx context.Context, studentID int64, p PageRequest) ([]Lecture, int, error)
	UpdateLectureTitle(ctx context.Context, id int64, title string) (Lecture, error)
	// DeleteLecture soft-deletes; the lecture is then NotFound everywhere.
	DeleteLecture(ctx context.Context, id int64) error
	// SetLectureActive switches monitoring on or off. Activating fails with
	// ErrLimitReached when the owner already has maxActive active lectures
	// (maxActive <= 0: no limit); the check and the update are atomic.
	SetLectureActive(ctx context.Context, id int64, active bool, maxActive int) (Lecture, error)

	// RequestJoin creates a WAITING request. ErrAlreadyWaiting if one is
	// waiting, ErrAlreadyMember if the student is a member.
	RequestJoin(ctx context.Context, lectureID, studentID int64) (Enrollment, error)
	EnrollmentByID(ctx context.Context, id int64) (Enrollment, error)
	// EnrollmentsByLecture lists requests, all statuses when status is "".
	EnrollmentsByLecture(ctx context.Context, lectureID int64, status wire.EnrollmentStatus, p PageRequest) ([]Enrollment, int, error)
	EnrollmentsByStudent(ctx context.Context, studentID int64, status wire.EnrollmentStatus, p PageRequest) ([]Enrollment, int, error)
	// DecideEnrollment accepts or rejects a WAITING request (ErrInvalidState
	// otherwise); accepting creates the membership in the same transaction.
	DecideEnrollment(ctx context.Context, id int64, accept bool) (Enrollment, error)
	// CancelEnrollment cancels the student's own WAITING request.
	CancelEnrollment(ctx context.Context, id, studentID int64) (Enrollment, error)
	IsMember(ctx context.Context, lectureID, studentID int64) (bool, error)
	Members(ctx context.Context, lectureID int64, p PageRequest) ([]Member, int, error)
	// RemoveMember ends a membership (a professor removes, a student leaves);
	// ErrNotFound when there was none.
	RemoveMember(ctx context.Context, lectureID, studentID int64) error
}

// Presence is one sighting of a student's agent in a lecture.
type Presence struct {
	LectureID int64
	StudentID int64
	Day       string    // civil date "2006-01-02" in the school's time zone
	SeenAt    time.Time // when the server heard from the agent
	// MaxGap: a sighting within MaxGap of the previous one adds the time in
	// between to the connected total; a longer gap counts as offline.
	MaxGap time.Duration
}

// AttendanceRow is one student's presence in a lecture on one day.
type AttendanceRow struct {
	LectureID        int64
	StudentID        int64
	StudentName      string // filled on reads
	StudentEmail     string // filled on reads
	Day              string
	FirstSeen        time.Time
	LastSeen         time.Time
	ConnectedSeconds int64
}

// Attendance persists presence per student per day.
type Attendance interface {
	// RecordPresence upserts the (lecture, student, day) row atomically.
	RecordPresence(ctx context.Context, p Presence) error
	// AttendanceByLecture lists rows with fromDay <= day <= toDay (inclusive,
	// "" = unbounded), ordered by day then student name.
	AttendanceByLecture(ctx context.Context, lectureID int64, fromDay, toDay string) ([]AttendanceRow, error)
}

// AuditEntry records who did what to whom in a lecture's live sessions.
type AuditEntry struct {
	ID        int64
	LectureID int64
	ActorID   int64  // who acted (0: the system)
	SubjectID int64  // whom it concerned (0: nobody in particular)
	Action    string // join, takeover, kick, leave, control_start, control_end, ...
	Detail    string
	Replica   string
	At        time.Time
}

// Audit persists the audit log.
type Audit interface {
	AppendAudit(ctx context.Context, e AuditEntry) error
	// AuditByLecture lists newest first.
	AuditByLecture(ctx context.Context, lectureID int64, p PageRequest) ([]AuditEntry, int, error)
	// DeleteAuditBefore removes the entries older than before (retention)
	// and returns how many.
	DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error)
}

// Store is everything the server persists.
type Store interface {
	Users
	Tokens
	Lectures
	Attendance
	Audit
	// Ping checks the database is reachable (for /healthz).
	Ping(ctx context.Context) error
	Close() error
}
