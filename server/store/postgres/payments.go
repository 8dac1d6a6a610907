package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/didacto/didacto/server/payment"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

var _ payment.Store = (*Store)(nil)

const orderCols = `id, user_id, merchant_uid, plan_id, plan_name, amount, currency, period_us, gateway, status,
	portone_id, paid_amount, created_at, updated_at, paid_at, cancelled_at`

func scanOrder(row interface{ Scan(...any) error }) (payment.Order, error) {
	var (
		o               payment.Order
		period          int64
		status          string
		paid, cancelled *time.Time
	)
	err := row.Scan(&o.ID, &o.UserID, &o.MerchantUID, &o.PlanID, &o.PlanName, &o.Amount, &o.Currency, &period,
		&o.Gateway, &status, &o.PortOneID, &o.PaidAmount, &o.CreatedAt, &o.UpdatedAt, &paid, &cancelled)
	if err != nil {
		return payment.Order{}, notFound(err)
	}
	o.Period = time.Duration(period) * time.Microsecond
	o.Status = wire.OrderStatus(status)
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	o.PaidAt, o.CancelledAt = nullTM(paid), nullTM(cancelled)
	return o, nil
}

// CreateOrder inserts a pending order.
func (s *Store) CreateOrder(ctx context.Context, o payment.Order) (payment.Order, error) {
	o.CreatedAt = ts(s.now())
	o.UpdatedAt = o.CreatedAt
	o.Status = wire.OrderPending
	err := s.pool.QueryRow(ctx,
		`INSERT INTO payment_orders (user_id, merchant_uid, plan_id, plan_name, amount, currency, period_us, gateway,
		 status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		o.UserID, o.MerchantUID, o.PlanID, o.PlanName, o.Amount, o.Currency, o.Period.Microseconds(), o.Gateway,
		string(o.Status), o.CreatedAt, o.UpdatedAt).Scan(&o.ID)
	if isForeignKey(err) {
		return payment.Order{}, fmt.Errorf("creating order for user %d: %w", o.UserID, store.ErrNotFound)
	}
	if err != nil {
		return payment.Order{}, fmt.Errorf("creating order %s: %w", o.MerchantUID, err)
	}
	return o, nil
}

// OrderByMerchantUID returns the order with that merchant uid.
func (s *Store) OrderByMerchantUID(ctx context.Context, merchantUID string) (payment.Order, error) {
	o, err := scanOrder(s.pool.QueryRow(ctx, `SELECT `+orderCols+` FROM payment_orders WHERE merchant_uid = $1`, merchantUID))
	if err != nil {
		return payment.Order{}, fmt.Errorf("order %q: %w", merchantUID, err)
	}
	return o, nil
}

// OrdersByUser lists the user's orders, newest first.
func (s *Store) OrdersByUser(ctx context.Context, userID int64, p store.PageRequest) ([]payment.Order, int, error) {
	limit, offset := page(p)
	var total int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM payment_orders WHERE user_id = $1`, userID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting orders: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+orderCols+` FROM payment_orders WHERE user_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, userID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("listing orders: %w", err)
	}
	defer rows.Close()
	var out []payment.Order
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("listing orders: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("listing orders: %w", err)
	}
	return out, total, nil
}

// transition locks the order row (FOR UPDATE), applies change when the
// order is in one of the from states, and reports the result; concurrent
// callers on the same order queue on the lock and see the first one's
// outcome.
func (s *Store) transition(ctx context.Context, merchantUID string, from []wire.OrderStatus,
	change func(tx pgx.Tx, o payment.Order) error) (payment.Transition, error) {
	var tr payment.Transition
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		q := `SELECT ` + orderCols + ` FROM payment_orders WHERE merchant_uid = $1`
		o, err := scanOrder(tx.QueryRow(ctx, q+` FOR UPDATE`, merchantUID))
		if err != nil {
			return err
		}
		if slices.Contains(from, o.Status) {
			if err := change(tx, o); err != nil {
				return err
			}
			if o, err = scanOrder(tx.QueryRow(ctx, q, merchantUID)); err != nil {
				return err
			}
			tr.Changed = true
		}
		tr.Order = o
		var premium *time.Time
		if err := tx.QueryRow(ctx, `SELECT premium_until FROM users WHERE id = $1`, o.UserID).Scan(&premium); err != nil {
			return notFound(err)
		}
		tr.PremiumUntil = nullTM(premium)
		return nil
	})
	if err != nil {
		return payment.Transition{}, fmt.Errorf("order %q: %w", merchantUID, err)
	}
	return tr, nil
}

// MarkOrderPaid flips pending/failed to paid and extends premium_until in
// the same transaction.
func (s *Store) MarkOrderPaid(ctx context.Context, merchantUID, portoneID string, at time.Time) (payment.Transition, error) {
	return s.transition(ctx, merchantUID, []wire.OrderStatus{wire.OrderPending, wire.OrderFailed}, func(tx pgx.Tx, o payment.Order) error {
		if _, err := tx.Exec(ctx, `UPDATE payment_orders SET status = 'paid', portone_id = $1, paid_at = $2, updated_at = $2
			WHERE id = $3`, portoneID, ts(at), o.ID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE users
			SET premium_until = GREATEST(COALESCE(premium_until, $1), $1) + $2::bigint * interval '1 microsecond'
			WHERE id = $3`, ts(at), o.Period.Microseconds(), o.UserID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("extending premium of user %d: %w", o.UserID, store.ErrNotFound)
		}
		return nil
	})
}

