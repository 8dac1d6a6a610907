package rtc

import (
	"context"
	"encoding/json"
	"image"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/didacto/didacto/rtc/opus"
	"github.com/didacto/didacto/rtc/vp8"
)

// professor is a pion offerer with the console's media: it receives the
// screen, sends camera and voice, and receives the student's voice.
type professor struct {
	pc           *webrtc.PeerConnection
	voice, cam   *webrtc.TrackLocalStaticSample
	camSender    *webrtc.RTPSender
	plis         atomic.Int64
	heardPackets atomic.Int64
	heardLoud    atomic.Int64
	heardQuiet   atomic.Int64 // packets since the last loud one
}

func newProfessor(t *testing.T) *professor {
	t.Helper()
	p := &professor{pc: loopbackPC(t)}
	var err error
	if _, err = p.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if p.voice, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "prof"); err != nil {
		t.Fatal(err)
	}
	if _, err = p.pc.AddTransceiverFromTrack(p.voice, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		t.Fatal(err)
	}
	if p.cam, err = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "prof"); err != nil {
		t.Fatal(err)
	}
	tr, err := p.pc.AddTransceiverFromTrack(p.cam, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	p.camSender = tr.Sender()
	go func() {
		for {
			pkts, _, err := p.camSender.ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
					p.plis.Add(1)
				}
			}
		}
	}()
	p.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		dec, err := opus.NewDecoder(1)
		if err != nil {
			t.Error(err)
			return
		}
		defer dec.Close()
		pcm := make([]int16, opus.MaxFrameSamples)
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			n, err := dec.Decode(pkt.Payload, pcm)
			if err != nil {
				continue
			}
			p.heardPackets.Add(1)
			var sum float64
			for _, s := range pcm[:n] {
				sum += float64(s) * float64(s)
			}
			if math.Sqrt(sum/float64(n))/32768 >= LoudLevel {
				p.heardLoud.Add(1)
				p.heardQuiet.Store(0)
			} else {
				p.heardQuiet.Add(1)
			}
		}
	})
	return p
}

