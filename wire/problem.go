package wire

// Problem is an RFC 9457 problem document (application/problem+json). Code is
// a stable machine-readable identifier that clients switch on; Title and
// Detail are for people and may change.
type Problem struct {
	Type   string       `json:"type,omitempty"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
	// Rows lists the refused lines of a class-list import (code roster_invalid).
	Rows []RosterRowError `json:"rows,omitempty"`
}

// FieldError names one invalid input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error makes a Problem usable as an error on the client side.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Code + ": " + p.Detail
	}
	return p.Code + ": " + p.Title
}

// Stable problem codes.
const (
	CodeBadRequest       = "bad_request"
	CodeValidation       = "validation_failed"
	CodeUnauthorized     = "unauthorized"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeConflict         = "conflict"
	CodeEmailTaken       = "email_taken"
	CodeInvalidLogin     = "invalid_credentials"
	CodeTokenReused      = "refresh_token_reused"
	CodeAlreadyWaiting   = "enrollment_already_waiting"
	CodeAlreadyMember    = "already_member"
	CodeInvalidState     = "invalid_state"
	CodePlanLimit        = "plan_limit_reached"
	CodeLectureInactive  = "lecture_inactive"
	CodeNotMember        = "not_member"
	CodeTooLarge         = "payload_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeRateLimited      = "rate_limited"
	CodeCSRF             = "csrf_failed"
	CodeInternal         = "internal_error"
	CodeUnavailable      = "service_unavailable"
	CodePaymentsDisabled = "payments_disabled"
	CodeAlreadyPremium   = "already_premium"
	CodePaymentNotPaid   = "payment_not_paid"
	CodePaymentTampered  = "payment_amount_mismatch"
	CodePaymentGateway   = "payment_gateway_error"
	CodeStudentNotInRoom = "student_not_connected"
	CodeRoomTakenOver    = "taken_over"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeUnknownPlan      = "unknown_plan"
	CodeRosterInvalid    = "roster_invalid"
	CodeResetCodeInvalid = "reset_code_invalid"
)
