package auth

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/wire"
)

// Login throttles. None of them is a lock: each is a delay that grows with
// failures and is bounded, so the right password is heard again after at
// most a minute whatever an attacker sends. A throttled attempt is refused
// before the password is checked and counts as nothing.
var (
	// pairBackoff: one address guessing one account.
	pairBackoff = limit.Backoff{Free: 5, Base: time.Second, Max: time.Minute, Keep: 15 * time.Minute}
	// addrBackoff: one address spreading guesses over many accounts.
	addrBackoff = limit.Backoff{Free: 30, Base: time.Second, Max: time.Minute, Keep: 15 * time.Minute}
	// accountBackoff: one account guessed from many addresses. An address
	// this account signed in from before is exempt, so guessing from
	// elsewhere never delays its owner at their usual PC.
	accountBackoff = limit.Backoff{Free: 10, Base: time.Second, Max: time.Minute, Keep: 15 * time.Minute}
)

// knownFor is how long a successful login exempts its address from the
// account's throttle.
const knownFor = 30 * 24 * time.Hour

type loginKeys struct{ pair, addr, account, known string }

func keysFor(email, addr string) loginKeys {
	return loginKeys{pair: "login:pair:" + addr + " " + email, addr: "login:addr:" + addr,
		account: "login:account:" + email, known: "login:known:" + addr + " " + email}
}

// loginWait is how long this address must wait before trying email again.
func (s *Service) loginWait(ctx context.Context, k loginKeys) (time.Duration, string, error) {
	now := s.now()
	pair, err := s.limits.Failures(ctx, k.pair)
	if err != nil {
		return 0, "", err
	}
	if w := pairBackoff.Wait(pair, now); w > 0 {
		return w, "too many wrong passwords for this account from your address", nil
	}
	addr, err := s.limits.Failures(ctx, k.addr)
	if err != nil {
		return 0, "", err
	}
	if w := addrBackoff.Wait(addr, now); w > 0 {
		return w, "too many wrong passwords from your address", nil
	}
	if _, known, err := s.limits.Get(ctx, k.known); err != nil || known {
		return 0, "", err
	}
	acct, err := s.limits.Failures(ctx, k.account)
	if err != nil {
		return 0, "", err
	}
	if w := accountBackoff.Wait(acct, now); w > 0 {
		return w, "too many wrong passwords for this account", nil
	}
	return 0, "", nil
}

func (s *Service) loginFailed(ctx context.Context, k loginKeys) error {
	now := s.now()
	for _, f := range []struct {
		key string
		b   limit.Backoff
	}{{k.pair, pairBackoff}, {k.addr, addrBackoff}, {k.account, accountBackoff}} {
		if _, err := s.limits.Fail(ctx, f.key, now, f.b.Keep); err != nil {
			return err
		}
	}
	return nil
}

// loginSucceeded clears the pair and the account and remembers the address.
// The address's own count stays: one's own account must not reset a spray.
func (s *Service) loginSucceeded(ctx context.Context, k loginKeys) error {
	if err := s.limits.Delete(ctx, k.pair); err != nil {
		return err
	}
	if err := s.limits.Delete(ctx, k.account); err != nil {
		return err
	}
	return s.limits.Set(ctx, k.known, "1", knownFor)
}

func throttled(wait time.Duration, why string) error {
	secs := int(wait.Seconds()) + 1
	e := httpx.Errorf(http.StatusTooManyRequests, wire.CodeRateLimited, "%s; try again in %d seconds", why, secs)
	e.RetryAfter = wait
	return e
}

// limitErr wraps a failure of the limits store.
func limitErr(err error) error { return fmt.Errorf("login throttle: %w", err) }
