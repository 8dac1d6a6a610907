package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/rtc/vp8"
)

// viewer is a pion offerer that receives and decodes the screen, as the
// professor's browser does.
type viewer struct {
	pc                 *webrtc.PeerConnection
	decoded, keyframes atomic.Int64
	ssrc               atomic.Uint32
}

// loopbackPC is a pion peer with the default codecs and interceptors that
// gathers on loopback only, as the professor's side in these tests.
func loopbackPC(t *testing.T) *webrtc.PeerConnection {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(n string) bool { return n == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

func newViewer(t *testing.T) *viewer {
	t.Helper()
	pc := loopbackPC(t)
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	v := &viewer{pc: pc}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.ssrc.Store(uint32(tr.SSRC()))
		dec, err := vp8.NewDecoder(vp8.DecoderConfig{})
		if err != nil {
			t.Error(err)
			return
		}
		defer dec.Close()
		sb := samplebuilder.New(256, &codecs.VP8Packet{}, 90000)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			sb.Push(pkt)
			for s := sb.Pop(); s != nil; s = sb.Pop() {
				if len(s.Data) > 0 && s.Data[0]&1 == 0 {
					v.keyframes.Add(1)
				}
				if img, err := dec.Decode(s.Data); err == nil && img != nil {
					v.decoded.Add(1)
				}
			}
		}
	})
	return v
}

// connect runs the offer/answer and trickles candidates between an offerer
// and the agent's Peer, whose local candidates arrive on remote.
func connect(t *testing.T, pc *webrtc.PeerConnection, peer *Peer, remote <-chan json.RawMessage) {
	t.Helper()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			b, _ := json.Marshal(c.ToJSON())
			_ = peer.AddCandidate(b)
		}
	})
	offerAnswer(t, pc, peer)
	go func() {
		for c := range remote {
			var init webrtc.ICECandidateInit
			if json.Unmarshal(c, &init) == nil && init.Candidate != "" {
				_ = pc.AddICECandidate(init)
			}
		}
	}()
}

// offerAnswer has pc offer and peer answer.
func offerAnswer(t *testing.T, pc *webrtc.PeerConnection, peer *Peer) {
	t.Helper()
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := peer.Answer(offer.SDP)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPeerStreamsScreen connects a Peer and a Streamer capturing a real X
// server to a pion viewer: frames decode, nothing is written before the
// connection is up, and a PLI brings a new keyframe.
func TestPeerStreamsScreen(t *testing.T) {
	d := testenv.StartXvfb(t, "640x480x24")
	capt, err := capture.New(capture.Options{Screen: 0, Display: d.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Close()
	st, err := NewStreamer(capt, StreamConfig{FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	v := newViewer(t)
	remote := make(chan json.RawMessage, 32)
	peer, err := NewPeer(PeerConfig{LoopbackOnly: true, OnCandidate: func(c json.RawMessage) { remote <- c }})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if err := peer.WriteFrame(vp8.Frame{Data: []byte{0}}, time.Millisecond); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("WriteFrame before connecting: %v, want ErrNotConnected", err)
	}
	connect(t, v.pc, peer, remote)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx, peer) }()

	waitFor(t, "decoded frames", func() bool { return v.decoded.Load() >= 5 })
	if v.keyframes.Load() < 1 {
		t.Fatal("no keyframe")
	}
	k := v.keyframes.Load()
	if err := v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: v.ssrc.Load()}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a keyframe after PLI", func() bool { return v.keyframes.Load() > k })
	if bps := peer.TargetBitrate(); bps < DefaultMinKbps*1000 || bps > DefaultMaxKbps*1000 {
		t.Errorf("target bitrate %d outside the bounds", bps)
	}
	s := st.Stats()
	if s.Frames < 5 || s.Width != 640 || s.Height != 480 || s.Bytes == 0 {
		t.Errorf("stats %+v", s)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
