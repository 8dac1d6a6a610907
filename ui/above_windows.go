package ui

import (
	"image"
	"log/slog"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
)

var (
	user32                   = syscall.NewLazyDLL("user32.dll")
	setWindowPos             = user32.NewProc("SetWindowPos")
	setWindowDisplayAffinity = user32.NewProc("SetWindowDisplayAffinity")
)

// keepAbove makes w a topmost window (HWND_TOPMOST), so the live-session
// banner stays above every other window. fyne has no API for this.
func keepAbove(w fyne.Window, log *slog.Logger) {
	nw, ok := w.(driver.NativeWindow)
	if !ok {
		return
	}
	nw.RunNative(func(ctx any) {
		wc, ok := ctx.(driver.WindowsWindowContext)
		if !ok || wc.HWND == 0 {
			return
		}
		const (
			hwndTopmost   = ^uintptr(0) // (HWND)-1
			swpNoSize     = 0x0001
			swpNoMove     = 0x0002
			swpNoActivate = 0x0010
		)
		if r, _, err := setWindowPos.Call(wc.HWND, hwndTopmost, 0, 0, 0, 0, swpNoSize|swpNoMove|swpNoActivate); r == 0 {
			log.Debug("could not keep the banner above other windows", "err", err)
		}
		// Out of screen captures, the professor's stream included
		// (WDA_EXCLUDEFROMCAPTURE, Windows 10 2004 and later).
		const wdaExcludeFromCapture = 0x11
		if r, _, err := setWindowDisplayAffinity.Call(wc.HWND, wdaExcludeFromCapture); r == 0 {
			log.Debug("could not keep the panel out of screen captures", "err", err)
		}
	})
}

// movePanel moves w's top-left corner to at (desktop pixels).
func movePanel(w fyne.Window, at image.Point, log *slog.Logger) {
	nw, ok := w.(driver.NativeWindow)
	if !ok {
		return
	}
	nw.RunNative(func(ctx any) {
		wc, ok := ctx.(driver.WindowsWindowContext)
		if !ok || wc.HWND == 0 {
			return
		}
		const (
			swpNoSize     = 0x0001
			swpNoZOrder   = 0x0004
			swpNoActivate = 0x0010
		)
		if r, _, err := setWindowPos.Call(wc.HWND, 0, uintptr(int32(at.X)), uintptr(int32(at.Y)), 0, 0, swpNoSize|swpNoZOrder|swpNoActivate); r == 0 {
			log.Debug("could not place the live panel", "err", err)
		}
	})
}
