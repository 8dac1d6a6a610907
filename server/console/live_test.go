package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestConsoleLiveSession drives the live-session page against a stand-in
// for the student's agent: a real signaling socket and a real pion peer that
// answers the console's offer, announces two screens on the session channel
// and records every control event the console sends. It also checks that a
// second console tab takes the session over with a clear message.
func TestConsoleLiveSession(t *testing.T) {
	e := needE2E(t)
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Yoon")
	stu := in.Register(t, wire.RoleStudent, "Han Seojun")
	var l wire.Lecture
	prof.Must(http.StatusCreated, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Networks"}, &l)
	var en wire.Enrollment
	stu.Must(http.StatusCreated, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &en)
	prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", en.ID), nil, nil)
	prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	ag := startAgent(t, ctx, in.URL, stu.Token, l.ID, stu.User.ID)
	e.run(t, ctx, "live.mjs", append(screenshotEnv(),
		"BASE_URL="+in.URL, "EMAIL="+prof.User.Email, "PASSWORD="+servertest.Password,
		"LECTURE_ID="+strconv.FormatInt(l.ID, 10), "STUDENT_ID="+strconv.FormatInt(stu.User.ID, 10))...)

	ag.mu.Lock()
	defer ag.mu.Unlock()
	if ag.offers == 0 || !strings.Contains(ag.lastOffer, "m=video") || !strings.Contains(ag.lastOffer, "m=application") {
		t.Errorf("offers %d; last offer lacks video or data m-lines:\n%s", ag.offers, ag.lastOffer)
	}
	if !strings.Contains(ag.lastOffer, "m=audio") {
		t.Errorf("offer lacks audio (voice both ways)")
	}
	for _, label := range []string{wire.ControlChannelMoves, wire.ControlChannelKeys, wire.SessionChannel} {
		if !ag.labels[label] {
			t.Errorf("data channel %q never opened (got %v)", label, ag.labels)
		}
	}
	if !ag.movesUnordered {
		t.Errorf("%s is not unordered with 0 retransmits", wire.ControlChannelMoves)
	}
	if ag.selected != 1 {
		t.Errorf("select_screen index %d, want 1", ag.selected)
	}
	for _, sig := range []string{wire.SignalControlStart, wire.SignalControlEnd} {
		if ag.signals[sig] == 0 {
			t.Errorf("no %s over signaling (got %v)", sig, ag.signals)
		}
	}
	for _, typ := range []wire.ControlType{wire.ControlMove, wire.ControlDown, wire.ControlUp, wire.ControlWheel,
		wire.ControlKeyDown, wire.ControlKeyUp, wire.ControlReleaseAll} {
		if ag.events[typ] == 0 {
			t.Errorf("no %s control event (got %v)", typ, ag.events)
		}
	}
	if !ag.sawKeyA {
		t.Errorf("keydown KeyA never arrived")
	}
	if ag.bad != "" {
		t.Errorf("a message failed the wire decoders: %s", ag.bad)
	}
	if ag.early > 0 {
		t.Errorf("%d control events reached the agent before it said control was on (lost on a real agent)", ag.early)
	}
	if ag.micTrack == 0 {
		t.Errorf("the professor's microphone track never arrived")
	}
}

// agent is the stand-in for the student's agent side of the contract.
type agent struct {
	mu             sync.Mutex
	pc             *webrtc.PeerConnection
	offers         int
	lastOffer      string
	labels         map[string]bool
	movesUnordered bool
	selected       int
	signals        map[string]int
	events         map[wire.ControlType]int
	sawKeyA        bool
	bad            string
	micTrack       int
	session        *webrtc.DataChannel // the session channel, once open
	controlOn      bool                // control_state accepted was sent
	early          int                 // control events before that
}

func startAgent(t *testing.T, ctx context.Context, base, token string, lectureID, studentID int64) *agent {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("agent dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	send := func(m wire.SignalMessage) {
		m.V = wire.ProtocolVersion
		b, _ := json.Marshal(m)
		_ = ws.Write(ctx, websocket.MessageText, b) // a closed socket ends the test's read loop
	}
	send(wire.SignalMessage{Type: wire.SignalJoin, LectureID: lectureID, StudentID: studentID, Role: wire.RoleStudent})
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("agent join: %v", err)
	}
	if m, err := wire.DecodeSignal(b); err != nil || m.Type != wire.SignalJoined {
		t.Fatalf("agent join answered %s (%v)", b, err)
	}

	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me))

	ag := &agent{labels: map[string]bool{}, signals: map[string]int{}, events: map[wire.ControlType]int{}, selected: -1}
	t.Cleanup(func() {
		ag.mu.Lock()
		defer ag.mu.Unlock()
		if ag.pc != nil {
			_ = ag.pc.Close()
		}
	})
	go func() {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			m, err := wire.DecodeSignal(b)
			if err != nil {
				t.Errorf("agent: bad signal %s: %v", b, err)
				return
			}
			ag.mu.Lock()
			ag.signals[m.Type]++
			ag.mu.Unlock()
			switch m.Type {
			case wire.SignalOffer:
				ag.mu.Lock()
				if ag.pc != nil { // a new professor session replaces the old one
					_ = ag.pc.Close()
				}
				ag.mu.Unlock()
				pc, err := ag.answer(api, m.SDP, send)
				ag.mu.Lock()
				ag.pc = pc
				ag.mu.Unlock()
				if err != nil {
					t.Errorf("agent answering: %v", err)
					return
				}
			case wire.SignalCandidate:
				var c webrtc.ICECandidateInit
				ag.mu.Lock()
				pc := ag.pc
				ag.mu.Unlock()
				if json.Unmarshal(m.Candidate, &c) == nil && c.Candidate != "" && pc != nil {
					_ = pc.AddICECandidate(c) // Chromium's non-loopback candidates cannot pair with lo
				}
			case wire.SignalControl:
				ag.control(m.Control)
			case wire.SignalControlStart:
				// The second control_start: the student takes control back
				// at once (the agent's Take back control), as the agent
				// tells it: control_state with the reason, and control_end.
				ag.mu.Lock()
				second, dc := ag.signals[wire.SignalControlStart] == 2, ag.session
				if second {
					ag.controlOn = false
				}
				ag.mu.Unlock()
				if second && dc != nil {
					b, _ := json.Marshal(wire.SessionMessage{Type: wire.SessionControlState, Accepted: new(bool), Reason: wire.CodeStudentEnded})
					_ = dc.SendText(string(b))
					send(wire.SignalMessage{Type: wire.SignalControlEnd})
					break
				}
				// Otherwise control is on 400 ms late, as a busy agent or a
				// student's yes can be: the console holds input until then.
				time.AfterFunc(400*time.Millisecond, func() {
					ag.mu.Lock()
					dc := ag.session
					ag.controlOn = true
					ag.mu.Unlock()
					if dc != nil {
						b, _ := json.Marshal(wire.SessionMessage{Type: wire.SessionControlState, Accepted: &[]bool{true}[0]})
						_ = dc.SendText(string(b))
					}
				})
			case wire.SignalControlEnd:
				ag.mu.Lock()
				ag.controlOn = false
				ag.mu.Unlock()
			}
		}
	}()
	return ag
}

