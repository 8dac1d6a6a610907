//go:build !linux

package ui

import (
	"log/slog"

	"fyne.io/fyne/v2"
)

// keepAbove is X11-only for now; on Windows and macOS the banner is an
// ordinary borderless window (TODO: HWND_TOPMOST / NSFloatingWindowLevel).
func keepAbove(fyne.Window, *slog.Logger) {}
