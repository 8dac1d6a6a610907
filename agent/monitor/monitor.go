// Package monitor owns the agent's live-monitoring loop: capture at an
// interval (jittered so a lab of agents does not pulse together), skip
// uploads while the picture is unchanged but send keep-alives so presence
// stays fresh, honour the server's hints, back off with jitter on errors, and
// never hold more than the latest frame (the loop is sequential: a slow
// upload delays the next capture instead of queueing frames).
package monitor

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/wire"
)

// Source grabs the screen; *capture.Capturer is one. CaptureInto may reuse
// dst's pixels.
type Source interface {
	CaptureInto(dst *image.RGBA) (*image.RGBA, error)
}

// Uploader sends frames; *client.Client is one.
type Uploader interface {
	UploadFrame(ctx context.Context, lectureID int64, f client.Frame) (wire.FrameHints, error)
}

// Reasons Run stops by itself (wrapping the server's answer).
var (
	// ErrLectureInactive: the lecture is not running; stop uploading for it
	// until it is active again.
	ErrLectureInactive = errors.New("monitor: lecture is not active")
	// ErrNotMember: the student is not (or no longer) a member.
	ErrNotMember = errors.New("monitor: not a member of the lecture")
	// ErrAuth: the session is gone (refresh failed); log in again.
	ErrAuth = errors.New("monitor: not logged in")
)

// Defaults.
const (
	DefaultInterval       = 2 * time.Second
	DefaultWidth          = 320
	DefaultJitter         = 0.2
	DefaultKeepAliveEvery = 3
	DefaultMaxBackoff     = time.Minute
	minQuality            = 10
)

// Bounds on what a server may ask for: a hostile or broken server must not
// drive a capture loop on the student's PC (interval_ms: 1), ask for native
// resolution, or park the agent for a year with a Retry-After.
const (
	MinHintInterval = 500 * time.Millisecond
	MaxHintInterval = 5 * time.Minute
	MinHintWidth    = 32
	MaxHintQuality  = 95
	MaxRetryAfter   = 10 * time.Minute
)

// maxStartSpread bounds the random wait before the first capture.
const maxStartSpread = 500 * time.Millisecond

// ClampHints bounds a server's hints; a zero field (no hint) stays zero.
func ClampHints(h wire.FrameHints) wire.FrameHints {
	if h.IntervalMS > 0 {
		// Clamp in milliseconds: converting a huge hint to a Duration would overflow.
		h.IntervalMS = min(max(h.IntervalMS, int(MinHintInterval/time.Millisecond)), int(MaxHintInterval/time.Millisecond))
	}
	if h.Width > 0 {
		h.Width = min(max(h.Width, MinHintWidth), capture.MaxWidth)
	}
	if h.Quality > 0 {
		h.Quality = min(max(h.Quality, minQuality), MaxHintQuality)
	}
	return h
}

// Config configures a Monitor. Zero fields take the defaults.
type Config struct {
	LectureID      int64
	Interval       time.Duration // between captures
	Width          int           // upload width (≤ capture.MaxWidth)
	Quality        int           // JPEG quality
	Jitter         float64       // ± fraction of each wait
	KeepAliveEvery int           // contact the server at least every N intervals
	Tolerance      int           // fingerprint tolerance (capture.DefaultTolerance)
	MaxBackoff     time.Duration
	Now            func() time.Time // capture timestamps; time.Now
	Rand           *rand.Rand       // jitter; seeded per monitor when nil
	Logger         *slog.Logger
	// Observe, if set, is called (synchronously, from the loop) on every
	// tick outcome: the tray UI shows status from it, tests watch it.
	Observe func(Event)
}

// EventKind names a tick outcome.
type EventKind string

const (
	EventFrame        EventKind = "frame"         // a changed frame was uploaded
	EventKeepAlive    EventKind = "keepalive"     // an unchanged keep-alive was sent
	EventSkip         EventKind = "skip"          // unchanged, nothing sent
	EventCaptureError EventKind = "capture_error" // retried at the next tick
	EventUploadError  EventKind = "upload_error"  // backing off
)

// Event is one tick outcome and the wait chosen after it.
type Event struct {
	Kind  EventKind
	At    time.Time // capture time
	Bytes int       // JPEG size for EventFrame
	Err   error
	Next  time.Duration // wait before the next tick
	Hints wire.FrameHints
}

// Stats is a snapshot of the loop's counters and current settings.
type Stats struct {
	Frames, KeepAlives, Skipped int64
	CaptureErrors, UploadErrors int64
	LastContact                 time.Time // last successful upload or keep-alive
	LastError                   string
	Interval                    time.Duration
	Width, Quality              int
	Watched                     bool
	ConsecutiveFailures         int
}

