//go:build linux

package capture

import (
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/randr"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

// Capturer grabs the screen of one X11 display over one persistent
// connection, reconnecting on the next call after the connection breaks.
// It is safe for concurrent use (calls are serialized).
type Capturer struct {
	mu      sync.Mutex
	opts    Options
	display string
	closed  bool
	x       *xconn // nil until (re)connected
}

// xconn is one live connection and what was learnt about the server.
type xconn struct {
	conn      *xgb.Conn
	root      xproto.Window
	bgrx      bool // LSB-first 32-bit pixels: bytes are B,G,R,X
	hasRandR  bool // RandR 1.5 monitors
	useSHM    bool
	seg       shm.Seg
	segID     int
	segData   []byte
	segBroken bool
	lock      underLock // the desktop under a classroom lock
}

// New checks the session (Wayland is refused with ErrWayland) and connects to
// the X display.
func New(opts Options) (*Capturer, error) {
	getenv := opts.getenv
	if opts.Display != "" {
		getenv = func(k string) string {
			if k == "DISPLAY" {
				return opts.Display
			}
			return opts.getenv(k)
		}
	}
	if err := CheckSession(getenv); err != nil {
		return nil, err
	}
	c := &Capturer{opts: opts, display: getenv("DISPLAY")}
	if _, err := c.connect(); err != nil {
		return nil, err
	}
	return c, nil
}

// SHM reports whether frames currently travel through MIT-SHM.
func (c *Capturer) SHM() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.x != nil && c.x.useSHM && !c.x.segBroken
}

func (c *Capturer) connect() (*xconn, error) {
	if c.closed {
		return nil, ErrClosed
	}
	if c.x != nil {
		return c.x, nil
	}
	conn, err := xgb.NewConnDisplay(c.display)
	if err != nil {
		return nil, fmt.Errorf("capture: connecting to X display %q: %w", c.display, err)
	}
	setup := xproto.Setup(conn)
	scr := setup.DefaultScreen(conn)
	bpp := 0
	for _, f := range setup.PixmapFormats {
		if f.Depth == scr.RootDepth {
			bpp = int(f.BitsPerPixel)
		}
	}
	if bpp != 32 || scr.RootDepth < 24 {
		conn.Close()
		return nil, fmt.Errorf("capture: X display %q has depth %d at %d bits per pixel; only 24/32-bit true colour is supported", c.display, scr.RootDepth, bpp)
	}
	x := &xconn{conn: conn, root: scr.Root, bgrx: setup.ImageByteOrder == xproto.ImageOrderLSBFirst}
	if randr.Init(conn) == nil {
		if v, err := randr.QueryVersion(conn, 1, 5).Reply(); err == nil && (v.MajorVersion > 1 || v.MinorVersion >= 5) {
			x.hasRandR = true
		}
	}
	if !c.opts.NoSHM && shm.Init(conn) == nil {
		if _, err := shm.QueryVersion(conn).Reply(); err == nil {
			x.useSHM = true
		}
	}
	c.x = x
	return x, nil
}

// drop forgets a broken connection; the next call reconnects.
func (c *Capturer) drop() {
	if c.x == nil {
		return
	}
	c.x.freeSegment()
	c.x.conn.Close()
	c.x = nil
}

// Close releases the connection. Later calls return ErrClosed.
func (c *Capturer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop()
	c.closed = true
	return nil
}

// Screens lists the monitors (RandR 1.5), or the whole root window as one
// screen when RandR is not available.
func (c *Capturer) Screens() ([]Screen, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, err := c.connect()
	if err != nil {
		return nil, err
	}
	s, err := x.screens()
	if err != nil {
		c.dropIfBroken(err)
		return nil, err
	}
	return s, nil
}

// dropIfBroken drops the connection unless err is an X protocol error (which
// leaves the connection usable).
func (c *Capturer) dropIfBroken(err error) {
	var xe xgb.Error
	if !errors.As(err, &xe) {
		c.drop()
	}
}

func (x *xconn) rootRect() (image.Rectangle, error) {
	g, err := xproto.GetGeometry(x.conn, xproto.Drawable(x.root)).Reply()
	if err != nil {
		return image.Rectangle{}, fmt.Errorf("capture: root geometry: %w", err)
	}
	return image.Rect(0, 0, int(g.Width), int(g.Height)), nil
}

