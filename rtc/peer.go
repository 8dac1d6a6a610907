package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/didacto/didacto/rtc/vp8"
	"github.com/didacto/didacto/wire"
)

// Bitrate bounds of the bandwidth estimate, in kbps, when PeerConfig does
// not set them (StartKbps and SharpKbps give them for a screen size).
const (
	DefaultMinKbps   = 150
	DefaultStartKbps = 2500
	DefaultMaxKbps   = 20000
)

// PeerConfig configures a Peer. Callbacks may run on pion's goroutines; they
// must not block for long.
type PeerConfig struct {
	// ICEServers come from the server's joined message; empty on a LAN.
	ICEServers []wire.ICEServer
	// LoopbackOnly gathers UDP4 host candidates on the loopback interface
	// only, without mDNS: both ends on one machine (tests, benchmarks).
	LoopbackOnly bool
	// Bitrate bounds in kbps (defaults DefaultMinKbps, DefaultStartKbps, DefaultMaxKbps).
	MinKbps, StartKbps, MaxKbps int

	// OnCandidate receives each local ICE candidate as RTCIceCandidateInit
	// JSON, and {} when gathering is complete.
	OnCandidate func(candidate json.RawMessage)
	// OnDataChannel receives each DataChannel the offerer opens.
	OnDataChannel func(ch *Channel)
	// Voice adds an Opus track for the student's microphone (fed through
	// a VoiceSender). Without it the answer only receives audio: a machine
	// with no microphone says so in SDP instead of sending silence.
	Voice bool
	// OnTrack receives each track the professor sends (camera, voice) on
	// a goroutine of its own, which may read it until it ends; nil reads
	// and drops them so their buffers never fill.
	OnTrack func(t *RemoteTrack)
	// OnState receives connection state changes.
	OnState func(webrtc.PeerConnectionState)
	Logger  *slog.Logger
}

// Peer is the agent's answering RTCPeerConnection with one VP8 screen track.
type Peer struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	// videoMu serializes frames: the packetizer numbers them in order and
	// the pacer spreads one frame's packets before the next.
	videoMu    sync.Mutex
	packetizer rtp.Packetizer
	pace       pacer
	sender     *webrtc.RTPSender
	voice      *webrtc.TrackLocalStaticSample // nil without PeerConfig.Voice
	bwe        *congestion
	log        *slog.Logger
	minBps     int
	maxBps     int

	connected chan struct{} // closed once ICE+DTLS are up
	done      chan struct{} // closed by Close
	keyframe  chan struct{} // PLI/FIR arrived (capacity 1)
	remb      atomic.Int64  // last REMB in bps, 0 if none
	iceAt     atomic.Int64  // when ICE first connected (Unix ns), 0 before
	connAt    atomic.Int64  // when DTLS was up too
	closeOnce sync.Once
	connOnce  sync.Once
}

