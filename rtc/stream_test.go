package rtc

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"slices"
	"testing"
	"time"

	"github.com/didacto/didacto/rtc/vp8"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/testenv"
)

// TestStreamerFollowsEstimate: a falling estimate lowers the frame rate at
// once and the resolution only when even 5 fps would not fit, and then
// only after ResizeEvery (with a keyframe, as
// interframes carry no size); a rising one brings both back.
func TestStreamerFollowsEstimate(t *testing.T) {
	d := testenv.StartXvfb(t, "1280x720x24")
	capt, err := capture.New(capture.Options{Screen: 0, Display: d.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Close()
	now := time.Unix(1000, 0)
	st, err := NewStreamer(capt, StreamConfig{FPS: 30, StartKbps: 2500, ResizeEvery: 3 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pts := time.Duration(0)
	step := func(bps int) ([]bool, int) {
		t.Helper()
		pts += 33 * time.Millisecond
		frames, fps, err := st.frame(bps, pts)
		if err != nil {
			t.Fatal(err)
		}
		var keys []bool
		for _, f := range frames {
			keys = append(keys, f.Keyframe)
		}
		return keys, fps
	}
	check := func(w, h, fps int) {
		t.Helper()
		s := st.Stats()
		if s.Width != w || s.Height != h || s.FPS != fps {
			t.Fatalf("plan %dx%d@%d, want %dx%d@%d", s.Width, s.Height, s.FPS, w, h, fps)
		}
	}
	step(2_500_000)
	check(1280, 720, 30)
	now = now.Add(time.Second)
	if _, fps := step(600_000); fps != 16 {
		t.Fatalf("fps %d at 600 kbps, want 16: the frame rate goes first", fps)
	}
	check(1280, 720, 16)
	if _, fps := step(100_000); fps != 10 {
		t.Fatalf("fps %d on a poor link, want 10", fps)
	}
	check(1280, 720, 10) // too soon to resize
	now = now.Add(3 * time.Second)
	keys, _ := step(100_000)
	check(640, 360, 10)
	if len(keys) != 1 || !keys[0] {
		t.Fatalf("the first frame at the new size is not a keyframe: %v", keys)
	}
	if keys, _ := step(100_000); len(keys) == 1 && keys[0] {
		t.Fatal("every frame is a keyframe")
	}
	now = now.Add(3 * time.Second)
	step(2_500_000)
	check(1280, 720, 30)
}

// fakeScreen is a Source whose picture the test draws.
type fakeScreen struct{ img *image.RGBA }

func (f *fakeScreen) CaptureInto(dst *image.RGBA) (*image.RGBA, error) {
	if dst == nil || dst.Rect != f.img.Rect {
		dst = image.NewRGBA(f.img.Rect)
	}
	copy(dst.Pix, f.img.Pix)
	return dst, nil
}

func (f *fakeScreen) fill(r image.Rectangle, c color.RGBA) {
	draw.Draw(f.img, r, &image.Uniform{c}, image.Point{}, draw.Src)
}

// TestStreamerSkipsAStillScreen: once the screen stops changing the
// streamer encodes RefineFrames more frames and then nothing, until the
// screen changes or a keyframe is asked for; what it converts piecemeal
// equals a whole conversion.
func TestStreamerSkipsAStillScreen(t *testing.T) {
	scr := &fakeScreen{img: image.NewRGBA(image.Rect(0, 0, 320, 240))}
	scr.fill(scr.img.Rect, color.RGBA{20, 40, 60, 255})
	st, err := NewStreamer(scr, StreamConfig{FPS: 30, RefineFrames: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pts := time.Duration(0)
	// skipped runs one tick and says whether it skipped the encoder (the
	// encoder itself may drop a frame now and then: that is not a skip).
	skipped := func() bool {
		t.Helper()
		before := st.Stats().Skipped
		pts += 33 * time.Millisecond
		if _, _, err := st.frame(2_000_000, pts); err != nil {
			t.Fatal(err)
		}
		return st.Stats().Skipped > before
	}
	got := []bool{}
	for range 6 {
		got = append(got, skipped())
	}
	if want := []bool{false, false, false, false, true, true}; !slices.Equal(got, want) {
		t.Fatalf("skips per tick of a still screen %v, want %v (the first, three to refine, then none)", got, want)
	}
	st.ForceKeyframe()
	if skipped() {
		t.Fatal("a keyframe request on a still screen was skipped")
	}
	if !skipped() {
		t.Fatal("still screen encoded again after the keyframe")
	}
	// A change in a band of rows: encoded again, and the I420 copy matches
	// the whole screen converted at once.
	scr.fill(image.Rect(10, 101, 200, 131), color.RGBA{250, 200, 10, 255})
	if skipped() {
		t.Fatal("a changed screen was skipped")
	}
	want := vp8.NewI420(320, 240)
	if err := vp8.ToI420(want, vp8.SourceFromRGBA(scr.img), 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(st.full.Y, want.Y) || !bytes.Equal(st.full.Cb, want.Cb) || !bytes.Equal(st.full.Cr, want.Cr) {
		t.Fatal("the band-converted frame differs from a whole conversion")
	}
}

func TestChangedRows(t *testing.T) {
	a := image.NewRGBA(image.Rect(0, 0, 8, 10))
	b := image.NewRGBA(image.Rect(0, 0, 8, 10))
	if y0, y1 := changedRows(a, b); y0 != y1 {
		t.Errorf("equal images: rows %d..%d", y0, y1)
	}
	b.Pix[3*b.Stride+5] = 1
	b.Pix[6*b.Stride+31] = 1
	if y0, y1 := changedRows(a, b); y0 != 3 || y1 != 7 {
		t.Errorf("rows %d..%d, want 3..7", y0, y1)
	}
	b.Pix[len(b.Pix)-1] = 1
	if y0, y1 := changedRows(a, b); y0 != 3 || y1 != 10 {
		t.Errorf("rows %d..%d, want 3..10", y0, y1)
	}
}
