// Package store defines the server's persistence contract: the domain records
// and the Store interface. sqlstore implements it on SQLite (embedded
// default) and PostgreSQL (scale-out) with the same behaviour, checked by one
// shared test suite (storetest) run against both. The store depends on no
// other server package: callers use its records.
//
// Rules that must hold under concurrency (plan limits, one waiting request,
// refresh-token rotation) are enforced inside the store's transactions, not by
// callers checking first.
package store

import (
	"context"
	"errors"
	"fmt"
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
	ErrNotStudent     = errors.New("store: the account is not a student")
	ErrResetInvalid   = errors.New("store: no such live reset code")
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
	StudentID     int64
	Name          string
	Email         string
	JoinedAt      time.Time
	StudentNumber string // from the class list; "" when none
}

// RosterEntry is one student a professor adds to a lecture by e-mail.
type RosterEntry struct {
	Email         string // compared lower-cased
	StudentNumber string // "" keeps a member's earlier number
}

// RosterProblem is why entry Index of an AddMembers call was refused:
// ErrNotFound (no account has the e-mail) or ErrNotStudent.
type RosterProblem struct {
	Index int
	Err   error
}

// RosterError is AddMembers refusing some entries; then nothing was applied.
type RosterError struct{ Problems []RosterProblem }

func (e *RosterError) Error() string {
	return fmt.Sprintf("store: %d roster entries refused", len(e.Problems))
}

// RosterOutcome is what AddMembers applied.
type RosterOutcome struct {
	Added   []int64 // student ids that became members, in entry order
	Already int     // entries that were members already
}

// PasswordReset is a one-time code (its hash) a professor issued so a
// member student can set a new password.
type PasswordReset struct {
	UserID    int64
	CreatedBy int64
	LectureID int64
	CodeHash  []byte
	ExpiresAt time.Time
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
	// AddMembers makes the student accounts with the entries' e-mails
	// members of the lecture, in one transaction: if any entry is refused it
	// returns a *RosterError naming every refused entry and applies nothing.
	// A waiting join request of an added student is accepted with it.
	AddMembers(ctx context.Context, lectureID int64, entries []RosterEntry) (RosterOutcome, error)
}

// Resets persists one-time password-reset codes.
type Resets interface {
	// PutPasswordReset stores r, replacing the user's earlier code.
	PutPasswordReset(ctx context.Context, r PasswordReset) error
	// RedeemPasswordReset checks codeHash against the user's live code. On a
	// match it sets the password hash and deletes the code in one
	// transaction. Otherwise it returns ErrResetInvalid (no code, expired,
	// or wrong) and counts the try: after maxAttempts wrong tries the code
	// is void.
	RedeemPasswordReset(ctx context.Context, userID int64, codeHash []byte, passwordHash string, now time.Time, maxAttempts int) error
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
	// DeleteAuditBefore deletes every lecture's entries with At before
	// before (retention) and returns how many it deleted.
	DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error)
}

// Order is a persisted Premium order.
type Order struct {
	ID          int64
	UserID      int64
	MerchantUID string // ours; V1 merchant_uid, V2 paymentId
	PlanID      string
	PlanName    string
	Amount      int64 // KRW, fixed when the order is created
	Currency    string
	Period      time.Duration // what the order buys, fixed when created
	Gateway     string        // "v1" or "v2" (payment.GatewayV1, GatewayV2)
	Status      wire.OrderStatus
	PortOneID   string // imp_uid (V1) or paymentId (V2) once known
	PaidAmount  int64  // what PortOne reported when it was not Amount
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PaidAt      time.Time
	CancelledAt time.Time
}

// OrderTransition is the outcome of a MarkOrder* call.
type OrderTransition struct {
	Order        Order     // the order after the call
	PremiumUntil time.Time // the user's premium_until after the call
	Changed      bool      // false: the order was not in a state the call moves from; nothing written
}

