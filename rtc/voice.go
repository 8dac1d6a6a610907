package rtc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/didacto/didacto/rtc/audio"
	"github.com/didacto/didacto/rtc/opus"
)

// RTPReader is a remote track's packet source; *RemoteTrack is one.
type RTPReader interface {
	ReadRTP() (*rtp.Packet, interceptor.Attributes, error)
}

// VoiceSender encodes the student's microphone into the peer's Opus track.
// Frame is called with 20 ms of 48 kHz mono at a time (the microphone's
// goroutine); muted frames go out as silence, so the professor's jitter
// buffer keeps its timing and unmuting is instant.
type VoiceSender struct {
	peer  *Peer
	enc   *opus.Encoder
	muted atomic.Bool
	quiet []int16

	mu    sync.Mutex // guards pkt and stats
	pkt   []byte
	stats VoiceSendStats
}

// VoiceSendStats count what was sent.
type VoiceSendStats struct {
	Frames, Bytes int64
	Level         float64 // RMS of the last frame, 0..1 (0 while muted)
}

// FrameSamples is what VoiceSender.Frame wants per call.
const FrameSamples = 960

// NewVoiceSender creates the encoder; the peer must have a voice track
// (PeerConfig.Voice).
func NewVoiceSender(p *Peer) (*VoiceSender, error) {
	if p.voice == nil {
		return nil, errors.New("rtc: the peer has no voice track")
	}
	// DTX: silence (a muted or quiet microphone) costs almost nothing.
	enc, err := opus.NewEncoder(opus.EncoderConfig{DTX: true})
	if err != nil {
		return nil, fmt.Errorf("voice encoder: %w", err)
	}
	return &VoiceSender{peer: p, enc: enc, pkt: make([]byte, opus.MaxPacketBytes), quiet: make([]int16, FrameSamples)}, nil
}

// SetMuted mutes or unmutes the microphone.
func (v *VoiceSender) SetMuted(m bool) { v.muted.Store(m) }

// Muted reports whether the microphone is muted.
func (v *VoiceSender) Muted() bool { return v.muted.Load() }

// Frame encodes and sends one 20 ms frame. Before the connection is up the
// frame is dropped (pion would drop it silently anyway).
func (v *VoiceSender) Frame(pcm []int16) {
	if len(pcm) != FrameSamples {
		return
	}
	level := 0.0
	if v.muted.Load() {
		pcm = v.quiet
	} else {
		level = audio.Measure(pcm).RMS
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	n, err := v.enc.Encode(pcm, v.pkt)
	if err != nil {
		return
	}
	if err := v.peer.WriteVoice(v.pkt[:n], opus.FrameDuration); err != nil {
		return
	}
	v.stats.Frames++
	v.stats.Bytes += int64(n)
	v.stats.Level = level
}

// Stats returns the counters.
func (v *VoiceSender) Stats() VoiceSendStats {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stats
}

// Close frees the encoder; call it after the microphone stopped.
func (v *VoiceSender) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.enc.Close()
}

// PCMSink takes decoded audio; *audio.Playout is one.
type PCMSink interface {
	Push(pcm []int16)
}

// VoiceReceiver decodes the professor's Opus track into a sink. A lost
// packet is recovered from the next one's FEC, longer gaps are concealed
// (at most maxConceal packets: after that silence is honest), and late or
// repeated packets are dropped: on a LAN reordering is rare, and waiting
// for it would cost every packet its latency.
type VoiceReceiver struct {
	dec  *opus.Decoder
	sink PCMSink

	mu    sync.Mutex
	stats VoiceRecvStats
}

// VoiceRecvStats count what arrived and what was heard.
type VoiceRecvStats struct {
	Packets, Lost, Recovered, Concealed, Late, BadPackets int64
	Samples                                               int64 // decoded, at 48 kHz
	// Peak is the loudest 20 ms (RMS, 0..1) so far; Loud counts packets
	// whose RMS passed LoudLevel (speech, or a test's beep).
	Peak float64
	Loud int64
}

// LoudLevel is the RMS (0..1) above which a packet counts as Loud: about
// -40 dBFS, well above comfort noise and below quiet speech.
const LoudLevel = 0.01

const maxConceal = 3

// maxLateGap is how far back a packet may be and still count as late (a
// second of voice); further back is a new stream.
const maxLateGap = 50

// NewVoiceReceiver creates the decoder.
func NewVoiceReceiver(sink PCMSink) (*VoiceReceiver, error) {
	dec, err := opus.NewDecoder(1)
	if err != nil {
		return nil, fmt.Errorf("voice decoder: %w", err)
	}
	return &VoiceReceiver{dec: dec, sink: sink}, nil
}

// Run reads the track until it ends or ctx is done, then frees the decoder.
func (v *VoiceReceiver) Run(ctx context.Context, track RTPReader) error {
	defer v.dec.Close()
	pcm := make([]int16, opus.MaxFrameSamples)
	var expected uint16
	started := false
	for ctx.Err() == nil {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return nil // the track ended with the connection
		}
		if started {
			gap := int16(pkt.SequenceNumber - expected)
			if gap < -maxLateGap { // the sender started over: follow it
				started, gap = false, 0
			}
			if gap < 0 {
				v.count(func(s *VoiceRecvStats) { s.Late++ })
				continue
			}
			if gap > 0 {
				v.recover(int(gap), pkt.Payload, pcm)
			}
		}
		started = true
		expected = pkt.SequenceNumber + 1
		n, err := v.dec.Decode(pkt.Payload, pcm)
		if err != nil { // keep the timeline: conceal what it should have held
			v.count(func(s *VoiceRecvStats) { s.BadPackets++ })
			if n, err := v.dec.Decode(nil, pcm); err == nil {
				v.sink.Push(pcm[:n])
				v.count(func(s *VoiceRecvStats) { s.Concealed++ })
			}
			continue
		}
		level := audio.Measure(pcm[:n]).RMS
		v.sink.Push(pcm[:n])
		v.count(func(s *VoiceRecvStats) {
			s.Packets++
			s.Samples += int64(n)
			s.Peak = max(s.Peak, level)
			if level >= LoudLevel {
				s.Loud++
			}
		})
	}
	return ctx.Err()
}

// recover fills a gap of lost packets before next: concealment for all but
// the last, which next's FEC data brings back.
func (v *VoiceReceiver) recover(lost int, next []byte, pcm []int16) {
	v.count(func(s *VoiceRecvStats) { s.Lost += int64(lost) })
	for i := max(lost-maxConceal, 0); i < lost-1; i++ {
		if n, err := v.dec.Decode(nil, pcm); err == nil {
			v.sink.Push(pcm[:n])
			v.count(func(s *VoiceRecvStats) { s.Concealed++ })
		}
	}
	if n, err := v.dec.DecodeFEC(next, pcm); err == nil {
		v.sink.Push(pcm[:n])
		v.count(func(s *VoiceRecvStats) { s.Recovered++ })
	}
}

func (v *VoiceReceiver) count(f func(*VoiceRecvStats)) {
	v.mu.Lock()
	f(&v.stats)
	v.mu.Unlock()
}

// Stats returns the counters.
func (v *VoiceReceiver) Stats() VoiceRecvStats {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stats
}
