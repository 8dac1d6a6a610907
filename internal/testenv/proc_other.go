//go:build !linux

package testenv

import "os/exec"

// dieWithParent: only Linux has a parent-death signal; elsewhere the
// test's cleanup (Proc.Stop, by PID) is what ends the process.
func dieWithParent(*exec.Cmd) {}
