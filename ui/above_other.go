//go:build !linux && !windows && !darwin

package ui

import (
	"image"
	"log/slog"

	"fyne.io/fyne/v2"
)

// keepAbove has no window-manager hook here (BSDs with Wayland): the
// banner is an ordinary borderless window.
func keepAbove(fyne.Window, *slog.Logger) {}

// movePanel cannot place windows here: the panel opens where the window
// system puts it, and the student may move it.
func movePanel(fyne.Window, image.Point, *slog.Logger) {}
