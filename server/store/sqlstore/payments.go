package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

const orderCols = `id, user_id, merchant_uid, plan_id, plan_name, amount, currency, period_us, gateway, status,
	portone_id, paid_amount, created_at, updated_at, paid_at, cancelled_at`

func scanOrder(r row) (store.Order, error) {
	var (
		o      store.Order
		period int64
		status string
	)
	err := r.Scan(&o.ID, &o.UserID, &o.MerchantUID, &o.PlanID, &o.PlanName, &o.Amount, &o.Currency, &period,
		&o.Gateway, &status, &o.PortOneID, &o.PaidAmount, tcol(&o.CreatedAt), tcol(&o.UpdatedAt), tcol(&o.PaidAt), tcol(&o.CancelledAt))
	if err != nil {
		return store.Order{}, notFound(err)
	}
	o.Period = time.Duration(period) * time.Microsecond
	o.Status = wire.OrderStatus(status)
	return o, nil
}

// CreateOrder inserts a pending order.
func (s *Store) CreateOrder(ctx context.Context, o store.Order) (store.Order, error) {
	o.CreatedAt = ts(s.now())
	o.UpdatedAt = o.CreatedAt
	o.Status = wire.OrderPending
	err := s.w.QueryRowContext(ctx,
		`INSERT INTO payment_orders (user_id, merchant_uid, plan_id, plan_name, amount, currency, period_us, gateway,
		 status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		o.UserID, o.MerchantUID, o.PlanID, o.PlanName, o.Amount, o.Currency, o.Period.Microseconds(), o.Gateway,
		string(o.Status), o.CreatedAt, o.UpdatedAt).Scan(&o.ID)
	if s.d.isForeignKey(err) {
		return store.Order{}, fmt.Errorf("creating order for user %d: %w", o.UserID, store.ErrNotFound)
	}
	if err != nil {
		return store.Order{}, fmt.Errorf("creating order %s: %w", o.MerchantUID, err)
	}
	return o, nil
}

// OrderByMerchantUID returns the order with that merchant uid.
func (s *Store) OrderByMerchantUID(ctx context.Context, merchantUID string) (store.Order, error) {
	o, err := scanOrder(s.r.QueryRowContext(ctx, `SELECT `+orderCols+` FROM payment_orders WHERE merchant_uid = $1`, merchantUID))
	if err != nil {
		return store.Order{}, fmt.Errorf("order %q: %w", merchantUID, err)
	}
	return o, nil
}

// OrdersByUser lists the user's orders, newest first.
func (s *Store) OrdersByUser(ctx context.Context, userID int64, p store.PageRequest) ([]store.Order, int, error) {
	limit, offset := page(p)
	var total int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM payment_orders WHERE user_id = $1`, userID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("counting orders: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+orderCols+` FROM payment_orders WHERE user_id = $1
		ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3`, userID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("listing orders: %w", err)
	}
	defer rows.Close()
	var out []store.Order
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

// transition locks the order row (FOR UPDATE on PostgreSQL, the IMMEDIATE
// writer on SQLite), applies change when the
// order is in one of the from states, and reports the result; concurrent
// callers on the same order queue on the lock and see the first one's
// outcome.
func (s *Store) transition(ctx context.Context, merchantUID string, from []wire.OrderStatus,
	change func(tx *sql.Tx, o store.Order) error) (store.OrderTransition, error) {
	var tr store.OrderTransition
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		q := `SELECT ` + orderCols + ` FROM payment_orders WHERE merchant_uid = $1`
		o, err := scanOrder(tx.QueryRowContext(ctx, q+s.d.forUpdate, merchantUID))
		if err != nil {
			return err
		}
		if slices.Contains(from, o.Status) {
			if err := change(tx, o); err != nil {
				return err
			}
			if o, err = scanOrder(tx.QueryRowContext(ctx, q, merchantUID)); err != nil {
				return err
			}
			tr.Changed = true
		}
		tr.Order = o
		if err := tx.QueryRowContext(ctx, `SELECT premium_until FROM users WHERE id = $1`, o.UserID).Scan(tcol(&tr.PremiumUntil)); err != nil {
			return notFound(err)
		}
		return nil
	})
	if err != nil {
		return store.OrderTransition{}, fmt.Errorf("order %q: %w", merchantUID, err)
	}
	return tr, nil
}

// MarkOrderPaid flips pending/failed to paid and extends premium_until in
// the same transaction.
func (s *Store) MarkOrderPaid(ctx context.Context, merchantUID, portoneID string, at time.Time) (store.OrderTransition, error) {
	return s.transition(ctx, merchantUID, []wire.OrderStatus{wire.OrderPending, wire.OrderFailed}, func(tx *sql.Tx, o store.Order) error {
		if _, err := tx.ExecContext(ctx, `UPDATE payment_orders SET status = 'paid', portone_id = $1, paid_at = $2, updated_at = $2
			WHERE id = $3`, portoneID, ts(at), o.ID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE users
			SET premium_until = `+s.d.greatest+`(coalesce(premium_until, $1), $1) + `+s.d.micros("$2")+`
			WHERE id = $3`, ts(at), o.Period.Microseconds(), o.UserID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("extending premium of user %d: %w", o.UserID, store.ErrNotFound)
		}
		return nil
	})
}

