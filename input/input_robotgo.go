//go:build windows || darwin

package input

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/go-vgo/robotgo"
)

// robotgoInjector injects through robotgo. Keys robotgo cannot name go
// through nativeKeys (Windows: Hangul, Hanja, IntlBackslash by virtual-key
// code); the rest are ErrUnsupportedKey.
type robotgoInjector struct {
	log    *slog.Logger
	native *nativeKeys
	mu     sync.Mutex // one input at a time, as from one keyboard and mouse
}

// NewInjector returns the robotgo injector. macOS asks the user to allow
// Accessibility control for the agent the first time.
func NewInjector(o InjectorOptions) (SystemInjector, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// robotgo sleeps KeySleep ms after every key toggle; the controller
	// paces nothing, the professor's keyboard does.
	robotgo.KeySleep = 0
	return &robotgoInjector{log: o.Logger, native: newNativeKeys()}, nil
}

func (r *robotgoInjector) MoveTo(x, y int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	robotgo.Move(x, y)
	return nil
}

func (r *robotgoInjector) Button(b string, down bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	dir := "up"
	if down {
		dir = "down"
	}
	if err := robotgo.Toggle(robotgoButton(b), dir); err != nil {
		return fmt.Errorf("button %s %s: %w", b, dir, err)
	}
	return nil
}

func (r *robotgoInjector) Wheel(dx, dy int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// robotgo: y > 0 scrolls up on every system; the sign of x differs
	// (see hWheelRight), the browser's dy > 0 is down.
	robotgo.Scroll(hWheelRight*dx, -dy, 0)
	return nil
}

func (r *robotgoInjector) Key(k Key, down bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if handled, err := r.native.key(k, down); handled {
		return err
	}
	if k.Robotgo == "" {
		return fmt.Errorf("key %s: %w", k.Code, ErrUnsupportedKey)
	}
	var err error
	if down {
		err = robotgo.KeyToggle(k.Robotgo)
	} else {
		err = robotgo.KeyToggle(k.Robotgo, "up")
	}
	if err != nil {
		return fmt.Errorf("key %s: %w", k.Code, err)
	}
	return nil
}

func (r *robotgoInjector) Text(ch rune) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	robotgo.UnicodeType(uint32(ch))
	return nil
}

func (r *robotgoInjector) Close() error { return nil }
