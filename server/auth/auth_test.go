package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/store/sqlstore"
	"github.com/didacto/didacto/wire"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T) (*Service, *clock) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "auth.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s, err := New(ctx, st, Options{Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func problemCode(err error) string {
	var he *httpx.Error
	if errors.As(err, &he) {
		return he.Problem.Code
	}
	return ""
}

func TestPasswordPolicyAndHash(t *testing.T) {
	for pw, ok := range map[string]bool{"Passw0rd!": true, "학생의비밀번호1!": true, "비밀번호1!": false, "password": false, "Passw0rd": false,
		"P0!a": false, "        1a!": true, strings.Repeat("a1!", 43): false} {
		if got := CheckPasswordPolicy(pw) == ""; got != ok {
			t.Errorf("policy(%q) = %v, want %v", pw, got, ok)
		}
	}
	h := newHasher(1)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "Passw0rd!")
	if err != nil || !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q %v", enc, err)
	}
	if ok, err := h.Verify(ctx, enc, "Passw0rd!"); !ok || err != nil {
		t.Fatal("right password refused")
	}
	if ok, _ := h.Verify(ctx, enc, "Passw0rd?"); ok {
		t.Fatal("wrong password accepted")
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", enc[:len(enc)-60], "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA"} {
		if _, err := h.Verify(ctx, bad, "x"); err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestTokensExpireAndResistTampering(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	u, err := s.Register(ctx, wire.RegisterRequest{Email: "a@school.example", Password: "Passw0rd!", Name: "A", Role: wire.RoleStudent})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := s.IssueTokens(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	auth := func(tok string) (Identity, error) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		return s.Authenticate(r)
	}
	me, err := auth(pair.AccessToken)
	if err != nil || me.UserID != u.ID || me.Role != wire.RoleStudent || me.Family == "" {
		t.Fatalf("fresh token: %+v %v", me, err)
	}
	// Flip a payload byte: the signature no longer matches.
	parts := strings.Split(pair.AccessToken, ".")
	forged := parts[0] + "." + strings.Replace(parts[1], parts[1][5:6], string(rune(parts[1][5]^1)), 1) + "." + parts[2]
	if _, err := auth(forged); err == nil {
		t.Fatal("tampered token accepted")
	}
	// Another spelling of the same signature (its last character differs
	// only in base64's unused low bits) is refused: one token, one string.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	sig := parts[2]
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	respelled := parts[0] + "." + parts[1] + "." + sig[:len(sig)-1] + string(alphabet[last^1])
	if _, err := auth(respelled); err == nil {
		t.Fatal("a respelled signature accepted")
	}
	// A ticket is not an access token, and vice versa.
	ticket, _, _ := s.Ticket(me)
	if _, err := auth(ticket); err == nil {
		t.Fatal("ticket accepted as an access token")
	}
	r := httptest.NewRequest("GET", "/?ticket="+pair.AccessToken, nil)
	if _, err := s.AuthenticateWebsocket(r); err == nil {
		t.Fatal("access token accepted as a ticket")
	}
	r = httptest.NewRequest("GET", "/?ticket="+ticket, nil)
	if id, err := s.AuthenticateWebsocket(r); err != nil || id.UserID != u.ID {
		t.Fatalf("ticket: %v", err)
	}
	if _, err := s.AuthenticateWebsocket(r); err == nil {
		t.Fatal("a ticket opened a second websocket")
	}
	ticket2, _, _ := s.Ticket(me)
	c.add(TicketTTL + time.Second)
	if _, err := s.AuthenticateWebsocket(httptest.NewRequest("GET", "/?ticket="+ticket2, nil)); err == nil {
		t.Fatal("expired ticket accepted")
	}
	c.add(AccessTTL)
	if _, err := auth(pair.AccessToken); err == nil {
		t.Fatal("expired access token accepted")
	}
	// The refresh token outlives it.
	if _, err := s.Refresh(ctx, pair.RefreshToken); err != nil {
		t.Fatalf("refresh after access expiry: %v", err)
	}
	c.add(RefreshTTL)
	r2, _ := s.IssueTokens(ctx, u)
	c.add(RefreshTTL + time.Second)
	if _, err := s.Refresh(ctx, r2.RefreshToken); problemCode(err) != wire.CodeUnauthorized {
		t.Fatalf("expired refresh token: %v", err)
	}
}

// TestLoginThrottling is the review's F3: ten wrong passwords used to lock
// any account for everybody. Now guesses delay the guesser's address, the
// owner's usual address is never delayed, a delay is bounded and the right
// password works once it has passed, and a spray over many accounts from
// one address is slowed too.
func TestLoginThrottling(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	if _, err := s.Register(ctx, wire.RegisterRequest{Email: "b@school.example", Password: "Passw0rd!", Name: "B", Role: wire.RoleStudent}); err != nil {
		t.Fatal(err)
	}
	owner, attacker, elsewhere := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("198.51.100.9"), netip.MustParseAddr("203.0.113.1")
	if _, err := s.Login(ctx, "b@school.example", "Passw0rd!", owner); err != nil {
		t.Fatal(err)
	}
	limited := 0
	for i := range 40 {
		_, err := s.Login(ctx, " B@school.example ", "guess"+string(rune('a'+i)), attacker)
		switch problemCode(err) {
		case wire.CodeInvalidLogin:
		case wire.CodeRateLimited:
			limited++
			var he *httpx.Error
			if errors.As(err, &he); he.RetryAfter <= 0 || he.RetryAfter > time.Minute {
				t.Fatalf("Retry-After %s: not a bounded delay", he.RetryAfter)
			}
			c.add(time.Second) // the attacker keeps trying
		default:
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if limited == 0 {
		t.Fatal("40 guesses from one address were never slowed down")
	}
	// The owner at their usual address is not delayed at all.
	if _, err := s.Login(ctx, "b@school.example", "Passw0rd!", owner); err != nil {
		t.Fatalf("the owner after an attack from elsewhere: %v", err)
	}
	// From a new address the account's own delay applies, bounded.
	for i := range 15 {
		s.Login(ctx, "b@school.example", "wrong"+string(rune('a'+i)), netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}))
	}
	_, err := s.Login(ctx, "b@school.example", "Passw0rd!", elsewhere)
	var he *httpx.Error
	if !errors.As(err, &he) || he.Problem.Status != http.StatusTooManyRequests || he.RetryAfter <= 0 || he.RetryAfter > time.Minute {
		t.Fatalf("a distributed guess must delay new addresses by at most a minute: %v", err)
	}
	c.add(he.RetryAfter)
	if _, err := s.Login(ctx, "b@school.example", "Passw0rd!", elsewhere); err != nil {
		t.Fatalf("after the delay the right password must work: %v", err)
	}
	// And the attacker's own address, once its delay has passed.
	c.add(time.Minute)
	if _, err := s.Login(ctx, "b@school.example", "Passw0rd!", attacker); err != nil {
		t.Fatalf("after the delay the right password must work from any address: %v", err)
	}

	// One guess on each of many (unknown) accounts from one address.
	spray := netip.MustParseAddr("198.51.100.77")
	limited = 0
	for i := range 40 {
		if _, err := s.Login(ctx, "user"+string(rune('a'+i))+"@school.example", "Spring2026!", spray); problemCode(err) == wire.CodeRateLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("a password spray from one address was never slowed down")
	}
}
