package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Signaling: one websocket endpoint (GET /api/v1/signal) carries JSON text
// messages, each a SignalMessage with a version and a type. docs/protocol.md
// describes every type, who sends it and the room rules.

// Signal message types.
const (
	// Client → server.
	SignalJoin         = "join"          // enter the room (lecture_id, student_id, role)
	SignalOffer        = "offer"         // relayed to the peer (sdp)
	SignalAnswer       = "answer"        // relayed to the peer (sdp)
	SignalCandidate    = "candidate"     // relayed to the peer (candidate)
	SignalControl      = "control"       // professor → student remote-control event (relay fallback)
	SignalControlStart = "control_start" // professor starts remote control (relayed, audited)
	SignalControlEnd   = "control_end"   // either side ends remote control (relayed, audited)
	SignalLeave        = "leave"         // leave the room, keep the socket (a student may give a code: StudentReason)
	SignalPing         = "ping"          // application-level keep-alive; answered by pong

	// Server → client.
	SignalJoined     = "joined"      // join accepted (epoch, ice_servers, peer)
	SignalPeerJoined = "peer_joined" // the professor arrived (sent to the student)
	SignalPeerLeft   = "peer_left"   // the peer left or dropped
	SignalKicked     = "kicked"      // a newer session took this one over; the socket is closed next
	SignalError      = "error"       // a request failed (code, message)
	SignalPong       = "pong"        // answer to ping
)

// Signaling limits.
const (
	// MaxSignalBytes bounds one encoded message.
	MaxSignalBytes = 64 << 10
	// MaxSDPBytes bounds a session description.
	MaxSDPBytes = 60 << 10
	// MaxCandidateBytes bounds an ICE candidate object.
	MaxCandidateBytes = 2 << 10
	// MaxSignalText bounds the message and name strings.
	MaxSignalText = 512
	// MaxICEServers bounds the ice_servers list.
	MaxICEServers = 8
)

// Signaling error codes beyond the shared ones in problem.go (which are used
// where they fit: CodeForbidden, CodeNotMember, CodeLectureInactive,
// CodeStudentNotInRoom, CodeRoomTakenOver, CodeRateLimited, CodeTooLarge,
// CodeNotFound, CodeBadRequest, CodeUnavailable, CodeInternal).
const (
	CodeUnknownType        = "unknown_message_type"
	CodeUnsupportedVersion = "unsupported_version"
	CodeNotJoined          = "not_joined"       // a room message before join (or after leaving)
	CodeAlreadyJoined      = "already_joined"   // join while in a room: leave first
	CodeProfessorLeft      = "professor_left"   // peer_left reason: the professor left
	CodeStudentLeft        = "student_left"     // peer_left reason: the student left or dropped
	CodeControlInactive    = "control_inactive" // control before control_start, or from the student
	CodePeerNotInRoom      = "peer_not_connected"
)

// Why a student ended a live session or refused part of it. A student's
// leave may carry one as its code; the server passes it on as the code of
// the professor's peer_left (instead of student_left). The agent's
// control_state uses the same words as its reason when control ends or is
// refused on the student's side.
const (
	CodeStudentEnded       = "student_ended"       // the student pressed End
	CodeConsentRefused     = "consent_refused"     // the student said no (consent: ask)
	CodeConsentTimeout     = "consent_timeout"     // the student did not answer in time
	CodeConsentUnavailable = "consent_unavailable" // consent is ask and this agent cannot ask (headless)
)

// StudentReason reports whether code is one of the reasons above. A leave
// with another code counts as a plain leave, so a newer client's reason
// never stops it from leaving.
func StudentReason(code string) bool {
	switch code {
	case CodeStudentEnded, CodeConsentRefused, CodeConsentTimeout, CodeConsentUnavailable:
		return true
	}
	return false
}

// ICEServer is one STUN/TURN server, as RTCIceServer in the browser.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// SignalPeer tells a session who is on the other side.
type SignalPeer struct {
	UserID int64  `json:"user_id"`
	Name   string `json:"name"`
	Role   Role   `json:"role"`
}