// Monitor runs the loop for one lecture. Create with New, run with Run.
type Monitor struct {
	src Source
	up  Uploader
	cfg Config
	log *slog.Logger
	rnd *rand.Rand

	mu    sync.Mutex
	stats Stats

	// Loop-owned state (only Run touches it).
	frame    *image.RGBA
	scaler   capture.Scaler
	enc      capture.Encoder
	last     capture.Fingerprint
	hints    wire.FrameHints
	qCap     int // quality ceiling after 413 answers (0: none)
	wDiv     int // width divisor after 413 answers at minimum quality
	idle     int // ticks since the last contact
	failures int
}

// New makes a Monitor; it does nothing until Run.
func New(src Source, up Uploader, cfg Config) *Monitor {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Width <= 0 {
		cfg.Width = DefaultWidth
	}
	cfg.Width = min(cfg.Width, capture.MaxWidth)
	if cfg.Quality <= 0 {
		cfg.Quality = capture.DefaultQuality
	}
	cfg.Quality = min(cfg.Quality, 100)
	if cfg.Jitter <= 0 {
		cfg.Jitter = DefaultJitter
	}
	cfg.Jitter = min(cfg.Jitter, 0.9)
	if cfg.KeepAliveEvery <= 0 {
		cfg.KeepAliveEvery = DefaultKeepAliveEvery
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = capture.DefaultTolerance
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rnd := cfg.Rand
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(cfg.LectureID)))
	}
	m := &Monitor{src: src, up: up, cfg: cfg, rnd: rnd, wDiv: 1,
		log: log.With("lecture", cfg.LectureID)}
	m.stats.Interval, m.stats.Width, m.stats.Quality = m.interval(), m.width(), m.quality()
	return m
}

// Stats returns a snapshot; safe to call from any goroutine.
func (m *Monitor) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stats
}

// Effective settings: a server hint wins over the configuration.
func (m *Monitor) interval() time.Duration {
	if m.hints.IntervalMS > 0 {
		return time.Duration(m.hints.IntervalMS) * time.Millisecond
	}
	return m.cfg.Interval
}

func (m *Monitor) width() int {
	w := m.cfg.Width
	if m.hints.Width > 0 {
		w = m.hints.Width
	}
	return max(w/m.wDiv, 32)
}

func (m *Monitor) quality() int {
	q := m.cfg.Quality
	if m.hints.Quality > 0 {
		q = m.hints.Quality
	}
	if m.qCap > 0 {
		q = min(q, m.qCap)
	}
	return q
}

// jittered spreads d by ±Jitter.
func (m *Monitor) jittered(d time.Duration) time.Duration {
	f := 1 + m.cfg.Jitter*(2*m.rnd.Float64()-1)
	return time.Duration(float64(d) * f)
}

// backoff is exponential in the consecutive failures, capped, with jitter
// in [d/2, d] so agents that failed together retry apart; never shorter than
// what the server asked for.
func (m *Monitor) backoff(retryAfter time.Duration) time.Duration {
	d := m.interval()
	for i := 1; i < m.failures && d < m.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, m.cfg.MaxBackoff)
	d = d/2 + time.Duration(m.rnd.Int64N(int64(d/2)+1))
	return max(d, min(retryAfter, MaxRetryAfter))
}

// Run loops until ctx ends (returning ctx.Err()) or the server says to stop
// (ErrLectureInactive, ErrNotMember, ErrAuth, wrapped with the server's
// answer) or capture cannot work in this session (capture.ErrWayland).
func (m *Monitor) Run(ctx context.Context) error {
	// A random first wait: agents started together (a lab booting, or a
	// class accepted at once) spread out. Half a second spreads 30 small
	// uploads well enough (ingest takes milliseconds) and keeps the first
	// tile quick after Accept.
	wait := time.Duration(m.rnd.Int64N(int64(min(m.interval(), maxStartSpread)) + 1))
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		ev, err := m.tick(ctx)
		if err != nil {
			return err
		}
		m.record(ev)
		if m.cfg.Observe != nil {
			m.cfg.Observe(ev)
		}
		timer.Reset(ev.Next)
	}
}

func (m *Monitor) record(ev Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := &m.stats
	switch ev.Kind {
	case EventFrame:
		s.Frames++
	case EventKeepAlive:
		s.KeepAlives++
	case EventSkip:
		s.Skipped++
	case EventCaptureError:
		s.CaptureErrors++
	case EventUploadError:
		s.UploadErrors++
	}
	if ev.Kind == EventFrame || ev.Kind == EventKeepAlive {
		s.LastContact = ev.At
	}
	if ev.Err != nil {
		s.LastError = ev.Err.Error()
	}
	s.Interval, s.Width, s.Quality, s.Watched = m.interval(), m.width(), m.quality(), m.hints.Watched
	s.ConsecutiveFailures = m.failures
}

