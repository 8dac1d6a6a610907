//go:build !unix

package config

import (
	"fmt"
	"os"
)

// CheckAdminFile refuses to replace the administrator's system file
// (defaultPath, written by the installer into %ProgramData%, which only
// administrators may change) with another one: only where none was
// installed may another file stand in (tests, evaluation).
func CheckAdminFile(path, defaultPath string) error {
	if err := notBesideAdminFile(path, defaultPath); err != nil {
		return err
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("system config %s: %w", path, err)
	}
	return nil
}
