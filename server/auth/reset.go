package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Professor-issued password resets. A student who forgot their password in
// the middle of a class gets a one-time code from their professor (read off
// the console), and sets a new password with it. A code is good for
// ResetTTL, once, and for MaxResetAttempts tries; issuing another replaces
// it. Setting the password ends every sign-in of the student.
const (
	ResetTTL         = 30 * time.Minute
	MaxResetAttempts = 5
	resetCodeLen     = 8
	// resetAlphabet leaves out look-alikes, like join codes.
	resetAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
)

// Wrong codes are slowed per e-mail and address pair and per address, on
// top of the per-code attempt cap.
var (
	resetPairBackoff = limit.Backoff{Free: 5, Base: 2 * time.Second, Max: 5 * time.Minute, Keep: time.Hour}
	resetAddrBackoff = limit.Backoff{Free: 30, Base: time.Second, Max: 5 * time.Minute, Keep: time.Hour}
)

var errResetInvalid = httpx.Errorf(http.StatusUnprocessableEntity, wire.CodeResetCodeInvalid,
	"that code is wrong, used or expired; ask your professor for a new one")

// NormalizeResetCode accepts codes typed with spaces, dashes or lower case.
func NormalizeResetCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(code)))
}

func resetHash(userID int64, code string) []byte {
	h := sha256.Sum256([]byte(fmt.Sprintf("didacto-reset:%d:%s", userID, NormalizeResetCode(code))))
	return h[:]
}

// IssueResetCode makes a new one-time code for the user (replacing any
// earlier one) and returns it as shown to the professor: "ABCD-EFGH".
func (s *Service) IssueResetCode(ctx context.Context, userID, by, lectureID int64) (string, time.Time, error) {
	b := make([]byte, resetCodeLen)
	if _, err := rand.Read(b); err != nil {
		return "", time.Time{}, fmt.Errorf("reset code: %w", err)
	}
	for i := range b {
		b[i] = resetAlphabet[int(b[i])%len(resetAlphabet)]
	}
	code := string(b[:4]) + "-" + string(b[4:])
	exp := s.now().Add(ResetTTL)
	if err := s.store.PutPasswordReset(ctx, store.PasswordReset{UserID: userID, CreatedBy: by, LectureID: lectureID,
		CodeHash: resetHash(userID, code), ExpiresAt: exp}); err != nil {
		return "", time.Time{}, err
	}
	s.logger.Info("password reset code issued", "user_id", userID, "by", by, "lecture_id", lectureID)
	return code, exp, nil
}

// ResetPassword sets a new password with a code and ends the account's
// sign-ins. An unknown e-mail answers like a wrong code.
func (s *Service) ResetPassword(ctx context.Context, email, code, next string, from netip.Addr) error {
	email = strings.ToLower(strings.TrimSpace(email))
	addr := httpx.AddrKey(from)
	pairKey, addrKey := "reset:pair:"+addr+" "+email, "reset:addr:"+addr
	now := s.now()
	for _, k := range []struct {
		key string
		b   limit.Backoff
	}{{pairKey, resetPairBackoff}, {addrKey, resetAddrBackoff}} {
		f, err := s.limits.Failures(ctx, k.key)
		if err != nil {
			return limitErr(err)
		}
		if w := k.b.Wait(f, now); w > 0 {
			return throttled(w, "too many wrong reset codes from your address")
		}
	}
	var bad []wire.FieldError
	if email == "" {
		bad = append(bad, wire.FieldError{Field: "email", Message: "is required"})
	}
	if len(NormalizeResetCode(code)) != resetCodeLen {
		bad = append(bad, wire.FieldError{Field: "code", Message: fmt.Sprintf("must be the %d-character code from your professor", resetCodeLen)})
	}
	if msg := CheckPasswordPolicy(next); msg != "" {
		bad = append(bad, wire.FieldError{Field: "new_password", Message: msg})
	}
	if len(bad) > 0 {
		return httpx.Invalid(bad...)
	}
	failed := func() error {
		if _, err := s.limits.Fail(ctx, pairKey, now, resetPairBackoff.Keep); err != nil {
			return limitErr(err)
		}
		if _, err := s.limits.Fail(ctx, addrKey, now, resetAddrBackoff.Keep); err != nil {
			return limitErr(err)
		}
		return errResetInvalid
	}
	// Hash first, whether or not the e-mail has an account, so that the
	// answer's timing does not tell which e-mails do.
	h, err := s.hash.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("hashing password: %w", err)
	}
	u, err := s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return failed()
	}
	if err != nil {
		return fmt.Errorf("looking up user: %w", err)
	}
	err = s.store.RedeemPasswordReset(ctx, u.ID, resetHash(u.ID, code), h, now, MaxResetAttempts)
	if errors.Is(err, store.ErrResetInvalid) {
		return failed()
	}
	if err != nil {
		return err
	}
	fams, err := s.store.RevokeUserTokens(ctx, u.ID, "")
	if err != nil {
		return err
	}
	if err := s.endFamilies(ctx, fams...); err != nil {
		return err
	}
	s.logger.Info("password reset with a code; sign-ins ended", "user_id", u.ID, "ended", len(fams))
	return nil
}
