package capture

import "errors"

// Sentinel errors, possibly wrapped.
var (
	// ErrWayland: the session is Wayland, where X11 capture sees only black
	// (or nothing); capture needs an X11 session (or the desktop portal).
	ErrWayland = errors.New("capture: this is a Wayland session; screen capture needs an X11 session (log in with \"GNOME on Xorg\" or similar)")
	// ErrNoDisplay: no display to capture (DISPLAY unset on Linux).
	ErrNoDisplay = errors.New("capture: no X display (DISPLAY is not set)")
	// ErrUnsupported: this operating system has no capture implementation.
	ErrUnsupported = errors.New("capture: screen capture is not supported on this operating system")
	// ErrNoScreen: the chosen screen index does not exist.
	ErrNoScreen = errors.New("capture: no such screen")
	// ErrClosed: the Capturer was closed.
	ErrClosed = errors.New("capture: capturer closed")
)
