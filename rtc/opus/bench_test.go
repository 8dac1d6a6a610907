package opus

import "testing"

func BenchmarkEncode20msMono(b *testing.B) {
	enc, err := NewEncoder(EncoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer enc.Close()
	frames := make([][]int16, 50)
	for i := range frames {
		frames[i] = tone(960, i*960, 220+float64(i%7)*40, 6000)
	}
	pkt := make([]byte, MaxPacketBytes)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := enc.Encode(frames[i%len(frames)], pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode20msMono(b *testing.B) {
	enc, err := NewEncoder(EncoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	pkt := make([]byte, MaxPacketBytes)
	var pkts [][]byte
	for i := 0; i < 50; i++ {
		n, err := enc.Encode(tone(960, i*960, 220+float64(i%7)*40, 6000), pkt)
		if err != nil {
			b.Fatal(err)
		}
		pkts = append(pkts, append([]byte(nil), pkt[:n]...))
	}
	enc.Close()
	dec, err := NewDecoder(1)
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	out := make([]int16, MaxFrameSamples)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := dec.Decode(pkts[i%len(pkts)], out); err != nil {
			b.Fatal(err)
		}
	}
}
