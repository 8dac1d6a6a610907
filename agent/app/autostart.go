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

// Autostart manages the user's XDG autostart entry on Linux and BSDs. A
// package may install a system-wide entry (/etc/xdg/autostart); the user's
// entry of the same name overrides it, so turning autostart off there
// writes one with Hidden=true, as the XDG autostart spec says.
type Autostart struct {
	Path string // e.g. ~/.config/autostart/didacto-agent.desktop
	Exec string // the command line to start
	GOOS string
	// SystemDirs are the XDG config dirs holding system autostart entries
	// (default $XDG_CONFIG_DIRS, or /etc/xdg).
	SystemDirs []string
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
	sys := filepath.SplitList(os.Getenv("XDG_CONFIG_DIRS"))
	if len(sys) == 0 {
		sys = []string{"/etc/xdg"}
	}
	return Autostart{Path: filepath.Join(dir, "autostart", "didacto-agent.desktop"), Exec: exe, GOOS: runtime.GOOS,
		SystemDirs: sys}, nil
}

// systemEntry reports whether a package installed a system-wide entry.
func (a Autostart) systemEntry() bool {
	for _, d := range a.SystemDirs {
		if _, err := os.Stat(filepath.Join(d, "autostart", filepath.Base(a.Path))); err == nil {
			return true
		}
	}
	return false
}

func (a Autostart) managed() bool { return a.GOOS == "windows" || a.GOOS == "darwin" }

// Enabled reports whether the agent starts at login: the user's entry
// unless it hides itself, else the system's.
func (a Autostart) Enabled() (bool, error) {
	if a.managed() {
		return false, ErrManaged
	}
	b, err := os.ReadFile(a.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return a.systemEntry(), nil
	}
	if err != nil {
		return false, fmt.Errorf("autostart: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		switch strings.TrimSpace(line) {
		case "Hidden=true", "X-GNOME-Autostart-enabled=false":
			return false, nil
		}
	}
	return true, nil
}

// Set turns autostart on or off for this user.
func (a Autostart) Set(on bool) error {
	if a.managed() {
		return ErrManaged
	}
	system := a.systemEntry()
	if on == system { // the system entry alone does it (or nothing at all)
		if err := os.Remove(a.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("autostart: %w", err)
		}
		return nil
	}
	if !on { // hide the system entry for this user
		return a.write([]string{"[Desktop Entry]", "Type=Application", "Name=DIDACTO agent", "Hidden=true", ""})
	}
	return a.write([]string{
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
	})
}

func (a Autostart) write(lines []string) error {
	if err := os.MkdirAll(filepath.Dir(a.Path), 0o755); err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	if err := os.WriteFile(a.Path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
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
