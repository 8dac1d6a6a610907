package ui

import (
	"fmt"
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