// tick captures once and uploads or skips. A non-nil error ends Run.
func (m *Monitor) tick(ctx context.Context) (Event, error) {
	at := m.cfg.Now()
	img, err := m.src.CaptureInto(m.frame)
	if err != nil {
		if errors.Is(err, capture.ErrWayland) || errors.Is(err, capture.ErrUnsupported) || errors.Is(err, capture.ErrClosed) {
			return Event{}, err
		}
		m.log.Warn("capture failed; retrying at the next tick", "err", err)
		return Event{Kind: EventCaptureError, At: at, Err: err, Next: m.jittered(m.interval())}, nil
	}
	m.frame = img
	small := m.scaler.Scale(img, m.width())
	fp := capture.NewFingerprint(small)
	changed := m.last.Differs(&fp, m.cfg.Tolerance)
	f := client.Frame{CapturedAt: at}
	if changed {
		// A busy screen at a large width can exceed what the server takes:
		// shrink (quality, then width) until it fits rather than be refused.
		for tries := 0; ; tries++ {
			if f.JPEG, err = m.enc.Encode(small, m.quality()); err != nil {
				return Event{Kind: EventCaptureError, At: at, Err: err, Next: m.jittered(m.interval())}, nil
			}
			if len(f.JPEG) <= wire.MaxFrameBytes {
				break
			}
			if tries == 10 {
				err := fmt.Errorf("monitor: frame is %d bytes even shrunk to %dpx q%d", len(f.JPEG), m.width(), m.quality())
				return Event{Kind: EventCaptureError, At: at, Err: err, Next: m.jittered(m.interval())}, nil
			}
			m.shrink()
			small = m.scaler.Scale(img, m.width())
			fp = capture.NewFingerprint(small)
		}
	} else if m.idle+1 < m.cfg.KeepAliveEvery {
		m.idle++
		return Event{Kind: EventSkip, At: at, Next: m.jittered(m.interval())}, nil
	} else {
		f.Unchanged = true
	}
	hints, err := m.up.UploadFrame(ctx, m.cfg.LectureID, f)
	if err != nil {
		return m.uploadFailed(ctx, at, err)
	}
	if m.failures > 0 {
		m.log.Info("uploads work again", "after_failures", m.failures)
	}
	m.failures, m.idle = 0, 0
	hints = ClampHints(hints)
	if hints != m.hints {
		m.log.Debug("server hints", "interval_ms", hints.IntervalMS, "width", hints.Width, "quality", hints.Quality, "watched", hints.Watched)
		m.hints = hints
	}
	ev := Event{Kind: EventKeepAlive, At: at, Hints: hints, Next: m.jittered(m.interval())}
	if changed {
		m.last = fp
		ev.Kind, ev.Bytes = EventFrame, len(f.JPEG)
	}
	if hints.NeedFrame {
		// The server lost our picture (restart, expiry, another replica):
		// send a full frame soon, at a random point of the interval so a
		// restarted server is not hit by the whole lab at once.
		m.last = capture.Fingerprint{}
		ev.Next = time.Duration(m.rnd.Int64N(int64(m.interval())/2 + 1))
	}
	return ev, nil
}

func (m *Monitor) uploadFailed(ctx context.Context, at time.Time, err error) (Event, error) {
	if ctx.Err() != nil {
		return Event{}, ctx.Err()
	}
	switch code := client.Code(err); {
	case code == wire.CodeLectureInactive:
		return Event{}, fmt.Errorf("%w: %w", ErrLectureInactive, err)
	case code == wire.CodeNotMember || client.Status(err) == 403 || client.Status(err) == 404:
		return Event{}, fmt.Errorf("%w: %w", ErrNotMember, err)
	case errors.Is(err, client.ErrNotLoggedIn) || client.Status(err) == 401:
		return Event{}, fmt.Errorf("%w: %w", ErrAuth, err)
	case code == wire.CodeTooLarge:
		// Shrink and resend on the next tick.
		m.shrink()
		m.last = capture.Fingerprint{}
		m.log.Warn("frame too large for the server; shrinking", "quality", m.quality(), "width", m.width())
		return Event{Kind: EventUploadError, At: at, Err: err, Next: m.jittered(m.interval())}, nil
	}
	// 5xx, 429, network: back off. The frame is dropped, not queued: the
	// next tick captures afresh (and counts as changed, see m.last).
	m.failures++
	next := m.backoff(client.RetryAfter(err))
	m.log.Warn("upload failed; backing off", "err", err, "failures", m.failures, "next", next)
	return Event{Kind: EventUploadError, At: at, Err: err, Next: next}, nil
}

// shrink lowers the quality ceiling, and once quality is at its floor halves
// the width; it lasts for this Monitor's life (one lecture session).
func (m *Monitor) shrink() {
	if q := m.quality(); q > minQuality {
		m.qCap = max(q-15, minQuality)
	} else if m.width() > 32 {
		m.wDiv *= 2
	}
}
