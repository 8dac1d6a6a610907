package tokens

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zalando/go-keyring"

	"github.com/didacto/didacto/agent/client"
)

// TestWindowsCredentialManager: on Windows the session goes to the
// Credential Manager (wincred), not the fallback file, and reads back from
// it in a new store (the next start); signing out removes it. Run on Linux
// CI by tests/integration TestWindowsTokensInWincred, cross-compiled and
// under Wine.
func TestWindowsCredentialManager(t *testing.T) {
	ctx := context.Background()
	// Not t.TempDir: under Wine 8 its cleanup (RemoveAll) fails with
	// "Invalid function"; the file is never written when all goes well.
	service := "didacto-test-" + time.Now().Format("150405.000000000")
	file := filepath.Join(os.TempDir(), service+".json")
	t.Cleanup(func() { _ = os.Remove(file) })
	want := client.Tokens{AccessToken: "access-w", RefreshToken: "refresh-w", ExpiresAt: time.Now().Add(time.Hour).UTC().Round(time.Second)}

	s := New(service, "student@school.example", file, nil)
	if err := s.Save(ctx, want); err != nil {
		t.Fatal(err)
	}
	if s.UsingFile() {
		t.Fatal("the tokens went to the fallback file: the Credential Manager refused them")
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a token file exists beside the Credential Manager entry (%v)", err)
	}
	if raw, err := keyring.Get(service, "student@school.example"); err != nil || raw == "" {
		t.Fatalf("no Credential Manager entry: %v", err)
	}
	got, err := New(service, "student@school.example", file, nil).Load(ctx)
	if err != nil || !got.ExpiresAt.Equal(want.ExpiresAt) || got.AccessToken != want.AccessToken || got.RefreshToken != want.RefreshToken {
		t.Fatalf("a new store loads %+v, %v; want %+v", got, err, want)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Get(service, "student@school.example"); err != keyring.ErrNotFound {
		t.Fatalf("after sign-out the Credential Manager entry is still there (%v)", err)
	}
	if _, err := New(service, "student@school.example", file, nil).Load(ctx); err != client.ErrNoTokens {
		t.Fatalf("after sign-out Load says %v, want ErrNoTokens", err)
	}
}