func (ag *agent) answer(api *webrtc.API, sdp string, send func(wire.SignalMessage)) (*webrtc.PeerConnection, error) {
	ag.mu.Lock()
	ag.offers++
	ag.lastOffer = sdp
	ag.mu.Unlock()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeAudio {
			ag.mu.Lock()
			ag.micTrack++
			ag.mu.Unlock()
		}
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		label := dc.Label()
		dc.OnOpen(func() {
			ag.mu.Lock()
			ag.labels[label] = true
			if label == wire.ControlChannelMoves {
				ag.movesUnordered = !dc.Ordered() && dc.MaxRetransmits() != nil && *dc.MaxRetransmits() == 0
			}
			ag.mu.Unlock()
			if label == wire.SessionChannel {
				ag.mu.Lock()
				ag.session = dc
				ag.mu.Unlock()
				current := 0
				b, _ := json.Marshal(wire.SessionMessage{Type: wire.SessionScreens, Current: &current, Screens: []wire.SessionScreen{
					{Index: 0, Name: "DP-1", Width: 1920, Height: 1080, Primary: true},
					{Index: 1, Name: "HDMI-1", X: 1920, Width: 1280, Height: 1024},
				}})
				_ = dc.SendText(string(b))
			}
		})
		dc.OnMessage(func(msg webrtc.DataChannelMessage) {
			switch label {
			case wire.SessionChannel:
				m, err := wire.DecodeSession(msg.Data)
				ag.mu.Lock()
				switch {
				case err != nil:
					ag.bad = fmt.Sprintf("session message %s: %v", msg.Data, err)
				case m.Type == wire.SessionSelectScreen:
					ag.selected = *m.Index
				}
				ag.mu.Unlock()
			default:
				ag.control(msg.Data)
			}
		})
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		cand := []byte(`{}`)
		if c != nil {
			cand, _ = json.Marshal(c.ToJSON())
		}
		send(wire.SignalMessage{Type: wire.SignalCandidate, Candidate: cand})
	})
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return pc, fmt.Errorf("setting the offer: %w", err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return pc, fmt.Errorf("creating the answer: %w", err)
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return pc, fmt.Errorf("setting the answer: %w", err)
	}
	send(wire.SignalMessage{Type: wire.SignalAnswer, SDP: ans.SDP})
	return pc, nil
}

func (ag *agent) control(b []byte) {
	ev, err := wire.DecodeControl(b)
	ag.mu.Lock()
	defer ag.mu.Unlock()
	if err != nil {
		ag.bad = fmt.Sprintf("%s: %v", b, err)
		return
	}
	if !ag.controlOn && ev.Type != wire.ControlReleaseAll {
		ag.early++ // the real agent drops these: control is not on yet
		return
	}
	ag.events[ev.Type]++
	if ev.Type == wire.ControlKeyDown && ev.Code == "KeyA" {
		ag.sawKeyA = true
	}
}
