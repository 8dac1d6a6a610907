package ui

/*
#cgo CFLAGS: -x objective-c
#cgo LDFLAGS: -framework Cocoa
#import <Cocoa/Cocoa.h>

// didacto_float puts the window on the floating level, on every Space:
// the live-session banner stays above the student's other windows.
static void didacto_float(uintptr_t w) {
	NSWindow *win = (NSWindow *)w;
	[win setLevel:NSFloatingWindowLevel];
	[win setCollectionBehavior:NSWindowCollectionBehaviorCanJoinAllSpaces];
	// Out of screen captures (the professor's stream of this screen).
	[win setSharingType:NSWindowSharingNone];
}
*/
import "C"

import (
	"image"
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver"
)

// keepAbove keeps w above other windows (NSFloatingWindowLevel). fyne has
// no API for this; RunNative calls us on the main thread, as AppKit needs.
func keepAbove(w fyne.Window, _ *slog.Logger) {
	nw, ok := w.(driver.NativeWindow)
	if !ok {
		return
	}
	nw.RunNative(func(ctx any) {
		if mc, ok := ctx.(driver.MacWindowContext); ok && mc.NSWindow != 0 {
			C.didacto_float(C.uintptr_t(mc.NSWindow))
		}
	})
}

// movePanel leaves the placing to macOS (its coordinates run bottom-up);
// the panel is kept out of captures instead (NSWindowSharingNone), and the
// student may move it.
func movePanel(fyne.Window, image.Point, *slog.Logger) {}
