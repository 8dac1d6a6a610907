//go:build linux

package main

import (
	"log/slog"

	"github.com/jezek/xgb"
)

// routeXGBLog sends xgb's chatter (Xauthority lookups on every connect, read
// errors the capturer already reports) to the agent's log at debug level
// instead of raw stderr.
func routeXGBLog(log *slog.Logger) {
	xgb.Logger = slog.NewLogLogger(log.Handler(), slog.LevelDebug)
}
