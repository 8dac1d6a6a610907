package wire

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

var controlSeeds = []string{
	`{"type":"move","x":0.5,"y":0.25,"seq":1,"t":1763900000000}`,
	`{"type":"move"}`,
	`{"type":"move","x":1,"y":1}`,
	`{"type":"down","x":0.1,"y":0.2,"button":"left","seq":2}`,
	`{"type":"up","x":0.1,"y":0.2,"button":"right","mods":1}`,
	`{"type":"dblclick","x":0.3,"y":0.4,"button":"middle"}`,
	`{"type":"wheel","x":0.5,"y":0.5,"dy":3}`,
	`{"type":"wheel","x":0.5,"y":0.5,"dx":-2}`,
	`{"type":"keydown","code":"KeyA","key":"a"}`,
	`{"type":"keydown","code":"KeyA","key":"A","mods":1}`,
	`{"type":"keyup","code":"ShiftLeft","key":"Shift"}`,
	`{"type":"keydown","code":"Lang1","key":"HangulMode"}`,
	`{"type":"keydown","code":"Lang2","key":"HanjaMode"}`,
	`{"type":"keydown","code":"MetaLeft","key":"Meta","mods":8}`,
	`{"type":"keydown","code":"KeyR","key":"Process"}`,
	`{"type":"keydown","key":"한"}`,
	`{"type":"keydown","code":"Unidentified","key":"é"}`,
	`{"type":"release_all","seq":99}`,
}

func TestDecodeControlAccepts(t *testing.T) {
	for _, s := range controlSeeds {
		ev, err := DecodeControl([]byte(s))
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		// Round trip: what we encode we decode to the same event.
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		ev2, err := DecodeControl(b)
		if err != nil || ev2 != ev {
			t.Errorf("round trip of %s: %s -> %+v, %v", s, b, ev2, err)
		}
	}
	ev, _ := DecodeControl([]byte(`{"type":"wheel","x":0.5,"y":0.75,"dx":1,"dy":-3,"seq":7,"t":12}`))
	want := ControlEvent{Type: ControlWheel, X: 0.5, Y: 0.75, DX: 1, DY: -3, Seq: 7, T: 12}
	if ev != want {
		t.Errorf("got %+v, want %+v", ev, want)
	}
}

func TestDecodeControlRejects(t *testing.T) {
	bad := []string{
		``,
		`null`,
		`[]`,
		`{}`,
		`{"type":"teleport"}`,
		`{"type":"move","x":1.5,"y":0}`,
		`{"type":"move","x":-0.01,"y":0}`,
		`{"type":"move","x":1e400}`,
		`{"type":"move","x":NaN}`,
		`{"type":"move","x":"0.5"}`,
		`{"type":"move","z":1}`,
		`{"type":"move"}{"type":"move"}`,
		`{"type":"move"} x`,
		`{"type":"move","button":"left"}`,
		`{"type":"down","x":0.1,"y":0.1}`,
		`{"type":"down","x":0.1,"y":0.1,"button":"fourth"}`,
		`{"type":"wheel","x":0.5,"y":0.5}`,
		`{"type":"wheel","x":0.5,"y":0.5,"dy":21}`,
		`{"type":"wheel","x":0.5,"y":0.5,"dy":1.5}`,
		`{"type":"keydown","code":"KeyQQ","key":"q"}`,
		`{"type":"keydown","code":"","key":"ab"}`,
		`{"type":"keydown","code":"","key":"\n"}`,
		`{"type":"keydown"}`,
		`{"type":"keydown","code":"KeyA","x":0.5}`,
		`{"type":"keydown","code":"KeyA","mods":16}`,
		`{"type":"keydown","code":"KeyA","key":"` + strings.Repeat("a", 33) + `"}`,
		`{"type":"keyup","code":"KeyA","dx":1}`,
		`{"type":"release_all","code":"KeyA"}`,
		`{"type":"move","seq":-1}`,
		`{"type":"move","t":-5}`,
		`{"type":"move","x":0.5,"pad":"` + strings.Repeat(" ", MaxControlBytes) + `"}`,
	}
	for _, s := range bad {
		if ev, err := DecodeControl([]byte(s)); err == nil {
			t.Errorf("%q accepted as %+v", s, ev)
		} else if !errors.Is(err, ErrBadControl) {
			t.Errorf("%q: error %v does not wrap ErrBadControl", s, err)
		}
	}
}

func TestValidateNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := (ControlEvent{Type: ControlMove, X: v}).Validate(); err == nil {
			t.Errorf("x=%v accepted", v)
		}
	}
}

func TestKnownKeyCodes(t *testing.T) {
	for _, c := range []string{"KeyA", "Digit0", "F24", "Numpad9", "Lang1", "Lang2", "HangulMode", "HanjaMode", "MetaLeft", "OSRight", "IntlBackslash"} {
		if !KnownKeyCode(c) {
			t.Errorf("%s unknown", c)
		}
	}
	for _, c := range []string{"", "keya", "F25", "Unidentified", "Fn"} {
		if KnownKeyCode(c) {
			t.Errorf("%q known", c)
		}
	}
	if n := len(KeyCodes()); n < 100 {
		t.Errorf("only %d codes", n)
	}
}

func FuzzDecodeControl(f *testing.F) {
	for _, s := range controlSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"type":"move","x":0.5,"y":0.5,"x":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := DecodeControl(b)
		if err != nil {
			if !errors.Is(err, ErrBadControl) {
				t.Fatalf("error %v does not wrap ErrBadControl", err)
			}
			return
		}
		if len(b) > MaxControlBytes {
			t.Fatalf("accepted %d bytes", len(b))
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("decoded event does not validate: %v", err)
		}
		// Whatever is accepted re-encodes within the cap and decodes the same.
		out, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		ev2, err := DecodeControl(out)
		if err != nil || ev2 != ev {
			t.Fatalf("re-encoded %s: %+v, %v (was %+v)", out, ev2, err, ev)
		}
	})
}
