package rtc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/didacto/didacto/rtc/vp8"
)

// Source grabs the streamed screen; *capture.Capturer is one.
type Source interface {
	CaptureInto(dst *image.RGBA) (*image.RGBA, error)
}

// StreamConfig configures a Streamer. Zero fields take the defaults.
type StreamConfig struct {
	FPS       int // top frame rate (default 30)
	MaxWidth  int // widest frame sent (default 1920); wider screens are scaled down
	StartKbps int // encoder bitrate before the first estimate (default StartKbps for the screen)
	Threads   int // encoder threads (default: rtc/vp8's choice)
	// ResizeEvery limits how often the resolution follows the estimate
	// (each change costs a keyframe; default 3 s).
	ResizeEvery time.Duration
	// RefineFrames is how many frames are still encoded after the screen
	// stopped changing, so the encoder sharpens what it coded in a hurry;
	// after that an unchanged screen costs a capture and a compare, and
	// nothing is sent (default 20: two thirds of a second at 30 fps).
	RefineFrames int
	// OnFirstFrame is told when the first frame went to the peer, and how
	// big it was (for the session's start-up log).
	OnFirstFrame func(at time.Time, bytes int)
	Logger       *slog.Logger
	Now          func() time.Time
}

// StreamStats are a Streamer's counters.
type StreamStats struct {
	Frames, Keyframes, Bytes int64
	Captures                 int64 // every tick captures and compares
	Skipped                  int64 // ticks with an unchanged screen: nothing encoded
	Pushback                 int64 // ticks skipped to let the link's queue drain
	CaptureErrors            int64
	Capture                  time.Duration // capture and compare, total over Captures
	Convert, Encode          time.Duration // totals over the encoded frames
	Width, Height, FPS, Kbps int           // current plan
}

// Streamer turns the screen into the peer's VP8 track.
type Streamer struct {
	cfg      StreamConfig
	log      *slog.Logger
	keyframe atomic.Bool // a keyframe is owed: never skip the next tick

	mu      sync.Mutex // guards everything below
	src     Source
	enc     *vp8.Encoder
	encW    int // the size the encoder was created for; it cannot grow past it
	encH    int
	bufs    [2]*image.RGBA // the last two captures, compared to find what changed
	cur     int            // index of the newest capture in bufs
	whole   bool           // the next conversion must cover the whole screen
	still   int            // ticks since the screen last changed
	full    *image.YCbCr   // the capture in I420
	out     *image.YCbCr   // scaled for the encoder (== full when not scaled)
	plan    Plan
	resized time.Time
	stats   StreamStats
	closed  bool
}

// NewStreamer grabs one frame to learn the screen size, creates the encoder
// and encodes that frame once, unsent: libvpx allocates most of its state
// on the first frame, and the first frame a viewer gets is then not delayed
// by it (about 60 ms at 720p, 150 ms at 1080p on two cores).
func NewStreamer(src Source, cfg StreamConfig) (*Streamer, error) {
	if cfg.FPS <= 0 {
		cfg.FPS = 30
	}
	if cfg.MaxWidth <= 0 {
		cfg.MaxWidth = 1920
	}
	if cfg.ResizeEvery <= 0 {
		cfg.ResizeEvery = 3 * time.Second
	}
	if cfg.RefineFrames <= 0 {
		cfg.RefineFrames = 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Streamer{cfg: cfg, log: cfg.Logger, src: src, whole: true}
	img, err := src.CaptureInto(nil)
	if err != nil {
		return nil, fmt.Errorf("new streamer: first capture: %w", err)
	}
	s.bufs[0] = img
	b := img.Bounds()
	if s.cfg.StartKbps <= 0 {
		w, h := fit(b.Dx(), b.Dy(), cfg.MaxWidth)
		s.cfg.StartKbps = StartKbps(w, h, cfg.FPS)
	}
	if err := s.newEncoder(b.Dx(), b.Dy(), s.cfg.StartKbps*1000); err != nil {
		return nil, fmt.Errorf("new streamer: %w", err)
	}
	if _, err := s.encodeLocked(img, 0); err != nil {
		_ = s.enc.Close()
		return nil, fmt.Errorf("new streamer: warm-up frame: %w", err)
	}
	s.whole = true
	s.resized = cfg.Now()
	return s, nil
}

// newEncoder (re)creates the encoder for a source of srcW×srcH: created at
// the largest size it may send, then set to the plan's.
func (s *Streamer) newEncoder(srcW, srcH, bps int) error {
	w, h := fit(srcW, srcH, s.cfg.MaxWidth)
	plan := PlanFor(bps, srcW, srcH, s.cfg.FPS, s.cfg.MaxWidth)
	enc, err := vp8.NewEncoder(vp8.Config{
		Width: w, Height: h, FPS: plan.FPS, BitrateKbps: plan.Kbps,
		Threads: s.cfg.Threads, CPUUsed: 8, ScreenContent: true,
	})
	if err != nil {
		return err
	}
	if err := enc.SetSize(plan.Width, plan.Height); err != nil {
		_ = enc.Close()
		return err
	}
	if s.enc != nil {
		_ = s.enc.Close()
	}
	s.enc, s.encW, s.encH, s.plan = enc, w, h, plan
	s.full, s.out = nil, nil
	s.whole = true
	return nil
}

// SetSource switches to another screen from the next frame on.
func (s *Streamer) SetSource(src Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.src = src
	s.whole = true
	s.ForceKeyframe()
}

// ForceKeyframe makes the next frame a keyframe.
func (s *Streamer) ForceKeyframe() {
	s.keyframe.Store(true)
}

// Stats returns the counters.
func (s *Streamer) Stats() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Width, st.Height, st.FPS, st.Kbps = s.plan.Width, s.plan.Height, s.plan.FPS, s.plan.Kbps
	return st
}

