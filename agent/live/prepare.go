package live

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/rtc"
)

// prepared is the screen side of a session, made ready before it is
// needed: the screen list, a capturer on the primary screen, and a streamer
// whose encoder has already coded one frame. Getting there takes 50-250 ms
// on two cores (1080p), mostly libvpx's set-up. The runner starts it when a
// professor joins the room, about 100 ms before their offer arrives, and a
// session answers the offer without waiting for it: ICE and DTLS take about
// as long, so the first keyframe leaves as soon as the connection is up.
type prepared struct {
	epoch   int64 // the professor session it was made for
	screens []capture.Screen
	current int // index of the captured screen in screens
	made    time.Time

	done     chan struct{} // closed when capt and streamer (or err) are set
	ready    time.Time     // when done closed
	err      error
	streamer *rtc.Streamer
	onFirst  atomic.Pointer[func(time.Time, int)]

	mu     sync.Mutex // guards capt (a session may switch screens) and closed
	capt   *capture.Capturer
	closed bool
}

// prepare lists the screens at once (a few ms) and builds the capturer and
// streamer in the background.
func (r *Runner) prepare(epoch int64) (*prepared, error) {
	probe, err := capture.New(capture.Options{Screen: capture.AllScreens, Display: r.cfg.Display})
	if err != nil {
		return nil, fmt.Errorf("opening capture: %w", err)
	}
	screens, err := probe.Screens()
	_ = probe.Close()
	if err != nil {
		return nil, fmt.Errorf("listing screens: %w", err)
	}
	if len(screens) == 0 {
		return nil, fmt.Errorf("listing screens: none")
	}
	p := &prepared{epoch: epoch, screens: screens, made: time.Now(), done: make(chan struct{})}
	for i, sc := range screens {
		if sc.Primary {
			p.current = i
			break
		}
	}
	scfg := r.cfg.Stream
	if scfg.Logger == nil {
		scfg.Logger = r.log.With("epoch", epoch)
	}
	scfg.OnFirstFrame = func(at time.Time, n int) {
		if f := p.onFirst.Load(); f != nil {
			(*f)(at, n)
		}
	}
	go func() {
		defer func() {
			p.ready = time.Now()
			close(p.done)
		}()
		capt, err := capture.New(capture.Options{Screen: p.current, Display: r.cfg.Display})
		if err != nil {
			p.err = fmt.Errorf("opening capture: %w", err)
			return
		}
		st, err := rtc.NewStreamer(capt, scfg)
		if err != nil {
			_ = capt.Close()
			p.err = err
			return
		}
		p.mu.Lock()
		p.capt, p.streamer = capt, st
		p.mu.Unlock()
	}()
	return p, nil
}

// size is the captured screen's size.
func (p *prepared) size() (w, h int) {
	r := p.screens[p.current].Rect
	return r.Dx(), r.Dy()
}

// wait returns once the streamer is ready (or failed, or ctx ended).
func (p *prepared) wait(ctx context.Context) error {
	select {
	case <-p.done:
		return p.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// setCapturer makes capt the one to close with the rest; it returns the
// previous one, or false when p is closed already (capt is then the
// caller's to close).
func (p *prepared) setCapturer(capt *capture.Capturer) (*capture.Capturer, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false
	}
	old := p.capt
	p.capt = capt
	return old, true
}

// close frees the streamer and the capturer once they exist. It is
// idempotent.
func (p *prepared) close() {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.streamer != nil {
		_ = p.streamer.Close()
	}
	if p.capt != nil {
		_ = p.capt.Close()
	}
}
