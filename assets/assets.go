// Package assets holds the agent's PNG icons (the tray needs PNG: an SVG
// theme icon is refused by StatusNotifier hosts), embedded in the binary.
package assets

import (
	"embed"
	"fmt"
)

//go:embed *.png
var files embed.FS

// Icon names, one per tray state, plus the application icon.
const (
	App        = "app.png"
	SignedOut  = "signed_out.png"
	Idle       = "idle.png"
	Monitored  = "monitored.png"
	Live       = "live.png"
	Controlled = "controlled.png"
	Offline    = "offline.png"
)

// PNG returns an embedded icon's bytes.
func PNG(name string) ([]byte, error) {
	b, err := files.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("icon %s: %w", name, err)
	}
	return b, nil
}
