package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/didacto/didacto/server/payment/paymenttest"
	"github.com/didacto/didacto/server/store/sqlite"
)

func TestPaymentStore(t *testing.T) {
	paymenttest.Run(t, func(t *testing.T) paymenttest.Backend {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pay.db"), nil)
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
