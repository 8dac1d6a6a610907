//go:build linux

package lockscreen

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/randr"
	"github.com/jezek/xgb/xproto"
)

// WindowName is the lock windows' WM_NAME (tests and admins find them by it).
const WindowName = "DIDACTO screen lock"

// keepEvery is how often the lock re-asserts itself: on top of every
// other window, and holding the grabs (a client may have taken them while
// it was briefly grabbed elsewhere).
const keepEvery = 250 * time.Millisecond

// Screen is the lock of one X display. It is safe for concurrent use.
type Screen struct {
	conn *xgb.Conn
	root xproto.Window
	bgrx bool
	// maxRows turns the server's request limit into rows of one PutImage.
	maxBytes int

	mu      sync.Mutex
	wins    []lockWindow
	spec    *Spec
	grabbed bool
	closed  bool

	// raiseNow asks keep to raise the windows at once. The event reader
	// must never wait for mu: a request made under mu waits for its reply,
	// which xgb delivers only after the events before it were taken.
	raiseNow chan struct{}

	stop context.CancelFunc
	wg   sync.WaitGroup
}

type lockWindow struct {
	win  xproto.Window
	pix  xproto.Pixmap
	rect image.Rectangle
}

// Open connects to the X display ("" is $DISPLAY). Wayland sessions are
// refused with ErrUnsupported (XWayland is not the desktop).
func Open(ctx context.Context, display string) (*Screen, error) {
	if os.Getenv("WAYLAND_DISPLAY") != "" || os.Getenv("XDG_SESSION_TYPE") == "wayland" {
		return nil, fmt.Errorf("%w (a Wayland session)", ErrUnsupported)
	}
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("lockscreen: connecting to the X display %q: %w", display, err)
	}
	setup := xproto.Setup(conn)
	s := &Screen{conn: conn, root: setup.DefaultScreen(conn).Root, bgrx: setup.ImageByteOrder == xproto.ImageOrderLSBFirst,
		maxBytes: int(setup.MaximumRequestLength)*4 - 64, raiseNow: make(chan struct{}, 1)}
	if setup.DefaultScreen(conn).RootDepth < 24 {
		conn.Close()
		return nil, fmt.Errorf("%w (a %d-bit display)", ErrUnsupported, setup.DefaultScreen(conn).RootDepth)
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.wg.Add(2)
	go func() { defer s.wg.Done(); s.drainEvents() }()
	go func() { defer s.wg.Done(); s.keep(ctx) }()
	return s, nil
}

// drainEvents reads what the server sends (visibility changes, the input
// the grabs swallow) until the connection closes: a window covered by
// another is raised again at once.
func (s *Screen) drainEvents() {
	for {
		ev, err := s.conn.WaitForEvent()
		if ev == nil && err == nil {
			return // closed
		}
		if v, ok := ev.(xproto.VisibilityNotifyEvent); ok && v.State != xproto.VisibilityUnobscured {
			select {
			case s.raiseNow <- struct{}{}:
			default:
			}
		}
	}
}

func (s *Screen) keep(ctx context.Context) {
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.raiseNow:
			s.mu.Lock()
			s.raise()
			s.mu.Unlock()
		case <-t.C:
			s.mu.Lock()
			if len(s.wins) > 0 {
				s.raise()
				_ = s.grab(0)
			}
			s.mu.Unlock()
		}
	}
}

// Show puts spec on every monitor (nil lifts the lock). Showing the same
// spec again only re-asserts it. It fails when the input cannot be held
// (another program holds a grab for over 2 s); the windows stay up then.
func (s *Screen) Show(spec *Spec) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("lockscreen: closed")
	}
	if spec == nil {
		s.lift()
		return nil
	}
	if s.spec == nil || *s.spec != *spec || len(s.wins) == 0 {
		s.lift()
		if err := s.cover(*spec); err != nil {
			s.lift()
			return err
		}
		c := *spec
		s.spec = &c
	}
	s.raise()
	return s.grab(2 * time.Second)
}

// Locked reports whether the lock is up.
func (s *Screen) Locked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.wins) > 0
}

// Close lifts the lock and disconnects.
func (s *Screen) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.lift()
		s.conn.Close()
	}
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
	return nil
}