// Close frees the encoder.
func (s *Streamer) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.enc.Close()
}

// Run sends frames to p until ctx ends or p closes. Nothing is sent before
// the connection is up (pion would drop it); the first frame after that is a
// keyframe. Frames are paced at the plan's rate; a frame that takes longer
// than its slot makes the loop skip slots instead of queueing.
func (s *Streamer) Run(ctx context.Context, p *Peer) error {
	select {
	case <-ctx.Done():
		return nil
	case <-p.Done():
		return nil
	case <-p.Connected():
	}
	s.ForceKeyframe()
	start := s.cfg.Now()
	next := start
	last := time.Time{}
	var keyOwed bool      // the receiver asked for a keyframe
	var lastKey time.Time // when the last keyframe left, and its size
	lastKeyBytes := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Done():
			return nil
		case <-p.KeyframeRequests():
			keyOwed = true
			continue
		case <-timer.C:
		}
		now := s.cfg.Now()
		if keyOwed && now.Sub(lastKey) >= keyframeGap(lastKeyBytes, p.TargetBitrate()) {
			s.ForceKeyframe()
			keyOwed = false
		}
		var frames []vp8.Frame
		fps := s.planFPS()
		var err error
		if p.Pushback() && !s.keyframe.Load() && !last.IsZero() && now.Sub(last) < maxPushback {
			s.mu.Lock()
			s.stats.Pushback++
			s.mu.Unlock()
		} else {
			frames, fps, err = s.frame(p.TargetBitrate(), now.Sub(start))
		}
		switch {
		case errors.Is(err, vp8.ErrClosed):
			return nil
		case err != nil:
			s.log.Debug("video frame skipped", "err", err)
		}
		if len(frames) > 0 {
			// The RTP clock advances by the real gap, skipped ticks included.
			d := time.Second / time.Duration(fps)
			if !last.IsZero() {
				d = now.Sub(last)
			}
			first := last.IsZero()
			last = now
			if frames[0].Keyframe {
				lastKey, lastKeyBytes = now, 0
				for _, f := range frames {
					lastKeyBytes += len(f.Data)
				}
			}
			for _, f := range frames {
				if err := p.WriteFrame(f, d); err != nil && !errors.Is(err, ErrNotConnected) {
					return fmt.Errorf("video loop: %w", err)
				}
				d = 0
			}
			if first && s.cfg.OnFirstFrame != nil {
				s.cfg.OnFirstFrame(s.cfg.Now(), len(frames[0].Data))
			}
		}
		interval := time.Second / time.Duration(fps)
		next = next.Add(interval)
		if now2 := s.cfg.Now(); next.Before(now2) {
			next = now2 // late: drop the missed slots, never catch up in a burst
		}
		timer.Reset(next.Sub(s.cfg.Now()))
	}
}

