package payment

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/didacto/didacto/server/payment/portone"
	"github.com/didacto/didacto/server/plan"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Currency of every order: plans are priced in KRW.
const Currency = "KRW"

// webhookRetention is how long processed V2 webhook-ids are remembered.
// Replays older than the 5-minute tolerance are refused by timestamp; the
// longer memory also absorbs PortOne's re-signed retries of a delivery we
// already handled.
const webhookRetention = 24 * time.Hour

// Service sells Premium. Its methods are called by the API's handlers after
// they authenticated the user; the webhook handlers are its own.
type Service struct {
	st       Store
	log      *slog.Logger
	now      func() time.Time
	cfg      Config
	plans    []Plan
	v1       *portone.V1 // nil: V1 not configured
	v2       *portone.V2 // nil: V2 not configured
	verifier *portone.Verifier
}

// New builds the service. With no PortOne keys it is disabled (Enabled is
// false, every operation answers ErrDisabled) but still lists the plans.
func New(cfg Config, st Store, logger *slog.Logger, now func() time.Time) (*Service, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if now == nil {
		now = time.Now
	}
	if len(cfg.Plans) == 0 {
		cfg.Plans = DefaultPlans()
	}
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Service{st: st, log: logger, now: now, cfg: cfg, plans: cfg.Plans}
	if cfg.V1Enabled() {
		s.v1 = portone.NewV1(portone.V1Config{BaseURL: cfg.V1BaseURL, ImpKey: cfg.V1Key, ImpSecret: cfg.V1Secret, HTTP: cfg.HTTP, Now: now})
	}
	if cfg.V2Enabled() {
		s.v2 = portone.NewV2(portone.V2Config{BaseURL: cfg.V2BaseURL, APISecret: cfg.V2Secret, StoreID: cfg.V2StoreID, HTTP: cfg.HTTP})
	}
	if len(cfg.WebhookSecrets) > 0 {
		v, err := portone.NewVerifier(cfg.WebhookSecrets, now)
		if err != nil {
			return nil, fmt.Errorf("payment: %w", err)
		}
		s.verifier = v
	}
	if !s.Enabled() {
		logger.Info("payments disabled: no PortOne keys configured")
	} else if s.v2 != nil && s.verifier == nil {
		logger.Warn("PortOne V2 configured without webhook secrets: V2 webhooks will be refused")
	}
	return s, nil
}

// Enabled reports whether PortOne keys are configured.
func (s *Service) Enabled() bool { return s.v1 != nil || s.v2 != nil }

// Plans lists the plans and whether they can be bought.
func (s *Service) Plans() wire.PlanList {
	l := wire.PlanList{PaymentsEnabled: s.Enabled(), Plans: make([]wire.Plan, 0, len(s.plans)),
		FreeMaxActiveLectures: plan.For(time.Time{}, time.Time{}).MaxActiveLectures}
	for _, p := range s.plans {
		l.Plans = append(l.Plans, p.wire())
	}
	return l
}

func (s *Service) plan(id string) (Plan, bool) {
	for _, p := range s.plans {
		if p.ID == id {
			return p, true
		}
	}
	return Plan{}, false
}

// CreateOrder creates a pending order for a professor who is not Premium,
// with the amount taken from the plan, and pre-registers the amount at
// PortOne (V1) so the payment window refuses any other.
func (s *Service) CreateOrder(ctx context.Context, userID int64, planID string) (wire.Order, error) {
	if !s.Enabled() {
		return wire.Order{}, ErrDisabled
	}
	p, ok := s.plan(planID)
	if !ok {
		return wire.Order{}, fmt.Errorf("%w: %q", ErrUnknownPlan, planID)
	}
	u, err := s.st.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return wire.Order{}, fmt.Errorf("%w: user %d", ErrNotFound, userID)
	}
	if err != nil {
		return wire.Order{}, fmt.Errorf("creating order: %w", err)
	}
	if u.Role != wire.RoleProfessor {
		return wire.Order{}, ErrNotProfessor
	}
	if plan.Name(u.PremiumUntil, s.now()) == wire.PlanPremium {
		return wire.Order{}, fmt.Errorf("%w until %s", ErrAlreadyPremium, u.PremiumUntil.UTC().Format(time.RFC3339))
	}
	muid, err := newMerchantUID()
	if err != nil {
		return wire.Order{}, err
	}
	o := Order{
		UserID: userID, MerchantUID: muid, PlanID: p.ID, PlanName: p.Name, Amount: p.PriceKRW,
		Currency: Currency, Period: p.Period, Gateway: GatewayV1, Status: wire.OrderPending,
	}
	if s.v2 != nil {
		o.Gateway = GatewayV2
	} else if err := s.v1.Prepare(ctx, muid, p.PriceKRW); err != nil {
		// Prepared before the insert: an orphan prepared amount is harmless,
		// an order that cannot be paid safely is not.
		return wire.Order{}, fmt.Errorf("%w: pre-registering the amount: %w", ErrGateway, err)
	}
	o, err = s.st.CreateOrder(ctx, o)
	if err != nil {
		return wire.Order{}, fmt.Errorf("creating order: %w", err)
	}
	s.log.Info("payment order created", "user", userID, "merchant_uid", o.MerchantUID, "plan", p.ID, "amount", o.Amount, "gateway", o.Gateway)
	return s.wireOrder(o), nil
}

