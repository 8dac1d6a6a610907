package wire

import "time"

// Plan is a paid subscription plan (server configuration). Answers
// GET /api/v1/plans inside PlanList.
type Plan struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	PriceKRW   int64  `json:"price_krw"`
	PeriodDays int    `json:"period_days"`
}

// PlanList answers GET /api/v1/plans. PaymentsEnabled is false when the
// server has no PortOne keys: plans are shown but cannot be bought.
type PlanList struct {
	PaymentsEnabled bool   `json:"payments_enabled"`
	Plans           []Plan `json:"plans"`
	// FreeMaxActiveLectures is how many lectures the free plan monitors at
	// once; Premium has no such limit while it lasts.
	FreeMaxActiveLectures int `json:"free_max_active_lectures"`
}

// CreateOrderRequest is the body of POST /api/v1/orders.
type CreateOrderRequest struct {
	Plan string `json:"plan"`
}

// OrderStatus is the state of a Premium order.
type OrderStatus string

const (
	OrderPending   OrderStatus = "pending"   // created, not (yet) paid
	OrderPaid      OrderStatus = "paid"      // verified at PortOne; Premium granted
	OrderFailed    OrderStatus = "failed"    // the payment attempt failed
	OrderTampered  OrderStatus = "tampered"  // paid with another amount; refunded at once
	OrderCancelled OrderStatus = "cancelled" // refunded; Premium ended
)

// PortOneCheckout is what the console's PortOne browser SDK needs to open
// the payment window for an order.
type PortOneCheckout struct {
	Version string `json:"version"` // "v1" (IAMPORT.request_pay) or "v2" (PortOne.requestPayment)
	SDKURL  string `json:"sdk_url"` // the browser SDK to load for it
	// V1: IMP.init(store_code); request_pay({pg, merchant_uid, amount, name}).
	StoreCode string `json:"store_code,omitempty"`
	PG        string `json:"pg,omitempty"`
	// V2: requestPayment({storeId, channelKey, paymentId, orderName, totalAmount, currency}).
	StoreID    string `json:"store_id,omitempty"`
	ChannelKey string `json:"channel_key,omitempty"`
	PaymentID  string `json:"payment_id,omitempty"`
	OrderName  string `json:"order_name"`
}

// Order answers POST /api/v1/orders.
type Order struct {
	ID          int64           `json:"id"`
	MerchantUID string          `json:"merchant_uid"`
	Plan        string          `json:"plan"`
	Amount      int64           `json:"amount"`
	Currency    string          `json:"currency"`
	Status      OrderStatus     `json:"status"`
	CreatedAt   time.Time       `json:"created_at"`
	PaidAt      *time.Time      `json:"paid_at,omitempty"`
	PortOne     PortOneCheckout `json:"portone"`
}

// CompletePaymentRequest is the body of POST /api/v1/payments/complete:
// imp_uid and merchant_uid after a V1 payment, payment_id after a V2 one.
type CompletePaymentRequest struct {
	ImpUID      string `json:"imp_uid,omitempty"`
	MerchantUID string `json:"merchant_uid,omitempty"`
	PaymentID   string `json:"payment_id,omitempty"`
}

// PaymentRecord is one order in GET /api/v1/payments (the caller's history).
type PaymentRecord struct {
	ID          int64       `json:"id"`
	MerchantUID string      `json:"merchant_uid"`
	Plan        string      `json:"plan"`
	PlanName    string      `json:"plan_name"`
	Amount      int64       `json:"amount"`
	Currency    string      `json:"currency"`
	Status      OrderStatus `json:"status"`
	Gateway     string      `json:"gateway"`              // "v1" or "v2"
	PortOneID   string      `json:"portone_id,omitempty"` // imp_uid (V1) or paymentId (V2)
	CreatedAt   time.Time   `json:"created_at"`
	PaidAt      *time.Time  `json:"paid_at,omitempty"`
	CancelledAt *time.Time  `json:"cancelled_at,omitempty"`
}

// PaymentResult answers POST /api/v1/payments/complete.
type PaymentResult struct {
	Payment      PaymentRecord `json:"payment"`
	Plan         string        `json:"plan"` // PlanFree or PlanPremium after the payment
	PremiumUntil *time.Time    `json:"premium_until,omitempty"`
}
