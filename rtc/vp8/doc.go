// Package vp8 owns video coding for the live screen stream: a small direct
// cgo binding to libvpx's VP8 encoder and decoder, tuned for low-latency
// screen content (realtime deadline, CBR, no lag, error resilient, screen
// content mode), and the RGBA/BGRA → I420 conversion and scaling that feeds it.
//
// Encoded frames are raw VP8 frames, one per media.Sample in pion. Encoders
// and decoders hold C memory: call Close when done. A capture loop looks like:
//
//	enc, err := vp8.NewEncoder(vp8.Config{Width: w, Height: h, BitrateKbps: 2500, ScreenContent: true})
//	img := vp8.NewI420(w, h)
//	// per frame:
//	err = vp8.ToI420(img, vp8.Source{Pix: pix, Stride: stride, Width: w, Height: h, Order: vp8.BGRA}, 0)
//	frames, err := enc.Encode(img, capturedAt.Sub(start), false)
//	for _, f := range frames {
//		err = track.WriteSample(media.Sample{Data: f.Data, Duration: f.Duration})
//	}
//
// and the RTCP reader calls enc.ForceKeyframe() on PLI/FIR and
// enc.SetBitrate(kbps) from the bandwidth estimate. To shed more than
// bitrate, lower the capture rate first (the encoder follows the timestamps)
// and then the size: Scale into a smaller image and call enc.SetSize.
package vp8
