package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/didacto/didacto/wire"
)

// DefaultRecheck is how often the lecture list is polled while waiting for
// a lecture (and while monitoring, to notice it ended or changed).
const DefaultRecheck = 30 * time.Second

// Choice errors (Choose); the agent waits and re-checks on all of them.
var (
	ErrNoActiveLecture = errors.New("no active lecture")
	ErrSeveralActive   = errors.New("several lectures are active; choose one")
	ErrNotEnrolled     = errors.New("not a member of that lecture")
)

// Choose picks the lecture to monitor from the student's lectures: want if
// non-zero (it must be active), else the only active one.
func Choose(lectures []wire.Lecture, want int64) (wire.Lecture, error) {
	if want != 0 {
		for _, l := range lectures {
			if l.ID == want {
				if !l.Active {
					return l, fmt.Errorf("lecture %d (%s): %w", l.ID, l.Title, ErrNoActiveLecture)
				}
				return l, nil
			}
		}
		return wire.Lecture{}, fmt.Errorf("lecture %d: %w", want, ErrNotEnrolled)
	}
	var active []wire.Lecture
	for _, l := range lectures {
		if l.Active {
			active = append(active, l)
		}
	}
	switch len(active) {
	case 1:
		return active[0], nil
	case 0:
		return wire.Lecture{}, ErrNoActiveLecture
	}
	names := make([]string, len(active))
	for i, l := range active {
		names[i] = fmt.Sprintf("%d (%s)", l.ID, l.Title)
	}
	return wire.Lecture{}, fmt.Errorf("%w: %s", ErrSeveralActive, strings.Join(names, ", "))
}

// errNoCode: join needs a code.
var errNoCode = errors.New("enter the lecture code")
