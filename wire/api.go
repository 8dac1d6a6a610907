package wire

import "time"

// Role is what an account may do.
type Role string

const (
	RoleProfessor Role = "professor"
	RoleStudent   Role = "student"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleProfessor || r == RoleStudent }

// EnrollmentStatus is the state of a student's request to join a lecture.
type EnrollmentStatus string

const (
	EnrollmentWaiting   EnrollmentStatus = "waiting"
	EnrollmentAccepted  EnrollmentStatus = "accepted"
	EnrollmentRejected  EnrollmentStatus = "rejected"
	EnrollmentCancelled EnrollmentStatus = "cancelled"
)

// Valid reports whether s is a known status.
func (s EnrollmentStatus) Valid() bool {
	switch s {
	case EnrollmentWaiting, EnrollmentAccepted, EnrollmentRejected, EnrollmentCancelled:
		return true
	}
	return false
}

// RegisterRequest is the body of POST /api/v1/auth/register.
type RegisterRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Role     Role   `json:"role"`
}

// LoginRequest is the body of POST /api/v1/auth/login. Session "cookie" asks
// the server to answer with an HttpOnly cookie session (the console) instead
// of bearer tokens in the body (the agent).
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Session  string `json:"session,omitempty"`
}

// RefreshRequest is the body of POST /api/v1/auth/refresh and /auth/logout.
type RefreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

// ChangePasswordRequest is the body of POST /api/v1/me/password. The other
// sign-ins of the account end; the caller's stays.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

// TokenPair answers a bearer login or refresh.
type TokenPair struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	TokenType    string    `json:"token_type"`
	ExpiresIn    int       `json:"expires_in"`
	ExpiresAt    time.Time `json:"expires_at"`
	User         User      `json:"user"`
}

// User is an account as others may see it.
type User struct {
	ID           int64      `json:"id"`
	Email        string     `json:"email"`
	Name         string     `json:"name"`
	Role         Role       `json:"role"`
	Plan         string     `json:"plan"`
	PremiumUntil *time.Time `json:"premium_until,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// Plan names.
const (
	PlanFree    = "free"
	PlanPremium = "premium"
)

// Lecture is a class a professor owns and students join by code.
type Lecture struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Code      string    `json:"code"`
	OwnerID   int64     `json:"owner_id"`
	OwnerName string    `json:"owner_name"`
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CreateLectureRequest is the body of POST /api/v1/lectures.
type CreateLectureRequest struct {
	Title string `json:"title"`
}

// UpdateLectureRequest is the body of PATCH /api/v1/lectures/{id}.
type UpdateLectureRequest struct {
	Title *string `json:"title,omitempty"`
}

// JoinLectureRequest is the body of POST /api/v1/lectures/join.
type JoinLectureRequest struct {
	Code string `json:"code"`
}

// Enrollment is a student's request to join a lecture and its outcome.
type Enrollment struct {
	ID           int64            `json:"id"`
	LectureID    int64            `json:"lecture_id"`
	LectureTitle string           `json:"lecture_title"`
	StudentID    int64            `json:"student_id"`
	StudentName  string           `json:"student_name"`
	StudentEmail string           `json:"student_email"`
	Status       EnrollmentStatus `json:"status"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
}

// Member is an accepted student of a lecture.
type Member struct {
	StudentID int64     `json:"student_id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	JoinedAt  time.Time `json:"joined_at"`
	// StudentNumber is the school's number from the class list, if imported.
	StudentNumber string `json:"student_number,omitempty"`
}

// Page is one page of a list. Page numbers start at 1.
type Page[T any] struct {
	Items []T `json:"items"`
	Page  int `json:"page"`
	Size  int `json:"size"`
	Total int `json:"total"`
}

// Paging limits shared by every list endpoint.
const (
	DefaultPageSize = 20
	MaxPageSize     = 100
)
