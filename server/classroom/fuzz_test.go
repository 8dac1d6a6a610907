package classroom

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/didacto/didacto/wire"
)

// FuzzValidate: a command a professor's script sends is untrusted input.
// What passes has a known kind, bounded valid text, and for open_url an
// absolute http(s) URL with a host and no control characters.
func FuzzValidate(f *testing.F) {
	f.Add(`{"kind":"lock","text":"Eyes on me"}`)
	f.Add(`{"kind":"open_url","url":"https://example.org/a?b=c"}`)
	f.Add(`{"kind":"open_url","url":"javascript:alert(1)"}`)
	f.Add(`{"kind":"open_url","url":"https://user@example.org/"}`)
	f.Add(`{"kind":"message","text":"` + strings.Repeat("x", 600) + `"}`)
	f.Add(`{"kind":"message","student_ids":[1,2,3],"text":"hi"}`)
	f.Fuzz(func(t *testing.T, body string) {
		var req wire.CommandRequest
		if json.Unmarshal([]byte(body), &req) != nil {
			return
		}
		got, err := validate(req)
		if err != nil {
			return
		}
		switch got.Kind {
		case wire.CommandLock, wire.CommandBlank, wire.CommandUnlock, wire.CommandMessage, wire.CommandOpenURL:
		default:
			t.Fatalf("kind %q accepted", got.Kind)
		}
		if !utf8.ValidString(got.Text) || utf8.RuneCountInString(got.Text) > wire.MaxCommandText {
			t.Fatalf("text %q accepted", got.Text)
		}
		if got.Kind == wire.CommandMessage && got.Text == "" {
			t.Fatal("an empty message accepted")
		}
		if got.Kind != wire.CommandOpenURL {
			if got.URL != "" {
				t.Fatalf("url %q accepted for %s", got.URL, got.Kind)
			}
			return
		}
		u, err := url.Parse(got.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			strings.ContainsAny(got.URL, "\x00\r\n\t") {
			t.Fatalf("url %q accepted", got.URL)
		}
	})
}
