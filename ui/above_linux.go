package ui

import (
	"fmt"
	"image"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// keepAbove asks the X window manager to keep w above other windows and on
// every workspace (EWMH _NET_WM_STATE_ABOVE/_STICKY), so the live-session
// banner cannot be buried. fyne has no API for this. Best effort: without
// an EWMH window manager nothing changes.
func keepAbove(w fyne.Window, log *slog.Logger) {
	nw, ok := w.(driver.NativeWindow)
	if !ok {
		return
	}
	nw.RunNative(func(ctx any) {
		xc, ok := ctx.(driver.X11WindowContext)
		if !ok || xc.WindowHandle == 0 {
			return
		}
		if err := setAbove(xproto.Window(xc.WindowHandle)); err != nil {
			log.Debug("could not keep the banner above other windows", "err", err)
		}
	})
}

func setAbove(win xproto.Window) error {
	c, err := xgb.NewConn()
	if err != nil {
		return fmt.Errorf("x connection: %w", err)
	}
	defer c.Close()
	atom := func(name string) (xproto.Atom, error) {
		r, err := xproto.InternAtom(c, false, uint16(len(name)), name).Reply()
		if err != nil {
			return 0, fmt.Errorf("atom %s: %w", name, err)
		}
		return r.Atom, nil
	}
	state, err := atom("_NET_WM_STATE")
	if err != nil {
		return err
	}
	above, err := atom("_NET_WM_STATE_ABOVE")
	if err != nil {
		return err
	}
	sticky, err := atom("_NET_WM_STATE_STICKY")
	if err != nil {
		return err
	}
	root := xproto.Setup(c).DefaultScreen(c).Root
	const add = 1 // _NET_WM_STATE_ADD
	ev := xproto.ClientMessageEvent{Format: 32, Window: win, Type: state,
		Data: xproto.ClientMessageDataUnionData32New([]uint32{add, uint32(above), uint32(sticky), 1, 0})}
	mask := uint32(xproto.EventMaskSubstructureRedirect | xproto.EventMaskSubstructureNotify)
	if err := xproto.SendEventChecked(c, false, root, mask, string(ev.Bytes())).Check(); err != nil {
		return fmt.Errorf("send _NET_WM_STATE: %w", err)
	}
	return nil
}

// movePanel moves w's top-left corner to at (desktop pixels) through the X
// server: fyne cannot place windows. Best effort: a window manager may
// adjust the spot, and the student may drag the window anywhere after.
func movePanel(w fyne.Window, at image.Point, log *slog.Logger) {
	nw, ok := w.(driver.NativeWindow)
	if !ok {
		return
	}
	nw.RunNative(func(ctx any) {
		xc, ok := ctx.(driver.X11WindowContext)
		if !ok || xc.WindowHandle == 0 {
			return
		}
		if err := moveWindow(xproto.Window(xc.WindowHandle), at); err != nil {
			log.Debug("could not place the live panel", "err", err)
		}
	})
}

func moveWindow(win xproto.Window, at image.Point) error {
	c, err := xgb.NewConn()
	if err != nil {
		return fmt.Errorf("x connection: %w", err)
	}
	defer c.Close()
	err = xproto.ConfigureWindowChecked(c, win, xproto.ConfigWindowX|xproto.ConfigWindowY,
		[]uint32{uint32(int32(at.X)), uint32(int32(at.Y))}).Check()
	if err != nil {
		return fmt.Errorf("configure window: %w", err)
	}
	return nil
}
