package wire

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeSession(t *testing.T) {
	good := []string{
		`{"type":"screens","screens":[{"index":0,"name":"DP-1","x":0,"y":0,"width":1920,"height":1080,"primary":true}],"current":0}`,
		`{"type":"screens","screens":[{"index":0,"name":"DP-1","x":0,"y":0,"width":1920,"height":1080,"primary":true},{"index":1,"name":"HDMI-1","x":-1280,"y":0,"width":1280,"height":1024,"primary":false}],"current":1}`,
		`{"type":"select_screen","index":0}`,
		`{"type":"select_screen","index":3}`,
		`{"type":"control_state","accepted":true}`,
		`{"type":"control_state","accepted":false,"reason":"ended"}`,
		`{"type":"media","microphone":"on","speaker":"missing"}`,
		`{"type":"media","microphone":"muted","camera":"off"}`,
		`{"type":"media","camera":"missing"}`,
	}
	for _, s := range good {
		m, err := DecodeSession([]byte(s))
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		// Round trip: what we encode decodes to the same thing.
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := DecodeSession(b)
		if err != nil {
			t.Errorf("re-decoding %s: %v", b, err)
		}
		b2, _ := json.Marshal(m2)
		if string(b) != string(b2) {
			t.Errorf("round trip %s != %s", b, b2)
		}
	}
	bad := []string{
		``, `null`, `[]`, `{}`, `{"type":"nope"}`,
		`{"type":"select_screen"}`,                           // index missing
		`{"type":"select_screen","index":-1}`,                // negative
		`{"type":"select_screen","index":16}`,                // beyond the cap
		`{"type":"select_screen","index":1.5}`,               // not an int
		`{"type":"select_screen","index":1,"accepted":true}`, // foreign field
		`{"type":"select_screen","index":1,"extra":1}`,       // unknown field
		`{"type":"select_screen","index":1} {}`,              // trailing
		`{"type":"control_state"}`,
		`{"type":"media"}`,                                       // nothing in it
		`{"type":"media","microphone":"loud"}`,                   // unknown state
		`{"type":"media","camera":"muted"}`,                      // a camera is off, not muted
		`{"type":"media","speaker":"off"}`,                       // a speaker is there or not
		`{"type":"media","microphone":"on","index":0}`,           // foreign field
		`{"type":"control_state","accepted":true,"camera":"on"}`, // media fields elsewhere
		`{"type":"control_state","accepted":true,"index":0}`,
		`{"type":"screens","screens":[],"current":0}`,
		`{"type":"screens","screens":[{"index":0,"name":"a","width":10,"height":10}]}`,             // no current
		`{"type":"screens","screens":[{"index":0,"name":"a","width":10,"height":10}],"current":1}`, // out of range
		`{"type":"screens","screens":[{"index":1,"name":"a","width":10,"height":10}],"current":0}`, // wrong index
		`{"type":"screens","screens":[{"index":0,"name":"a","width":0,"height":10}],"current":0}`,  // empty
		`{"type":"screens","screens":[{"index":0,"name":"a","width":10,"height":10,"x":1e9}],"current":0}`,
	}
	for _, s := range bad {
		if _, err := DecodeSession([]byte(s)); !errors.Is(err, ErrBadSession) {
			t.Errorf("%s: err %v, want ErrBadSession", s, err)
		}
	}
	big := make([]byte, MaxSessionBytes+1)
	if _, err := DecodeSession(big); !errors.Is(err, ErrBadSession) {
		t.Errorf("oversized: %v", err)
	}
}

func FuzzDecodeSession(f *testing.F) {
	for _, s := range []string{
		`{"type":"screens","screens":[{"index":0,"name":"DP-1","x":0,"y":0,"width":1920,"height":1080,"primary":true}],"current":0}`,
		`{"type":"select_screen","index":1}`,
		`{"type":"control_state","accepted":false,"reason":"professor_left"}`,
		`{"type":"select_screen","index":1} x`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeSession(b)
		if err != nil {
			if !errors.Is(err, ErrBadSession) {
				t.Fatalf("error %v does not wrap ErrBadSession", err)
			}
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeSession(out); err != nil {
			t.Fatalf("accepted %q but not its re-encoding %s: %v", b, out, err)
		}
	})
}
