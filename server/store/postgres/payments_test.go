package postgres_test

import (
	"context"
	"testing"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/payment/paymenttest"
	"github.com/didacto/didacto/server/store/postgres"
)

func TestPaymentStore(t *testing.T) {
	paymenttest.Run(t, func(t *testing.T) paymenttest.Backend {
		s, err := postgres.Open(context.Background(), testenv.PostgresURL(t), nil)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
