package payment

import (
	"context"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Gateways an order is paid through.
const (
	GatewayV1 = "v1"
	GatewayV2 = "v2"
)

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
	Gateway     string        // GatewayV1 or GatewayV2
	Status      wire.OrderStatus
	PortOneID   string // imp_uid (V1) or paymentId (V2) once known
	PaidAmount  int64  // what PortOne reported when it was not Amount
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PaidAt      time.Time
	CancelledAt time.Time
}

// Transition is the outcome of a Mark* call.
type Transition struct {
	Order        Order     // the order after the call
	PremiumUntil time.Time // the user's premium_until after the call
	Changed      bool      // false: the order was not in a state the call moves from; nothing written
}

// Store persists orders and webhook deliveries. Both store/sqlite and
// store/postgres implement it; paymenttest checks they agree.
type Store interface {
	UserByID(ctx context.Context, id int64) (store.User, error)

	// CreateOrder inserts a pending order (ID, CreatedAt, UpdatedAt are set).
	CreateOrder(ctx context.Context, o Order) (Order, error)
	// OrderByMerchantUID returns store.ErrNotFound when there is none.
	OrderByMerchantUID(ctx context.Context, merchantUID string) (Order, error)
	// OrdersByUser lists the user's orders, newest first.
	OrdersByUser(ctx context.Context, userID int64, p store.PageRequest) ([]Order, int, error)

	// MarkOrderPaid moves a pending or failed order to paid and, in the same
	// transaction, sets the owner's premium_until to
	// max(premium_until, at) + order.Period. Any other state: Changed false.
	MarkOrderPaid(ctx context.Context, merchantUID, portoneID string, at time.Time) (Transition, error)
	// MarkOrderFailed moves a pending order to failed.
	MarkOrderFailed(ctx context.Context, merchantUID, portoneID string, at time.Time) (Transition, error)
	// MarkOrderTampered moves a pending or failed order to tampered,
	// recording the amount PortOne reported.
	MarkOrderTampered(ctx context.Context, merchantUID, portoneID string, paidAmount int64, at time.Time) (Transition, error)
	// MarkOrderCancelled moves a pending, failed or paid order to cancelled.
	// From paid it takes back what the order bought in the same transaction:
	// premium_until -= order.Period, and if that is not after at, Premium
	// ends at at.
	MarkOrderCancelled(ctx context.Context, merchantUID string, at time.Time) (Transition, error)

	// WebhookSeen reports whether a webhook-id was processed at or after since.
	WebhookSeen(ctx context.Context, webhookID string, since time.Time) (bool, error)
	// RecordWebhook remembers a processed webhook-id and forgets those
	// received before forgetBefore.
	RecordWebhook(ctx context.Context, webhookID string, at, forgetBefore time.Time) error
}
