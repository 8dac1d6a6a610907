package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/didacto/didacto/wire"
)

// Error is a non-2xx answer: the server's problem document (or one made up
// from the status when the body was not one) and the Retry-After it asked
// for. errors.As(err, new(*wire.Problem)) finds the problem.
type Error struct {
	Problem    *wire.Problem
	RetryAfter time.Duration // zero when absent
}

func (e *Error) Error() string {
	return fmt.Sprintf("server said %d %s", e.Problem.Status, e.Problem.Error())
}

// Unwrap exposes the problem document.
func (e *Error) Unwrap() error { return e.Problem }

// Code is the problem code of err ("" when err is not a server answer).
func Code(err error) string {
	var p *wire.Problem
	if errors.As(err, &p) {
		return p.Code
	}
	return ""
}

// Status is the HTTP status of err (0 when err is not a server answer).
func Status(err error) int {
	var p *wire.Problem
	if errors.As(err, &p) {
		return p.Status
	}
	return 0
}

// RetryAfter is how long the server asked to wait (0 when it did not say).
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// maxRetryAfter caps what a server (or a proxy) may make the agent wait.
const maxRetryAfter = 10 * time.Minute

// decodeError turns a non-2xx answer into *Error. It never fails: a body that
// is not a problem document yields a problem built from the status.
func decodeError(status int, h http.Header, body []byte) *Error {
	p := ParseProblem(status, body)
	e := &Error{Problem: p}
	if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s > 0 {
			// Clamp the seconds before multiplying: a huge value would overflow.
			e.RetryAfter = time.Duration(min(s, int(maxRetryAfter/time.Second))) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = min(max(time.Until(t), 0), maxRetryAfter)
		}
	}
	return e
}

// ParseProblem decodes an RFC 9457 document; status wins over the body's and
// missing fields are filled from the status so callers can always switch on
// Code.
func ParseProblem(status int, body []byte) *wire.Problem {
	var p wire.Problem
	if len(body) > 0 && json.Unmarshal(body, &p) != nil {
		p = wire.Problem{}
	}
	p.Status = status
	if p.Title == "" {
		p.Title = http.StatusText(status)
		if p.Title == "" {
			p.Title = "HTTP " + strconv.Itoa(status)
		}
	}
	if p.Code == "" {
		p.Code = codeForStatus(status)
	}
	return &p
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return wire.CodeBadRequest
	case http.StatusUnauthorized:
		return wire.CodeUnauthorized
	case http.StatusForbidden:
		return wire.CodeForbidden
	case http.StatusNotFound:
		return wire.CodeNotFound
	case http.StatusMethodNotAllowed:
		return wire.CodeMethodNotAllowed
	case http.StatusConflict:
		return wire.CodeConflict
	case http.StatusRequestEntityTooLarge:
		return wire.CodeTooLarge
	case http.StatusUnsupportedMediaType:
		return wire.CodeUnsupportedMedia
	case http.StatusTooManyRequests:
		return wire.CodeRateLimited
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return wire.CodeUnavailable
	}
	if status >= 500 {
		return wire.CodeInternal
	}
	return "http_" + strconv.Itoa(status)
}

// Bounds the agent accepts from hints; anything outside is clamped so a
// confused server cannot make agents spin or upload huge frames.
const (
	MinHintInterval = 250 * time.Millisecond
	MaxHintInterval = 5 * time.Minute
	MinHintWidth    = 64
	MaxHintWidth    = 1280 // capture.MaxWidth; not imported to keep the client free of capture
	MinHintQuality  = 10
	MaxHintQuality  = 95
)

// ParseHints decodes the frame-upload answer. Zero fields mean "no hint";
// others are clamped into the bounds above. An empty body is no hints.
func ParseHints(body []byte) (wire.FrameHints, error) {
	var h wire.FrameHints
	if len(strings.TrimSpace(string(body))) == 0 {
		return h, nil
	}
	if err := json.Unmarshal(body, &h); err != nil {
		return wire.FrameHints{}, fmt.Errorf("decoding frame hints: %w", err)
	}
	if h.IntervalMS < 0 {
		h.IntervalMS = 0
	} else if h.IntervalMS > 0 {
		h.IntervalMS = min(max(h.IntervalMS, int(MinHintInterval/time.Millisecond)), int(MaxHintInterval/time.Millisecond))
	}
	if h.Width < 0 {
		h.Width = 0
	} else if h.Width > 0 {
		h.Width = min(max(h.Width, MinHintWidth), MaxHintWidth)
	}
	if h.Quality < 0 {
		h.Quality = 0
	} else if h.Quality > 0 {
		h.Quality = min(max(h.Quality, MinHintQuality), MaxHintQuality)
	}
	return h, nil
}