// sendMedia sends a 600 Hz voice and a moving 320x240 camera picture until
// ctx ends.
func (p *professor) sendMedia(ctx context.Context, t *testing.T) {
	enc, err := opus.NewEncoder(opus.EncoderConfig{})
	if err != nil {
		t.Error(err)
		return
	}
	defer enc.Close()
	venc, err := vp8.NewEncoder(vp8.Config{Width: 320, Height: 240, BitrateKbps: 300})
	if err != nil {
		t.Error(err)
		return
	}
	defer venc.Close()
	img := vp8.NewI420(320, 240)
	pcm := make([]int16, FrameSamples)
	pkt := make([]byte, opus.MaxPacketBytes)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	start := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		for j := range pcm {
			pcm[j] = int16(9000 * math.Sin(2*math.Pi*600*float64(i*FrameSamples+j)/48000))
		}
		if n, err := enc.Encode(pcm, pkt); err == nil {
			_ = p.voice.WriteSample(media.Sample{Data: pkt[:n], Duration: 20 * time.Millisecond})
		}
		if i%4 == 0 { // 12.5 fps
			for y := 0; y < 240; y++ {
				for x := 0; x < 320; x++ {
					img.Y[y*img.YStride+x] = byte(x + y + i)
				}
			}
			frames, err := venc.Encode(img, time.Since(start), false)
			if err == nil {
				for _, f := range frames {
					_ = p.cam.WriteSample(media.Sample{Data: f.Data, Duration: 80 * time.Millisecond})
				}
			}
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
}

// TestPeerTwoWayVoiceAndCamera: the agent's Peer with a voice track
// answers the console's three-track offer; the professor's camera decodes
// at its size, the professor's voice decodes loud, a keyframe request
// reaches the camera's sender, and the student's microphone reaches the
// professor until it is muted.
func TestPeerTwoWayVoiceAndCamera(t *testing.T) {
	prof := newProfessor(t)
	rec := &recorder{}
	var (
		mu     sync.Mutex
		voice  *VoiceReceiver
		camera *CameraReceiver
		camTr  *RemoteTrack
		peer   *Peer
		frames atomic.Int64
		size   atomic.Value
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	remote := make(chan json.RawMessage, 32)
	var err error
	peer, err = NewPeer(PeerConfig{
		LoopbackOnly: true, Voice: true,
		OnCandidate: func(c json.RawMessage) { remote <- c },
		OnTrack: func(tr *RemoteTrack) {
			switch tr.Kind() {
			case "audio":
				v, err := NewVoiceReceiver(rec)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				voice = v
				mu.Unlock()
				_ = v.Run(ctx, tr)
			case "video":
				c, err := NewCameraReceiver(func(img *image.YCbCr) {
					frames.Add(1)
					size.Store(img.Rect.Size())
				}, func() { _ = peer.RequestKeyframe(tr) })
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				camera, camTr = c, tr
				mu.Unlock()
				_ = c.Run(ctx, tr)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	sender, err := NewVoiceSender(peer)
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	connect(t, prof.pc, peer, remote)
	<-peer.Connected()
	go prof.sendMedia(ctx, t)
	go func() { // the student speaking at 700 Hz
		pcm := make([]int16, FrameSamples)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ctx.Err() == nil; i++ {
			for j := range pcm {
				pcm[j] = int16(8000 * math.Sin(2*math.Pi*700*float64(i*FrameSamples+j)/48000))
			}
			sender.Frame(pcm)
			select {
			case <-ctx.Done():
			case <-tick.C:
			}
		}
	}()

	waitFor(t, "camera frames", func() bool { return frames.Load() >= 10 })
	if got := size.Load().(image.Point); got != (image.Point{320, 240}) {
		t.Errorf("camera size %v, want 320x240", got)
	}
	waitFor(t, "the professor's voice", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return voice != nil && voice.Stats().Loud >= 25
	})
	mu.Lock()
	vs, cs, tr := voice.Stats(), camera.Stats(), camTr
	mu.Unlock()
	if vs.Peak < 0.1 || vs.BadPackets != 0 {
		t.Errorf("voice stats %+v", vs)
	}
	if cs.Errors != 0 || cs.Width != 320 {
		t.Errorf("camera stats %+v", cs)
	}
	if err := peer.RequestKeyframe(tr); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a PLI at the camera's sender", func() bool { return prof.plis.Load() >= 1 })

	waitFor(t, "the student's voice at the professor", func() bool { return prof.heardLoud.Load() >= 25 })
	sender.SetMuted(true)
	waitFor(t, "silence once muted", func() bool { return prof.heardQuiet.Load() >= 10 })
	if st := sender.Stats(); st.Frames < 25 || st.Level != 0 {
		t.Errorf("sender stats %+v after muting", st)
	}
	sender.SetMuted(false)
	loud := prof.heardLoud.Load()
	waitFor(t, "the voice again after unmuting", func() bool { return prof.heardLoud.Load() > loud+10 })
}

// TestPeerWithoutVoiceOnlyReceivesAudio: no microphone means the answer
// says so (recvonly) and NewVoiceSender refuses.
func TestPeerWithoutVoiceOnlyReceivesAudio(t *testing.T) {
	prof := newProfessor(t)
	peer, err := NewPeer(PeerConfig{LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := NewVoiceSender(peer); err == nil {
		t.Fatal("NewVoiceSender on a peer without a voice track")
	}
	offer, err := prof.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	answer, err := peer.Answer(offer.SDP)
	if err != nil {
		t.Fatal(err)
	}
	var sd webrtc.SessionDescription
	sd.SDP = answer
	parsed, err := sd.Unmarshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range parsed.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		if _, ok := m.Attribute("recvonly"); !ok {
			t.Errorf("audio m-line of the answer is not recvonly: %+v", m.Attributes)
		}
	}
}
