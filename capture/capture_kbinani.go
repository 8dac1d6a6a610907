//go:build windows || darwin

package capture

import (
	"fmt"
	"image"
	"sync"

	"github.com/kbinani/screenshot"
)

// Capturer grabs the screen through kbinani/screenshot (GDI on Windows,
// CoreGraphics on macOS). It is safe for concurrent use.
type Capturer struct {
	mu     sync.Mutex
	opts   Options
	closed bool
}

// New returns a Capturer for the current desktop.
func New(opts Options) (*Capturer, error) {
	c := &Capturer{opts: opts}
	if _, err := c.Screens(); err != nil {
		return nil, err
	}
	return c, nil
}

// SHM reports false: shared memory is an X11 notion.
func (c *Capturer) SHM() bool { return false }

// Close marks the Capturer closed.
func (c *Capturer) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

// Screens lists the active displays.
func (c *Capturer) Screens() ([]Screen, error) {
	n := screenshot.NumActiveDisplays()
	if n <= 0 {
		return nil, fmt.Errorf("%w: no active display", ErrNoScreen)
	}
	out := make([]Screen, n)
	for i := range n {
		out[i] = Screen{Index: i, Name: fmt.Sprintf("display%d", i), Rect: screenshot.GetDisplayBounds(i), Primary: i == 0}
	}
	return out, nil
}

// Capture grabs the chosen screen (or all) as an RGBA image at 0,0.
func (c *Capturer) Capture() (*image.RGBA, error) { return c.CaptureInto(nil) }

// CaptureInto is Capture; kbinani allocates every frame, so dst is unused.
func (c *Capturer) CaptureInto(_ *image.RGBA) (*image.RGBA, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	ss, err := c.Screens()
	if err != nil {
		return nil, err
	}
	r := union(ss)
	if c.opts.Screen != AllScreens {
		if c.opts.Screen < 0 || c.opts.Screen >= len(ss) {
			return nil, fmt.Errorf("%w: %d (have %d)", ErrNoScreen, c.opts.Screen, len(ss))
		}
		r = ss[c.opts.Screen].Rect
	}
	img, err := screenshot.CaptureRect(r)
	if err != nil {
		return nil, fmt.Errorf("capture: %v: %w", r, err)
	}
	if img.Rect.Min != (image.Point{}) {
		img = &image.RGBA{Pix: img.Pix, Stride: img.Stride, Rect: image.Rect(0, 0, img.Rect.Dx(), img.Rect.Dy())}
	}
	return img, nil
}

// union is the bounding box of all screens.
func union(screens []Screen) image.Rectangle {
	var r image.Rectangle
	for i, s := range screens {
		if i == 0 {
			r = s.Rect
		} else {
			r = r.Union(s.Rect)
		}
	}
	return r
}
