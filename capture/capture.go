package capture

import (
	"image"
	"os"
)

// AllScreens selects the whole virtual desktop (every monitor) in Options.Screen.
const AllScreens = -1

// Screen is one monitor, in virtual-desktop coordinates.
type Screen struct {
	Index   int             `json:"index"`
	Name    string          `json:"name"`
	Rect    image.Rectangle `json:"rect"`
	Primary bool            `json:"primary"`
}

// Options configure a Capturer.
type Options struct {
	// Screen is the monitor index from Screens, or AllScreens (the default
	// when zero-valued Options are used through DefaultOptions).
	Screen int
	// Display overrides $DISPLAY on X11 (e.g. ":99").
	Display string
	// Getenv reads the environment (session detection, DISPLAY); nil means
	// os.Getenv. Tests pass their own.
	Getenv func(string) string
	// NoSHM disables MIT-SHM on X11 (for comparison and for servers on
	// another host, where shared memory cannot work).
	NoSHM bool
}

// DefaultOptions capture every screen of the current session.
func DefaultOptions() Options { return Options{Screen: AllScreens} }

func (o Options) getenv(k string) string {
	if o.Getenv != nil {
		return o.Getenv(k)
	}
	return os.Getenv(k)
}

// CheckSession reports ErrWayland when the session is Wayland (even with
// XWayland, whose X11 view of the screen leaves native windows black) and
// ErrNoDisplay when there is no X display at all. It only matters on Linux
// and the BSDs; other systems have no such split.
func CheckSession(getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv("XDG_SESSION_TYPE") == "wayland" {
		return ErrWayland
	}
	if getenv("DISPLAY") == "" {
		if getenv("WAYLAND_DISPLAY") != "" {
			return ErrWayland
		}
		return ErrNoDisplay
	}
	return nil
}