// NewPeer builds the peer connection and its video track. It does no network
// I/O until Answer.
func NewPeer(cfg PeerConfig) (*Peer, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MinKbps <= 0 {
		cfg.MinKbps = DefaultMinKbps
	}
	if cfg.MaxKbps <= 0 {
		cfg.MaxKbps = DefaultMaxKbps
	}
	if cfg.StartKbps <= 0 {
		cfg.StartKbps = DefaultStartKbps
	}
	cfg.StartKbps = min(max(cfg.StartKbps, cfg.MinKbps), cfg.MaxKbps)
	if cfg.MinKbps > cfg.MaxKbps {
		return nil, fmt.Errorf("new peer: min bitrate %d > max %d kbps", cfg.MinKbps, cfg.MaxKbps)
	}

	m, err := newMediaEngine()
	if err != nil {
		return nil, fmt.Errorf("new peer: %w", err)
	}
	reg := &interceptor.Registry{}
	var bwe *congestion
	// Order matters: the last one added sees an outgoing packet first.
	// The NACK responder's resends pass the resend limiter, then get a
	// transport sequence number, then are logged by the controller, like
	// every other packet on the wire.
	reg.Add(congestionFactory{
		minBps: cfg.MinKbps * 1000, startBps: cfg.StartKbps * 1000, maxBps: cfg.MaxKbps * 1000,
		log: cfg.Logger, onNew: func(c *congestion) { bwe = c },
	})
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(m, reg); err != nil {
		return nil, fmt.Errorf("new peer: twcc: %w", err)
	}
	startBps := cfg.StartKbps * 1000
	reg.Add(resendLimiterFactory{target: func() int {
		if bwe == nil {
			return startBps
		}
		return bwe.Target()
	}})
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		return nil, fmt.Errorf("new peer: nack: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("new peer: rtcp reports: %w", err)
	}
	// TWCC feedback on what the professor sends (camera, voice): without
	// it the browser's bandwidth estimate stays where it started.
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, fmt.Errorf("new peer: twcc feedback: %w", err)
	}
	reg.Add(playoutDelayFactory{})

	se := webrtc.SettingEngine{}
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		// By flag, not name: Linux calls it "lo", Windows "Loopback
		// Pseudo-Interface 1", and Wine something of its own.
		se.SetInterfaceFilter(isLoopback)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))

	var servers []webrtc.ICEServer
	for _, s := range cfg.ICEServers {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{ICEServers: servers})
	if err != nil {
		return nil, fmt.Errorf("new peer connection: %w", err)
	}
	p := &Peer{
		pc:        pc,
		bwe:       bwe,
		log:       cfg.Logger,
		minBps:    cfg.MinKbps * 1000,
		maxBps:    cfg.MaxKbps * 1000,
		connected: make(chan struct{}),
		done:      make(chan struct{}),
		keyframe:  make(chan struct{}, 1),
	}
	p.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "screen", "didacto-screen")
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("new screen track: %w", err)
	}
	if p.sender, err = pc.AddTrack(p.track); err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("adding screen track: %w", err)
	}
	go p.readRTCP()

	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if cfg.OnCandidate == nil {
			return
		}
		if c == nil {
			cfg.OnCandidate(json.RawMessage("{}"))
			return
		}
		b, err := json.Marshal(c.ToJSON())
		if err != nil {
			p.log.Warn("encoding ICE candidate", "err", err)
			return
		}
		cfg.OnCandidate(b)
	})
	pc.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
		if s == webrtc.ICEConnectionStateConnected {
			p.iceAt.CompareAndSwap(0, time.Now().UnixNano())
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("peer connection state", "state", s.String())
		if s == webrtc.PeerConnectionStateConnected {
			p.connOnce.Do(func() {
				p.connAt.Store(time.Now().UnixNano())
				close(p.connected)
			})
		}
		if cfg.OnState != nil {
			cfg.OnState(s)
		}
	})
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		if cfg.OnDataChannel != nil {
			cfg.OnDataChannel(&Channel{dc: dc})
		}
	})
	if cfg.Voice {
		p.voice, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "voice", "didacto-voice")
		if err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("new voice track: %w", err)
		}
		vs, err := pc.AddTrack(p.voice)
		if err != nil {
			_ = pc.Close()
			return nil, fmt.Errorf("adding voice track: %w", err)
		}
		go drainRTCP(vs) // receiver reports and NACKs for the voice
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		t := &RemoteTrack{tr: tr}
		if cfg.OnTrack != nil {
			cfg.OnTrack(t)
			return
		}
		buf := make([]byte, 1500)
		for {
			if _, _, err := tr.Read(buf); err != nil {
				return
			}
		}
	})
	return p, nil
}

func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{
		{Type: webrtc.TypeRTCPFBTransportCC},
		{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
		{Type: webrtc.TypeRTCPFBNACK},
		{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("registering VP8: %w", err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("registering Opus: %w", err)
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: PlayoutDelayURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("registering playout delay: %w", err)
	}
	return m, nil
}

// readRTCP drains the sender's RTCP: that drives the NACK responder and the
// bandwidth estimator, and PLI/FIR ask for a keyframe.
func (p *Peer) readRTCP() {
	for {
		pkts, _, err := p.sender.ReadRTCP()
		if err != nil {
			return // closed
		}
		for _, pkt := range pkts {
			switch r := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				select {
				case p.keyframe <- struct{}{}:
				default:
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				p.remb.Store(int64(r.Bitrate))
			}
		}
	}
}

func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// ErrNotConnected is returned by WriteFrame before the connection is up:
// pion would drop the sample silently.
var ErrNotConnected = errors.New("rtc: peer not connected")

// Answer applies the offer and returns the answer SDP. Candidates follow
// through OnCandidate (trickle ICE).
func (p *Peer) Answer(offerSDP string) (string, error) {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offerSDP}); err != nil {
		return "", fmt.Errorf("applying offer: %w", err)
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("creating answer: %w", err)
	}
	if err := p.pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("applying answer: %w", err)
	}
	return p.pc.LocalDescription().SDP, nil
}

// AddCandidate adds a remote RTCIceCandidateInit; {} (end of candidates) is
// accepted and ignored.
func (p *Peer) AddCandidate(raw json.RawMessage) error {
	var c webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("decoding ICE candidate: %w", err)
	}
	if c.Candidate == "" {
		return nil
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("adding ICE candidate: %w", err)
	}
	return nil
}

// ConnectedAt reports when ICE first connected and when the whole
// connection (DTLS) was up; zero times before.
func (p *Peer) ConnectedAt() (ice, dtls time.Time) {
	at := func(ns int64) time.Time {
		if ns == 0 {
			return time.Time{}
		}
		return time.Unix(0, ns)
	}
	return at(p.iceAt.Load()), at(p.connAt.Load())
}

// Connected is closed once the connection is up.
func (p *Peer) Connected() <-chan struct{} { return p.connected }

// Done is closed by Close.
func (p *Peer) Done() <-chan struct{} { return p.done }

