package opus

import "testing"

// FuzzDecode feeds untrusted packets to a decoder that has already decoded
// valid speech, as in a session: errors are fine, crashes and writes past
// the buffer are not.
func FuzzDecode(f *testing.F) {
	enc, err := NewEncoder(EncoderConfig{})
	if err != nil {
		f.Fatal(err)
	}
	pkt := make([]byte, MaxPacketBytes)
	var valid [][]byte
	for i := 0; i < 3; i++ {
		n, err := enc.Encode(tone(960, i*960, 500, 7000), pkt)
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, append([]byte(nil), pkt[:n]...))
		f.Add(valid[i], false)
	}
	enc.Close()
	f.Add([]byte{}, true)
	f.Add([]byte{0xff, 0xff, 0xff}, false)
	f.Fuzz(func(t *testing.T, packet []byte, fec bool) {
		dec, err := NewDecoder(2)
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		out := make([]int16, 2*MaxFrameSamples+8)
		for i := range out[2*MaxFrameSamples:] {
			out[2*MaxFrameSamples+i] = 0x5a5a
		}
		if _, err := dec.Decode(valid[0], out[:2*MaxFrameSamples]); err != nil {
			t.Fatal(err)
		}
		var n int
		if fec {
			n, err = dec.DecodeFEC(packet, out[:2*MaxFrameSamples])
		} else {
			n, err = dec.Decode(packet, out[:2*MaxFrameSamples])
		}
		if err == nil && (n <= 0 || n > MaxFrameSamples) {
			t.Fatalf("decoded %d samples per channel", n)
		}
		for _, s := range out[2*MaxFrameSamples:] {
			if s != 0x5a5a {
				t.Fatal("the decoder wrote past its buffer")
			}
		}
		// The decoder still works on valid packets afterwards.
		if _, err := dec.Decode(valid[1], out[:2*MaxFrameSamples]); err != nil {
			t.Fatalf("valid packet after a fuzzed one: %v", err)
		}
	})
}
