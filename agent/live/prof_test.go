package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/didacto/didacto/rtc"
	"github.com/didacto/didacto/rtc/vp8"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// room is a lecture with one accepted student, on a real server.
type room struct {
	srv     *servertest.Instance
	prof    *servertest.Client
	stud    *servertest.Client
	lecture wire.Lecture
}

func newRoom(tb testing.TB, opts ...servertest.Option) *room {
	tb.Helper()
	in := servertest.Start(tb, opts...)
	c := in.ActiveClass(tb, "Prof Lee", "Kim", "Live")
	return &room{srv: in, prof: c.Prof, stud: c.Student, lecture: c.Lecture}
}

// staticTokens hands out a test account's bearer token.
type staticTokens struct{ token string }

func (s staticTokens) AccessToken(context.Context) (string, error) { return s.token, nil }
func (s staticTokens) Refresh(context.Context) error               { return errors.New("no refresh in tests") }

// professor is a pion offerer playing the console's part of the contract.
type professor struct {
	tb     testing.TB
	ws     *websocket.Conn
	pc     *webrtc.PeerConnection
	moves  *webrtc.DataChannel
	keys   *webrtc.DataChannel
	sess   *webrtc.DataChannel
	sessIn chan wire.SessionMessage

	decoded    atomic.Int64
	width      atomic.Int64
	height     atomic.Int64
	playout    atomic.Bool  // the playout-delay extension arrived with 0/0
	playoutID  atomic.Int32 // its id in the answer
	firstFrame chan time.Time
}

// joinProfessor joins the room as the lecture's owner once the student's
// agent is there.
func joinProfessor(ctx context.Context, tb testing.TB, r *room) *professor {
	tb.Helper()
	wsURL := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/api/v1/signal"
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + r.prof.Token}}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.CloseNow() })
	p := &professor{tb: tb, ws: c, sessIn: make(chan wire.SessionMessage, 16), firstFrame: make(chan time.Time, 1)}
	for {
		p.send(ctx, wire.SignalMessage{Type: wire.SignalJoin, LectureID: r.lecture.ID, StudentID: r.stud.User.ID, Role: wire.RoleProfessor})
		m := p.recv(ctx)
		if m.Type == wire.SignalJoined {
			return p
		}
		if m.Type != wire.SignalError || m.Code != wire.CodeStudentNotInRoom {
			tb.Fatalf("professor join: %+v", m)
		}
		select { // the agent has not joined yet
		case <-ctx.Done():
			tb.Fatal("the agent never joined its room")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *professor) send(ctx context.Context, m wire.SignalMessage) {
	m.V = wire.ProtocolVersion
	b, _ := json.Marshal(m)
	if err := p.ws.Write(ctx, websocket.MessageText, b); err != nil {
		p.tb.Errorf("professor send %s: %v", m.Type, err)
	}
}

func (p *professor) recv(ctx context.Context) wire.SignalMessage {
	_, b, err := p.ws.Read(ctx)
	if err != nil {
		p.tb.Fatalf("professor recv: %v", err)
	}
	m, err := wire.DecodeSignal(b)
	if err != nil {
		p.tb.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

// call offers, exchanges candidates and waits for the connection and the
// data channels. It returns when everything is open.
func (p *professor) call(ctx context.Context) {
	tb := p.tb
	tb.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: rtc.PlayoutDelayURI}, webrtc.RTPCodecTypeVideo); err != nil {
		tb.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		tb.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	p.pc = pc
	tb.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		tb.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		tb.Fatal(err)
	}
	no := false
	zero := uint16(0)
	if p.moves, err = pc.CreateDataChannel(wire.ControlChannelMoves, &webrtc.DataChannelInit{Ordered: &no, MaxRetransmits: &zero}); err != nil {
		tb.Fatal(err)
	}
	if p.keys, err = pc.CreateDataChannel(wire.ControlChannelKeys, nil); err != nil {
		tb.Fatal(err)
	}
	if p.sess, err = pc.CreateDataChannel(wire.SessionChannel, nil); err != nil {
		tb.Fatal(err)
	}
	open := make(chan string, 3)
	for _, dc := range []*webrtc.DataChannel{p.moves, p.keys, p.sess} {
		dc.OnOpen(func() { open <- dc.Label() })
	}
	p.sess.OnMessage(func(msg webrtc.DataChannelMessage) {
		sm, err := wire.DecodeSession(msg.Data)
		if err != nil {
			p.tb.Errorf("agent sent a bad session message %s: %v", msg.Data, err)
			return
		}
		p.sessIn <- sm
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			go p.decode(tr)
		}
	})
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		raw := json.RawMessage("{}")
		if c != nil {
			raw, _ = json.Marshal(c.ToJSON())
		}
		p.send(ctx, wire.SignalMessage{Type: wire.SignalCandidate, Candidate: raw})
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	p.send(ctx, wire.SignalMessage{Type: wire.SignalOffer, SDP: offer.SDP})
	for {
		m := p.recv(ctx)
		switch m.Type {
		case wire.SignalAnswer:
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				tb.Fatal(err)
			}
			for _, line := range strings.Split(m.SDP, "\n") {
				var id int32
				if _, err := fmt.Sscanf(line, "a=extmap:%d "+rtc.PlayoutDelayURI, &id); err == nil {
					p.playoutID.Store(id)
				}
			}
			if p.playoutID.Load() == 0 {
				tb.Errorf("the answer does not negotiate playout-delay")
			}
		case wire.SignalCandidate:
			var c webrtc.ICECandidateInit
			if err := json.Unmarshal(m.Candidate, &c); err != nil {
				tb.Fatal(err)
			}
			if c.Candidate != "" {
				if pc.RemoteDescription() == nil {
					tb.Fatal("the agent sent a candidate before its answer")
				}
				if err := pc.AddICECandidate(c); err != nil {
					tb.Fatal(err)
				}
			}
		default:
			tb.Fatalf("professor got %+v while calling", m)
		}
		if pc.RemoteDescription() != nil && len(open) == 3 {
			break
		}
		if pc.RemoteDescription() != nil {
			// Keep reading candidates in the background; wait for the channels.
			go p.drain(ctx, pc)
			for range 3 {
				select {
				case <-open:
				case <-ctx.Done():
					tb.Fatal("data channels did not open")
				}
			}
			return
		}
	}
}