// MarkOrderFailed flips pending to failed.
func (s *Store) MarkOrderFailed(ctx context.Context, merchantUID, portoneID string, at time.Time) (payment.Transition, error) {
	return s.transition(ctx, merchantUID, []wire.OrderStatus{wire.OrderPending}, func(tx pgx.Tx, o payment.Order) error {
		_, err := tx.Exec(ctx, `UPDATE payment_orders SET status = 'failed', portone_id = $1, updated_at = $2 WHERE id = $3`,
			portoneID, ts(at), o.ID)
		return err
	})
}

// MarkOrderTampered flips pending/failed to tampered. It commits on its own:
// the caller's later failures do not undo it.
func (s *Store) MarkOrderTampered(ctx context.Context, merchantUID, portoneID string, paidAmount int64, at time.Time) (payment.Transition, error) {
	return s.transition(ctx, merchantUID, []wire.OrderStatus{wire.OrderPending, wire.OrderFailed}, func(tx pgx.Tx, o payment.Order) error {
		_, err := tx.Exec(ctx, `UPDATE payment_orders SET status = 'tampered', portone_id = $1, paid_amount = $2, updated_at = $3
			WHERE id = $4`, portoneID, paidAmount, ts(at), o.ID)
		return err
	})
}

// MarkOrderCancelled flips pending/failed/paid to cancelled; from paid it
// takes the order's period back from premium_until, ending Premium at at
// when nothing remains.
func (s *Store) MarkOrderCancelled(ctx context.Context, merchantUID string, at time.Time) (payment.Transition, error) {
	from := []wire.OrderStatus{wire.OrderPending, wire.OrderFailed, wire.OrderPaid}
	return s.transition(ctx, merchantUID, from, func(tx pgx.Tx, o payment.Order) error {
		if _, err := tx.Exec(ctx, `UPDATE payment_orders SET status = 'cancelled', cancelled_at = $1, updated_at = $1 WHERE id = $2`,
			ts(at), o.ID); err != nil {
			return err
		}
		if o.Status != wire.OrderPaid {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE users
			SET premium_until = GREATEST(premium_until - $1::bigint * interval '1 microsecond', $2)
			WHERE id = $3 AND premium_until IS NOT NULL`, o.Period.Microseconds(), ts(at), o.UserID)
		return err
	})
}

// WebhookSeen reports whether webhookID was recorded at or after since.
func (s *Store) WebhookSeen(ctx context.Context, webhookID string, since time.Time) (bool, error) {
	var one int
	err := s.pool.QueryRow(ctx, `SELECT 1 FROM payment_webhooks WHERE webhook_id = $1 AND received_at >= $2`,
		webhookID, ts(since)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("webhook %q: %w", webhookID, err)
	}
	return true, nil
}

// RecordWebhook remembers webhookID and forgets ids older than forgetBefore.
func (s *Store) RecordWebhook(ctx context.Context, webhookID string, at, forgetBefore time.Time) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO payment_webhooks (webhook_id, received_at) VALUES ($1, $2)
			ON CONFLICT (webhook_id) DO UPDATE SET received_at = excluded.received_at`, webhookID, ts(at)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM payment_webhooks WHERE received_at < $1`, ts(forgetBefore))
		return err
	})
	if err != nil {
		return fmt.Errorf("recording webhook %q: %w", webhookID, err)
	}
	return nil
}
