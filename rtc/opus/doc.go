// Package opus owns voice coding for live sessions: a small direct cgo
// binding to libopus's encoder and decoder at 48 kHz (the only rate WebRTC
// peers use for Opus), with packet-loss concealment and in-band FEC.
//
// One Opus packet is one media.Sample in pion (20 ms by default). Encoders
// and decoders hold C memory: call Close when done.
//
//	enc, err := opus.NewEncoder(opus.EncoderConfig{})
//	pcm := make([]int16, enc.FrameSamples()) // 20 ms, mono
//	pkt := make([]byte, opus.MaxPacketBytes)
//	n, err := enc.Encode(pcm, pkt)
//
//	dec, err := opus.NewDecoder(1)
//	out := make([]int16, opus.MaxFrameSamples)
//	n, err := dec.Decode(pkt[:n], out) // nil packet: conceal a lost one
package opus
