// Package procstat reads a process's CPU time and resident memory from
// Linux's /proc, for the load tools that measure the server they load.
package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sample is one reading.
type Sample struct {
	CPU    time.Duration // user + system time so far
	RSSMiB float64
	At     time.Time
}

// Read reads utime+stime and VmRSS of pid.
func Read(pid int) (Sample, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return Sample{}, err
	}
	// Fields after the command name, which may contain spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return Sample{}, errors.New("procstat: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+2:]))
	if len(f) < 13 {
		return Sample{}, errors.New("procstat: short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	s := Sample{CPU: time.Duration(ut+st) * time.Second / ticks, At: time.Now()}
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				s.RSSMiB = kb / 1024
			}
		}
	}
	return s, nil
}
