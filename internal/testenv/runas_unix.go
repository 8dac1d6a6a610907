//go:build !windows

package testenv

import (
	"os/exec"
	"syscall"
)

// runAsUser returns what makes a command run as uid:gid.
func runAsUser(uid, gid int) (func(*exec.Cmd), error) {
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return func(cmd *exec.Cmd) {
		if cmd.SysProcAttr == nil {
			cmd.SysProcAttr = &syscall.SysProcAttr{}
		}
		cmd.SysProcAttr.Credential = cred
	}, nil
}
