package api_test

import (
	"encoding/json"
	"testing"

	"github.com/didacto/didacto/server/servertest"
)

func jsonInto(t *testing.T, b []byte, v any) error {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return nil
}

func mustStatus(t *testing.T, r servertest.Response, want int) servertest.Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d: %s", r.Status, want, r.Body)
	}
	return r
}
