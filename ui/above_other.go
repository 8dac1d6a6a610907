//go:build !linux && !windows && !darwin

package ui

import (
	"log/slog"

	"fyne.io/fyne/v2"
)

// keepAbove has no window-manager hook here (BSDs with Wayland): the
// banner is an ordinary borderless window.
func keepAbove(fyne.Window, *slog.Logger) {}