// newMerchantUID is 32 characters, within PortOne's 40.
func newMerchantUID() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("merchant uid: %w", err)
	}
	return "didacto_" + hex.EncodeToString(b), nil
}

func (s *Service) wireOrder(o Order) wire.Order {
	w := wire.Order{
		ID: o.ID, MerchantUID: o.MerchantUID, Plan: o.PlanID, Amount: o.Amount, Currency: o.Currency,
		Status: o.Status, CreatedAt: o.CreatedAt, PaidAt: timePtr(o.PaidAt),
		PortOne: wire.PortOneCheckout{Version: o.Gateway, OrderName: o.PlanName},
	}
	if o.Gateway == GatewayV2 {
		w.PortOne.StoreID, w.PortOne.ChannelKey, w.PortOne.PaymentID = s.cfg.V2StoreID, s.cfg.V2ChannelKey, o.MerchantUID
		w.PortOne.SDKURL = s.cfg.V2SDKURL
	} else {
		w.PortOne.StoreCode, w.PortOne.PG = s.cfg.V1StoreCode, s.cfg.V1PG
		w.PortOne.SDKURL = s.cfg.V1SDKURL
	}
	return w
}

// BrowserOrigins are the origins the console's payment page must allow
// for the gateway in use (nil when payments are off): the SDK's own, and
// PortOne's hosts its window talks to and frames.
func (s *Service) BrowserOrigins() []string {
	if !s.Enabled() {
		return nil
	}
	sdk, hosts := s.cfg.V1SDKURL, []string{"https://*.iamport.kr", "https://*.iamport.co"}
	if s.v2 != nil {
		sdk, hosts = s.cfg.V2SDKURL, []string{"https://*.portone.io"}
	}
	out := []string{}
	if u, err := url.Parse(sdk); err == nil && u.Host != "" {
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return append(out, hosts...)
}

// Complete verifies, after the browser's payment window closed, the payment
// at PortOne and grants Premium. Calling it again (or a webhook having done
// it first) answers the same result without extending Premium twice.
func (s *Service) Complete(ctx context.Context, userID int64, req wire.CompletePaymentRequest) (wire.PaymentResult, error) {
	if !s.Enabled() {
		return wire.PaymentResult{}, ErrDisabled
	}
	var muid, gw string
	switch {
	case req.PaymentID != "" && req.ImpUID == "" && req.MerchantUID == "":
		muid, gw = req.PaymentID, GatewayV2
	case req.PaymentID == "" && req.ImpUID != "" && req.MerchantUID != "":
		muid, gw = req.MerchantUID, GatewayV1
	default:
		return wire.PaymentResult{}, fmt.Errorf("%w: send imp_uid and merchant_uid (V1) or payment_id (V2)", ErrBadRequest)
	}
	if len(muid) > 64 || len(req.ImpUID) > 128 {
		return wire.PaymentResult{}, fmt.Errorf("%w: identifier too long", ErrBadRequest)
	}
	o, err := s.st.OrderByMerchantUID(ctx, muid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && o.UserID != userID) {
		return wire.PaymentResult{}, fmt.Errorf("%w: %q", ErrNotFound, muid)
	}
	if err != nil {
		return wire.PaymentResult{}, fmt.Errorf("completing payment: %w", err)
	}
	if o.Gateway != gw {
		return wire.PaymentResult{}, fmt.Errorf("%w: order %s is paid through PortOne %s", ErrBadRequest, muid, o.Gateway)
	}
	tr, err := s.reconcile(ctx, o, req.ImpUID)
	if err != nil {
		return wire.PaymentResult{}, err
	}
	return wire.PaymentResult{
		Payment:      record(tr.Order),
		Plan:         plan.Name(tr.PremiumUntil, s.now()),
		PremiumUntil: timePtr(tr.PremiumUntil),
	}, nil
}

// Payments lists the user's orders, newest first.
func (s *Service) Payments(ctx context.Context, userID int64, p store.PageRequest) (wire.Page[wire.PaymentRecord], error) {
	if p.Page < 1 {
		p.Page = 1
	}
	if p.Size < 1 || p.Size > wire.MaxPageSize {
		p.Size = wire.DefaultPageSize
	}
	orders, total, err := s.st.OrdersByUser(ctx, userID, p)
	if err != nil {
		return wire.Page[wire.PaymentRecord]{}, fmt.Errorf("listing payments: %w", err)
	}
	out := wire.Page[wire.PaymentRecord]{Items: make([]wire.PaymentRecord, 0, len(orders)), Page: p.Page, Size: p.Size, Total: total}
	for _, o := range orders {
		out.Items = append(out.Items, record(o))
	}
	return out, nil
}

func record(o Order) wire.PaymentRecord {
	return wire.PaymentRecord{
		ID: o.ID, MerchantUID: o.MerchantUID, Plan: o.PlanID, PlanName: o.PlanName, Amount: o.Amount,
		Currency: o.Currency, Status: o.Status, Gateway: o.Gateway, PortOneID: o.PortOneID,
		CreatedAt: o.CreatedAt, PaidAt: timePtr(o.PaidAt), CancelledAt: timePtr(o.CancelledAt),
	}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// remote is a payment as PortOne reports it, the same for V1 and V2.
type remote struct {
	id          string // imp_uid or paymentId
	merchantUID string
	status      string // paid | failed | cancelled | pending
	amount      int64
	cancelled   int64
	currency    string
}

// fetch re-reads the payment from PortOne: the only source we believe.
func (s *Service) fetch(ctx context.Context, o Order, impUID string) (remote, error) {
	if o.Gateway == GatewayV2 {
		if s.v2 == nil {
			return remote{}, fmt.Errorf("%w: PortOne V2 is not configured", ErrDisabled)
		}
		p, err := s.v2.Payment(ctx, o.MerchantUID)
		if err != nil {
			return remote{}, err
		}
		r := remote{id: p.ID, merchantUID: p.ID, amount: p.Amount.Total, cancelled: p.Amount.Cancelled, currency: p.Currency, status: "pending"}
		switch p.Status {
		case portone.V2StatusPaid:
			r.status = "paid"
		case portone.V2StatusCancelled, portone.V2StatusPartialCancelled:
			r.status = "cancelled"
		case portone.V2StatusFailed:
			r.status = "failed"
		}
		return r.normal(), nil
	}
	if s.v1 == nil {
		return remote{}, fmt.Errorf("%w: PortOne V1 is not configured", ErrDisabled)
	}
	p, err := s.v1.Payment(ctx, impUID)
	if err != nil {
		return remote{}, err
	}
	r := remote{id: p.ImpUID, merchantUID: p.MerchantUID, amount: p.Amount, cancelled: p.CancelAmount, currency: p.Currency, status: "pending"}
	switch p.Status {
	case portone.V1StatusPaid, portone.V1StatusCancelled, portone.V1StatusFailed:
		r.status = p.Status
	}
	return r.normal(), nil
}

// normal treats any refund, even partial, as a cancellation: Premium is
// not sold in parts.
func (r remote) normal() remote {
	if r.status == "paid" && r.cancelled > 0 {
		r.status = "cancelled"
	}
	return r
}

// reconcile brings the order in line with the payment at PortOne. The
// returned error, if any, describes the order's resulting state
// (ErrNotPaid, ErrTampered) or a failure (ErrGateway, store errors).
func (s *Service) reconcile(ctx context.Context, o Order, impUID string) (Transition, error) {
	r, err := s.fetch(ctx, o, impUID)
	switch {
	case errors.Is(err, ErrDisabled):
		return Transition{}, err
	case errors.Is(err, portone.ErrNotFound):
		return Transition{}, fmt.Errorf("%w: PortOne knows no such payment", ErrNotPaid)
	case err != nil:
		s.log.Warn("PortOne payment look-up failed", "merchant_uid", o.MerchantUID, "err", err)
		return Transition{}, fmt.Errorf("%w: %w", ErrGateway, err)
	}
	if r.merchantUID != o.MerchantUID {
		return Transition{}, fmt.Errorf("%w: payment %s belongs to another order", ErrNotPaid, r.id)
	}
	now := s.now()
	var tr Transition
	switch {
	case r.status == "paid" && (r.amount != o.Amount || r.currency != o.Currency):
		return s.tampered(ctx, o, r, now)
	case r.status == "paid":
		tr, err = s.st.MarkOrderPaid(ctx, o.MerchantUID, r.id, now)
		if err == nil && tr.Changed {
			s.log.Info("premium granted", "user", o.UserID, "merchant_uid", o.MerchantUID, "portone_id", r.id, "premium_until", tr.PremiumUntil)
		}
	case r.status == "cancelled":
		tr, err = s.st.MarkOrderCancelled(ctx, o.MerchantUID, now)
		if err == nil && tr.Changed {
			s.log.Info("payment cancelled", "user", o.UserID, "merchant_uid", o.MerchantUID, "premium_until", tr.PremiumUntil)
		}
	case r.status == "failed":
		tr, err = s.st.MarkOrderFailed(ctx, o.MerchantUID, r.id, now)
	default:
		tr, err = s.current(ctx, o)
	}
	if err != nil {
		return Transition{}, fmt.Errorf("recording payment %s: %w", o.MerchantUID, err)
	}
	return tr, outcome(tr.Order)
}

// current is the order and its owner's premium as they are.
func (s *Service) current(ctx context.Context, o Order) (Transition, error) {
	u, err := s.st.UserByID(ctx, o.UserID)
	if err != nil {
		return Transition{}, err
	}
	return Transition{Order: o, PremiumUntil: u.PremiumUntil}, nil
}

// outcome is the error that describes an order's state (nil: paid).
func outcome(o Order) error {
	switch o.Status {
	case wire.OrderPaid:
		return nil
	case wire.OrderTampered:
		return ErrTampered
	case wire.OrderCancelled:
		return fmt.Errorf("%w: the payment was cancelled", ErrNotPaid)
	case wire.OrderFailed:
		return fmt.Errorf("%w: the payment failed", ErrNotPaid)
	}
	return fmt.Errorf("%w: not paid yet", ErrNotPaid)
}

// tampered records the mismatch (committed before anything else can fail)
// and cancels the payment at PortOne with the balance as checksum, so two
// racing verifications cannot refund twice.
func (s *Service) tampered(ctx context.Context, o Order, r remote, now time.Time) (Transition, error) {
	tr, err := s.st.MarkOrderTampered(ctx, o.MerchantUID, r.id, r.amount, now)
	if err != nil {
		return Transition{}, fmt.Errorf("recording tampered payment %s: %w", o.MerchantUID, err)
	}
	if tr.Order.Status != wire.OrderTampered {
		return tr, outcome(tr.Order)
	}
	s.log.Warn("payment amount mismatch; cancelling at PortOne", "user", o.UserID, "merchant_uid", o.MerchantUID,
		"portone_id", r.id, "paid", r.amount, "currency", r.currency, "order_amount", o.Amount)
	balance := r.amount - r.cancelled
	reason := fmt.Sprintf("amount mismatch: paid %d %s, order %d %s", r.amount, r.currency, o.Amount, o.Currency)
	if o.Gateway == GatewayV2 {
		_, err = s.v2.Cancel(ctx, r.id, portone.V2Cancel{Reason: reason, CurrentCancellableAmount: &balance})
	} else {
		_, err = s.v1.Cancel(ctx, portone.V1Cancel{ImpUID: r.id, Checksum: balance, Reason: reason})
	}
	if err != nil && !errors.Is(err, portone.ErrUnavailable) && !errors.Is(err, portone.ErrUnauthorized) {
		// Refused: most likely a concurrent verification cancelled first
		// and the checksum no longer matched. Nothing to retry.
		s.log.Info("PortOne refused the tamper cancel", "merchant_uid", o.MerchantUID, "err", err)
		return tr, ErrTampered
	}
	if err != nil {
		// The order stays tampered; the next webhook retries the cancel.
		s.log.Error("cancelling tampered payment failed", "merchant_uid", o.MerchantUID, "err", err)
		return tr, errors.Join(ErrTampered, fmt.Errorf("%w: cancelling: %w", ErrGateway, err))
	}
	return tr, ErrTampered
}
