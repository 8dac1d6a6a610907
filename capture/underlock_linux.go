//go:build linux

package capture

import (
	"fmt"
	"image"

	"github.com/jezek/xgb/composite"
	"github.com/jezek/xgb/xproto"
)

// LockProperty is the root window property the classroom lock
// (package lockscreen) sets to its windows' ids while it covers the
// screen. While it does, a capture shows the desktop under the lock — the
// professor's thumbnails keep showing what the student has open — by
// reading each window's own picture through the Composite extension.
const LockProperty = "_DIDACTO_SCREEN_LOCK"

// underLock is what capturing under a lock needs on one connection.
type underLock struct {
	checked    bool
	composite  bool
	atom       xproto.Atom
	redirected map[xproto.Window]bool
}

func (x *xconn) initUnderLock() {
	u := &x.lock
	if u.checked {
		return
	}
	u.checked = true
	u.redirected = map[xproto.Window]bool{}
	if a, err := xproto.InternAtom(x.conn, false, uint16(len(LockProperty)), LockProperty).Reply(); err == nil {
		u.atom = a.Atom
	}
	if composite.Init(x.conn) == nil {
		if v, err := composite.QueryVersion(x.conn, 0, 4).Reply(); err == nil && (v.MajorVersion > 0 || v.MinorVersion >= 2) {
			u.composite = true
		}
	}
}

// lockWindows returns the lock's windows when a lock is up (and the
// desktop can be read under it), nil otherwise.
func (x *xconn) lockWindows() map[xproto.Window]bool {
	x.initUnderLock()
	if !x.lock.composite || x.lock.atom == 0 {
		return nil
	}
	p, err := xproto.GetProperty(x.conn, false, x.root, x.lock.atom, xproto.AtomWindow, 0, 64).Reply()
	if err != nil || p.Format != 32 || p.ValueLen == 0 {
		return nil
	}
	out := map[xproto.Window]bool{}
	for i := 0; i+4 <= len(p.Value); i += 4 {
		out[xproto.Window(xgbUint32(p.Value[i:]))] = true
	}
	return out
}

func xgbUint32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// grabUnderLock paints, bottom to top, every mapped top-level window but
// the lock's from its own (composite) picture onto black. It reports
// false when none of the lock's windows exists any more (an agent that
// was killed left the property behind): then the screen is captured as
// usual.
func (x *xconn) grabUnderLock(r image.Rectangle, dst *image.RGBA, locks map[xproto.Window]bool) (*image.RGBA, bool, error) {
	tree, err := xproto.QueryTree(x.conn, x.root).Reply()
	if err != nil {
		return nil, false, fmt.Errorf("capture: listing windows: %w", err)
	}
	var wins []xproto.Window
	found := false
	for _, w := range tree.Children {
		if locks[w] {
			found = true
			continue
		}
		wins = append(wins, w)
	}
	if !found {
		return nil, false, nil
	}
	w, h := r.Dx(), r.Dy()
	if dst == nil || dst.Rect.Dx() != w || dst.Rect.Dy() != h || dst.Rect.Min != (image.Point{}) {
		dst = image.NewRGBA(image.Rect(0, 0, w, h))
	}
	for i := range dst.Pix {
		dst.Pix[i] = 0
		if i%4 == 3 {
			dst.Pix[i] = 0xff
		}
	}
	for _, win := range wins {
		x.paintWindow(dst, r, win)
	}
	return dst, true, nil
}

// paintWindow copies one window's picture into dst (r is dst's place on
// the root); a window that cannot be read is left out.
func (x *xconn) paintWindow(dst *image.RGBA, r image.Rectangle, win xproto.Window) {
	attr, err := xproto.GetWindowAttributes(x.conn, win).Reply()
	if err != nil || attr.MapState != xproto.MapStateViewable || attr.Class != xproto.WindowClassInputOutput {
		return
	}
	g, err := xproto.GetGeometry(x.conn, xproto.Drawable(win)).Reply()
	if err != nil || (g.Depth != 24 && g.Depth != 32) {
		return
	}
	b := int(g.BorderWidth)
	outer := image.Rect(int(g.X), int(g.Y), int(g.X)+int(g.Width)+2*b, int(g.Y)+int(g.Height)+2*b)
	area := outer.Intersect(r)
	if area.Empty() {
		return
	}
	if !x.lock.redirected[win] {
		if composite.RedirectWindowChecked(x.conn, win, composite.RedirectAutomatic).Check() != nil {
			return
		}
		x.lock.redirected[win] = true
	}
	pix, err := xproto.NewPixmapId(x.conn)
	if err != nil {
		return
	}
	if composite.NameWindowPixmapChecked(x.conn, win, pix).Check() != nil {
		return
	}
	defer xproto.FreePixmap(x.conn, pix)
	src := area.Sub(outer.Min)
	rep, err := xproto.GetImage(x.conn, xproto.ImageFormatZPixmap, xproto.Drawable(pix), int16(src.Min.X), int16(src.Min.Y),
		uint16(src.Dx()), uint16(src.Dy()), 0xffffffff).Reply()
	if err != nil || len(rep.Data) < src.Dx()*src.Dy()*4 {
		return
	}
	at := area.Sub(r.Min)
	sub := dst.SubImage(at).(*image.RGBA)
	x.convert(sub, rep.Data)
}

// releaseUnderLock gives the windows back to the server's own drawing
// once the lock is gone.
func (x *xconn) releaseUnderLock() {
	for w := range x.lock.redirected {
		composite.UnredirectWindow(x.conn, w, composite.RedirectAutomatic)
		delete(x.lock.redirected, w)
	}
}
