package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/didacto/didacto/wire"
)

// Token purposes: an access token authenticates API calls; a ticket only
// opens one websocket and lives a minute.
const (
	purposeAccess = "access"
	purposeTicket = "ticket"
)

var (
	errTokenMalformed = errors.New("malformed token")
	errTokenSignature = errors.New("bad token signature")
	errTokenExpired   = errors.New("token expired")
	errTokenPurpose   = errors.New("token used for the wrong purpose")
	errTokenLifetime  = errors.New("token lifetime longer than the server issues")
)

type claims struct {
	Sub  int64     `json:"sub"`
	Role wire.Role `json:"role"`
	Name string    `json:"name"`
	Purp string    `json:"purp"`
	Iat  int64     `json:"iat"`
	Exp  int64     `json:"exp"`
	// Jti names a ticket, so that it opens one websocket only.
	Jti string `json:"jti,omitempty"`
	// Fam is the sign-in (refresh or cookie family) the token belongs to:
	// signing out ends its tokens before they expire.
	Fam string `json:"fam,omitempty"`
}

// signer makes and checks stateless HMAC-SHA256 tokens: "v1.<payload>.<sig>".
// The key lives in the database so every replica accepts every token.
type signer struct{ key []byte }

func (s signer) sign(c claims) string {
	payload, _ := json.Marshal(c)
	p := base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("v1." + p))
	return "v1." + p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func (s signer) verify(tok, purpose string, now time.Time) (claims, error) {
	var c claims
	rest, ok := strings.CutPrefix(tok, "v1.")
	if !ok || len(tok) > 2048 {
		return c, errTokenMalformed
	}
	p, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return c, errTokenMalformed
	}
	gotSig, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil {
		return c, errTokenMalformed
	}
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("v1." + p))
	if !hmac.Equal(gotSig, mac.Sum(nil)) {
		return c, errTokenSignature
	}
	payload, err := base64.RawURLEncoding.Strict().DecodeString(p)
	if err != nil {
		return c, errTokenMalformed
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, fmt.Errorf("%w: %v", errTokenMalformed, err)
	}
	if c.Purp != purpose {
		return c, errTokenPurpose
	}
	if now.Unix() >= c.Exp {
		return c, errTokenExpired
	}
	// The server never issues a token longer than its purpose allows, nor
	// dated in the future: one that claims to is forged with a leaked key
	// (a year-long token), and is refused rather than trusted until its exp.
	if c.Exp-c.Iat > int64(maxLifetime(purpose)/time.Second) || c.Iat > now.Add(clockSkew).Unix() {
		return c, errTokenLifetime
	}
	return c, nil
}

// clockSkew is how far ahead of this replica's clock another replica's
// token may be dated.
const clockSkew = time.Minute

// maxLifetime is the longest token of each purpose the server issues.
func maxLifetime(purpose string) time.Duration {
	if purpose == purposeTicket {
		return TicketTTL
	}
	return AccessTTL
}

// randomToken returns a prefixed random secret and the SHA-256 hash to store.
func randomToken(prefix string) (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("random token: %w", err)
	}
	tok := prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, hashToken(tok), nil
}

func hashToken(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}
