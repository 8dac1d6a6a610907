// Package browser opens a web page in the student's default browser the
// way the desktop does (xdg-open, the Windows URL handler, open on macOS),
// for the headless agent, which has no UI toolkit to ask.
package browser

import (
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"runtime"
	"time"
)

// Open opens an http(s) URL; it returns once the opener started (or
// failed to). Anything else is refused: the opener would run files too.
func Open(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("browser: only http(s) pages are opened")
	}
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u.String())
	case "darwin":
		cmd = exec.Command("open", u.String())
	default:
		cmd = exec.Command("xdg-open", u.String())
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("browser: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// xdg-open returns at once when a browser is running, and fails fast
	// when none is configured: wait a little for that answer.
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("browser: %s: %w", cmd.Path, err)
		}
	case <-time.After(3 * time.Second):
	}
	return nil
}