// monitors lists the monitors' rectangles (RandR 1.5), or the root.
func (s *Screen) monitors() ([]image.Rectangle, error) {
	g, err := xproto.GetGeometry(s.conn, xproto.Drawable(s.root)).Reply()
	if err != nil {
		return nil, fmt.Errorf("lockscreen: root geometry: %w", err)
	}
	root := image.Rect(0, 0, int(g.Width), int(g.Height))
	var out []image.Rectangle
	if randr.Init(s.conn) == nil && randrMonitors(s.conn) {
		if m, err := randr.GetMonitors(s.conn, s.root, true).Reply(); err == nil {
			for _, mi := range m.Monitors {
				if r := image.Rect(int(mi.X), int(mi.Y), int(mi.X)+int(mi.Width), int(mi.Y)+int(mi.Height)).Intersect(root); !r.Empty() {
					out = append(out, r)
				}
			}
		}
	}
	out = distinct(out)
	if len(out) == 0 {
		out = []image.Rectangle{root}
	}
	return out, nil
}

// distinct drops mirrored monitors (the same rectangle twice) and a
// monitor that holds others (Xvfb's whole-screen output beside monitors
// set on it): each place gets one lock, centred on a real monitor.
func distinct(rs []image.Rectangle) []image.Rectangle {
	var out []image.Rectangle
	for i, r := range rs {
		keep := true
		for j, o := range rs {
			if i != j && ((o == r && j < i) || (o != r && o.In(r))) {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, r)
		}
	}
	return out
}

// randrMonitors negotiates RandR 1.5, which lists monitors (a server
// answers a client that did not ask for 1.5 as an older one).
func randrMonitors(conn *xgb.Conn) bool {
	v, err := randr.QueryVersion(conn, 1, 5).Reply()
	return err == nil && (v.MajorVersion > 1 || v.MinorVersion >= 5)
}

// cover creates, paints and maps one window per monitor.
func (s *Screen) cover(spec Spec) error {
	rects, err := s.monitors()
	if err != nil {
		return err
	}
	depth := xproto.Setup(s.conn).DefaultScreen(s.conn).RootDepth
	for _, r := range rects {
		w, err := s.window(spec, r, depth)
		if err != nil {
			return err
		}
		s.wins = append(s.wins, w)
	}
	for _, w := range s.wins {
		if err := xproto.MapWindowChecked(s.conn, w.win).Check(); err != nil {
			return fmt.Errorf("lockscreen: showing the lock: %w", err)
		}
	}
	s.announce()
	return nil
}

// lockProperty is capture.LockProperty: set on the root window to the
// lock's windows, so the agent's capture shows the professor the desktop
// under the lock rather than the lock (TestCaptureSeesUnderTheLock).
const lockProperty = "_DIDACTO_SCREEN_LOCK"

func (s *Screen) propertyAtom() xproto.Atom {
	a, err := xproto.InternAtom(s.conn, false, uint16(len(lockProperty)), lockProperty).Reply()
	if err != nil {
		return 0
	}
	return a.Atom
}

