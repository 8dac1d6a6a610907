package api

import (
	"strings"
	"testing"

	"github.com/didacto/didacto/server/auth"
)

// FuzzParseRoster: whatever a professor uploads as a class list, the parser
// neither panics nor lets through a row the store would have to refuse:
// every row has a valid, unique, lower-case e-mail and a line number, and
// every problem names a line.
func FuzzParseRoster(f *testing.F) {
	for _, s := range []string{
		"email,name,student number\nkim@school.example,Kim,2026001\n",
		"\uFEFF이메일,이름,학번\nlee@school.example,이서연,2026002\n",
		"a@school.example\n\n,,\nA@School.example,dup\n",
		"\"broken,quote\nx@y.example\n",
		"a@b.example,n,1,extra\nnot-an-email\n",
		"\xff\xfe",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, problems := parseRoster(body)
		seen := map[string]bool{}
		for _, r := range rows {
			if r.line < 1 || !auth.ValidEmail(r.email) || r.email != strings.ToLower(r.email) || seen[r.email] {
				t.Fatalf("row %+v (seen before: %v)", r, seen[r.email])
			}
			seen[r.email] = true
		}
		for _, p := range problems {
			if p.Line < 1 || p.Message == "" {
				t.Fatalf("problem %+v", p)
			}
		}
		if len(rows) > MaxRosterRows {
			t.Fatalf("%d rows", len(rows))
		}
	})
}
