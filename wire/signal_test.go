package wire

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

var signalSeeds = []string{
	`{"v":1,"type":"join","lecture_id":7,"student_id":42,"role":"student"}`,
	`{"v":1,"type":"join","lecture_id":7,"student_id":42,"role":"professor"}`,
	`{"v":1,"type":"offer","sdp":"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}`,
	`{"v":1,"type":"answer","sdp":"v=0\r\n"}`,
	`{"v":1,"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host","sdpMid":"0","sdpMLineIndex":0}}`,
	`{"v":1,"type":"control","control":{"t":"mousemove","x":0.5,"y":0.25}}`,
	`{"v":1,"type":"control_start"}`,
	`{"v":1,"type":"control_end"}`,
	`{"v":1,"type":"leave"}`,
	`{"v":1,"type":"ping"}`,
	`{"v":1,"type":"joined","lecture_id":7,"student_id":42,"role":"student","epoch":3,"ice_servers":[{"urls":["stun:127.0.0.1:3478"]}]}`,
	`{"v":1,"type":"peer_joined","epoch":4,"peer":{"user_id":1,"name":"Prof","role":"professor"}}`,
	`{"v":1,"type":"kicked","code":"taken_over","message":"another session took over"}`,
	`{"v":1,"type":"error","code":"student_not_connected","message":"the student is not connected"}`,
}

func TestDecodeSignalAcceptsSeeds(t *testing.T) {
	for _, s := range signalSeeds {
		m, err := DecodeSignal([]byte(s))
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		// Round trip: encoding the decoded message decodes to the same thing.
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := DecodeSignal(b)
		if err != nil {
			t.Errorf("re-decoding %s: %v", b, err)
		}
		if b2, _ := json.Marshal(m2); string(b2) != string(b) {
			t.Errorf("round trip changed %s to %s", b, b2)
		}
	}
}

func TestDecodeSignalRejects(t *testing.T) {
	cases := []struct{ in, code string }{
		{`{"v":1,"type":"bogus"}`, CodeUnknownType},
		{`{"v":2,"type":"ping"}`, CodeUnsupportedVersion},
		{`{"type":"ping"}`, CodeUnsupportedVersion},
		{`{"v":1,"type":"ping","extra":1}`, CodeBadRequest},
		{`{"v":1,"type":"ping"} {"v":1,"type":"ping"}`, CodeBadRequest},
		{`{"v":1,"type":"ping"}x`, CodeBadRequest},
		{`[1,2]`, CodeBadRequest},
		{`{"v":1,"type":"join","lecture_id":7,"role":"student"}`, CodeBadRequest},
		{`{"v":1,"type":"join","lecture_id":7,"student_id":1,"role":"admin"}`, CodeBadRequest},
		{`{"v":1,"type":"join","lecture_id":-7,"student_id":1,"role":"student"}`, CodeBadRequest},
		{`{"v":1,"type":"offer"}`, CodeBadRequest},
		{`{"v":1,"type":"candidate","candidate":"a=candidate"}`, CodeBadRequest},
		{`{"v":1,"type":"candidate","candidate":null}`, CodeBadRequest},
		{`{"v":1,"type":"control","control":null}`, CodeBadRequest},
		{`{"v":1,"type":"error"}`, CodeBadRequest},
		{`{"v":1,"type":"control","control":{"k":"` + strings.Repeat("a", MaxControlBytes) + `"}}`, CodeTooLarge},
		{`{"v":1,"type":"offer","sdp":"` + strings.Repeat("a", MaxSignalBytes) + `"}`, CodeTooLarge},
	}
	for _, c := range cases {
		_, err := DecodeSignal([]byte(c.in))
		var se *SignalDecodeError
		if !errors.As(err, &se) {
			t.Errorf("%.80s: got %v, want a *SignalDecodeError", c.in, err)
			continue
		}
		if se.Code != c.code {
			t.Errorf("%.80s: code %q, want %q (%v)", c.in, se.Code, c.code, err)
		}
	}
}

func FuzzDecodeSignal(f *testing.F) {
	for _, s := range signalSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"v":1,"type":"candidate","candidate":{}}`))
	f.Add([]byte(`{"v":1,"type":"offer","sdp":"\u0000"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeSignal(b)
		if err != nil {
			var se *SignalDecodeError
			if !errors.As(err, &se) || se.Code == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if len(b) > MaxSignalBytes {
			t.Fatalf("accepted %d bytes", len(b))
		}
		if !FromClient(m.Type) && !FromServer(m.Type) {
			t.Fatalf("accepted unknown type %q", m.Type)
		}
		// Whatever is accepted re-encodes to something accepted.
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("marshal accepted message: %v", err)
		}
		if _, err := DecodeSignal(out); err != nil {
			t.Fatalf("re-decoding %s: %v", out, err)
		}
	})
}

// TestLeaveWithReason: a student's leave may carry its reason in code,
// which every decoder (this one and older servers') accepts; StudentReason
// knows exactly the documented ones.
func TestLeaveWithReason(t *testing.T) {
	m, err := DecodeSignal([]byte(`{"v":1,"type":"leave","code":"consent_refused"}`))
	if err != nil || m.Code != CodeConsentRefused {
		t.Fatalf("leave with a code: %+v %v", m, err)
	}
	for _, c := range []string{CodeStudentEnded, CodeConsentRefused, CodeConsentTimeout, CodeConsentUnavailable} {
		if !StudentReason(c) {
			t.Errorf("%s is not a student reason", c)
		}
	}
	for _, c := range []string{"", CodeStudentLeft, CodeProfessorLeft, "consent"} {
		if StudentReason(c) {
			t.Errorf("%q is a student reason", c)
		}
	}
}