// SignalMessage is the one envelope of every signaling message. Fields that a
// type does not use are omitted.
type SignalMessage struct {
	V    int    `json:"v"`
	Type string `json:"type"`

	LectureID int64 `json:"lecture_id,omitempty"`
	StudentID int64 `json:"student_id,omitempty"`
	Role      Role  `json:"role,omitempty"`

	SDP string `json:"sdp,omitempty"`
	// Candidate is an RTCIceCandidateInit object, relayed as is.
	Candidate json.RawMessage `json:"candidate,omitempty"`
	// Control is a remote-control event, opaque to the server (size-checked only).
	Control json.RawMessage `json:"control,omitempty"`

	ICEServers []ICEServer `json:"ice_servers,omitempty"`
	// Epoch is the fencing token of the sender's (joined) or target's session:
	// a larger epoch is a newer session of the same room slot.
	Epoch int64       `json:"epoch,omitempty"`
	Peer  *SignalPeer `json:"peer,omitempty"`

	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

// FromClient reports whether t is a type a client may send.
func FromClient(t string) bool {
	switch t {
	case SignalJoin, SignalOffer, SignalAnswer, SignalCandidate, SignalControl,
		SignalControlStart, SignalControlEnd, SignalLeave, SignalPing:
		return true
	}
	return false
}

// FromServer reports whether t is a type the server sends.
func FromServer(t string) bool {
	switch t {
	case SignalJoined, SignalPeerJoined, SignalPeerLeft, SignalKicked, SignalError, SignalPong,
		// relayed from the peer
		SignalOffer, SignalAnswer, SignalCandidate, SignalControl, SignalControlStart, SignalControlEnd:
		return true
	}
	return false
}

// SignalDecodeError is a decoding failure with the code to answer with.
type SignalDecodeError struct {
	Code string
	Msg  string
}

func (e *SignalDecodeError) Error() string { return e.Code + ": " + e.Msg }

func signalErr(code, format string, args ...any) error {
	return &SignalDecodeError{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// ErrSignalTooLarge is wrapped by the error for an oversized message.
var ErrSignalTooLarge = errors.New("signal message too large")

// DecodeSignal parses and validates one message: a single JSON object, no
// unknown fields, the current version, a known type and the fields that type
// needs, within the size caps. Errors are *SignalDecodeError.
func DecodeSignal(b []byte) (SignalMessage, error) {
	var m SignalMessage
	if len(b) > MaxSignalBytes {
		return m, &SignalDecodeError{Code: CodeTooLarge, Msg: fmt.Sprintf("%v: %d > %d bytes", ErrSignalTooLarge, len(b), MaxSignalBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return SignalMessage{}, signalErr(CodeBadRequest, "decoding message: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return SignalMessage{}, signalErr(CodeBadRequest, "trailing data after the message")
	}
	if err := m.Validate(); err != nil {
		return SignalMessage{}, err
	}
	return m, nil
}

// Validate checks the version, the type and the fields the type needs.
func (m *SignalMessage) Validate() error {
	if m.V != ProtocolVersion {
		return signalErr(CodeUnsupportedVersion, "version %d not supported (want %d)", m.V, ProtocolVersion)
	}
	if !FromClient(m.Type) && !FromServer(m.Type) {
		return signalErr(CodeUnknownType, "unknown message type %.40q", m.Type)
	}
	if len(m.SDP) > MaxSDPBytes {
		return signalErr(CodeTooLarge, "sdp larger than %d bytes", MaxSDPBytes)
	}
	if len(m.Candidate) > MaxCandidateBytes {
		return signalErr(CodeTooLarge, "candidate larger than %d bytes", MaxCandidateBytes)
	}
	if len(m.Control) > MaxControlBytes { // the bound of control.go's ControlEvent
		return signalErr(CodeTooLarge, "control larger than %d bytes", MaxControlBytes)
	}
	if len(m.Message) > MaxSignalText || len(m.Code) > MaxSignalText {
		return signalErr(CodeTooLarge, "code or message longer than %d bytes", MaxSignalText)
	}
	if m.Peer != nil && len(m.Peer.Name) > MaxSignalText {
		return signalErr(CodeTooLarge, "peer name longer than %d bytes", MaxSignalText)
	}
	if len(m.ICEServers) > MaxICEServers {
		return signalErr(CodeTooLarge, "more than %d ice servers", MaxICEServers)
	}
	if m.LectureID < 0 || m.StudentID < 0 || m.Epoch < 0 {
		return signalErr(CodeBadRequest, "negative id or epoch")
	}
	switch m.Type {
	case SignalJoin:
		if m.LectureID == 0 || m.StudentID == 0 {
			return signalErr(CodeBadRequest, "join needs lecture_id and student_id")
		}
		if !m.Role.Valid() {
			return signalErr(CodeBadRequest, "join needs role professor or student")
		}
	case SignalOffer, SignalAnswer:
		if m.SDP == "" {
			return signalErr(CodeBadRequest, "%s needs sdp", m.Type)
		}
	case SignalCandidate:
		if !isObject(m.Candidate) {
			return signalErr(CodeBadRequest, "candidate must be a JSON object")
		}
	case SignalControl:
		if len(m.Control) == 0 || bytes.Equal(m.Control, []byte("null")) {
			return signalErr(CodeBadRequest, "control needs a control event")
		}
	case SignalError, SignalKicked:
		if m.Code == "" {
			return signalErr(CodeBadRequest, "%s needs a code", m.Type)
		}
	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}