// announce lists the lock's windows on the root window.
func (s *Screen) announce() {
	atom := s.propertyAtom()
	if atom == 0 {
		return
	}
	ids := make([]byte, 0, 4*len(s.wins))
	for _, w := range s.wins {
		v := uint32(w.win)
		ids = append(ids, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	xproto.ChangeProperty(s.conn, xproto.PropModeReplace, s.root, atom, xproto.AtomWindow, 32, uint32(len(s.wins)), ids)
}

func (s *Screen) window(spec Spec, r image.Rectangle, depth byte) (lockWindow, error) {
	var lw lockWindow
	lw.rect = r
	pix, err := xproto.NewPixmapId(s.conn)
	if err != nil {
		return lw, fmt.Errorf("lockscreen: %w", err)
	}
	if err := xproto.CreatePixmapChecked(s.conn, depth, pix, xproto.Drawable(s.root), uint16(r.Dx()), uint16(r.Dy())).Check(); err != nil {
		return lw, fmt.Errorf("lockscreen: a %dx%d picture: %w", r.Dx(), r.Dy(), err)
	}
	lw.pix = pix
	if err := s.paint(pix, Render(spec, r.Size()), depth); err != nil {
		xproto.FreePixmap(s.conn, pix)
		return lw, err
	}
	win, err := xproto.NewWindowId(s.conn)
	if err != nil {
		xproto.FreePixmap(s.conn, pix)
		return lw, fmt.Errorf("lockscreen: %w", err)
	}
	mask := uint32(xproto.CwBackPixmap | xproto.CwOverrideRedirect | xproto.CwEventMask)
	values := []uint32{uint32(pix), 1, xproto.EventMaskVisibilityChange | xproto.EventMaskKeyPress | xproto.EventMaskButtonPress}
	if err := xproto.CreateWindowChecked(s.conn, 0, win, s.root, int16(r.Min.X), int16(r.Min.Y), uint16(r.Dx()), uint16(r.Dy()), 0,
		xproto.WindowClassInputOutput, 0, mask, values).Check(); err != nil {
		xproto.FreePixmap(s.conn, pix)
		return lw, fmt.Errorf("lockscreen: creating the lock window: %w", err)
	}
	lw.win = win
	xproto.ChangeProperty(s.conn, xproto.PropModeReplace, win, xproto.AtomWmName, xproto.AtomString, 8,
		uint32(len(WindowName)), []byte(WindowName))
	return lw, nil
}

// paint uploads img into pix, in strips that fit one request.
func (s *Screen) paint(pix xproto.Pixmap, img *image.RGBA, depth byte) error {
	gc, err := xproto.NewGcontextId(s.conn)
	if err != nil {
		return fmt.Errorf("lockscreen: %w", err)
	}
	xproto.CreateGC(s.conn, gc, xproto.Drawable(pix), 0, nil)
	defer xproto.FreeGC(s.conn, gc)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	rows := max(1, s.maxBytes/(w*4))
	buf := make([]byte, 0, rows*w*4)
	for y0 := 0; y0 < h; y0 += rows {
		n := min(rows, h-y0)
		buf = buf[:n*w*4]
		for y := 0; y < n; y++ {
			src := img.Pix[(y0+y)*img.Stride : (y0+y)*img.Stride+w*4]
			dst := buf[y*w*4 : (y+1)*w*4]
			for i := 0; i < len(src); i += 4 {
				if s.bgrx {
					dst[i], dst[i+1], dst[i+2], dst[i+3] = src[i+2], src[i+1], src[i], 0
				} else {
					dst[i], dst[i+1], dst[i+2], dst[i+3] = 0, src[i], src[i+1], src[i+2]
				}
			}
		}
		if err := xproto.PutImageChecked(s.conn, xproto.ImageFormatZPixmap, xproto.Drawable(pix), gc, uint16(w), uint16(n), 0, int16(y0),
			0, depth, buf).Check(); err != nil {
			return fmt.Errorf("lockscreen: painting the lock: %w", err)
		}
	}
	return nil
}

// raise puts the lock windows above every other window.
func (s *Screen) raise() {
	for _, w := range s.wins {
		xproto.ConfigureWindow(s.conn, w.win, xproto.ConfigWindowStackMode, []uint32{xproto.StackModeAbove})
	}
}

// grab holds keyboard and pointer on the first lock window, retrying for
// up to wait while another client holds them.
func (s *Screen) grab(wait time.Duration) error {
	if len(s.wins) == 0 {
		return nil
	}
	win := s.wins[0].win
	deadline := time.Now().Add(wait)
	for {
		k, kerr := xproto.GrabKeyboard(s.conn, false, win, xproto.TimeCurrentTime, xproto.GrabModeAsync, xproto.GrabModeAsync).Reply()
		p, perr := xproto.GrabPointer(s.conn, false, win, xproto.EventMaskButtonPress|xproto.EventMaskButtonRelease,
			xproto.GrabModeAsync, xproto.GrabModeAsync, 0, 0, xproto.TimeCurrentTime).Reply()
		if kerr == nil && perr == nil && k.Status == xproto.GrabStatusSuccess && p.Status == xproto.GrabStatusSuccess {
			s.grabbed = true
			return nil
		}
		if time.Now().After(deadline) {
			s.grabbed = false
			return fmt.Errorf("lockscreen: another program holds the keyboard or mouse (keyboard %v %v, pointer %v %v)",
				grabStatus(k), kerr, grabStatus(p), perr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func grabStatus[T *xproto.GrabKeyboardReply | *xproto.GrabPointerReply](r T) string {
	if r == nil {
		return "no reply"
	}
	var st byte
	switch v := any(r).(type) {
	case *xproto.GrabKeyboardReply:
		st = v.Status
	case *xproto.GrabPointerReply:
		st = v.Status
	}
	return [...]string{"success", "already grabbed", "invalid time", "not viewable", "frozen"}[min(int(st), 4)]
}

// lift destroys the windows and releases the grabs.
func (s *Screen) lift() {
	if len(s.wins) > 0 {
		xproto.UngrabKeyboard(s.conn, xproto.TimeCurrentTime)
		xproto.UngrabPointer(s.conn, xproto.TimeCurrentTime)
		if atom := s.propertyAtom(); atom != 0 {
			xproto.DeleteProperty(s.conn, s.root, atom)
		}
	}
	for _, w := range s.wins {
		xproto.DestroyWindow(s.conn, w.win)
		xproto.FreePixmap(s.conn, w.pix)
	}
	s.wins, s.spec, s.grabbed = nil, nil, false
	// A round trip, so the server has done it when Show returns.
	_, _ = xproto.GetInputFocus(s.conn).Reply()
}
