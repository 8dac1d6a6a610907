package app

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// ErrManaged: on this OS the installer owns autostart (a Run key on
// Windows, a LaunchAgent on macOS); the app does not change it.
var ErrManaged = errors.New("autostart is managed by the installer on this system")

// Autostart manages the user's XDG autostart entry on Linux and BSDs.
type Autostart struct {
	Path string // e.g. ~/.config/autostart/didacto-agent.desktop
	Exec string // the command line to start
	GOOS string
}

// DefaultAutostart is the entry for this user and executable.
func DefaultAutostart() (Autostart, error) {
	exe, err := os.Executable()
	if err != nil {
		return Autostart{}, fmt.Errorf("autostart: %w", err)
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return Autostart{}, fmt.Errorf("autostart: %w", err)
	}
	return Autostart{Path: filepath.Join(dir, "autostart", "didacto-agent.desktop"), Exec: exe, GOOS: runtime.GOOS}, nil
}

func (a Autostart) managed() bool { return a.GOOS == "windows" || a.GOOS == "darwin" }

// Enabled reports whether the entry exists.
func (a Autostart) Enabled() (bool, error) {
	if a.managed() {
		return false, ErrManaged
	}
	_, err := os.Stat(a.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	return true, nil
}

// Set writes or removes the entry.
func (a Autostart) Set(on bool) error {
	if a.managed() {
		return ErrManaged
	}
	if !on {
		if err := os.Remove(a.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("autostart: %w", err)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	body := strings.Join([]string{
		"[Desktop Entry]",
		"Type=Application",
		"Name=DIDACTO agent",
		"Name[ko]=DIDACTO 에이전트",
		"Comment=Lets your professor see your screen during lectures",
		"Exec=" + desktopQuote(a.Exec),
		"Icon=didacto-agent",
		"Terminal=false",
		"X-GNOME-Autostart-enabled=true",
		"",
	}, "\n")
	if err := os.WriteFile(a.Path, []byte(body), 0o644); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	return nil
}

// desktopQuote quotes a path for an Exec= line when it needs it.
func desktopQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\$`") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\\\`, `"`, `\"`, "`", "\\`", "$", `\$`)
	return `"` + r.Replace(s) + `"`
}
