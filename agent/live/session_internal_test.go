package live

import (
	"image"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/didacto/didacto/wire"
)

// A monitor name too long or not UTF-8 must still give a screens message the
// console's strict decoder accepts.
func TestSessionScreenNames(t *testing.T) {
	for _, name := range []string{"DP-1", strings.Repeat("모니터", 100), "bad\xffname", strings.Repeat("a", 500)} {
		s := sessionScreen(0, name, image.Rect(0, 0, 1920, 1080), true)
		if !utf8.ValidString(s.Name) || len(s.Name) > wire.MaxSessionText {
			t.Errorf("name %q → %q", name, s.Name)
		}
		m := wire.SessionMessage{Type: wire.SessionScreens, Screens: []wire.SessionScreen{s}, Current: ptr(0)}
		if err := m.Validate(); err != nil {
			t.Errorf("name %q: %v", name, err)
		}
	}
}