// keyframeGap is how long after a keyframe of size bytes another may be
// sent for a receiver's request: twice the time the last one takes on the
// link at the estimate, 300 ms to 3 s. Measured through a 735 kbps
// bottleneck: a 720p keyframe of scrolling text did not fit the link's
// queue, arrived incomplete, the browser asked again before the resends
// could mend it, and the stream froze for 4 s, keyframe after keyframe.
func keyframeGap(bytes, bps int) time.Duration {
	if bps <= 0 {
		return 3 * time.Second
	}
	d := 2 * time.Duration(float64(bytes*8)/float64(bps)*float64(time.Second))
	return min(max(d, 300*time.Millisecond), 3*time.Second)
}

// maxPushback is the longest the sender holds back for the link: beyond
// it a frame goes anyway, so the professor never sees a freeze from it.
const maxPushback = 500 * time.Millisecond

func (s *Streamer) planFPS() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.plan.FPS, 1)
}

// frame captures, converts and encodes one frame for an estimate of bps,
// returning the encoded frames (none when the screen has not changed) and
// the frame rate to pace at.
func (s *Streamer) frame(bps int, pts time.Duration) ([]vp8.Frame, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.plan.FPS, vp8.ErrClosed
	}
	t0 := s.cfg.Now()
	prev := s.bufs[s.cur]
	img, err := s.src.CaptureInto(s.bufs[1-s.cur])
	if err != nil {
		s.stats.CaptureErrors++
		return nil, s.plan.FPS, fmt.Errorf("capturing: %w", err)
	}
	s.cur = 1 - s.cur
	s.bufs[s.cur] = img
	b := img.Bounds()
	if prev == nil || prev.Bounds() != b {
		s.whole = true
	}
	y0, y1 := 0, b.Dy()
	if !s.whole {
		y0, y1 = changedRows(prev, img)
	}
	s.stats.Captures++
	s.stats.Capture += s.cfg.Now().Sub(t0)
	if y0 < y1 {
		s.still = 0
	} else {
		s.still++
	}
	if s.still > s.cfg.RefineFrames && !s.keyframe.Load() {
		s.stats.Skipped++
		return nil, s.plan.FPS, nil
	}
	if err := s.adapt(bps, b.Dx(), b.Dy(), t0); err != nil {
		return nil, s.plan.FPS, err
	}
	if s.whole {
		y0, y1 = 0, b.Dy()
	}
	frames, err := s.encodeRows(img, pts, y0, y1)
	if err != nil {
		return nil, s.plan.FPS, err
	}
	for _, f := range frames {
		s.stats.Frames++
		s.stats.Bytes += int64(len(f.Data))
		if f.Keyframe {
			s.stats.Keyframes++
		}
	}
	return frames, s.plan.FPS, nil
}

// encodeLocked converts and encodes all of img (s.mu held).
func (s *Streamer) encodeLocked(img *image.RGBA, pts time.Duration) ([]vp8.Frame, error) {
	return s.encodeRows(img, pts, 0, img.Bounds().Dy())
}

// encodeRows brings rows y0..y1 of img into the I420 copy (the rest is
// unchanged since the last frame), scales it when the plan is smaller, and
// encodes it.
func (s *Streamer) encodeRows(img *image.RGBA, pts time.Duration, y0, y1 int) ([]vp8.Frame, error) {
	t1 := s.cfg.Now()
	b := img.Bounds()
	if s.full == nil || s.full.Rect.Dx() != b.Dx() || s.full.Rect.Dy() != b.Dy() {
		s.full = vp8.NewI420(b.Dx(), b.Dy())
		y0, y1 = 0, b.Dy()
	}
	y0 &^= 1                  // chroma rows cover two luma rows
	y1 = min(y1+y1&1, b.Dy()) // likewise
	if y0 < y1 {
		band := rowsI420(s.full, y0, y1)
		src := vp8.SourceFromRGBA(img)
		src.Pix = src.Pix[y0*src.Stride:]
		src.Height = y1 - y0
		if err := vp8.ToI420(band, src, 0); err != nil {
			return nil, fmt.Errorf("converting: %w", err)
		}
	}
	s.whole = false
	enc := s.full
	if s.plan.Width != b.Dx() || s.plan.Height != b.Dy() {
		if s.out == nil || s.out.Rect.Dx() != s.plan.Width || s.out.Rect.Dy() != s.plan.Height {
			s.out = vp8.NewI420(s.plan.Width, s.plan.Height)
		}
		if err := vp8.Scale(s.out, s.full, 0); err != nil {
			return nil, fmt.Errorf("scaling: %w", err)
		}
		enc = s.out
	}
	t2 := s.cfg.Now()
	frames, err := s.enc.Encode(enc, pts, s.keyframe.Swap(false))
	if err != nil {
		return nil, fmt.Errorf("encoding: %w", err)
	}
	s.stats.Convert += t2.Sub(t1)
	s.stats.Encode += s.cfg.Now().Sub(t2)
	return frames, nil
}

