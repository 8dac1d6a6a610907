package input

import (
	"fmt"
	"math"
)

// Screen is the rectangle of the streamed monitor in the injector's
// coordinate space: the virtual desktop, where monitors sit side by side and
// the left or top one may start at a negative offset. On X11 that is plain
// pixels; on Windows and macOS robotgo takes logical (DPI-scaled) units, so a
// monitor captured in physical pixels goes through PhysicalScreen.
type Screen struct {
	X, Y, W, H int
}

// PhysicalScreen converts a monitor rectangle in physical pixels to injector
// units for a HiDPI scale factor (physical pixels per logical unit, e.g. 2 on
// a Retina display, 1.25 for Windows at 125 %).
func PhysicalScreen(x, y, w, h int, scale float64) (Screen, error) {
	if math.IsNaN(scale) || scale < 0.5 || scale > 8 {
		return Screen{}, fmt.Errorf("scale factor %v out of 0.5..8", scale)
	}
	s := Screen{
		X: int(math.Round(float64(x) / scale)), Y: int(math.Round(float64(y) / scale)),
		W: int(math.Round(float64(w) / scale)), H: int(math.Round(float64(h) / scale)),
	}
	return s, s.validate()
}

func (s Screen) validate() error {
	const limit = 1 << 16 // far beyond any desktop; keeps the arithmetic small
	if s.W <= 0 || s.H <= 0 || s.W > limit || s.H > limit ||
		s.X < -limit || s.X > limit || s.Y < -limit || s.Y > limit {
		return fmt.Errorf("screen %+v is not a usable rectangle", s)
	}
	return nil
}

// Point maps a normalized position (0..1 from the left/top edge, as the
// console sends offsetX/width) to the pixel it falls in. 1.0 is the last
// pixel, never one past the edge.
func (s Screen) Point(nx, ny float64) (int, int) {
	return s.X + cell(nx, s.W), s.Y + cell(ny, s.H)
}

func cell(n float64, size int) int {
	if !(n > 0) { // also NaN
		return 0
	}
	p := int(math.Floor(n * float64(size)))
	if p >= size {
		p = size - 1
	}
	return p
}
