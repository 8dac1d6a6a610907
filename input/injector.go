package input

import "log/slog"

// SystemInjector is the operating system's injector, safe for concurrent use
// by several Controllers; Close ends its
// connection (on Linux robotgo's X display is process-wide, so keep one
// SystemInjector per process).
type SystemInjector interface {
	Injector
	Close() error
}

// InjectorOptions configure NewInjector.
type InjectorOptions struct {
	// Display is the X display on Linux (default: $DISPLAY).
	Display string
	// Getenv reads the environment (default os.Getenv); tests pass their own.
	Getenv func(string) string
	Logger *slog.Logger
}

// robotgoButton names a wire button the way robotgo does.
func robotgoButton(b string) string {
	if b == "middle" {
		return "center"
	}
	return b
}
