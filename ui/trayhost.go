package ui

import (
	"runtime"

	"github.com/godbus/dbus/v5"
)

// trayHostRunning reports whether a tray icon will be visible. On Linux
// fyne's tray is a StatusNotifierItem: without a watcher on the session bus
// (GNOME without the AppIndicator extension, bare X sessions) it silently
// shows nothing. Windows and macOS always have a tray.
func trayHostRunning() bool {
	if runtime.GOOS == "windows" || runtime.GOOS == "darwin" {
		return true
	}
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	defer conn.Close()
	var has bool
	if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.kde.StatusNotifierWatcher").Store(&has); err != nil {
		return false
	}
	return has
}
