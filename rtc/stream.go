package rtc

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
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
	StartKbps int // encoder bitrate before the first estimate (default DefaultStartKbps)
	Threads   int // encoder threads (default: rtc/vp8's choice)
	// ResizeEvery limits how often the resolution follows the estimate
	// (each change costs a keyframe; default 3 s).
	ResizeEvery time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// StreamStats are a Streamer's counters.
type StreamStats struct {
	Frames, Keyframes, Bytes int64
	CaptureErrors            int64
	Capture, Convert, Encode time.Duration // totals over Frames
	Width, Height, FPS, Kbps int           // current plan
}

// Streamer turns the screen into the peer's VP8 track.
type Streamer struct {
	cfg StreamConfig
	log *slog.Logger

	mu      sync.Mutex // guards everything below
	src     Source
	enc     *vp8.Encoder
	rgba    *image.RGBA
	full    *image.YCbCr // the capture in I420
	out     *image.YCbCr // scaled for the encoder (== full when not scaled)
	plan    Plan
	resized time.Time
	stats   StreamStats
	closed  bool
}

// NewStreamer grabs one frame to learn the screen size and creates the
// encoder, so that the first keyframe is not delayed by encoder setup once
// the connection is up.
func NewStreamer(src Source, cfg StreamConfig) (*Streamer, error) {
	if cfg.FPS <= 0 {
		cfg.FPS = 30
	}
	if cfg.MaxWidth <= 0 {
		cfg.MaxWidth = 1920
	}
	if cfg.StartKbps <= 0 {
		cfg.StartKbps = DefaultStartKbps
	}
	if cfg.ResizeEvery <= 0 {
		cfg.ResizeEvery = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Streamer{cfg: cfg, log: cfg.Logger, src: src}
	img, err := src.CaptureInto(nil)
	if err != nil {
		return nil, fmt.Errorf("new streamer: first capture: %w", err)
	}
	s.rgba = img
	b := img.Bounds()
	s.plan = PlanFor(cfg.StartKbps*1000, b.Dx(), b.Dy(), cfg.FPS, cfg.MaxWidth)
	s.enc, err = vp8.NewEncoder(vp8.Config{
		Width: s.plan.Width, Height: s.plan.Height, FPS: s.plan.FPS, BitrateKbps: s.plan.Kbps,
		Threads: cfg.Threads, CPUUsed: 8, ScreenContent: true,
	})
	if err != nil {
		return nil, fmt.Errorf("new streamer: %w", err)
	}
	s.resized = cfg.Now()
	return s, nil
}

// SetSource switches to another screen from the next frame on.
func (s *Streamer) SetSource(src Source) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.src = src
	s.enc.ForceKeyframe()
}

// ForceKeyframe makes the next frame a keyframe.
func (s *Streamer) ForceKeyframe() { s.enc.ForceKeyframe() }

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
	s.enc.ForceKeyframe()
	start := s.cfg.Now()
	next := start
	last := time.Time{}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-p.Done():
			return nil
		case <-p.KeyframeRequests():
			s.enc.ForceKeyframe()
			continue
		case <-timer.C:
		}
		now := s.cfg.Now()
		frames, fps, err := s.frame(p.TargetBitrate(), now.Sub(start))
		switch {
		case errors.Is(err, vp8.ErrClosed):
			return nil
		case err != nil:
			s.log.Debug("video frame skipped", "err", err)
		}
		if len(frames) > 0 {
			d := time.Second / time.Duration(fps)
			if !last.IsZero() {
				d = now.Sub(last)
			}
			last = now
			for _, f := range frames {
				if err := p.WriteFrame(f, d); err != nil && !errors.Is(err, ErrNotConnected) {
					return fmt.Errorf("video loop: %w", err)
				}
				d = 0
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

// frame captures, converts and encodes one frame for an estimate of bps,
// returning the encoded frames and the frame rate to pace at.
func (s *Streamer) frame(bps int, pts time.Duration) ([]vp8.Frame, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.plan.FPS, vp8.ErrClosed
	}
	t0 := s.cfg.Now()
	img, err := s.src.CaptureInto(s.rgba)
	if err != nil {
		s.stats.CaptureErrors++
		return nil, s.plan.FPS, fmt.Errorf("capturing: %w", err)
	}
	s.rgba = img
	t1 := s.cfg.Now()
	b := img.Bounds()
	if err := s.adapt(bps, b.Dx(), b.Dy(), t1); err != nil {
		return nil, s.plan.FPS, err
	}
	if s.full == nil || s.full.Rect.Dx() != b.Dx() || s.full.Rect.Dy() != b.Dy() {
		s.full = vp8.NewI420(b.Dx(), b.Dy())
	}
	if err := vp8.ToI420(s.full, vp8.SourceFromRGBA(img), 0); err != nil {
		return nil, s.plan.FPS, fmt.Errorf("converting: %w", err)
	}
	enc := s.full
	if s.plan.Width != b.Dx() || s.plan.Height != b.Dy() {
		if s.out == nil || s.out.Rect.Dx() != s.plan.Width || s.out.Rect.Dy() != s.plan.Height {
			s.out = vp8.NewI420(s.plan.Width, s.plan.Height)
		}
		if err := vp8.Scale(s.out, s.full, 0); err != nil {
			return nil, s.plan.FPS, fmt.Errorf("scaling: %w", err)
		}
		enc = s.out
	}
	t2 := s.cfg.Now()
	frames, err := s.enc.Encode(enc, pts, false)
	if err != nil {
		return nil, s.plan.FPS, fmt.Errorf("encoding: %w", err)
	}
	t3 := s.cfg.Now()
	s.stats.Capture += t1.Sub(t0)
	s.stats.Convert += t2.Sub(t1)
	s.stats.Encode += t3.Sub(t2)
	for _, f := range frames {
		s.stats.Frames++
		s.stats.Bytes += int64(len(f.Data))
		if f.Keyframe {
			s.stats.Keyframes++
		}
	}
	return frames, s.plan.FPS, nil
}

// adapt follows the estimate: bitrate at once, size at most every
// ResizeEvery (a new size costs a keyframe), and at once when the screen
// itself changed size.
func (s *Streamer) adapt(bps, srcW, srcH int, now time.Time) error {
	p := PlanFor(bps, srcW, srcH, s.cfg.FPS, s.cfg.MaxWidth)
	cur := s.plan
	if diff := p.Kbps - cur.Kbps; diff*10 > cur.Kbps || -diff*10 > cur.Kbps {
		if err := s.enc.SetBitrate(p.Kbps); err != nil {
			return fmt.Errorf("setting bitrate: %w", err)
		}
		cur.Kbps = p.Kbps
	}
	cur.FPS = p.FPS
	ew, eh := s.enc.Size()
	srcChanged := s.full != nil && (s.full.Rect.Dx() != srcW || s.full.Rect.Dy() != srcH)
	if (p.Width != ew || p.Height != eh) && (srcChanged || now.Sub(s.resized) >= s.cfg.ResizeEvery || s.full == nil) {
		if err := s.enc.SetSize(p.Width, p.Height); err != nil {
			return fmt.Errorf("resizing encoder: %w", err)
		}
		s.resized = now
		ew, eh = p.Width, p.Height
	}
	cur.Width, cur.Height = ew, eh
	if cur.FPS != s.plan.FPS || cur.Width != s.plan.Width {
		s.log.Debug("video plan", "width", cur.Width, "height", cur.Height, "fps", cur.FPS, "kbps", cur.Kbps)
	}
	s.plan = cur
	return nil
}
