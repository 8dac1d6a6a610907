package input

import (
	"fmt"

	"github.com/didacto/didacto/wire"
)

// Key is a physical key as each backend names it.
type Key struct {
	Code    string // KeyboardEvent.code
	Keysym  uint32 // X11 keysym of the key's unshifted symbol (Linux)
	Robotgo string // robotgo key name (Windows, macOS); "" when robotgo has none
	Mod     int    // wire.Mod* bit when the key is a modifier, else 0
}

// LookupKey maps a browser KeyboardEvent.code to a key.
func LookupKey(code string) (Key, bool) {
	k, ok := keyTable[code]
	return k, ok
}

// X11 keysyms used below (X11/keysymdef.h).
const (
	xkF1          = 0xffbe // F1..F35 are consecutive
	xkKP0         = 0xffb0 // KP_0..KP_9 are consecutive
	xkHangul      = 0xff31
	xkHangulHanja = 0xff34
)

// keyTable is read-only after init: code → key for every wire.KnownKeyCode.
var keyTable = func() map[string]Key {
	m := map[string]Key{}
	add := func(code string, keysym uint32, robotgo string) {
		m[code] = Key{Code: code, Keysym: keysym, Robotgo: robotgo}
	}
	for c := 'a'; c <= 'z'; c++ {
		add("Key"+string(c-'a'+'A'), uint32(c), string(c))
	}
	for d := '0'; d <= '9'; d++ {
		add("Digit"+string(d), uint32(d), string(d))
		add("Numpad"+string(d), xkKP0+uint32(d-'0'), "num"+string(d))
	}
	for i := 1; i <= 24; i++ {
		add(fmt.Sprintf("F%d", i), xkF1+uint32(i-1), fmt.Sprintf("f%d", i))
	}
	for _, k := range []struct {
		code    string
		keysym  uint32
		robotgo string
	}{
		{"ArrowLeft", 0xff51, "left"}, {"ArrowUp", 0xff52, "up"},
		{"ArrowRight", 0xff53, "right"}, {"ArrowDown", 0xff54, "down"},
		{"Home", 0xff50, "home"}, {"End", 0xff57, "end"},
		{"PageUp", 0xff55, "pageup"}, {"PageDown", 0xff56, "pagedown"},
		{"Insert", 0xff63, "insert"}, {"Delete", 0xffff, "delete"},
		{"Backspace", 0xff08, "backspace"}, {"Tab", 0xff09, "tab"},
		{"Enter", 0xff0d, "enter"}, {"Escape", 0xff1b, "esc"}, {"Space", 0x20, "space"},
		{"Minus", '-', "-"}, {"Equal", '=', "="},
		{"BracketLeft", '[', "["}, {"BracketRight", ']', "]"},
		{"Backslash", '\\', "\\"}, {"Semicolon", ';', ";"}, {"Quote", '\'', "'"},
		{"Backquote", '`', "`"}, {"Comma", ',', ","}, {"Period", '.', "."}, {"Slash", '/', "/"},
		// The extra key left of Z on ISO keyboards; robotgo has no name for it.
		{"IntlBackslash", '<', ""},
		{"NumpadAdd", 0xffab, "num+"}, {"NumpadSubtract", 0xffad, "num-"},
		{"NumpadMultiply", 0xffaa, "num*"}, {"NumpadDivide", 0xffaf, "num/"},
		{"NumpadDecimal", 0xffae, "num."}, {"NumpadEnter", 0xff8d, "num_enter"},
		{"NumpadEqual", 0xffbd, "num_equal"}, {"NumLock", 0xff7f, "num_lock"},
		{"CapsLock", 0xffe5, "capslock"}, {"ContextMenu", 0xff67, "menu"},
		{"PrintScreen", 0xff61, "printscreen"}, {"ScrollLock", 0xff14, "scroll_lock"},
		{"Pause", 0xff13, "pause_break"},
		// Korean keyboards: Lang1 is the Hangul/English toggle, Lang2 the
		// Hanja key; older browsers call them HangulMode/HanjaMode. robotgo
		// has no names for them.
		{"Lang1", xkHangul, ""}, {"HangulMode", xkHangul, ""},
		{"Lang2", xkHangulHanja, ""}, {"HanjaMode", xkHangulHanja, ""},
	} {
		add(k.code, k.keysym, k.robotgo)
	}
	for _, k := range []struct {
		code    string
		keysym  uint32
		robotgo string
		mod     int
	}{
		{"ShiftLeft", 0xffe1, "shiftl", wire.ModShift}, {"ShiftRight", 0xffe2, "shiftr", wire.ModShift},
		{"ControlLeft", 0xffe3, "ctrll", wire.ModCtrl}, {"ControlRight", 0xffe4, "ctrlr", wire.ModCtrl},
		{"AltLeft", 0xffe9, "altl", wire.ModAlt}, {"AltRight", 0xffea, "altr", wire.ModAlt},
		{"MetaLeft", 0xffeb, "cmdl", wire.ModMeta}, {"MetaRight", 0xffec, "cmdr", wire.ModMeta},
		{"OSLeft", 0xffeb, "cmdl", wire.ModMeta}, {"OSRight", 0xffec, "cmdr", wire.ModMeta},
	} {
		m[k.code] = Key{Code: k.code, Keysym: k.keysym, Robotgo: k.robotgo, Mod: k.mod}
	}
	return m
}()

// TextKeysym is the X11 keysym that types r: Latin-1 keysyms equal their code
// point, everything else is 0x01000000 + code point.
func TextKeysym(r rune) uint32 {
	if (r >= 0x20 && r <= 0x7e) || (r >= 0xa0 && r <= 0xff) {
		return uint32(r)
	}
	return 0x01000000 | uint32(r)
}
