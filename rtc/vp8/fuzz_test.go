package vp8

import (
	"image"
	"testing"
	"time"
)

// FuzzDecode feeds arbitrary bytes to the decoder, both as the first frame
// of a stream and as an interframe after a valid keyframe. It must return
// errors, never crash, and never yield a picture above its limits.
func FuzzDecode(f *testing.F) {
	const w, h = 160, 120
	desk := newDesktop(f, w, h)
	enc, err := NewEncoder(Config{Width: w, Height: h, ScreenContent: true})
	if err != nil {
		f.Fatal(err)
	}
	var frames [][]byte
	for i := range 6 {
		out, err := enc.Encode(desk.i420(f), time.Duration(i)*frameTime, i == 4)
		if err != nil {
			f.Fatal(err)
		}
		for _, fr := range out {
			frames = append(frames, fr.Data)
		}
		for range 3 {
			desk.step()
		}
	}
	enc.Close() // before fuzzing: its threads have no business in the workers
	key := frames[0]
	for _, fr := range frames {
		f.Add(fr)
		f.Add(fr[:len(fr)/2])
		f.Add(fr[:min(len(fr), 10)])
	}
	flipped := append([]byte(nil), key...)
	flipped[len(flipped)/3] ^= 0x5a
	f.Add(flipped)
	huge := append([]byte(nil), key...)
	huge[6], huge[7], huge[8], huge[9] = 0xff, 0x3f, 0xff, 0x3f // announces 16383x16383
	f.Add(huge)

	const maxW, maxH = 640, 480
	check := func(t *testing.T, img *image.YCbCr) {
		if img != nil && (img.Rect.Dx() > maxW || img.Rect.Dy() > maxH || img.Rect.Dx() < 1 || img.Rect.Dy() < 1) {
			t.Fatalf("decoded a %v picture past the %dx%d limit", img.Rect, maxW, maxH)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, err := NewDecoder(DecoderConfig{MaxWidth: maxW, MaxHeight: maxH})
		if err != nil {
			t.Fatal(err)
		}
		defer dec.Close()
		img, _ := dec.Decode(data)
		check(t, img)

		after, err := NewDecoder(DecoderConfig{MaxWidth: maxW, MaxHeight: maxH})
		if err != nil {
			t.Fatal(err)
		}
		defer after.Close()
		if _, err := after.Decode(key); err != nil {
			t.Fatalf("valid keyframe: %v", err)
		}
		img, _ = after.Decode(data)
		check(t, img)
		img, _ = after.Decode(data) // and again, on whatever state that left
		check(t, img)
	})
}
