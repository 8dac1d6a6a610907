package payment

import (
	"context"

	"github.com/didacto/didacto/server/store"
)

// Gateways an order is paid through.
const (
	GatewayV1 = "v1"
	GatewayV2 = "v2"
)

// Order is a persisted Premium order; the store owns the record.
type Order = store.Order

// Transition is the outcome of a Mark* call.
type Transition = store.OrderTransition

// Store is what the service needs of the store: the orders and webhook
// deliveries (store.Payments) and the users they belong to. Every
// store.Store has it; paymenttest checks the implementations agree.
type Store interface {
	UserByID(ctx context.Context, id int64) (store.User, error)
	store.Payments
}
