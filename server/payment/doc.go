// Package payment sells DIDACTO Premium through PortOne: plans from the
// server configuration, orders whose amount is fixed by the server and
// pre-registered at PortOne, verification that always re-fetches the payment
// from PortOne (never trusting the browser or a webhook body), refunds of
// tampered amounts, and idempotent completion shared by the browser call and
// the V1/V2 webhooks.
//
// Exactly-once Premium rests on Store.MarkOrderPaid: flipping an order to
// paid and extending the user's premium_until happen in one transaction that
// reports whether it changed anything. HTTP handlers for the authenticated
// endpoints live with the API; this package exposes plain methods for them
// and http.Handlers for the two unauthenticated webhook endpoints.
package payment
