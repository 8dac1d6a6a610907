// Package clocale keeps a "C.UTF-8" locale (Debian's default in services
// and containers) from making fyne log "Error parsing user locale C" at
// start: fyne's lang package reads the message locale in its init, and
// understands "C" but not "C.UTF-8". Imported for its side effect by the
// agent's main. It must initialise before fyne.io/fyne/v2/lang: Go
// initialises packages in import-path order once their imports are, and
// lang waits for github.com/jeandeaual/go-locale, which sorts after this
// path.
package clocale

import (
	"os"
	"strings"
)

func init() { normalise(os.Getenv, os.Setenv) }

// normalise sets LC_MESSAGES to "C" when the message locale in effect is C
// or POSIX with a codeset ("C.UTF-8"): the same messages, in a form fyne
// parses. A real language, or LC_ALL (which would win), is left alone.
func normalise(getenv func(string) string, setenv func(string, string) error) {
	if getenv("LC_ALL") != "" {
		return
	}
	loc := getenv("LC_MESSAGES")
	if loc == "" {
		loc = getenv("LANG")
	}
	if strings.HasPrefix(loc, "C.") || strings.HasPrefix(loc, "POSIX.") {
		_ = setenv("LC_MESSAGES", "C")
	}
}
