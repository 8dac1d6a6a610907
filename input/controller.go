package input

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/didacto/didacto/wire"
)

// Injector performs OS input. Positions are in the injector's coordinate space
// (see Screen). Implementations need not be safe for concurrent use: the
// Controller serializes calls.
type Injector interface {
	MoveTo(x, y int) error
	// Button presses or releases wire.ButtonLeft, ButtonMiddle or ButtonRight.
	Button(button string, down bool) error
	// Wheel scrolls by notches with the browser's signs: dy > 0 down, dx > 0 right.
	Wheel(dx, dy int) error
	// Key presses or releases a physical key; ErrUnsupportedKey (wrapped) when
	// the system cannot produce it.
	Key(k Key, down bool) error
	// Text types one character (press and release).
	Text(r rune) error
}

// staleWindow is how far back a move's seq may lie and still count as late
// rather than as a restarted counter.
const staleWindow = 1 << 10

// Options configure a Controller. Zero rates and bursts take the defaults.
type Options struct {
	Screen    Screen  // the streamed monitor
	MoveRate  float64 // moves and wheel events per second (default 500)
	MoveBurst int     // (default 100)
	KeyRate   float64 // key downs, button downs and double clicks per second (default 50)
	KeyBurst  int     // (default 50)
	Now       func() time.Time
	Logger    *slog.Logger
}

// Stats are a Controller's counters.
type Stats struct {
	Injected uint64            // events that reached the injector
	Dropped  map[string]uint64 // by reason: malformed, rate_limited, stale, unsupported_key, not_held, closed, inject_failed
	Held     int               // keys and buttons held now
}

// Controller applies the control events of one session. It is safe for
// concurrent use (moves and keys arrive on different channels). Releases
// (up, keyup, release_all) are never rate-limited, so nothing stays stuck.
type Controller struct {
	inj Injector
	now func() time.Time
	log *slog.Logger

	mu      sync.Mutex
	screen  Screen
	moves   *bucket
	actions *bucket
	keys    map[string]Key  // held keys by code
	buttons map[string]bool // held buttons
	stats   Stats
	lastMov uint64 // seq of the last applied move
	closed  bool
	stop    func() bool
}

