package ui

import (
	"log/slog"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
)

var setWindowPos = syscall.NewLazyDLL("user32.dll").NewProc("SetWindowPos")

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
	})
}
