//go:build unix

package config

import (
	"fmt"
	"os"
	"syscall"
)

// CheckAdminFile refuses a system file a student could have written: the
// admin layer may lock settings, so it must be owned by root and writable
// by nobody else. (A student could otherwise point --system-config at a
// file of their own and unlock everything.)
func CheckAdminFile(path, _ string) error {
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
