package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode"
	"unicode/utf8"
)

// Remote control: the professor's console sends ControlEvents to the student
// agent. Moves travel on an unordered, no-retransmit DataChannel (label
// ControlChannelMoves); everything else on a reliable ordered one (label
// ControlChannelKeys). The same JSON may come through the signaling relay when
// no DataChannel opens.
const (
	ControlChannelMoves = "control-moves"
	ControlChannelKeys  = "control"
	// MaxControlBytes bounds one encoded event; real events are < 150 bytes.
	MaxControlBytes = 512
	// MaxWheelSteps bounds one wheel event in notches per axis. The console
	// turns pixel deltas into notches (about 100 px per notch) and accumulates
	// the remainder.
	MaxWheelSteps = 20
	// MaxControlKeyBytes bounds the key field (KeyboardEvent.key).
	MaxControlKeyBytes = 32
)

// ControlType is what a ControlEvent does.
type ControlType string

const (
	ControlMove       ControlType = "move"        // x, y
	ControlDown       ControlType = "down"        // button at x, y
	ControlUp         ControlType = "up"          // button at x, y
	ControlDblClick   ControlType = "dblclick"    // button at x, y
	ControlWheel      ControlType = "wheel"       // dx, dy at x, y
	ControlKeyDown    ControlType = "keydown"     // code, key, mods
	ControlKeyUp      ControlType = "keyup"       // code, key, mods
	ControlReleaseAll ControlType = "release_all" // let go of every held key and button
)

// Mouse buttons.
const (
	ButtonLeft   = "left"
	ButtonMiddle = "middle"
	ButtonRight  = "right"
)

// Modifier bits of ControlEvent.Mods, as the browser reported them
// (shiftKey, ctrlKey, altKey, metaKey) at the time of the event.
const (
	ModShift = 1 << iota
	ModCtrl
	ModAlt
	ModMeta
	modAll = ModShift | ModCtrl | ModAlt | ModMeta
)

// ControlEvent is one remote-control input event. It is sent for every mouse
// move, so it is compact: every field but type is omitted when zero.
//
// Positions are normalized to the streamed screen: 0..1 from its left/top edge
// (the console sends offsetX/width of the video element). Pointer events
// (down, up, dblclick, wheel) carry the position too, so a lost unordered move
// never makes a click land elsewhere.
//
// Wheel steps follow the browser's sign: dy > 0 scrolls down, dx > 0 right.
//
// Key events name the physical key by KeyboardEvent.code. A keydown whose code
// is "" or "Unidentified" and whose key is one printable character (virtual
// keyboards, some IMEs) is typed as text; its keyup is accepted and ignored.
type ControlEvent struct {
	Type   ControlType `json:"type"`
	X      float64     `json:"x,omitempty"`
	Y      float64     `json:"y,omitempty"`
	Button string      `json:"button,omitempty"`
	DX     int         `json:"dx,omitempty"`
	DY     int         `json:"dy,omitempty"`
	Code   string      `json:"code,omitempty"`
	Key    string      `json:"key,omitempty"`
	Mods   int         `json:"mods,omitempty"`
	Seq    uint64      `json:"seq,omitempty"`
	T      int64       `json:"t,omitempty"` // sender clock, Unix ms, for latency measurement
}

// ErrBadControl wraps every reason DecodeControl and Validate reject an event.
var ErrBadControl = errors.New("bad control event")

func badControl(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadControl, fmt.Sprintf(format, args...))
}

