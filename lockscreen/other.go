//go:build !linux

package lockscreen

import "context"

// Screen is a lock that cannot be shown here.
type Screen struct{}

// Open reports ErrUnsupported: Windows (a topmost window per monitor and a
// low-level keyboard hook) and macOS (a shielding-level window per
// display, kiosk presentation options) are not built yet.
func Open(context.Context, string) (*Screen, error) { return nil, ErrUnsupported }

// Show does nothing.
func (*Screen) Show(*Spec) error { return ErrUnsupported }

// Close does nothing.
func (*Screen) Close() error { return nil }
