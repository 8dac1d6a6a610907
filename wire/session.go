package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Session messages travel on the DataChannel labelled SessionChannel between
// the student's agent and the professor's console while a live session is up.
//
//	agent → console: screens (the monitors and the one being streamed),
//	                 control_state (remote control accepted or ended),
//	                 media (the student's microphone and speaker)
//	console → agent: select_screen (stream another monitor),
//	                 media (the professor's microphone and camera)
const (
	SessionChannel = "session"

	SessionScreens      = "screens"
	SessionControlState = "control_state"
	SessionSelectScreen = "select_screen"
	SessionMedia        = "media"

	// States of a media device in a media message.
	MediaOn      = "on"      // working
	MediaOff     = "off"     // camera switched off by its owner
	MediaMuted   = "muted"   // microphone muted by its owner
	MediaMissing = "missing" // the machine has none, or it failed

	// MaxSessionBytes bounds one encoded message.
	MaxSessionBytes = 8 << 10
	// MaxSessionScreens bounds the screens list (and a selectable index).
	MaxSessionScreens = 16
	// MaxSessionText bounds a screen name and a reason.
	MaxSessionText = 128
	// maxScreenCoord keeps coordinates within what X11, Windows and macOS use.
	maxScreenCoord = 1 << 16
)

// SessionScreen is one monitor in virtual-desktop pixels.
type SessionScreen struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	X       int    `json:"x"`
	Y       int    `json:"y"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Primary bool   `json:"primary"`
}

// SessionMessage is one message of the session channel. Pointer fields are
// pointers so that 0 and false are sent (and required) where a type needs
// them: index of select_screen, current of screens, accepted of control_state.
type SessionMessage struct {
	Type     string          `json:"type"`
	Screens  []SessionScreen `json:"screens,omitempty"`
	Current  *int            `json:"current,omitempty"`
	Index    *int            `json:"index,omitempty"`
	Accepted *bool           `json:"accepted,omitempty"`
	Reason   string          `json:"reason,omitempty"`
	// media: the sender's devices (each optional, at least one).
	Microphone string `json:"microphone,omitempty"` // on, muted, missing
	Camera     string `json:"camera,omitempty"`     // on, off, missing
	Speaker    string `json:"speaker,omitempty"`    // on, missing
}

// ErrBadSession wraps every reason DecodeSession rejects a message.
var ErrBadSession = errors.New("bad session message")

func badSession(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSession, fmt.Sprintf(format, args...))
}

// DecodeSession parses and validates one message: one JSON object within
// MaxSessionBytes, no unknown fields or trailing data, a known type with the
// fields it needs and none it does not use.
func DecodeSession(b []byte) (SessionMessage, error) {
	var m SessionMessage
	if len(b) > MaxSessionBytes {
		return m, badSession("%d bytes, more than %d", len(b), MaxSessionBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return SessionMessage{}, fmt.Errorf("%w: %v", ErrBadSession, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return SessionMessage{}, badSession("trailing data after the message")
	}
	if err := m.Validate(); err != nil {
		return SessionMessage{}, err
	}
	return m, nil
}

// Validate checks the fields against the type (see DecodeSession).
func (m SessionMessage) Validate() error {
	if !utf8.ValidString(m.Reason) || len(m.Reason) > MaxSessionText {
		return badSession("bad reason")
	}
	media := m.Microphone != "" || m.Camera != "" || m.Speaker != ""
	if media && m.Type != SessionMedia {
		return badSession("%.40s with media fields", m.Type)
	}
	switch m.Type {
	case SessionMedia:
		if m.Screens != nil || m.Current != nil || m.Index != nil || m.Accepted != nil || m.Reason != "" {
			return badSession("media with fields of another type")
		}
		if !media {
			return badSession("media needs microphone, camera or speaker")
		}
		if !oneOf(m.Microphone, "", MediaOn, MediaMuted, MediaMissing) {
			return badSession("microphone %.20q (on, muted, missing)", m.Microphone)
		}
		if !oneOf(m.Camera, "", MediaOn, MediaOff, MediaMissing) {
			return badSession("camera %.20q (on, off, missing)", m.Camera)
		}
		if !oneOf(m.Speaker, "", MediaOn, MediaMissing) {
			return badSession("speaker %.20q (on, missing)", m.Speaker)
		}
	case SessionScreens:
		if m.Index != nil || m.Accepted != nil || m.Reason != "" {
			return badSession("screens with fields of another type")
		}
		if len(m.Screens) == 0 || len(m.Screens) > MaxSessionScreens {
			return badSession("screens needs 1..%d screens", MaxSessionScreens)
		}
		for i, s := range m.Screens {
			if err := s.validate(i); err != nil {
				return err
			}
		}
		if m.Current == nil || *m.Current < 0 || *m.Current >= len(m.Screens) {
			return badSession("screens needs current, an index of the list")
		}
	case SessionSelectScreen:
		if m.Screens != nil || m.Current != nil || m.Accepted != nil || m.Reason != "" {
			return badSession("select_screen with fields of another type")
		}
		if m.Index == nil || *m.Index < 0 || *m.Index >= MaxSessionScreens {
			return badSession("select_screen needs index 0..%d", MaxSessionScreens-1)
		}
	case SessionControlState:
		if m.Screens != nil || m.Current != nil || m.Index != nil {
			return badSession("control_state with fields of another type")
		}
		if m.Accepted == nil {
			return badSession("control_state needs accepted")
		}
	default:
		return badSession("unknown type %.40q", m.Type)
	}
	return nil
}

func oneOf(v string, allowed ...string) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

func (s SessionScreen) validate(i int) error {
	switch {
	case s.Index != i:
		return badSession("screen %d has index %d", i, s.Index)
	case len(s.Name) > MaxSessionText || !utf8.ValidString(s.Name):
		return badSession("screen %d has a bad name", i)
	case s.Width <= 0 || s.Height <= 0 || s.Width > maxScreenCoord || s.Height > maxScreenCoord:
		return badSession("screen %d has size %dx%d", i, s.Width, s.Height)
	case s.X < -maxScreenCoord || s.X > maxScreenCoord || s.Y < -maxScreenCoord || s.Y > maxScreenCoord:
		return badSession("screen %d has position %d,%d", i, s.X, s.Y)
	}
	return nil
}
