//go:build !windows

package config

import "os"

// systemGetenv is the environment (SystemPath ignores it off Windows).
func systemGetenv(key string) string { return os.Getenv(key) }
