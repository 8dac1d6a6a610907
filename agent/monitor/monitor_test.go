package monitor_test

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/internal/apitest"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/wire"
)

// screen is a test Source: a 1920x1080 picture of one colour that the test
// changes, optionally failing some captures.
type screen struct {
	mu    sync.Mutex
	c     color.RGBA
	fails []error
	n     int
}

func (s *screen) set(c color.RGBA) { s.mu.Lock(); s.c = c; s.mu.Unlock() }

func (s *screen) CaptureInto(dst *image.RGBA) (*image.RGBA, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if len(s.fails) > 0 {
		err := s.fails[0]
		s.fails = s.fails[1:]
		return nil, err
	}
	if dst == nil {
		dst = image.NewRGBA(image.Rect(0, 0, 1920, 1080))
	}
	draw.Draw(dst, dst.Rect, image.NewUniform(s.c), image.Point{}, draw.Src)
	return dst, nil
}

type harness struct {
	srv    *apitest.Server
	cl     *client.Client
	scr    *screen
	events chan monitor.Event
}

func setup(t *testing.T) *harness {
	t.Helper()
	srv := apitest.New(t, wire.Lecture{ID: 1, Title: "OS", Active: true})
	cl, err := client.New(client.Config{Server: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cl.Login(ctx, apitest.Email, apitest.Password); err != nil {
		t.Fatal(err)
	}
	return &harness{srv: srv, cl: cl, scr: &screen{c: color.RGBA{255, 0, 0, 255}}, events: make(chan monitor.Event, 1000)}
}

func (h *harness) start(t *testing.T, cfg monitor.Config) (*monitor.Monitor, <-chan error, context.CancelFunc) {
	t.Helper()
	cfg.LectureID = 1
	if cfg.Interval == 0 {
		cfg.Interval = 20 * time.Millisecond
	}
	cfg.Rand = rand.New(rand.NewPCG(1, 2))
	cfg.Observe = func(e monitor.Event) {
		select {
		case h.events <- e:
		default:
		}
	}
	m := monitor.New(h.scr, h.cl, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- m.Run(ctx); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	return m, done, cancel
}

// next waits for an event matching ok.
func (h *harness) next(t *testing.T, what string, ok func(monitor.Event) bool) monitor.Event {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case e := <-h.events:
			if ok(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func kind(k monitor.EventKind) func(monitor.Event) bool {
	return func(e monitor.Event) bool { return e.Kind == k }
}

func TestUploadsFramesAndKeepAlives(t *testing.T) {
	h := setup(t)
	m, _, _ := h.start(t, monitor.Config{Width: 320, KeepAliveEvery: 3})
	h.next(t, "first frame", kind(monitor.EventFrame))
	// Still screen: ticks are skipped, and a keep-alive goes out every 3rd.
	h.next(t, "a skipped tick", kind(monitor.EventSkip))
	h.next(t, "a keep-alive", kind(monitor.EventKeepAlive))
	h.scr.set(color.RGBA{0, 0, 255, 255})
	h.next(t, "the changed frame", kind(monitor.EventFrame))

	ups := h.srv.Uploads()
	var frames, keeps int
	for i, u := range ups {
		if u.Status != 200 {
			t.Errorf("upload %d answered %d", i, u.Status)
		}
		if u.Auth == "" || u.CapturedAt.IsZero() || time.Since(u.CapturedAt) > time.Minute {
			t.Errorf("upload %d lacks auth or capture time: %+v", i, u)
		}
		if i > 0 && u.CapturedAt.Before(ups[i-1].CapturedAt) {
			t.Errorf("capture times go backwards at %d", i)
		}
		if u.Unchanged {
			keeps++
			if u.Bytes != 0 {
				t.Errorf("keep-alive with %d bytes", u.Bytes)
			}
		} else {
			frames++
			if u.ContentType != "image/jpeg" || u.Width != 320 || u.Height != 180 {
				t.Errorf("frame %d: %+v", i, u)
			}
		}
	}
	if frames != 2 || keeps < 1 {
		t.Errorf("frames=%d keep-alives=%d, want 2 and ≥1 (%+v)", frames, keeps, ups)
	}
	st := m.Stats()
	if st.Frames != 2 || st.Skipped < 2 || st.LastContact.IsZero() {
		t.Errorf("stats %+v", st)
	}
	// Between two contacts there are never more than KeepAliveEvery-1 skips.
	// (Checked on the upload log: each keep-alive follows ≥ 2 skipped ticks.)
	if st.Skipped < 2*st.KeepAlives {
		t.Errorf("skipped %d < 2×keep-alives %d", st.Skipped, st.KeepAlives)
	}
}

func TestHonoursHints(t *testing.T) {
	h := setup(t)
	h.srv.SetHints(wire.FrameHints{IntervalMS: 600, Width: 160, Quality: 40, Watched: false})
	m, _, _ := h.start(t, monitor.Config{Width: 640})
	first := h.next(t, "first frame", kind(monitor.EventFrame))
	if first.Hints.Width != 160 {
		t.Fatalf("hints not seen: %+v", first.Hints)
	}
	// The wait after a hinted answer follows the hinted interval (±jitter).
	if first.Next < 480*time.Millisecond || first.Next > 720*time.Millisecond {
		t.Errorf("next wait %v, want 600ms ±20%%", first.Next)
	}
	h.scr.set(color.RGBA{0, 255, 0, 255})
	h.next(t, "a frame at the hinted width", kind(monitor.EventFrame))
	ups := h.srv.Uploads()
	if ups[0].Width != 640 || ups[len(ups)-1].Width != 160 || ups[len(ups)-1].Height != 90 {
		t.Errorf("widths: first %d last %dx%d", ups[0].Width, ups[len(ups)-1].Width, ups[len(ups)-1].Height)
	}
	st := m.Stats()
	if st.Interval != 600*time.Millisecond || st.Width != 160 || st.Quality != 40 {
		t.Errorf("stats %+v", st)
	}
	// Hints withdrawn (zeros): back to the configuration.
	h.srv.SetHints(wire.FrameHints{Watched: true})
	h.scr.set(color.RGBA{9, 9, 9, 255})
	h.next(t, "frame with no hints", func(e monitor.Event) bool { return e.Kind == monitor.EventFrame && e.Hints.Watched })
	h.scr.set(color.RGBA{90, 9, 9, 255})
	h.next(t, "frame at the configured width", kind(monitor.EventFrame))
	ups = h.srv.Uploads()
	if w := ups[len(ups)-1].Width; w != 640 {
		t.Errorf("width after hints withdrawn = %d", w)
	}
}

// TestClampsHints is the review's F10: the agent took the server's hints as
// sent, so a hostile server could ask for a capture every millisecond at
// native size.
func TestClampsHints(t *testing.T) {
	h := setup(t)
	h.srv.SetHints(wire.FrameHints{IntervalMS: 1, Width: 100_000, Quality: 1000})
	m, _, _ := h.start(t, monitor.Config{})
	first := h.next(t, "first frame", kind(monitor.EventFrame))
	if first.Next < 400*time.Millisecond {
		t.Errorf("next wait %v after interval_ms 1, want at least 500ms -20%%", first.Next)
	}
	if st := m.Stats(); st.Interval != monitor.MinHintInterval || st.Width != capture.MaxWidth || st.Quality != monitor.MaxHintQuality {
		t.Errorf("stats after hostile hints: %+v", st)
	}
	for in, want := range map[wire.FrameHints]wire.FrameHints{
		{IntervalMS: 1, Width: 1, Quality: 1}:                      {IntervalMS: 500, Width: 32, Quality: 10},
		{IntervalMS: 86_400_000, Width: 5000, Quality: 99}:         {IntervalMS: 300_000, Width: capture.MaxWidth, Quality: 95},
		{IntervalMS: math.MaxInt64 / 100}:                          {IntervalMS: 300_000}, // overflowed as a Duration
		{IntervalMS: 2000, Width: 320, Quality: 70, Watched: true}: {IntervalMS: 2000, Width: 320, Quality: 70, Watched: true},
		{}: {},
	} {
		if got := monitor.ClampHints(in); got != want {
			t.Errorf("ClampHints(%+v) = %+v, want %+v", in, got, want)
		}
	}
}

func TestBacksOffAfterServerErrorsAndSendsOnlyFreshFrames(t *testing.T) {
	h := setup(t)
	h.srv.Fail(
		apitest.Failure{Status: 503, Code: wire.CodeUnavailable},
		apitest.Failure{Status: 502},
		apitest.Failure{Status: 500, Code: wire.CodeInternal},
		apitest.Failure{Status: 429, Code: wire.CodeRateLimited, RetryAfter: "1"},
	)
	interval := 20 * time.Millisecond
	m, _, _ := h.start(t, monitor.Config{Interval: interval, MaxBackoff: 400 * time.Millisecond})
	var waits []time.Duration
	for range 4 {
		e := h.next(t, "an upload error", kind(monitor.EventUploadError))
		waits = append(waits, e.Next)
	}
	// Exponential with jitter in [d/2, d]: the third failure waits ≥ 2×interval,
	// the 429 at least its Retry-After.
	if waits[2] < 2*interval || waits[2] > 4*interval {
		t.Errorf("third backoff %v, want in [%v, %v]", waits[2], 2*interval, 4*interval)
	}
	if waits[3] < time.Second {
		t.Errorf("429 backoff %v ignores Retry-After 1s", waits[3])
	}
	h.next(t, "recovery", kind(monitor.EventFrame))
	if st := m.Stats(); st.UploadErrors != 4 || st.ConsecutiveFailures != 0 || st.Frames != 1 {
		t.Errorf("stats %+v", st)
	}
	// Each attempt carried a fresh capture, never a queued old one.
	ups := h.srv.Uploads()
	for i := 1; i < len(ups); i++ {
		if !ups[i].CapturedAt.After(ups[i-1].CapturedAt) {
			t.Errorf("upload %d resent an old capture (%v after %v)", i, ups[i].CapturedAt, ups[i-1].CapturedAt)
		}
		if ups[i].Unchanged && ups[i-1].Status != 200 && i == 4 {
			t.Errorf("the first success after failures must carry the picture")
		}
	}
}

func TestStopsWhenLectureInactive(t *testing.T) {
	h := setup(t)
	_, done, _ := h.start(t, monitor.Config{})
	h.next(t, "first frame", kind(monitor.EventFrame))
	h.srv.SetActive(1, false)
	select {
	case err := <-done:
		if !errors.Is(err, monitor.ErrLectureInactive) || client.Code(err) != wire.CodeLectureInactive {
			t.Errorf("Run = %v, want ErrLectureInactive", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run kept going on an inactive lecture")
	}
}

func TestStopsWhenNotMember(t *testing.T) {
	h := setup(t)
	m := monitor.New(h.scr, h.cl, monitor.Config{LectureID: 42, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m.Run(ctx); !errors.Is(err, monitor.ErrNotMember) {
		t.Errorf("Run = %v, want ErrNotMember", err)
	}
}

func TestRefreshesExpiredAccessToken(t *testing.T) {
	h := setup(t)
	h.start(t, monitor.Config{KeepAliveEvery: 1})
	h.next(t, "first frame", kind(monitor.EventFrame))
	h.srv.ExpireAccess()
	h.next(t, "a keep-alive after expiry", kind(monitor.EventKeepAlive))
	if _, refreshes, _ := h.srv.Counts(); refreshes < 1 {
		t.Error("no refresh after the access token expired")
	}
}

func TestCaptureErrorsAreRetried(t *testing.T) {
	h := setup(t)
	h.scr.fails = []error{errors.New("X connection reset"), errors.New("X connection reset")}
	m, _, _ := h.start(t, monitor.Config{})
	h.next(t, "a frame after capture errors", kind(monitor.EventFrame))
	if st := m.Stats(); st.CaptureErrors != 2 || st.LastError == "" {
		t.Errorf("stats %+v", st)
	}
}

func TestWaylandEndsRun(t *testing.T) {
	h := setup(t)
	h.scr.fails = []error{capture.ErrWayland}
	m := monitor.New(h.scr, h.cl, monitor.Config{LectureID: 1, Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := m.Run(ctx); !errors.Is(err, capture.ErrWayland) {
		t.Errorf("Run = %v, want ErrWayland", err)
	}
}

func TestShrinksOnTooLarge(t *testing.T) {
	h := setup(t)
	h.srv.Fail(apitest.Failure{Status: 413, Code: wire.CodeTooLarge})
	m, _, _ := h.start(t, monitor.Config{Quality: 90})
	h.next(t, "413", kind(monitor.EventUploadError))
	h.next(t, "a frame after shrinking", kind(monitor.EventFrame))
	if q := m.Stats().Quality; q >= 90 {
		t.Errorf("quality still %d after 413", q)
	}
}

func TestCancelStopsRun(t *testing.T) {
	h := setup(t)
	_, done, cancel := h.start(t, monitor.Config{Interval: time.Hour})
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run ignored cancellation")
	}
}

func TestSendsFullFrameWhenServerLostIt(t *testing.T) {
	h := setup(t)
	h.start(t, monitor.Config{KeepAliveEvery: 1})
	h.next(t, "first frame", kind(monitor.EventFrame))
	h.next(t, "a keep-alive", kind(monitor.EventKeepAlive))
	h.srv.DropFrames() // the server restarted
	e := h.next(t, "a keep-alive answered need_frame", func(e monitor.Event) bool {
		return e.Kind == monitor.EventKeepAlive && e.Hints.NeedFrame
	})
	if e.Next > 20*time.Millisecond {
		t.Errorf("full frame scheduled after %v, want within half an interval", e.Next)
	}
	h.next(t, "a full frame of the unchanged screen", kind(monitor.EventFrame))
	ups := h.srv.Uploads()
	if last := ups[len(ups)-1]; last.Unchanged || last.Width != 320 {
		t.Errorf("last upload %+v", last)
	}
}

// noise is a Source whose every frame is fresh random noise: the worst case
// for JPEG size.
type noise struct{ r *rand.Rand }

func (n *noise) CaptureInto(dst *image.RGBA) (*image.RGBA, error) {
	if dst == nil {
		dst = image.NewRGBA(image.Rect(0, 0, 1920, 1080))
	}
	for i := range dst.Pix {
		dst.Pix[i] = uint8(n.r.Uint32())
	}
	return dst, nil
}

func TestShrinksFramesThatExceedTheLimit(t *testing.T) {
	h := setup(t)
	m := monitor.New(&noise{rand.New(rand.NewPCG(3, 4))}, h.cl, monitor.Config{LectureID: 1, Interval: 10 * time.Millisecond,
		Width: 1280, Quality: 100, Observe: func(e monitor.Event) { h.events <- e }})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	e := h.next(t, "a frame", func(e monitor.Event) bool { return e.Kind == monitor.EventFrame || e.Err != nil })
	if e.Kind != monitor.EventFrame || e.Bytes > wire.MaxFrameBytes {
		t.Fatalf("event %+v", e)
	}
	if st := m.Stats(); st.Quality >= 100 {
		t.Errorf("quality not lowered: %+v", st)
	}
}
