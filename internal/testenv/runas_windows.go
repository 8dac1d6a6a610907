package testenv

import (
	"errors"
	"os/exec"
)

// runAsUser: Windows runs a process as another account only with its
// password, which a test does not have.
func runAsUser(int, int) (func(*exec.Cmd), error) {
	return nil, errors.New("testenv: running PostgreSQL as another user is not possible on Windows")
}
