package clocale

import "testing"

func TestNormalise(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want string // LC_MESSAGES after; "" when untouched
	}{
		{map[string]string{"LANG": "C.UTF-8"}, "C"},
		{map[string]string{"LANG": "POSIX.utf8"}, "C"},
		{map[string]string{"LC_MESSAGES": "C.UTF-8", "LANG": "ko_KR.UTF-8"}, "C"},
		{map[string]string{"LANG": "ko_KR.UTF-8"}, ""},
		{map[string]string{"LANG": "C"}, ""},
		{map[string]string{"LC_ALL": "C.UTF-8"}, ""},
		{map[string]string{}, ""},
	} {
		got := ""
		normalise(func(k string) string { return c.env[k] }, func(k, v string) error {
			if k == "LC_MESSAGES" {
				got = v
			}
			return nil
		})
		if got != c.want {
			t.Errorf("%v: LC_MESSAGES set to %q, want %q", c.env, got, c.want)
		}
	}
}
