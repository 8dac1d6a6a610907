package config

import (
	"os"

	"golang.org/x/sys/windows"
)

// systemGetenv reads ProgramData from the shell's known folder, not from
// the environment a student controls (which would move the admin's file).
func systemGetenv(key string) string {
	if key == "ProgramData" {
		if p, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0); err == nil {
			return p
		}
		return "" // SystemPath's C:\ProgramData
	}
	return os.Getenv(key)
}
