package rtc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/didacto/didacto/internal/netem"
	"github.com/didacto/didacto/rtc/vp8"
)

// shapedPair connects a Peer to a pion viewer through a netem relay: the
// viewer is told only the relay's address as the agent's candidate, and
// the agent is told none of the viewer's, so every packet crosses the
// shaped link (the agent learns the relay as a peer-reflexive candidate).
func shapedPair(t *testing.T, cfg PeerConfig, down netem.Shape) (*Peer, *netem.Relay) {
	t.Helper()
	pc := loopbackPC(t)
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return // reading is what makes pion send TWCC feedback
			}
		}
	})
	cands := make(chan webrtc.ICECandidateInit, 16)
	cfg.LoopbackOnly = true
	cfg.OnCandidate = func(raw json.RawMessage) {
		var c webrtc.ICECandidateInit
		if json.Unmarshal(raw, &c) == nil && strings.Contains(c.Candidate, " udp ") {
			cands <- c
		}
	}
	peer, err := NewPeer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	offerAnswer(t, pc, peer)
	var c webrtc.ICECandidateInit
	select {
	case c = <-cands:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent gathered no UDP candidate")
	}
	// "candidate:1 1 udp 2130706431 127.0.0.1 40000 typ host": fields 4 and 5.
	f := strings.Fields(c.Candidate)
	relay, err := netem.Listen(net.JoinHostPort(f[4], f[5]), netem.Shape{Delay: down.Delay}, down)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	f[5] = fmt.Sprint(relay.Addr().Port)
	c.Candidate = strings.Join(f, " ")
	if err := pc.AddICECandidate(c); err != nil {
		t.Fatal(err)
	}
	select {
	case <-peer.Connected():
	case <-time.After(15 * time.Second):
		t.Fatal("no connection through the relay")
	}
	return peer, relay
}

// sendGreedy writes frames of whatever the estimate allows, 30 a second,
// as an encoder with a busy screen would, until ctx ends.
func sendGreedy(ctx context.Context, p *Peer) {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		buf := make([]byte, max(p.TargetBitrate()/8/30, 100))
		buf[0] = 1 // an interframe
		_ = p.WriteFrame(vp8.Frame{Data: buf}, time.Second/30)
	}
}

// waitTarget waits up to d for the estimate to satisfy ok and returns the
// last state seen.
func waitTarget(p *Peer, d time.Duration, ok func(CongestionState) bool) (CongestionState, bool) {
	deadline := time.Now().Add(d)
	for {
		s := p.Congestion()
		if ok(s) {
			return s, true
		}
		if time.Now().After(deadline) {
			return s, false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPeerFollowsAShapedLink runs the real controller, pion's TWCC
// feedback and a real UDP path: on a free link the estimate climbs far
// past the start; a 2 Mbps bottleneck brings it down to what fits without
// collapsing it; when the bottleneck goes, it climbs back within seconds.
func TestPeerFollowsAShapedLink(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s of traffic")
	}
	log := slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	lan := netem.Shape{RateBps: 100_000_000, Delay: 5 * time.Millisecond, Queue: 150 * time.Millisecond}
	peer, relay := shapedPair(t, PeerConfig{StartKbps: 2000, MaxKbps: 12000, Logger: log}, lan)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go sendGreedy(ctx, peer)

	if s, ok := waitTarget(peer, 10*time.Second, func(s CongestionState) bool { return s.TargetBps >= 6_000_000 }); !ok {
		t.Fatalf("free link: the estimate stayed at %+v, want >= 6 Mbps", s)
	}
	bottleneck := lan
	bottleneck.RateBps = 2_000_000
	if err := relay.SetShape(netem.Shape{Delay: lan.Delay}, bottleneck); err != nil {
		t.Fatal(err)
	}
	if s, ok := waitTarget(peer, 10*time.Second, func(s CongestionState) bool { return s.TargetBps <= 2_200_000 }); !ok {
		t.Fatalf("2 Mbps bottleneck: the estimate stayed at %+v", s)
	}
	// Held there: it neither overshoots for long nor collapses.
	var lo, hi int
	for i := range 40 { // 4 s
		s := peer.Congestion()
		if i == 0 || s.TargetBps < lo {
			lo = s.TargetBps
		}
		hi = max(hi, s.TargetBps)
		if i%10 == 0 {
			_, down := relay.Stats()
			t.Logf("held: %+v; link %+v", s, down)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if lo < 700_000 || hi > 3_000_000 {
		t.Errorf("under a 2 Mbps bottleneck the estimate ranged %d..%d bps", lo, hi)
	}
	if err := relay.SetShape(netem.Shape{Delay: lan.Delay}, lan); err != nil {
		t.Fatal(err)
	}
	if s, ok := waitTarget(peer, 8*time.Second, func(s CongestionState) bool { return s.TargetBps >= 5_000_000 }); !ok {
		t.Fatalf("after the bottleneck went: %+v, want >= 5 Mbps within 8 s", s)
	}
}

// tWriter sends a logger's lines to t.Log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
