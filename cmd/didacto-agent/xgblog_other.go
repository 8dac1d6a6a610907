//go:build !linux

package main

import "log/slog"

// routeXGBLog: only the Linux capturer uses xgb.
func routeXGBLog(*slog.Logger) {}