func (x *xconn) screens() ([]Screen, error) {
	root, err := x.rootRect()
	if err != nil {
		return nil, err
	}
	if x.hasRandR {
		m, err := randr.GetMonitors(x.conn, x.root, true).Reply()
		if err != nil {
			return nil, fmt.Errorf("capture: listing monitors: %w", err)
		}
		out := make([]Screen, 0, len(m.Monitors))
		for _, mi := range m.Monitors {
			r := image.Rect(int(mi.X), int(mi.Y), int(mi.X)+int(mi.Width), int(mi.Y)+int(mi.Height)).Intersect(root)
			if r.Empty() {
				continue
			}
			name := ""
			if a, err := xproto.GetAtomName(x.conn, mi.Name).Reply(); err == nil {
				name = a.Name
			}
			out = append(out, Screen{Index: len(out), Name: name, Rect: r, Primary: mi.Primary})
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return []Screen{{Index: 0, Name: "root", Rect: root, Primary: true}}, nil
}

// Capture grabs the chosen screen (or all of them) as a new RGBA image whose
// bounds start at 0,0.
func (c *Capturer) Capture() (*image.RGBA, error) { return c.CaptureInto(nil) }

// CaptureInto is Capture reusing dst's pixels when it has the right size.
func (c *Capturer) CaptureInto(dst *image.RGBA) (*image.RGBA, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	x, err := c.connect()
	if err != nil {
		return nil, err
	}
	r, err := x.target(c.opts.Screen)
	if err != nil {
		if !errors.Is(err, ErrNoScreen) {
			c.dropIfBroken(err)
		}
		return nil, err
	}
	if locks := x.lockWindows(); len(locks) > 0 {
		img, ok, err := x.grabUnderLock(r, dst, locks)
		if err != nil {
			c.dropIfBroken(err)
			return nil, err
		}
		if ok {
			return img, nil
		}
	} else if len(x.lock.redirected) > 0 {
		x.releaseUnderLock()
	}
	img, err := x.grab(r, dst)
	if err != nil {
		c.dropIfBroken(err)
		return nil, err
	}
	return img, nil
}

func (x *xconn) target(screen int) (image.Rectangle, error) {
	if screen == AllScreens {
		return x.rootRect()
	}
	ss, err := x.screens()
	if err != nil {
		return image.Rectangle{}, err
	}
	if screen < 0 || screen >= len(ss) {
		return image.Rectangle{}, fmt.Errorf("%w: %d (have %d)", ErrNoScreen, screen, len(ss))
	}
	return ss[screen].Rect, nil
}

func (x *xconn) grab(r image.Rectangle, dst *image.RGBA) (*image.RGBA, error) {
	w, h := r.Dx(), r.Dy()
	if w <= 0 || h <= 0 || w > 0xffff || h > 0xffff {
		return nil, fmt.Errorf("capture: bad capture area %v", r)
	}
	if dst == nil || dst.Rect.Dx() != w || dst.Rect.Dy() != h || dst.Rect.Min != (image.Point{}) {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	n := w * h * 4
	if x.useSHM && !x.segBroken {
		data, err := x.grabSHM(r, n)
		if err == nil {
			x.convert(dst, data[:n])
			return dst, nil
		}
		var xe xgb.Error
		if !errors.As(err, &xe) && !errors.Is(err, errSHMSetup) {
			return nil, err
		}
		// The server refused shared memory (another host, another IPC
		// namespace): use plain GetImage from now on.
		x.segBroken = true
		x.freeSegment()
	}
	rep, err := xproto.GetImage(x.conn, xproto.ImageFormatZPixmap, xproto.Drawable(x.root),
		int16(r.Min.X), int16(r.Min.Y), uint16(w), uint16(h), 0xffffffff).Reply()
	if err != nil {
		return nil, fmt.Errorf("capture: GetImage %v: %w", r, err)
	}
	if len(rep.Data) < n {
		return nil, fmt.Errorf("capture: GetImage returned %d bytes, want %d", len(rep.Data), n)
	}
	x.convert(dst, rep.Data[:n])
	return dst, nil
}

var errSHMSetup = errors.New("capture: shared memory setup failed")

func (x *xconn) grabSHM(r image.Rectangle, n int) ([]byte, error) {
	if len(x.segData) < n {
		x.freeSegment()
		id, err := unix.SysvShmGet(unix.IPC_PRIVATE, n, unix.IPC_CREAT|0o600)
		if err != nil {
			return nil, fmt.Errorf("%w: shmget: %v", errSHMSetup, err)
		}
		data, err := unix.SysvShmAttach(id, 0, 0)
		if err != nil {
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
			return nil, fmt.Errorf("%w: shmat: %v", errSHMSetup, err)
		}
		seg, err := shm.NewSegId(x.conn)
		if err != nil {
			_ = unix.SysvShmDetach(data)
			_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
			return nil, fmt.Errorf("capture: shm segment id: %w", err)
		}
		attachErr := shm.AttachChecked(x.conn, seg, uint32(id), false).Check()
		// Marked for removal now: the kernel frees it once both sides detach,
		// even if this process dies.
		_, _ = unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		if attachErr != nil {
			_ = unix.SysvShmDetach(data)
			return nil, fmt.Errorf("%w: X server attach: %v", errSHMSetup, attachErr)
		}
		x.seg, x.segID, x.segData = seg, id, data
	}
	_, err := shm.GetImage(x.conn, xproto.Drawable(x.root), int16(r.Min.X), int16(r.Min.Y),
		uint16(r.Dx()), uint16(r.Dy()), 0xffffffff, xproto.ImageFormatZPixmap, x.seg, 0).Reply()
	if err != nil {
		return nil, fmt.Errorf("capture: shm GetImage %v: %w", r, err)
	}
	return x.segData, nil
}

func (x *xconn) freeSegment() {
	if x.segData == nil {
		return
	}
	_ = shm.Detach(x.conn, x.seg) // unchecked: the connection may be gone
	_ = unix.SysvShmDetach(x.segData)
	x.segData = nil
}

// convert copies 32-bit ZPixmap pixels into dst, forcing alpha to opaque.
func (x *xconn) convert(dst *image.RGBA, src []byte) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	for y := 0; y < h; y++ {
		s := src[y*w*4 : (y+1)*w*4]
		d := dst.Pix[y*dst.Stride : y*dst.Stride+w*4]
		if x.bgrx {
			for i := 0; i+3 < len(s); i += 4 {
				d[i], d[i+1], d[i+2], d[i+3] = s[i+2], s[i+1], s[i], 0xff
			}
		} else {
			for i := 0; i+3 < len(s); i += 4 {
				d[i], d[i+1], d[i+2], d[i+3] = s[i+1], s[i+2], s[i+3], 0xff
			}
		}
	}
}