// MarkOrderFailed flips pending to failed.
func (s *Store) MarkOrderFailed(ctx context.Context, merchantUID, portoneID string, at time.Time) (store.OrderTransition, error) {
	return s.transition(ctx, merchantUID, []wire.OrderStatus{wire.OrderPending}, func(tx *sql.Tx, o store.Order) error {
		_, err := tx.ExecContext(ctx, `UPDATE payment_orders SET status = 'failed', portone_id = $1, updated_at = $2 WHERE id = $3`,
			portoneID, ts(at), o.ID)
		return err
	})
}

// MarkOrderTampered flips pending/failed to tampered. It commits on its own:
// the caller's later failures do not undo it.
func (s *Store) MarkOrderTampered(ctx context.Context, merchantUID, portoneID string, paidAmount int64, at time.Time) (store.OrderTransition, error) {
	return s.transition(ctx, merchantUID, []wire.OrderStatus{wire.OrderPending, wire.OrderFailed}, func(tx *sql.Tx, o store.Order) error {
		_, err := tx.ExecContext(ctx, `UPDATE payment_orders SET status = 'tampered', portone_id = $1, paid_amount = $2, updated_at = $3
			WHERE id = $4`, portoneID, paidAmount, ts(at), o.ID)
		return err
	})
}

// MarkOrderCancelled flips pending/failed/paid to cancelled; from paid it
// takes the order's period back from premium_until, ending Premium at at
// when nothing remains.
func (s *Store) MarkOrderCancelled(ctx context.Context, merchantUID string, at time.Time) (store.OrderTransition, error) {
	from := []wire.OrderStatus{wire.OrderPending, wire.OrderFailed, wire.OrderPaid}
	return s.transition(ctx, merchantUID, from, func(tx *sql.Tx, o store.Order) error {
		if _, err := tx.ExecContext(ctx, `UPDATE payment_orders SET status = 'cancelled', cancelled_at = $1, updated_at = $1 WHERE id = $2`,
			ts(at), o.ID); err != nil {
			return err
		}
		if o.Status != wire.OrderPaid {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE users
			SET premium_until = `+s.d.greatest+`(premium_until - `+s.d.micros("$1")+`, $2)
			WHERE id = $3 AND premium_until IS NOT NULL`, o.Period.Microseconds(), ts(at), o.UserID)
		return err
	})
}

// WebhookSeen reports whether webhookID was recorded at or after since.
func (s *Store) WebhookSeen(ctx context.Context, webhookID string, since time.Time) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM payment_webhooks WHERE webhook_id = $1 AND received_at >= $2`,
		webhookID, ts(since)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("webhook %q: %w", webhookID, err)
	}
	return true, nil
}

// RecordWebhook remembers webhookID and forgets ids older than forgetBefore.
func (s *Store) RecordWebhook(ctx context.Context, webhookID string, at, forgetBefore time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO payment_webhooks (webhook_id, received_at) VALUES ($1, $2)
			ON CONFLICT (webhook_id) DO UPDATE SET received_at = excluded.received_at`, webhookID, ts(at)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM payment_webhooks WHERE received_at < $1`, ts(forgetBefore))
		return err
	})
	if err != nil {
		return fmt.Errorf("recording webhook %q: %w", webhookID, err)
	}
	return nil
}