// drain applies the remaining candidates and keeps the socket read.
func (p *professor) drain(ctx context.Context, pc *webrtc.PeerConnection) {
	for {
		_, b, err := p.ws.Read(ctx)
		if err != nil {
			return
		}
		m, err := wire.DecodeSignal(b)
		if err != nil || m.Type != wire.SignalCandidate {
			continue
		}
		var c webrtc.ICECandidateInit
		if json.Unmarshal(m.Candidate, &c) == nil && c.Candidate != "" {
			_ = pc.AddICECandidate(c)
		}
	}
}

// decode depacketizes and decodes the agent's screen.
func (p *professor) decode(tr *webrtc.TrackRemote) {
	dec, err := vp8.NewDecoder(vp8.DecoderConfig{})
	if err != nil {
		p.tb.Error(err)
		return
	}
	defer dec.Close()
	sb := samplebuilder.New(256, &codecs.VP8Packet{}, 90000)
	id := uint8(p.playoutID.Load())
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		if b := pkt.Header.GetExtension(id); id != 0 && len(b) == 3 && b[0] == 0 && b[1] == 0 && b[2] == 0 {
			p.playout.Store(true) // min = max = 0
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			img, err := dec.Decode(s.Data)
			if err != nil || img == nil {
				continue
			}
			p.width.Store(int64(img.Rect.Dx()))
			p.height.Store(int64(img.Rect.Dy()))
			if p.decoded.Add(1) == 1 {
				p.firstFrame <- time.Now()
			}
		}
	}
}

// control sends one event on the right channel.
func (p *professor) control(ev string) {
	dc := p.keys
	if strings.Contains(ev, `"type":"move"`) {
		dc = p.moves
	}
	if err := dc.SendText(ev); err != nil {
		p.tb.Errorf("sending %s: %v", ev, err)
	}
}

func (p *professor) nextSession(ctx context.Context, typ string) wire.SessionMessage {
	p.tb.Helper()
	for {
		select {
		case m := <-p.sessIn:
			if m.Type == typ {
				return m
			}
		case <-ctx.Done():
			p.tb.Fatalf("no %s session message", typ)
		}
	}
}