// Payments persists Premium orders and processed webhook deliveries.
// Exactly-once Premium rests on MarkOrderPaid: the order's flip and the
// user's extension happen in one transaction that reports whether it
// changed anything.
type Payments interface {
	// CreateOrder inserts a pending order (ID, CreatedAt, UpdatedAt are set);
	// ErrNotFound when the user does not exist.
	CreateOrder(ctx context.Context, o Order) (Order, error)
	// OrderByMerchantUID returns ErrNotFound when there is none.
	OrderByMerchantUID(ctx context.Context, merchantUID string) (Order, error)
	// OrdersByUser lists the user's orders, newest first.
	OrdersByUser(ctx context.Context, userID int64, p PageRequest) ([]Order, int, error)

	// MarkOrderPaid moves a pending or failed order to paid and, in the same
	// transaction, sets the owner's premium_until to
	// max(premium_until, at) + order.Period. Any other state: Changed false.
	MarkOrderPaid(ctx context.Context, merchantUID, portoneID string, at time.Time) (OrderTransition, error)
	// MarkOrderFailed moves a pending order to failed.
	MarkOrderFailed(ctx context.Context, merchantUID, portoneID string, at time.Time) (OrderTransition, error)
	// MarkOrderTampered moves a pending or failed order to tampered,
	// recording the amount PortOne reported.
	MarkOrderTampered(ctx context.Context, merchantUID, portoneID string, paidAmount int64, at time.Time) (OrderTransition, error)
	// MarkOrderCancelled moves a pending, failed or paid order to cancelled.
	// From paid it takes back what the order bought in the same transaction:
	// premium_until -= order.Period, and if that is not after at, Premium
	// ends at at.
	MarkOrderCancelled(ctx context.Context, merchantUID string, at time.Time) (OrderTransition, error)

	// WebhookSeen reports whether a webhook-id was processed at or after since.
	WebhookSeen(ctx context.Context, webhookID string, since time.Time) (bool, error)
	// RecordWebhook remembers a processed webhook-id and forgets those
	// received before forgetBefore.
	RecordWebhook(ctx context.Context, webhookID string, at, forgetBefore time.Time) error
}

// Command is a classroom command a professor sent to students of a lecture.
type Command struct {
	ID        int64
	LectureID int64
	Kind      string // wire.CommandLock, …
	Text      string
	URL       string
	ActorID   int64
	CreatedAt time.Time
}

// CommandResult is one student's outcome of a command.
type CommandResult struct {
	CommandID int64
	StudentID int64
	Kind      string // the command's, filled on reads
	State     string // wire.ResultPending, …
	Reason    string
	Reply     string
	At        time.Time
}

// ScreenLock is a student's screen held by a lecture.
type ScreenLock struct {
	LectureID    int64
	LectureTitle string // filled on reads
	StudentID    int64
	Mode         string // wire.CommandLock or wire.CommandBlank
	Message      string
	ActorID      int64
	ActorName    string // filled on reads
	// ActorFamily is the professor's sign-in: when it ends, the lock does.
	ActorFamily string
	CommandID   int64
	Since       time.Time
	Until       time.Time
}

// Hand is a student's raised hand in a lecture.
type Hand struct {
	LectureID int64
	StudentID int64
	RaisedAt  time.Time
}

// Classroom persists classroom commands, their results, screen locks and
// raised hands.
type Classroom interface {
	// CreateCommand stores c for the students (each result pending) and, in
	// the same transaction, applies it to the locks: lock and blank set
	// lock (Mode c.Kind, Message c.Text, Until lock.Until) for each student,
	// unlock removes theirs. lock carries the actor's family and Until.
	CreateCommand(ctx context.Context, c Command, students []int64, lock ScreenLock) (Command, error)
	CommandByID(ctx context.Context, id int64) (Command, []CommandResult, error)
	// SetCommandResult records a student's result; ErrNotFound when the
	// command was not sent to the student (or is of another lecture). A
	// state never goes back: delivered does not replace applied or failed.
	// reply "" keeps the earlier answer.
	SetCommandResult(ctx context.Context, r CommandResult, lectureID int64) (CommandResult, error)
	// LatestResults is each student's result of the newest command sent to
	// them in the lecture.
	LatestResults(ctx context.Context, lectureID int64) ([]CommandResult, error)
	// LocksByLecture and LocksByStudent list live locks (Until after now).
	LocksByLecture(ctx context.Context, lectureID int64, now time.Time) ([]ScreenLock, error)
	LocksByStudent(ctx context.Context, studentID int64, now time.Time) ([]ScreenLock, error)
	// AllLocks lists every lock, live or not, with whether its lecture is
	// still active and the student still a member (for the sweep).
	AllLocks(ctx context.Context) ([]LockStatus, error)
	// ReleaseLocks removes the given (lecture, student) locks if they still
	// belong to commandID (a newer lock stays) and returns those removed.
	ReleaseLocks(ctx context.Context, locks []ScreenLock) ([]ScreenLock, error)
	// RaiseHand and LowerHand report whether they changed anything.
	RaiseHand(ctx context.Context, lectureID, studentID int64, at time.Time) (bool, error)
	LowerHand(ctx context.Context, lectureID, studentID int64) (bool, error)
	HandsByLecture(ctx context.Context, lectureID int64) ([]Hand, error)
}

// LockStatus is a lock and what the sweep decides on.
type LockStatus struct {
	ScreenLock
	LectureActive bool
	Member        bool
}

// Store is everything the server persists.
type Store interface {
	Users
	Tokens
	Lectures
	Attendance
	Audit
	Payments
	Resets
	Classroom
	// Ping checks the database is reachable (for /healthz).
	Ping(ctx context.Context) error
	Close() error
}
