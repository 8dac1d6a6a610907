//go:build !linux && !windows && !darwin

package capture

import "image"

// Capturer is not implemented on this operating system: New reports
// ErrUnsupported (after the session check, so a Wayland BSD says Wayland).
type Capturer struct{}

// New returns ErrUnsupported.
func New(opts Options) (*Capturer, error) {
	if err := CheckSession(opts.getenv); err != nil {
		return nil, err
	}
	return nil, ErrUnsupported
}

// SHM reports false.
func (c *Capturer) SHM() bool { return false }

// Close does nothing.
func (c *Capturer) Close() error { return nil }

// Screens returns ErrUnsupported.
func (c *Capturer) Screens() ([]Screen, error) { return nil, ErrUnsupported }

// Capture returns ErrUnsupported.
func (c *Capturer) Capture() (*image.RGBA, error) { return nil, ErrUnsupported }

// CaptureInto returns ErrUnsupported.
func (c *Capturer) CaptureInto(*image.RGBA) (*image.RGBA, error) { return nil, ErrUnsupported }
