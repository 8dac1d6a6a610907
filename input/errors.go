package input

import "errors"

// Why a Controller drops an event; each is also a counter in Stats.Dropped.
var (
	ErrMalformed      = errors.New("malformed control event")
	ErrRateLimited    = errors.New("control event over the rate limit")
	ErrUnsupportedKey = errors.New("key not supported on this system")
	ErrNotHeld        = errors.New("release of a key or button that is not held")
	ErrClosed         = errors.New("control has ended")
	ErrStale          = errors.New("move older than one already applied")
	ErrInject         = errors.New("injecting input failed")
)

// Errors of NewInjector.
var (
	ErrUnsupported = errors.New("input injection is not supported on this system")
	ErrWayland     = errors.New("input injection needs an X11 session; this is a Wayland session (XTest would reach only XWayland windows)")
)

// dropReason names the counter of an error Handle returned.
func dropReason(err error) string {
	switch {
	case errors.Is(err, ErrMalformed):
		return "malformed"
	case errors.Is(err, ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, ErrUnsupportedKey):
		return "unsupported_key"
	case errors.Is(err, ErrNotHeld):
		return "not_held"
	case errors.Is(err, ErrClosed):
		return "closed"
	case errors.Is(err, ErrStale):
		return "stale"
	}
	return "inject_failed"
}