// rowsI420 is a view of rows y0..y1 (y0 even) of img as an image of its own.
func rowsI420(img *image.YCbCr, y0, y1 int) *image.YCbCr {
	return &image.YCbCr{
		Y:              img.Y[y0*img.YStride:],
		Cb:             img.Cb[y0/2*img.CStride:],
		Cr:             img.Cr[y0/2*img.CStride:],
		YStride:        img.YStride,
		CStride:        img.CStride,
		SubsampleRatio: img.SubsampleRatio,
		Rect:           image.Rect(0, 0, img.Rect.Dx(), y1-y0),
	}
}

// changedRows is the band of rows in which a and b (same bounds) differ;
// y0 == y1 when they are equal. Comparing whole rows costs about 1 ms at
// 1080p, far less than converting and encoding a frame nobody needs.
func changedRows(a, b *image.RGBA) (y0, y1 int) {
	h, w := a.Rect.Dy(), a.Rect.Dx()*4
	row := func(img *image.RGBA, y int) []byte { return img.Pix[y*img.Stride : y*img.Stride+w] }
	for y0 < h && bytes.Equal(row(a, y0), row(b, y0)) {
		y0++
	}
	if y0 == h {
		return 0, 0
	}
	y1 = h
	for y1 > y0 && bytes.Equal(row(a, y1-1), row(b, y1-1)) {
		y1--
	}
	return y0, y1
}

// adapt follows the estimate: bitrate at once, size at most every
// ResizeEvery (a new size costs a keyframe), and at once when the screen
// itself changed size.
func (s *Streamer) adapt(bps, srcW, srcH int, now time.Time) error {
	if w, h := fit(srcW, srcH, s.cfg.MaxWidth); w != s.encW || h != s.encH {
		// Another screen: an encoder for its size (libvpx cannot grow one).
		if err := s.newEncoder(srcW, srcH, bps); err != nil {
			return fmt.Errorf("new encoder for %dx%d: %w", srcW, srcH, err)
		}
		s.resized = now
		s.log.Info("video plan", "width", s.plan.Width, "height", s.plan.Height, "fps", s.plan.FPS, "kbps", s.plan.Kbps, "why", "screen size")
		return nil
	}
	p := PlanFor(bps, srcW, srcH, s.cfg.FPS, s.cfg.MaxWidth)
	cur := s.plan
	if diff := p.Kbps - cur.Kbps; diff*10 > cur.Kbps || -diff*10 > cur.Kbps {
		if err := s.enc.SetBitrate(p.Kbps); err != nil {
			return fmt.Errorf("setting bitrate: %w", err)
		}
		cur.Kbps = p.Kbps
	}
	cur.FPS = p.FPS
	if (p.Width != cur.Width || p.Height != cur.Height) && now.Sub(s.resized) >= s.cfg.ResizeEvery {
		if err := s.enc.SetSize(p.Width, p.Height); err != nil {
			return fmt.Errorf("resizing encoder: %w", err)
		}
		s.resized = now
		s.ForceKeyframe()
		s.log.Info("video plan", "width", p.Width, "height", p.Height, "fps", p.FPS, "kbps", p.Kbps, "why", "estimate")
		cur.Width, cur.Height = p.Width, p.Height
	}
	if cur.FPS != s.plan.FPS {
		s.log.Debug("video plan", "width", cur.Width, "height", cur.Height, "fps", cur.FPS, "kbps", cur.Kbps)
	}
	s.plan = cur
	return nil
}
