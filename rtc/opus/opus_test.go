package opus

import (
	"errors"
	"math"
	"testing"
	"time"
)

// tone is n samples of a sine at freq Hz and the given peak, starting at
// sample offset off.
func tone(n, off int, freq, peak float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(peak * math.Sin(2*math.Pi*freq*float64(off+i)/SampleRate))
	}
	return out
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, s := range pcm {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

// goertzel is the power of one frequency in pcm, normalised by length.
func goertzel(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/SampleRate)
	var s1, s2 float64
	for _, x := range pcm {
		s := float64(x) + k*s1 - s2
		s2, s1 = s1, s
	}
	return math.Sqrt(s1*s1+s2*s2-k*s1*s2) / float64(len(pcm))
}

func TestRoundTripKeepsToneAndLevel(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	if enc.FrameSamples() != 960 {
		t.Fatalf("FrameSamples = %d, want 960 (20 ms at 48 kHz)", enc.FrameSamples())
	}
	pkt := make([]byte, MaxPacketBytes)
	out := make([]int16, MaxFrameSamples)
	var in, got []int16
	bytes := 0
	for f := 0; f < 50; f++ { // one second
		frame := tone(960, f*960, 440, 8000)
		n, err := enc.Encode(frame, pkt)
		if err != nil {
			t.Fatalf("frame %d: %v", f, err)
		}
		bytes += n
		m, err := dec.Decode(pkt[:n], out)
		if err != nil {
			t.Fatalf("decoding frame %d: %v", f, err)
		}
		if m != 960 {
			t.Fatalf("frame %d decoded to %d samples, want 960", f, m)
		}
		in = append(in, frame...)
		got = append(got, out[:m]...)
	}
	// Skip the codec's start-up; compare the steady state.
	inR, gotR := rms(in[9600:]), rms(got[9600:])
	if gotR < inR*0.7 || gotR > inR*1.3 {
		t.Errorf("decoded RMS %.0f, input %.0f", gotR, inR)
	}
	if p440, p1k := goertzel(got[9600:], 440), goertzel(got[9600:], 1000); p440 < 20*p1k {
		t.Errorf("decoded 440 Hz power %.1f is not far above 1 kHz's %.1f", p440, p1k)
	}
	if kbps := bytes * 8 / 1000; kbps < 16 || kbps > 48 {
		t.Errorf("encoded at %d kbps, configured 32", kbps)
	}
}

func TestConcealmentAndFEC(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{LossPercent: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	dec, err := NewDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pkt := make([]byte, MaxPacketBytes)
	out := make([]int16, MaxFrameSamples)
	var pkts [][]byte
	for f := 0; f < 30; f++ {
		n, err := enc.Encode(tone(960, f*960, 300, 6000), pkt)
		if err != nil {
			t.Fatal(err)
		}
		pkts = append(pkts, append([]byte(nil), pkt[:n]...))
	}
	for f := 0; f < 20; f++ {
		if _, err := dec.Decode(pkts[f], out); err != nil {
			t.Fatal(err)
		}
	}
	// Packet 20 is lost: the next one's FEC brings it back, close to the
	// real thing; plain concealment also fills 20 ms.
	n, err := dec.DecodeFEC(pkts[21], out)
	if err != nil || n != 960 {
		t.Fatalf("DecodeFEC = %d, %v; want 960 samples", n, err)
	}
	if r := rms(out[:n]); r < 1000 {
		t.Errorf("FEC recovered a near-silent frame (RMS %.0f) of a 6000-peak tone", r)
	}
	if _, err := dec.Decode(pkts[21], out); err != nil {
		t.Fatal(err)
	}
	n, err = dec.Decode(nil, out)
	if err != nil || n != 960 {
		t.Fatalf("concealing a lost packet = %d, %v; want 960 samples", n, err)
	}
}

func TestStereoEncoderAndMonoDecoder(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Channels: 2, Frame: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	if enc.FrameSamples() != 960 { // 480 per channel, interleaved
		t.Fatalf("FrameSamples = %d, want 960", enc.FrameSamples())
	}
	dec, err := NewDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	pkt := make([]byte, MaxPacketBytes)
	n, err := enc.Encode(make([]int16, 960), pkt)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int16, 480)
	if m, err := dec.Decode(pkt[:n], out); err != nil || m != 480 {
		t.Fatalf("Decode = %d, %v; want 480", m, err)
	}
}

func TestRejectsBadInput(t *testing.T) {
	for _, cfg := range []EncoderConfig{
		{Channels: 3}, {BitrateKbps: 1}, {BitrateKbps: 600}, {Complexity: 11},
		{Frame: 15 * time.Millisecond}, {LossPercent: 101},
	} {
		if _, err := NewEncoder(cfg); !errors.Is(err, ErrBadConfig) {
			t.Errorf("NewEncoder(%+v) = %v, want ErrBadConfig", cfg, err)
		}
	}
	if _, err := NewDecoder(0); !errors.Is(err, ErrBadConfig) {
		t.Errorf("NewDecoder(0) = %v", err)
	}
	enc, err := NewEncoder(EncoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]int16, 100), make([]byte, 100)); !errors.Is(err, ErrBadFrame) {
		t.Errorf("short frame: %v", err)
	}
	if err := enc.SetBitrate(2); !errors.Is(err, ErrBadConfig) {
		t.Errorf("SetBitrate(2): %v", err)
	}
	if err := enc.SetBitrate(64); err != nil {
		t.Errorf("SetBitrate(64): %v", err)
	}
	pkt := make([]byte, MaxPacketBytes)
	n, err := enc.Encode(make([]int16, 960), pkt)
	if err != nil {
		t.Fatal(err)
	}
	enc.Close()
	enc.Close()
	if _, err := enc.Encode(make([]int16, 960), pkt); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: %v", err)
	}

	dec, err := NewDecoder(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(make([]byte, MaxPacketBytes+1), make([]int16, MaxFrameSamples)); !errors.Is(err, ErrBadPacket) {
		t.Errorf("oversized packet: %v", err)
	}
	if _, err := dec.Decode(pkt[:n], make([]int16, 100)); !errors.Is(err, ErrBadFrame) {
		t.Errorf("small buffer: %v", err)
	}
	// TOC config 1 is 20 ms SILK; code 3 with a count of 63 frames would be
	// 1.26 s, more than a packet may hold.
	if _, err := dec.Decode([]byte{0x0b | 3, 63}, make([]int16, MaxFrameSamples)); !errors.Is(err, ErrBadPacket) {
		t.Errorf("a packet announcing 63 frames: %v", err)
	}
	dec.Close()
	if _, err := dec.Decode(pkt[:n], make([]int16, MaxFrameSamples)); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close: %v", err)
	}
}