// Congestion is the rate controller's last conclusion.
func (p *Peer) Congestion() CongestionState {
	if p.bwe == nil {
		return CongestionState{TargetBps: p.TargetBitrate()}
	}
	return p.bwe.State()
}

// Pushback reports whether the video sender should skip a frame to let
// the link's queue drain (see congestion.Pushback).
func (p *Peer) Pushback() bool { return p.bwe != nil && p.bwe.Pushback() }

// KeyframeRequests signals a PLI or FIR from the receiver.
func (p *Peer) KeyframeRequests() <-chan struct{} { return p.keyframe }

// TargetBitrate is the send-side estimate (bounded by a REMB when the
// receiver sends one) within the configured bounds, in bits per second.
func (p *Peer) TargetBitrate() int {
	bps := p.maxBps
	if p.bwe != nil {
		bps = p.bwe.Target()
	}
	if r := int(p.remb.Load()); r > 0 {
		bps = min(bps, r)
	}
	return min(max(bps, p.minBps), p.maxBps)
}

// WriteFrame sends one encoded frame lasting d.
func (p *Peer) WriteFrame(f vp8.Frame, d time.Duration) error {
	select {
	case <-p.connected:
	default:
		return ErrNotConnected
	}
	p.videoMu.Lock()
	defer p.videoMu.Unlock()
	if p.packetizer == nil {
		p.packetizer = videoPacketizer()
		p.pace = pacer{now: time.Now}
	}
	pkts := p.packetizer.Packetize(f.Data, uint32(d.Seconds()*90000+0.5))
	bps := paceRate(len(f.Data), p.TargetBitrate(), f.Keyframe)
	for _, pkt := range pkts {
		if w := p.pace.wait(pkt.MarshalSize(), bps); w > 0 {
			t := time.NewTimer(w)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				return nil
			}
		}
		if err := p.track.WriteRTP(pkt); err != nil {
			return fmt.Errorf("writing video packet: %w", err)
		}
	}
	return nil
}

// WriteVoice sends one Opus packet lasting d.
func (p *Peer) WriteVoice(pkt []byte, d time.Duration) error {
	if p.voice == nil {
		return errors.New("rtc: no voice track")
	}
	select {
	case <-p.connected:
	default:
		return ErrNotConnected
	}
	if err := p.voice.WriteSample(media.Sample{Data: pkt, Duration: d}); err != nil {
		return fmt.Errorf("writing voice sample: %w", err)
	}
	return nil
}

// RequestKeyframe asks the sender of a remote video track for a keyframe.
func (p *Peer) RequestKeyframe(t *RemoteTrack) error {
	if err := p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.tr.SSRC())}}); err != nil {
		return fmt.Errorf("sending PLI: %w", err)
	}
	return nil
}

// Close ends the connection. It is idempotent.
func (p *Peer) Close() error {
	var err error
	p.closeOnce.Do(func() {
		close(p.done)
		err = p.pc.Close() // closes the interceptors, the estimator with them
	})
	if err != nil {
		return fmt.Errorf("closing peer connection: %w", err)
	}
	return nil
}

// Channel is a DataChannel opened by the offerer.
type Channel struct{ dc *webrtc.DataChannel }

// Label is the channel's label (wire.ControlChannelMoves, wire.ControlChannelKeys, wire.SessionChannel).
func (c *Channel) Label() string { return c.dc.Label() }

// OnOpen runs f once when the channel opens (soon if it is open already).
func (c *Channel) OnOpen(f func()) { c.dc.OnOpen(f) }

// OnMessage runs f for every message, in order, on one goroutine.
func (c *Channel) OnMessage(f func([]byte)) {
	c.dc.OnMessage(func(m webrtc.DataChannelMessage) { f(m.Data) })
}

// OnClose runs f when the channel closes.
func (c *Channel) OnClose(f func()) { c.dc.OnClose(f) }

// Send sends one text message.
func (c *Channel) Send(b []byte) error {
	if err := c.dc.SendText(string(b)); err != nil {
		return fmt.Errorf("sending on %s channel: %w", c.dc.Label(), err)
	}
	return nil
}

// RemoteTrack is a track the professor sends.
type RemoteTrack struct{ tr *webrtc.TrackRemote }

// Kind is "audio" or "video".
func (t *RemoteTrack) Kind() string { return t.tr.Kind().String() }

// Codec is the negotiated MIME type, e.g. "video/VP8".
func (t *RemoteTrack) Codec() string { return t.tr.Codec().MimeType }

// ReadRTP reads the next packet; an error means the track ended.
func (t *RemoteTrack) ReadRTP() (*rtp.Packet, interceptor.Attributes, error) {
	pkt, attr, err := t.tr.ReadRTP()
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s track: %w", t.Kind(), err)
	}
	return pkt, attr, nil
}

// isLoopback reports whether the named interface is a loopback one.
func isLoopback(name string) bool {
	ifi, err := net.InterfaceByName(name)
	return err == nil && ifi.Flags&net.FlagLoopback != 0
}
