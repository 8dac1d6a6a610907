package payment

import (
	"errors"
	"net/http"

	"github.com/didacto/didacto/wire"
)

// Sentinel errors of the Service (possibly wrapped with detail).
var (
	ErrDisabled       = errors.New("payments are disabled: no PortOne keys configured")
	ErrUnknownPlan    = errors.New("unknown plan")
	ErrNotProfessor   = errors.New("only professors can buy Premium")
	ErrAlreadyPremium = errors.New("already premium")
	ErrNotFound       = errors.New("no such order")
	ErrBadRequest     = errors.New("invalid payment request")
	ErrNotPaid        = errors.New("payment is not paid")
	ErrTampered       = errors.New("paid amount differs from the order; the payment was cancelled")
	ErrGateway        = errors.New("PortOne is unavailable")
)

// Problem maps an error of this package to the HTTP status and problem code
// to answer with; ok is false for errors it does not know (answer 500).
func Problem(err error) (status int, code string, ok bool) {
	switch {
	case errors.Is(err, ErrDisabled):
		return http.StatusServiceUnavailable, wire.CodePaymentsDisabled, true
	case errors.Is(err, ErrUnknownPlan):
		return http.StatusUnprocessableEntity, wire.CodeUnknownPlan, true
	case errors.Is(err, ErrNotProfessor):
		return http.StatusForbidden, wire.CodeForbidden, true
	case errors.Is(err, ErrAlreadyPremium):
		return http.StatusConflict, wire.CodeAlreadyPremium, true
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, wire.CodeNotFound, true
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, wire.CodeBadRequest, true
	case errors.Is(err, ErrTampered):
		return http.StatusUnprocessableEntity, wire.CodePaymentTampered, true
	case errors.Is(err, ErrNotPaid):
		return http.StatusPaymentRequired, wire.CodePaymentNotPaid, true
	case errors.Is(err, ErrGateway):
		return http.StatusBadGateway, wire.CodePaymentGateway, true
	}
	return http.StatusInternalServerError, wire.CodeInternal, false
}
