//go:build linux

package input

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/go-vgo/robotgo"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
)

// x11Injector moves and clicks through robotgo (cgo, XTest) and sends keys
// through its own XTest connection, resolving keysyms with the server's
// keyboard mapping. robotgo's key path is avoided on X11: it sleeps 10 ms per
// key (KeySleep), has no Hangul, Hanja or Menu key and silently sends keycode
// 0 for a keysym the layout lacks; here such a keysym is bound to a spare
// keycode first, so Hangul and Hanja reach the X server even on a US layout.
type x11Injector struct {
	conn  *xgb.Conn
	root  xproto.Window
	log   *slog.Logger
	stale atomic.Bool // a MappingNotify arrived: reread the keymap

	mu      sync.Mutex // Xlib (robotgo) is not thread-safe; guards the rest too
	km      xKeymap
	bound   map[uint32]int // keysyms we bound to spare keycodes
	spares  []int
	next    int          // round robin over spares when all are bound
	pressed map[int]bool // keycodes we hold down
}

// NewInjector connects to the X server. A Wayland session is refused with
// ErrWayland: XTest would only reach XWayland windows.
func NewInjector(o InjectorOptions) (SystemInjector, error) {
	getenv := o.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if getenv("WAYLAND_DISPLAY") != "" || getenv("XDG_SESSION_TYPE") == "wayland" {
		return nil, ErrWayland
	}
	display := o.Display
	if display == "" {
		display = getenv("DISPLAY")
	}
	if display == "" {
		return nil, errors.New("new injector: no X display (DISPLAY is empty)")
	}
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("new injector: connecting to X display %s: %w", display, err)
	}
	if err := xtest.Init(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("new injector: X display %s has no XTEST: %w", display, err)
	}
	x := &x11Injector{
		conn:    conn,
		root:    xproto.Setup(conn).DefaultScreen(conn).Root,
		log:     o.Logger,
		bound:   map[uint32]int{},
		pressed: map[int]bool{},
	}
	if err := x.readKeymap(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("new injector: %w", err)
	}
	x.spares = x.km.spare()
	go x.events()
	// Only after the X server answered: robotgo's Xlib falls back to other
	// displays and crashes on a NULL display.
	if err := robotgo.SetXDisplayName(display); err != nil {
		conn.Close()
		return nil, fmt.Errorf("new injector: robotgo display %s: %w", display, err)
	}
	return x, nil
}

// events drains the connection (xgb blocks replies when its event queue is
// full) and notes keymap changes.
func (x *x11Injector) events() {
	for {
		ev, err := x.conn.WaitForEvent()
		if ev == nil && err == nil {
			return // connection closed
		}
		if _, ok := ev.(xproto.MappingNotifyEvent); ok {
			x.stale.Store(true)
		}
	}
}

func (x *x11Injector) readKeymap() error {
	setup := xproto.Setup(x.conn)
	lo, hi := int(setup.MinKeycode), int(setup.MaxKeycode)
	r, err := xproto.GetKeyboardMapping(x.conn, xproto.Keycode(lo), byte(hi-lo+1)).Reply()
	if err != nil {
		return fmt.Errorf("reading the keyboard mapping: %w", err)
	}
	km := xKeymap{min: lo, per: int(r.KeysymsPerKeycode), keysyms: make([]uint32, len(r.Keysyms))}
	for i, ks := range r.Keysyms {
		km.keysyms[i] = uint32(ks)
	}
	x.km = km
	return nil
}

// keycodeFor finds the keycode that produces ks, binding a spare keycode when
// the layout has none (or, for text, has it only in a shifted column).
func (x *x11Injector) keycodeFor(ks uint32, text bool) (int, error) {
	if x.stale.Swap(false) {
		if err := x.readKeymap(); err != nil {
			return 0, err
		}
	}
	if kc, unshifted := x.km.keycode(ks); kc != 0 && (unshifted || !text) {
		return kc, nil
	}
	if kc, ok := x.bound[ks]; ok && x.km.keysyms[(kc-x.km.min)*x.km.per] == ks {
		return kc, nil
	}
	kc, err := x.spareKeycode()
	if err != nil {
		return 0, err
	}
	row := x.km.bind(kc, ks)
	syms := make([]xproto.Keysym, len(row))
	for i, s := range row {
		syms[i] = xproto.Keysym(s)
	}
	if err := xproto.ChangeKeyboardMappingChecked(x.conn, 1, xproto.Keycode(kc), byte(x.km.per), syms).Check(); err != nil {
		return 0, fmt.Errorf("binding keysym %#x to keycode %d: %w", ks, kc, err)
	}
	for k, c := range x.bound {
		if c == kc {
			delete(x.bound, k)
		}
	}
	x.bound[ks] = kc
	return kc, nil
}

func (x *x11Injector) spareKeycode() (int, error) {
	for range x.spares {
		kc := x.spares[x.next%len(x.spares)]
		x.next++
		if !x.pressed[kc] {
			return kc, nil
		}
	}
	return 0, fmt.Errorf("%w: no spare keycode to bind a keysym to", ErrUnsupportedKey)
}

func (x *x11Injector) fakeKey(kc int, down bool) error {
	typ := byte(xproto.KeyRelease)
	if down {
		typ = xproto.KeyPress
	}
	// Checked: the round trip keeps keys ordered with robotgo's pointer
	// events, which go through another connection.
	if err := xtest.FakeInputChecked(x.conn, typ, byte(kc), 0, x.root, 0, 0, 0).Check(); err != nil {
		return fmt.Errorf("XTest key %d: %w", kc, err)
	}
	if down {
		x.pressed[kc] = true
	} else {
		delete(x.pressed, kc)
	}
	return nil
}

func (x *x11Injector) Key(k Key, down bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	kc, err := x.keycodeFor(k.Keysym, false)
	if err != nil {
		return fmt.Errorf("key %s: %w", k.Code, err)
	}
	return x.fakeKey(kc, down)
}

func (x *x11Injector) Text(r rune) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	kc, err := x.keycodeFor(TextKeysym(r), true)
	if err != nil {
		return fmt.Errorf("text: %w", err)
	}
	if err := x.fakeKey(kc, true); err != nil {
		return err
	}
	return x.fakeKey(kc, false)
}

func (x *x11Injector) MoveTo(px, py int) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	robotgo.Move(px, py)
	return nil
}

func (x *x11Injector) Button(b string, down bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	dir := "up"
	if down {
		dir = "down"
	}
	if err := robotgo.Toggle(robotgoButton(b), dir); err != nil {
		return fmt.Errorf("button %s %s: %w", b, dir, err)
	}
	return nil
}

func (x *x11Injector) Wheel(dx, dy int) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	// robotgo: y > 0 is X button 4 (up), x > 0 button 6 (left); the
	// browser's signs are the other way round.
	robotgo.Scroll(-dx, -dy, 0)
	return nil
}

func (x *x11Injector) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	robotgo.CloseMainDisplay()
	x.conn.Close()
	return nil
}
