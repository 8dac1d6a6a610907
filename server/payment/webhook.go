package payment

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/didacto/didacto/server/payment/portone"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// maxWebhookBody bounds a webhook body; PortOne's are a few hundred bytes.
const maxWebhookBody = 16 << 10

// WebhookV1 handles PortOne V1 notifications ({imp_uid, merchant_uid,
// status}). They are unsigned: the body only says which payment to look at,
// and the payment is re-fetched from PortOne. Answers 200 when handled or
// deliberately ignored, 502 when PortOne could not be asked (so it retries).
func (s *Service) WebhookV1() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeProblem(w, http.StatusMethodNotAllowed, wire.CodeMethodNotAllowed, "use POST")
			return
		}
		if s.v1 == nil {
			writeProblem(w, http.StatusServiceUnavailable, wire.CodePaymentsDisabled, "PortOne V1 is not configured")
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		ev, err := portone.DecodeV1Webhook(r.Header.Get("Content-Type"), body)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, wire.CodeBadRequest, err.Error())
			return
		}
		log := s.log.With("webhook", "v1", "imp_uid", ev.ImpUID, "merchant_uid", ev.MerchantUID, "status", ev.Status)
		o, err := s.st.OrderByMerchantUID(r.Context(), ev.MerchantUID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && o.Gateway != GatewayV1) {
			log.Warn("webhook for an unknown order ignored")
			writeStatus(w, "ignored")
			return
		}
		if err != nil {
			log.Error("webhook: reading order", "err", err)
			writeProblem(w, http.StatusInternalServerError, wire.CodeInternal, "could not read the order")
			return
		}
		_, err = s.reconcile(r.Context(), o, ev.ImpUID)
		s.answer(w, log, err, nil)
	})
}

// WebhookV2 handles PortOne V2 webhooks (Standard Webhooks): the signature
// is checked against every configured secret, the timestamp must be within
// 5 minutes, a webhook-id already processed is acknowledged without work,
// unknown event types are acknowledged and ignored, and the payment is
// re-fetched from PortOne whatever the body says.
func (s *Service) WebhookV2() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeProblem(w, http.StatusMethodNotAllowed, wire.CodeMethodNotAllowed, "use POST")
			return
		}
		if s.v2 == nil || s.verifier == nil {
			writeProblem(w, http.StatusServiceUnavailable, wire.CodePaymentsDisabled, "PortOne V2 webhooks are not configured")
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		ctx := r.Context()
		id, err := s.verifier.Verify(r.Header, body)
		if err != nil {
			s.log.Warn("webhook v2 refused", "err", err, "remote", r.RemoteAddr)
			writeProblem(w, http.StatusUnauthorized, wire.CodeUnauthorized, "invalid webhook signature or timestamp")
			return
		}
		log := s.log.With("webhook", "v2", "webhook_id", id)
		now := s.now()
		seen, err := s.st.WebhookSeen(ctx, id, now.Add(-webhookRetention))
		if err != nil {
			log.Error("webhook: dedupe look-up", "err", err)
			writeProblem(w, http.StatusInternalServerError, wire.CodeInternal, "could not check the webhook id")
			return
		}
		if seen {
			writeStatus(w, "duplicate")
			return
		}
		ev, err := portone.DecodeV2Webhook(body)
		if err != nil {
			writeProblem(w, http.StatusBadRequest, wire.CodeBadRequest, err.Error())
			return
		}
		remember := func() error { return s.st.RecordWebhook(ctx, id, now, now.Add(-webhookRetention)) }
		log = log.With("type", ev.Type, "payment_id", ev.Data.PaymentID)
		if !ev.IsTransaction() {
			log.Info("webhook type ignored")
			s.answer(w, log, nil, remember)
			return
		}
		o, err := s.st.OrderByMerchantUID(ctx, ev.Data.PaymentID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && o.Gateway != GatewayV2) {
			log.Warn("webhook for an unknown order ignored")
			s.answer(w, log, nil, remember)
			return
		}
		if err != nil {
			log.Error("webhook: reading order", "err", err)
			writeProblem(w, http.StatusInternalServerError, wire.CodeInternal, "could not read the order")
			return
		}
		_, err = s.reconcile(ctx, o, "")
		s.answer(w, log, err, remember)
	})
}

// answer maps a reconcile outcome to the webhook response. Business outcomes
// (not paid, tampered) are final and acknowledged; failures are not, so
// PortOne delivers again. remember runs only for acknowledged deliveries.
func (s *Service) answer(w http.ResponseWriter, log *slog.Logger, err error, remember func() error) {
	switch {
	case errors.Is(err, ErrGateway):
		log.Error("webhook: PortOne unavailable; awaiting redelivery", "err", err)
		writeProblem(w, http.StatusBadGateway, wire.CodePaymentGateway, "PortOne could not be reached; retry later")
		return
	case errors.Is(err, ErrDisabled):
		writeProblem(w, http.StatusServiceUnavailable, wire.CodePaymentsDisabled, err.Error())
		return
	case err != nil && !errors.Is(err, ErrNotPaid) && !errors.Is(err, ErrTampered):
		log.Error("webhook: processing failed", "err", err)
		writeProblem(w, http.StatusInternalServerError, wire.CodeInternal, "processing failed; retry later")
		return
	}
	if remember != nil {
		if rerr := remember(); rerr != nil {
			// Processing is idempotent: a redelivery costs a look-up, no more.
			log.Error("webhook: recording id", "err", rerr)
		}
	}
	if err != nil {
		log.Info("webhook processed", "outcome", err.Error())
	}
	writeStatus(w, "ok")
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "webhook body too large")
		} else {
			writeProblem(w, http.StatusBadRequest, wire.CodeBadRequest, "reading body failed")
		}
		return nil, false
	}
	return body, true
}

func writeStatus(w http.ResponseWriter, status string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status})
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wire.Problem{
		Type: "https://didacto.dev/problems/" + code, Title: http.StatusText(status),
		Status: status, Code: code, Detail: detail,
	})
}
