//go:build !unix

package storetest

import "time"

// cpuTime is not measured here: Bench reports wall time only.
func cpuTime() (time.Duration, bool) { return 0, false }
