package vp8

import (
	"errors"
	"image"
	"math/rand/v2"
	"testing"
	"time"
)

const frameTime = time.Second / 30

func newEncoder(tb testing.TB, cfg Config) *Encoder {
	tb.Helper()
	e, err := NewEncoder(cfg)
	if err != nil {
		tb.Fatalf("NewEncoder(%+v): %v", cfg, err)
	}
	tb.Cleanup(func() { e.Close() })
	return e
}

func newDecoder(tb testing.TB, cfg DecoderConfig) *Decoder {
	tb.Helper()
	d, err := NewDecoder(cfg)
	if err != nil {
		tb.Fatalf("NewDecoder: %v", err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// encodeOne encodes img and insists on exactly one frame out.
func encodeOne(tb testing.TB, e *Encoder, img *image.YCbCr, i int, force bool) Frame {
	tb.Helper()
	frames, err := e.Encode(img, time.Duration(i)*frameTime, force)
	if err != nil {
		tb.Fatalf("encode frame %d: %v", i, err)
	}
	if len(frames) != 1 {
		tb.Fatalf("encode frame %d: %d frames out, want 1", i, len(frames))
	}
	return frames[0]
}

func TestRoundTripQuality(t *testing.T) {
	const w, h = 640, 360
	desk := newDesktop(t, w, h)
	enc := newEncoder(t, Config{Width: w, Height: h, BitrateKbps: 1000, ScreenContent: true})
	dec := newDecoder(t, DecoderConfig{})
	var last float64
	for i := range 30 {
		src := desk.i420(t)
		f := encodeOne(t, enc, src, i, false)
		if got, want := f.Keyframe, i == 0; got != want {
			t.Fatalf("frame %d: keyframe %v, want %v", i, got, want)
		}
		if bitKey := f.Data[0]&1 == 0; bitKey != f.Keyframe {
			t.Fatalf("frame %d: bitstream keyframe bit %v disagrees with packet flag %v", i, bitKey, f.Keyframe)
		}
		if want := time.Duration(i) * frameTime; f.PTS < want-time.Millisecond || f.PTS > want+time.Millisecond {
			t.Fatalf("frame %d: pts %v, want %v", i, f.PTS, want)
		}
		out, err := dec.Decode(f.Data)
		if err != nil {
			t.Fatalf("decode frame %d: %v", i, err)
		}
		if out == nil || out.Rect.Dx() != w || out.Rect.Dy() != h {
			t.Fatalf("decode frame %d: got %v", i, out)
		}
		last = psnr(t, src, out)
		desk.step()
	}
	t.Logf("PSNR of frame 29: %.1f dB", last)
	if last < 30 {
		t.Fatalf("PSNR %.1f dB after 30 frames, want ≥ 30 dB for text at 1 Mbps 360p", last)
	}
}

func TestForcedKeyframes(t *testing.T) {
	const w, h = 320, 240
	desk := newDesktop(t, w, h)
	enc := newEncoder(t, Config{Width: w, Height: h, ScreenContent: true})
	want := map[int]bool{0: true, 5: true, 8: true}
	var frames []Frame
	var srcs []*image.YCbCr
	for i := range 12 {
		if i == 8 {
			enc.ForceKeyframe() // as the RTCP reader does on PLI
		}
		src := desk.i420(t)
		srcs = append(srcs, src)
		frames = append(frames, encodeOne(t, enc, src, i, i == 5))
		desk.step()
	}
	for i, f := range frames {
		if f.Keyframe != want[i] || (f.Data[0]&1 == 0) != want[i] {
			t.Errorf("frame %d: keyframe flag %v, bitstream bit %v; want %v", i, f.Keyframe, f.Data[0]&1 == 0, want[i])
		}
	}
	// A keyframe must be decodable by a viewer that saw nothing before it.
	for _, k := range []int{5, 8} {
		dec := newDecoder(t, DecoderConfig{})
		out, err := dec.Decode(frames[k].Data)
		if err != nil {
			t.Fatalf("fresh decoder on forced keyframe %d: %v", k, err)
		}
		if p := psnr(t, srcs[k], out); p < 28 {
			t.Errorf("forced keyframe %d decodes at %.1f dB, want ≥ 28", k, p)
		}
		if _, err := dec.Decode(frames[k+1].Data); err != nil {
			t.Errorf("interframe after keyframe %d: %v", k, err)
		}
	}
	// A fresh decoder refuses interframes: nothing to predict from.
	dec := newDecoder(t, DecoderConfig{})
	if _, err := dec.Decode(frames[3].Data); !errors.Is(err, ErrBadImage) || !dec.Corrupted() {
		t.Errorf("interframe to a fresh decoder: err %v, corrupted %v; want ErrBadImage, true", err, dec.Corrupted())
	}
}

// noise returns a frame of random pixels: content that wants far more bits
// than either target below, so the rate control decides the size.
func noise(rng *rand.Rand, w, h int) *image.YCbCr {
	img := NewI420(w, h)
	for _, p := range [][]byte{img.Y, img.Cb, img.Cr} {
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
	}
	return img
}

func TestSetBitrateChangesOutput(t *testing.T) {
	const w, h = 320, 240
	rng := rand.New(rand.NewPCG(1, 2))
	enc := newEncoder(t, Config{Width: w, Height: h, BitrateKbps: 2000})
	window := func(start int) (bytes int) {
		for i := start; i < start+45; i++ {
			frames, err := enc.Encode(noise(rng, w, h), time.Duration(i)*frameTime, false)
			if err != nil {
				t.Fatalf("encode %d: %v", i, err)
			}
			if i >= start+15 { // let the rate control settle
				for _, f := range frames {
					bytes += len(f.Data)
				}
			}
		}
		return bytes
	}
	high := window(0)
	if err := enc.SetBitrate(150); err != nil {
		t.Fatalf("SetBitrate: %v", err)
	}
	low := window(45)
	kbps := func(b int) int { return b * 8 / 1000 } // 30 frames = 1 s
	t.Logf("2000 kbps target: %d kbps out; 150 kbps target: %d kbps out", kbps(high), kbps(low))
	if low*3 > high {
		t.Fatalf("after SetBitrate(150) the stream is %d bytes/s, before %d: want at least 3x smaller", low, high)
	}
	if kbps(low) > 150*2 {
		t.Fatalf("150 kbps target produced %d kbps", kbps(low))
	}
}

func TestSetSize(t *testing.T) {
	desk := newDesktop(t, 640, 360)
	small := NewI420(320, 180)
	enc := newEncoder(t, Config{Width: 640, Height: 360, ScreenContent: true})
	dec := newDecoder(t, DecoderConfig{})
	decode := func(f Frame) *image.YCbCr {
		out, err := dec.Decode(f.Data)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		return out
	}
	encodeOne(t, enc, desk.i420(t), 0, false)
	encodeOne(t, enc, desk.i420(t), 1, false)
	if err := enc.SetSize(320, 180); err != nil {
		t.Fatalf("SetSize down: %v", err)
	}
	if w, h := enc.Size(); w != 320 || h != 180 {
		t.Fatalf("Size after SetSize = %dx%d", w, h)
	}
	if _, err := enc.Encode(desk.i420(t), 2*frameTime, false); !errors.Is(err, ErrBadImage) {
		t.Fatalf("old-size image after SetSize: err %v, want ErrBadImage", err)
	}
	if err := Scale(small, desk.i420(t), 0); err != nil {
		t.Fatalf("Scale: %v", err)
	}
	f := encodeOne(t, enc, small, 3, false)
	if !f.Keyframe {
		t.Fatalf("first frame after SetSize is not a keyframe")
	}
	if out := decode(f); out.Rect.Dx() != 320 || out.Rect.Dy() != 180 {
		t.Fatalf("decoded %v after resize, want 320x180", out.Rect)
	}
	if err := enc.SetSize(640, 360); err != nil {
		t.Fatalf("SetSize back to the initial size: %v", err)
	}
	f = encodeOne(t, enc, desk.i420(t), 4, false)
	if out := decode(f); !f.Keyframe || out.Rect.Dx() != 640 {
		t.Fatalf("after growing back: keyframe %v, decoded %v", f.Keyframe, out.Rect)
	}
	err := enc.SetSize(1280, 720)
	t.Logf("growing past the initial size: %v", err)
	if !errors.Is(err, ErrCodec) {
		t.Fatalf("SetSize above the initial size: err %v, want libvpx's refusal", err)
	}
	if w, h := enc.Size(); w != 640 || h != 360 {
		t.Fatalf("failed SetSize changed the size to %dx%d", w, h)
	}
	encodeOne(t, enc, desk.i420(t), 5, false)
}

func TestOddSizes(t *testing.T) {
	for _, sz := range []image.Point{{641, 361}, {1, 1}, {3, 2}, {17, 9}} {
		rng := rand.New(rand.NewPCG(uint64(sz.X), uint64(sz.Y)))
		rgba := image.NewRGBA(image.Rect(0, 0, sz.X, sz.Y))
		for i := range rgba.Pix {
			rgba.Pix[i] = byte(rng.Uint32())
		}
		img := NewI420(sz.X, sz.Y)
		if err := ToI420(img, SourceFromRGBA(rgba), 0); err != nil {
			t.Fatalf("%v: convert: %v", sz, err)
		}
		enc := newEncoder(t, Config{Width: sz.X, Height: sz.Y})
		dec := newDecoder(t, DecoderConfig{})
		f := encodeOne(t, enc, img, 0, false)
		out, err := dec.Decode(f.Data)
		if err != nil {
			t.Fatalf("%v: decode: %v", sz, err)
		}
		if out.Rect.Size() != sz {
			t.Fatalf("%v: decoded size %v", sz, out.Rect.Size())
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{Width: 0, Height: 100},
		{Width: -2, Height: 100},
		{Width: 100, Height: MaxDimension + 1},
		{Width: 64, Height: 64, CPUUsed: 17},
		{Width: 64, Height: 64, FPS: -1},
		{Width: 64, Height: 64, BitrateKbps: -5},
		{Width: 64, Height: 64, Threads: 1000},
		{Width: 64, Height: 64, MinQuantizer: 40, MaxQuantizer: 20},
		{Width: 64, Height: 64, MaxQuantizer: 64},
	} {
		if e, err := NewEncoder(cfg); !errors.Is(err, ErrBadConfig) {
			if e != nil {
				e.Close()
			}
			t.Errorf("NewEncoder(%+v): err %v, want ErrBadConfig", cfg, err)
		}
	}
	enc := newEncoder(t, Config{Width: 64, Height: 48})
	short := NewI420(64, 48)
	short.Y = short.Y[:100]
	narrow := NewI420(64, 48)
	narrow.CStride = 10 // rows shorter than the width
	for name, img := range map[string]*image.YCbCr{
		"nil":       nil,
		"too big":   NewI420(66, 48),
		"too small": NewI420(64, 46),
		"4:4:4":     image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio444),
		"short Y":   short,
		"narrow Cb": narrow,
	} {
		if _, err := enc.Encode(img, 0, false); !errors.Is(err, ErrBadImage) {
			t.Errorf("Encode(%s): err %v, want ErrBadImage", name, err)
		}
	}
	// The encoder still works after refusing bad input, and takes sub-images.
	encodeOne(t, enc, NewI420(64, 48), 1, false)
	sub := NewI420(80, 60).SubImage(image.Rect(10, 6, 74, 54)).(*image.YCbCr)
	encodeOne(t, enc, sub, 2, false)
	if err := enc.SetBitrate(0); !errors.Is(err, ErrBadConfig) {
		t.Errorf("SetBitrate(0): err %v", err)
	}
	if err := enc.SetSize(0, 10); !errors.Is(err, ErrBadConfig) {
		t.Errorf("SetSize(0, 10): err %v", err)
	}

	dec := newDecoder(t, DecoderConfig{})
	for name, data := range map[string][]byte{
		"empty":       nil,
		"garbage key": {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a},
		"short key":   {0x10, 0x02},
	} {
		if out, err := dec.Decode(data); err == nil {
			t.Errorf("Decode(%s) = %v, nil; want an error", name, out)
		}
	}
	if _, err := NewDecoder(DecoderConfig{MaxWidth: -1}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("NewDecoder with negative limit: err %v", err)
	}
	// A keyframe above the decoder's limits is refused before libvpx sees it.
	key := encodeOne(t, newEncoder(t, Config{Width: 640, Height: 360}), NewI420(640, 360), 0, false)
	small := newDecoder(t, DecoderConfig{MaxWidth: 320, MaxHeight: 240})
	if _, err := small.Decode(key.Data); !errors.Is(err, ErrTooLarge) {
		t.Errorf("640x360 keyframe into a 320x240-limited decoder: err %v, want ErrTooLarge", err)
	}
}

func TestCloseTwice(t *testing.T) {
	enc, err := NewEncoder(Config{Width: 64, Height: 48})
	if err != nil {
		t.Fatal(err)
	}
	encodeOne(t, enc, NewI420(64, 48), 0, false)
	if err := enc.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := enc.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := enc.Encode(NewI420(64, 48), frameTime, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Encode after Close: err %v", err)
	}
	if err := enc.SetBitrate(500); !errors.Is(err, ErrClosed) {
		t.Errorf("SetBitrate after Close: err %v", err)
	}
	if err := enc.SetSize(32, 32); !errors.Is(err, ErrClosed) {
		t.Errorf("SetSize after Close: err %v", err)
	}
	enc.ForceKeyframe() // harmless

	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if err := dec.Close(); err != nil {
		t.Fatalf("first decoder Close: %v", err)
	}
	if err := dec.Close(); err != nil {
		t.Fatalf("second decoder Close: %v", err)
	}
	if _, err := dec.Decode([]byte{0x10, 0x02, 0x00}); !errors.Is(err, ErrClosed) {
		t.Errorf("Decode after Close: err %v", err)
	}
}

// TestConcurrentControl drives SetBitrate and ForceKeyframe from another
// goroutine while encoding, as the RTCP reader will (run with -race).
func TestConcurrentControl(t *testing.T) {
	desk := newDesktop(t, 320, 240)
	enc := newEncoder(t, Config{Width: 320, Height: 240, ScreenContent: true})
	started, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		<-started
		for i := range 20 {
			if err := enc.SetBitrate(300 + 100*i); err != nil {
				t.Errorf("SetBitrate: %v", err)
			}
			enc.ForceKeyframe()
			time.Sleep(time.Millisecond)
		}
	}()
	keys := 0
	// Encode until the controller is done, then once more: that frame must
	// honour its last ForceKeyframe.
	finished := false
	for i := 0; !finished; i++ {
		select {
		case <-done:
			finished = true
		default:
		}
		frames, err := enc.Encode(desk.i420(t), time.Duration(i)*frameTime, false)
		if err != nil {
			t.Fatalf("encode %d: %v", i, err)
		}
		for _, f := range frames {
			if f.Keyframe {
				keys++
			}
		}
		if i == 0 {
			close(started)
		}
		desk.step()
	}
	if keys < 2 {
		t.Errorf("only %d keyframes despite ForceKeyframe calls", keys)
	}
}

// TestDecoderCorrupted checks the PLI trigger: a damaged frame is reported,
// and the next keyframe clears it.
func TestDecoderCorrupted(t *testing.T) {
	desk := newDesktop(t, 320, 240)
	enc := newEncoder(t, Config{Width: 320, Height: 240, ScreenContent: true})
	var frames []Frame
	for i := range 8 {
		for range 4 {
			desk.step()
		}
		frames = append(frames, encodeOne(t, enc, desk.i420(t), i, i == 6))
	}
	dec := newDecoder(t, DecoderConfig{})
	for i, f := range frames[:3] {
		if _, err := dec.Decode(f.Data); err != nil || dec.Corrupted() {
			t.Fatalf("clean frame %d: err %v, corrupted %v", i, err, dec.Corrupted())
		}
	}
	cut := frames[3].Data[:len(frames[3].Data)/2]
	out, err := dec.Decode(cut)
	t.Logf("truncated interframe: image %v, err %v, corrupted %v", out != nil, err, dec.Corrupted())
	if !dec.Corrupted() {
		t.Fatalf("truncated interframe not reported as corrupted (err %v)", err)
	}
	if _, err := dec.Decode(frames[6].Data); err != nil || dec.Corrupted() {
		t.Fatalf("keyframe after damage: err %v, corrupted %v", err, dec.Corrupted())
	}
}
