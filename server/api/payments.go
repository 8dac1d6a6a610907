package api

import (
	"errors"
	"net/http"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/payment"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Payments serves the Premium purchase API around payment.Service.
type Payments struct {
	svc  *payment.Service
	auth *auth.Service
}

// NewPayments returns the payment routes.
func NewPayments(svc *payment.Service, a *auth.Service) *Payments {
	return &Payments{svc: svc, auth: a}
}

// Register mounts the routes. Webhooks are unauthenticated by design: V2 is
// verified by signature, and both re-fetch the payment from PortOne.
func (p *Payments) Register(mux httpx.Mux) {
	mux.Handle("GET /api/v1/plans", httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		httpx.WriteJSON(w, http.StatusOK, p.svc.Plans())
		return nil
	}))
	mux.Handle("POST /api/v1/orders", p.auth.Require(p.createOrder, wire.RoleProfessor))
	mux.Handle("POST /api/v1/payments/complete", p.auth.Require(p.complete, wire.RoleProfessor))
	mux.Handle("GET /api/v1/payments", p.auth.Require(p.list, wire.RoleProfessor))
	mux.Handle("POST /api/v1/payments/webhook/v1", p.svc.WebhookV1())
	mux.Handle("POST /api/v1/payments/webhook/v2", p.svc.WebhookV2())
}

// problem turns a payment error into the problem it maps to.
// problem answers a payment error. A gateway failure says only that PortOne
// is unavailable: its cause names internal hosts, ports and PortOne's own
// messages, so it goes to the log (the access log's error, with the request
// id) and never to the client.
func problem(err error) error {
	status, code, ok := payment.Problem(err)
	if !ok {
		return err
	}
	if errors.Is(err, payment.ErrGateway) {
		e := httpx.Errorf(status, code, "%s; try again later", payment.ErrGateway)
		e.Err = err
		return e
	}
	return httpx.Errorf(status, code, "%v", err)
}

func (p *Payments) createOrder(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	var body wire.CreateOrderRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	o, err := p.svc.CreateOrder(r.Context(), id.UserID, body.Plan)
	if err != nil {
		return problem(err)
	}
	httpx.WriteJSON(w, http.StatusCreated, o)
	return nil
}

func (p *Payments) complete(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	var body wire.CompletePaymentRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	res, err := p.svc.Complete(r.Context(), id.UserID, body)
	if err != nil {
		return problem(err)
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (p *Payments) list(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	page, size, err := httpx.Paging(r)
	if err != nil {
		return err
	}
	out, err := p.svc.Payments(r.Context(), id.UserID, store.PageRequest{Page: page, Size: size})
	if err != nil {
		return problem(err)
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
