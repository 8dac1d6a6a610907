//go:build unix

package config

import (
	"fmt"
	"os"
	"syscall"
)

// CheckAdminFile refuses a --system-config that could unlock the admin's
// settings: where the admin's own file (defaultPath) is installed, only
// that one; elsewhere a file owned by root and writable by nobody else (a
// student could otherwise point it at a file of their own).
func CheckAdminFile(path, defaultPath string) error {
	if err := notBesideAdminFile(path, defaultPath); err != nil {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("system config %s: %w", path, err)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("system config %s: cannot read its owner", path)
	}
	if sys.Uid != 0 || st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("system config %s must be owned by root and writable only by root (owner uid %d, mode %v)",
			path, sys.Uid, st.Mode().Perm())
	}
	return nil
}
