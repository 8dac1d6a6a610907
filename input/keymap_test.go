package input

import (
	"testing"

	"github.com/didacto/didacto/wire"
)

func TestEveryKnownCodeIsMapped(t *testing.T) {
	for _, code := range wire.KeyCodes() {
		k, ok := LookupKey(code)
		if !ok {
			t.Errorf("%s has no mapping", code)
			continue
		}
		if k.Keysym == 0 {
			t.Errorf("%s has no X keysym", code)
		}
		if k.Code != code {
			t.Errorf("%s maps to %+v", code, k)
		}
	}
	if _, ok := LookupKey("Fn"); ok {
		t.Error("Fn mapped")
	}
}

func TestKeyMappings(t *testing.T) {
	for _, c := range []struct {
		code    string
		keysym  uint32
		robotgo string
		mod     int
	}{
		{"KeyA", 'a', "a", 0}, {"KeyZ", 'z', "z", 0}, {"Digit7", '7', "7", 0},
		{"F1", 0xffbe, "f1", 0}, {"F12", 0xffc9, "f12", 0}, {"F13", 0xffca, "f13", 0}, {"F24", 0xffd5, "f24", 0},
		{"Numpad0", 0xffb0, "num0", 0}, {"Numpad9", 0xffb9, "num9", 0}, {"NumpadEnter", 0xff8d, "num_enter", 0},
		{"Enter", 0xff0d, "enter", 0}, {"Escape", 0xff1b, "esc", 0}, {"Backquote", '`', "`", 0},
		{"Quote", '\'', "'", 0}, {"IntlBackslash", '<', "", 0}, {"ContextMenu", 0xff67, "menu", 0},
		{"Lang1", 0xff31, "", 0}, {"HangulMode", 0xff31, "", 0},
		{"Lang2", 0xff34, "", 0}, {"HanjaMode", 0xff34, "", 0},
		{"ShiftRight", 0xffe2, "shiftr", wire.ModShift}, {"ControlLeft", 0xffe3, "ctrll", wire.ModCtrl},
		{"AltRight", 0xffea, "altr", wire.ModAlt}, {"MetaLeft", 0xffeb, "cmdl", wire.ModMeta},
		{"OSRight", 0xffec, "cmdr", wire.ModMeta},
	} {
		k, _ := LookupKey(c.code)
		if k.Keysym != c.keysym || k.Robotgo != c.robotgo || k.Mod != c.mod {
			t.Errorf("%s: got %#x %q %d, want %#x %q %d", c.code, k.Keysym, k.Robotgo, k.Mod, c.keysym, c.robotgo, c.mod)
		}
	}
}

func TestTextKeysym(t *testing.T) {
	for r, want := range map[rune]uint32{'a': 'a', '~': '~', 'é': 0xe9, '한': 0x0100d55c, '€': 0x010020ac} {
		if got := TextKeysym(r); got != want {
			t.Errorf("%c: %#x, want %#x", r, got, want)
		}
	}
}

func TestXKeymap(t *testing.T) {
	// keycodes 8..12, two columns: 8 a/A, 9 empty, 10 b/less, 11 less/greater, 12 empty
	m := xKeymap{min: 8, per: 2, keysyms: []uint32{'a', 'A', 0, 0, 'b', '<', '<', '>', 0, 0}}
	for _, c := range []struct {
		ks        uint32
		kc        int
		unshifted bool
	}{{'a', 8, true}, {'A', 8, false}, {'<', 11, true}, {'>', 11, false}, {0xff31, 0, false}, {0, 0, false}} {
		kc, un := m.keycode(c.ks)
		if kc != c.kc || un != c.unshifted {
			t.Errorf("keysym %#x: %d %v, want %d %v", c.ks, kc, un, c.kc, c.unshifted)
		}
	}
	sp := m.spare()
	if len(sp) != 2 || sp[0] != 9 || sp[1] != 12 {
		t.Fatalf("spare %v", sp)
	}
	m.bind(12, 0xff31)
	if kc, un := m.keycode(0xff31); kc != 12 || !un {
		t.Errorf("bound Hangul: %d %v", kc, un)
	}
	if sp := m.spare(); len(sp) != 1 {
		t.Errorf("spare after bind %v", sp)
	}
}