// NewController starts controlling through inj. It releases everything it
// holds and stops accepting events when ctx ends or Close is called; it does
// not close inj, which the caller owns.
func NewController(ctx context.Context, inj Injector, opts Options) (*Controller, error) {
	if err := opts.Screen.validate(); err != nil {
		return nil, fmt.Errorf("new controller: %w", err)
	}
	if opts.MoveRate <= 0 {
		opts.MoveRate = 500
	}
	if opts.MoveBurst <= 0 {
		opts.MoveBurst = 100
	}
	if opts.KeyRate <= 0 {
		opts.KeyRate = 50
	}
	if opts.KeyBurst <= 0 {
		opts.KeyBurst = 50
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now()
	c := &Controller{
		inj:     inj,
		now:     opts.Now,
		log:     opts.Logger,
		screen:  opts.Screen,
		moves:   newBucket(opts.MoveRate, opts.MoveBurst, now),
		actions: newBucket(opts.KeyRate, opts.KeyBurst, now),
		keys:    map[string]Key{},
		buttons: map[string]bool{},
		stats:   Stats{Dropped: map[string]uint64{}},
	}
	c.mu.Lock() // the callback may run at once when ctx is already done
	c.stop = context.AfterFunc(ctx, func() { _ = c.Close() })
	c.mu.Unlock()
	return c, nil
}

// SetScreen changes the streamed monitor (the student switched screens).
func (c *Controller) SetScreen(s Screen) error {
	if err := s.validate(); err != nil {
		return fmt.Errorf("set screen: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.screen = s
	return nil
}

// HandleMessage decodes and applies one message from a DataChannel or the
// signaling relay. A dropped event is counted and returned as an error
// wrapping one of the Err* reasons; the caller just carries on.
func (c *Controller) HandleMessage(b []byte) error {
	ev, err := wire.DecodeControl(b)
	if err != nil {
		err = fmt.Errorf("%w: %w", ErrMalformed, err)
		c.mu.Lock()
		c.drop(err)
		c.mu.Unlock()
		return err
	}
	return c.Handle(ev)
}

// Handle validates and applies one event (see HandleMessage).
func (c *Controller) Handle(ev wire.ControlEvent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.handle(ev)
	if err != nil {
		c.drop(err)
	}
	return err
}

func (c *Controller) drop(err error) {
	reason := dropReason(err)
	c.stats.Dropped[reason]++
	// Never log key names or text: the student may be typing a password.
	c.log.Debug("control event dropped", "reason", reason)
}

func (c *Controller) handle(ev wire.ControlEvent) error {
	if c.closed {
		return ErrClosed
	}
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	now := c.now()
	switch ev.Type {
	case wire.ControlMove:
		// Moves travel unordered: one older than the last applied would jump
		// the pointer back. A much smaller seq means the console restarted
		// its counter, so it is taken.
		if ev.Seq != 0 && ev.Seq <= c.lastMov && c.lastMov-ev.Seq < staleWindow {
			return ErrStale
		}
		if !c.moves.allow(now) {
			return ErrRateLimited
		}
		if ev.Seq != 0 {
			c.lastMov = ev.Seq
		}
		return c.moveTo(ev)
	case wire.ControlWheel:
		if !c.moves.allow(now) {
			return ErrRateLimited
		}
		if err := c.moveTo(ev); err != nil {
			return err
		}
		return c.injected(c.inj.Wheel(ev.DX, ev.DY))
	case wire.ControlDown:
		if !c.actions.allow(now) {
			return ErrRateLimited
		}
		if err := c.moveTo(ev); err != nil {
			return err
		}
		if err := c.injected(c.inj.Button(ev.Button, true)); err != nil {
			return err
		}
		c.buttons[ev.Button] = true
		return nil
	case wire.ControlUp:
		if !c.buttons[ev.Button] {
			return ErrNotHeld
		}
		delete(c.buttons, ev.Button)
		if err := c.moveTo(ev); err != nil {
			_ = c.inj.Button(ev.Button, false)
			return err
		}
		return c.injected(c.inj.Button(ev.Button, false))
	case wire.ControlDblClick:
		if !c.actions.allow(now) {
			return ErrRateLimited
		}
		if err := c.moveTo(ev); err != nil {
			return err
		}
		if c.buttons[ev.Button] { // a click needs the button up first
			delete(c.buttons, ev.Button)
			if err := c.inj.Button(ev.Button, false); err != nil {
				return c.injected(err)
			}
		}
		for _, down := range []bool{true, false, true, false} {
			if err := c.inj.Button(ev.Button, down); err != nil {
				return c.injected(err)
			}
		}
		return c.injected(nil)
	case wire.ControlKeyDown:
		if !c.actions.allow(now) {
			return ErrRateLimited
		}
		c.syncMods(ev)
		if !wire.KnownKeyCode(ev.Code) {
			r, _ := ev.TextRune() // Validate made sure there is one
			return c.injected(c.inj.Text(r))
		}
		k, ok := LookupKey(ev.Code)
		if !ok {
			return ErrUnsupportedKey
		}
		if err := c.injected(c.inj.Key(k, true)); err != nil {
			return err
		}
		c.keys[k.Code] = k
		return nil
	case wire.ControlKeyUp:
		c.syncMods(ev)
		if !wire.KnownKeyCode(ev.Code) {
			return nil // text was typed whole at keydown
		}
		k, held := c.keys[ev.Code]
		if !held {
			return ErrNotHeld
		}
		delete(c.keys, ev.Code)
		return c.injected(c.inj.Key(k, false))
	case wire.ControlReleaseAll:
		return c.releaseAll()
	}
	return fmt.Errorf("%w: type %q", ErrMalformed, ev.Type) // unreachable after Validate
}

// injected counts a successful injection or wraps a failure.
func (c *Controller) injected(err error) error {
	if err != nil {
		if errors.Is(err, ErrUnsupportedKey) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrInject, err)
	}
	c.stats.Injected++
	return nil
}

func (c *Controller) moveTo(ev wire.ControlEvent) error {
	x, y := c.screen.Point(ev.X, ev.Y)
	if err := c.inj.MoveTo(x, y); err != nil {
		return fmt.Errorf("%w: %w", ErrInject, err)
	}
	if ev.Type == wire.ControlMove {
		c.stats.Injected++
	}
	return nil
}

// syncMods lets go of held modifiers the browser says are no longer down: a
// keyup the console never saw (the tab lost focus) must not leave Shift stuck.
// Only releases: pressing a modifier is the console's keydown to send.
func (c *Controller) syncMods(ev wire.ControlEvent) {
	for code, k := range c.keys {
		if k.Mod != 0 && ev.Mods&k.Mod == 0 && code != ev.Code {
			delete(c.keys, code)
			if err := c.inj.Key(k, false); err != nil {
				c.log.Warn("releasing a modifier failed", "err", err)
			}
		}
	}
}

// ReleaseAll lets go of every held key and button.
func (c *Controller) ReleaseAll() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.releaseAll()
}

func (c *Controller) releaseAll() error {
	var errs []error
	for b := range c.buttons {
		if err := c.inj.Button(b, false); err != nil {
			errs = append(errs, fmt.Errorf("releasing %s button: %w", b, err))
		}
	}
	clear(c.buttons)
	// Ordinary keys first, modifiers last, as a person would let go.
	for _, mods := range []bool{false, true} {
		for code, k := range c.keys {
			if (k.Mod != 0) != mods {
				continue
			}
			if err := c.inj.Key(k, false); err != nil {
				errs = append(errs, fmt.Errorf("releasing a key: %w", err))
			}
			delete(c.keys, code)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInject, err)
	}
	return nil
}

// Close releases everything held and refuses further events. It is
// idempotent; the session calls it when the channel closes or the peer leaves.
func (c *Controller) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stop() // does not wait for the callback, so no deadlock under mu
	if c.closed {
		return nil
	}
	c.closed = true
	return c.releaseAll()
}

// Stats returns a copy of the counters.
func (c *Controller) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Dropped = maps.Clone(c.stats.Dropped)
	s.Held = len(c.keys) + len(c.buttons)
	return s
}
