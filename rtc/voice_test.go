package rtc

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"

	"github.com/didacto/didacto/rtc/opus"
)

// fakeTrack replays packets, then ends.
type fakeTrack struct{ pkts []*rtp.Packet }

func (f *fakeTrack) ReadRTP() (*rtp.Packet, interceptor.Attributes, error) {
	if len(f.pkts) == 0 {
		return nil, nil, errors.New("track ended")
	}
	p := f.pkts[0]
	f.pkts = f.pkts[1:]
	return p, nil, nil
}

// recorder is a PCMSink that keeps everything.
type recorder struct {
	mu  sync.Mutex
	pcm []int16
}

func (r *recorder) Push(pcm []int16) {
	r.mu.Lock()
	r.pcm = append(r.pcm, pcm...)
	r.mu.Unlock()
}

func tonePackets(t *testing.T, n int, freq float64) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(opus.EncoderConfig{LossPercent: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var out [][]byte
	buf := make([]byte, opus.MaxPacketBytes)
	pcm := make([]int16, FrameSamples)
	for i := 0; i < n; i++ {
		for j := range pcm {
			pcm[j] = int16(9000 * math.Sin(2*math.Pi*freq*float64(i*FrameSamples+j)/48000))
		}
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), buf[:m]...))
	}
	return out
}

// TestVoiceReceiverHandlesLossAndReordering: one lost packet comes back
// from FEC, a long gap is concealed for 60 ms only, a late and a repeated
// packet are dropped, a garbage payload is counted, and the timeline that
// reaches the speaker has no holes where it matters.
func TestVoiceReceiverHandlesLossAndReordering(t *testing.T) {
	payloads := tonePackets(t, 40, 500)
	var pkts []*rtp.Packet
	add := func(seq uint16, payload []byte) {
		pkts = append(pkts, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: uint32(seq) * 960}, Payload: payload})
	}
	base := uint16(65530) // the sequence numbers wrap during the test
	for i := 0; i < 10; i++ {
		add(base+uint16(i), payloads[i])
	}
	// 10 is lost: 11 carries its FEC.
	add(base+11, payloads[11])
	add(base+10, payloads[10]) // arrives late: dropped
	add(base+11, payloads[11]) // repeated: dropped
	// 12..19 are lost (a stall): 3 packets' worth is concealed/recovered.
	for i := 20; i < 30; i++ {
		add(base+uint16(i), payloads[i])
	}
	add(base+30, []byte{0xff, 0xff, 0xff, 0xff}) // garbage
	for i := 31; i < 40; i++ {
		add(base+uint16(i), payloads[i])
	}
	rec := &recorder{}
	v, err := NewVoiceReceiver(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Run(context.Background(), &fakeTrack{pkts: pkts}); err != nil {
		t.Fatal(err)
	}
	s := v.Stats()
	want := VoiceRecvStats{Packets: 10 + 1 + 10 + 9, Lost: 1 + 8, Recovered: 2, Concealed: 3, Late: 2, BadPackets: 1}
	if s.Packets != want.Packets || s.Lost != want.Lost || s.Recovered != want.Recovered ||
		s.Concealed != want.Concealed || s.Late != want.Late || s.BadPackets != want.BadPackets {
		t.Fatalf("stats %+v, want %+v", s, want)
	}
	if got, want := len(rec.pcm), (30+2+3)*FrameSamples; got != want {
		t.Fatalf("%d samples reached the speaker, want %d", got, want)
	}
	if s.Samples != int64(30*FrameSamples) || s.Peak < 0.15 || s.Loud < 25 {
		t.Fatalf("levels %+v", s)
	}
}
