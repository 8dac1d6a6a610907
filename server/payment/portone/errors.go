package portone

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors an *APIError unwraps to, by HTTP status.
var (
	// ErrNotFound: the payment (or prepared amount) does not exist.
	ErrNotFound = errors.New("portone: not found")
	// ErrUnauthorized: the credentials or access token were refused.
	ErrUnauthorized = errors.New("portone: unauthorized")
	// ErrRefused: PortOne understood the request and refused it (V1 code != 0,
	// V2 4xx such as a cancellable-amount mismatch).
	ErrRefused = errors.New("portone: request refused")
	// ErrUnavailable: PortOne could not be reached or answered 5xx.
	ErrUnavailable = errors.New("portone: unavailable")
)

// APIError is an error answer from PortOne.
type APIError struct {
	Op     string // e.g. "GET /payments/imp_123"
	Status int    // HTTP status
	Code   int    // V1 envelope code (0 for V2)
	Type   string // V2 error type, e.g. PAYMENT_NOT_FOUND
	Msg    string
}

func (e *APIError) Error() string {
	kind := e.Type
	if kind == "" {
		kind = fmt.Sprintf("code %d", e.Code)
	}
	return fmt.Sprintf("portone %s: HTTP %d, %s: %s", e.Op, e.Status, kind, e.Msg)
}

// Unwrap classifies the error by its HTTP status.
func (e *APIError) Unwrap() error {
	switch {
	case e.Status == http.StatusNotFound:
		return ErrNotFound
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return ErrUnauthorized
	case e.Status >= 500:
		return ErrUnavailable
	}
	return ErrRefused
}