// DecodeControl parses and validates one event. It is strict: size cap,
// unknown fields, trailing data, unknown types or codes, out-of-range or
// non-finite numbers and fields that do not belong to the type are errors.
func DecodeControl(b []byte) (ControlEvent, error) {
	var ev ControlEvent
	if len(b) > MaxControlBytes {
		return ev, badControl("%d bytes, more than %d", len(b), MaxControlBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		return ControlEvent{}, fmt.Errorf("%w: %v", ErrBadControl, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return ControlEvent{}, badControl("trailing data after the event")
	}
	if err := ev.Validate(); err != nil {
		return ControlEvent{}, err
	}
	return ev, nil
}

// Validate checks an event's fields against its type (see DecodeControl).
func (ev ControlEvent) Validate() error {
	if ev.Mods&^modAll != 0 {
		return badControl("mods %d has unknown bits", ev.Mods)
	}
	if ev.T < 0 {
		return badControl("negative timestamp")
	}
	switch ev.Type {
	case ControlMove:
		if err := ev.validPoint(); err != nil {
			return err
		}
		return ev.only(false, false, false)
	case ControlDown, ControlUp, ControlDblClick:
		if err := ev.validPoint(); err != nil {
			return err
		}
		switch ev.Button {
		case ButtonLeft, ButtonMiddle, ButtonRight:
		default:
			return badControl("unknown button %q", ev.Button)
		}
		return ev.only(true, false, false)
	case ControlWheel:
		if err := ev.validPoint(); err != nil {
			return err
		}
		if ev.DX < -MaxWheelSteps || ev.DX > MaxWheelSteps || ev.DY < -MaxWheelSteps || ev.DY > MaxWheelSteps {
			return badControl("wheel steps out of range")
		}
		if ev.DX == 0 && ev.DY == 0 {
			return badControl("empty wheel event")
		}
		return ev.only(false, true, false)
	case ControlKeyDown, ControlKeyUp:
		if ev.X != 0 || ev.Y != 0 {
			return badControl("key event with a position")
		}
		if len(ev.Key) > MaxControlKeyBytes || !utf8.ValidString(ev.Key) {
			return badControl("bad key field")
		}
		if !KnownKeyCode(ev.Code) {
			if ev.Code != "" && ev.Code != "Unidentified" {
				return badControl("unknown key code %q", ev.Code)
			}
			if _, ok := ev.TextRune(); !ok {
				return badControl("no key code and the key is not one printable character") // no text in errors: it may be a password
			}
		}
		return ev.only(false, false, true)
	case ControlReleaseAll:
		if ev.X != 0 || ev.Y != 0 {
			return badControl("release_all with a position")
		}
		return ev.only(false, false, false)
	}
	return badControl("unknown type %q", ev.Type)
}

// TextRune is the character a code-less key event types, if it has one.
func (ev ControlEvent) TextRune() (rune, bool) {
	r, n := utf8.DecodeRuneInString(ev.Key)
	if n == 0 || n != len(ev.Key) || r == utf8.RuneError || !unicode.IsPrint(r) {
		return 0, false
	}
	return r, true
}

func (ev ControlEvent) validPoint() error {
	for _, v := range []float64{ev.X, ev.Y} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 1 {
			return badControl("position %v out of 0..1", v)
		}
	}
	return nil
}

// only rejects fields that do not belong to the event's type.
func (ev ControlEvent) only(button, wheel, key bool) error {
	if !button && ev.Button != "" {
		return badControl("%s event with a button", ev.Type)
	}
	if !wheel && (ev.DX != 0 || ev.DY != 0) {
		return badControl("%s event with wheel steps", ev.Type)
	}
	if !key && (ev.Code != "" || ev.Key != "") {
		return badControl("%s event with a key", ev.Type)
	}
	return nil
}

// KnownKeyCode reports whether code is a KeyboardEvent.code the agent maps.
func KnownKeyCode(code string) bool {
	_, ok := knownKeyCodes[code]
	return ok
}

// KeyCodes lists every known KeyboardEvent.code (a fresh slice, any order).
func KeyCodes() []string {
	out := make([]string, 0, len(knownKeyCodes))
	for c := range knownKeyCodes {
		out = append(out, c)
	}
	return out
}

// knownKeyCodes is a read-only table: the physical keys of PC keyboards
// including the Korean Hangul/Hanja keys (Lang1/Lang2; HangulMode/HanjaMode
// are older names some browsers still send) and both spellings of Meta.
var knownKeyCodes = func() map[string]struct{} {
	m := map[string]struct{}{}
	add := func(cs ...string) {
		for _, c := range cs {
			m[c] = struct{}{}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		add("Key" + string(c))
	}
	for d := '0'; d <= '9'; d++ {
		add("Digit"+string(d), "Numpad"+string(d))
	}
	for i := 1; i <= 24; i++ {
		add(fmt.Sprintf("F%d", i))
	}
	add("ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight",
		"Home", "End", "PageUp", "PageDown", "Insert", "Delete",
		"Backspace", "Tab", "Enter", "Escape", "Space",
		"Minus", "Equal", "BracketLeft", "BracketRight", "Backslash", "IntlBackslash",
		"Semicolon", "Quote", "Backquote", "Comma", "Period", "Slash",
		"NumpadAdd", "NumpadSubtract", "NumpadMultiply", "NumpadDivide",
		"NumpadDecimal", "NumpadEnter", "NumpadEqual", "NumLock",
		"ShiftLeft", "ShiftRight", "ControlLeft", "ControlRight", "AltLeft", "AltRight",
		"MetaLeft", "MetaRight", "OSLeft", "OSRight",
		"CapsLock", "ContextMenu", "PrintScreen", "ScrollLock", "Pause",
		"Lang1", "Lang2", "HangulMode", "HanjaMode")
	return m
}()
