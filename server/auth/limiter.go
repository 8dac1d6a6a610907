package auth

import (
	"sync"
	"time"
)

// Login throttling: after maxFailures wrong passwords for one e-mail within
// failureWindow, further attempts are refused until the window has passed
// since the first failure. Per replica: enough to make online guessing of
// a student's password impractical without a shared store.
const (
	maxFailures   = 10
	failureWindow = 5 * time.Minute
)

type failures struct {
	first time.Time
	n     int
}

type loginLimiter struct {
	mu sync.Mutex
	by map[string]*failures
}

func newLoginLimiter() *loginLimiter { return &loginLimiter{by: map[string]*failures{}} }

// blocked returns how long the account must wait (0: may try).
func (l *loginLimiter) blocked(email string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.by[email]
	if f == nil || now.Sub(f.first) >= failureWindow {
		return 0
	}
	if f.n >= maxFailures {
		return failureWindow - now.Sub(f.first)
	}
	return 0
}

func (l *loginLimiter) fail(email string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.by[email]
	if f == nil || now.Sub(f.first) >= failureWindow {
		if len(l.by) > 100_000 { // bound memory under a spray of e-mails
			for k, old := range l.by {
				if now.Sub(old.first) >= failureWindow {
					delete(l.by, k)
				}
			}
		}
		f = &failures{first: now}
		l.by[email] = f
	}
	f.n++
}

func (l *loginLimiter) succeed(email string) {
	l.mu.Lock()
	delete(l.by, email)
	l.mu.Unlock()
}
