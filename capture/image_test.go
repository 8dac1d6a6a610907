package capture

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

func solid(w, h int, c color.RGBA) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Rect, image.NewUniform(c), image.Point{}, draw.Src)
	return img
}

// textScreen draws lines of text over a white w×h picture: a stand-in for a
// busy desktop (editor, terminal) with the same JPEG cost profile.
func textScreen(w, h int) *image.RGBA {
	img := solid(w, h, color.RGBA{255, 255, 255, 255})
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.RGBA{20, 20, 20, 255}), Face: basicfont.Face7x13}
	line := "func (s *Scaler) Scale(src *image.RGBA, width int) *image.RGBA { // 0123456789 abcdefghijklmnopqrstuvwxyz "
	for y, n := 13, 0; y < h; y, n = y+15, n+1 {
		d.Dot = fixed.P(4+(n%7)*3, y)
		for d.Dot.X.Round() < w {
			d.DrawString(line[n%20:])
		}
	}
	return img
}

func TestScaledSize(t *testing.T) {
	for _, tc := range []struct{ sw, sh, w, ww, wh int }{
		{1920, 1080, 320, 320, 180},
		{1920, 1080, 1280, 1280, 720},
		{1920, 1080, 0, 1920, 1080},
		{1920, 1080, 4000, 1920, 1080},
		{1366, 768, 320, 320, 180},
		{3840, 1080, 320, 320, 90},
		{1000, 1, 10, 10, 1},
	} {
		w, h := ScaledSize(tc.sw, tc.sh, tc.w)
		if w != tc.ww || h != tc.wh {
			t.Errorf("ScaledSize(%d,%d,%d) = %dx%d, want %dx%d", tc.sw, tc.sh, tc.w, w, h, tc.ww, tc.wh)
		}
	}
}

func TestScaleAverages(t *testing.T) {
	// Left half black, right half white, 8x4 → 2x1: one black, one white pixel.
	src := solid(8, 4, color.RGBA{0, 0, 0, 255})
	draw.Draw(src, image.Rect(4, 0, 8, 4), image.NewUniform(color.RGBA{255, 255, 255, 255}), image.Point{}, draw.Src)
	var s Scaler
	dst := s.Scale(src, 2)
	if dst.Rect.Dx() != 2 || dst.Rect.Dy() != 1 {
		t.Fatalf("size %v", dst.Rect)
	}
	if got := dst.RGBAAt(0, 0); got != (color.RGBA{0, 0, 0, 255}) {
		t.Errorf("left = %v", got)
	}
	if got := dst.RGBAAt(1, 0); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("right = %v", got)
	}
	// A 1-pixel checkerboard averages to mid grey.
	chk := image.NewRGBA(image.Rect(0, 0, 64, 36))
	for y := range 36 {
		for x := range 64 {
			if (x+y)%2 == 0 {
				chk.SetRGBA(x, y, color.RGBA{200, 100, 50, 255})
			} else {
				chk.SetRGBA(x, y, color.RGBA{0, 0, 0, 255})
			}
		}
	}
	out := s.Scale(chk, 16)
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			if got := out.RGBAAt(x, y); got != (color.RGBA{100, 50, 25, 255}) {
				t.Fatalf("checker at %d,%d = %v", x, y, got)
			}
		}
	}
}

func TestScaleNoEnlargeReturnsSource(t *testing.T) {
	src := solid(100, 50, color.RGBA{1, 2, 3, 255})
	var s Scaler
	if got := s.Scale(src, 100); got != src {
		t.Error("same width should return the source")
	}
	if got := s.Scale(src, 500); got != src {
		t.Error("larger width should return the source")
	}
}

func TestScaleSubImage(t *testing.T) {
	// A sub-image (non-zero Min) must be read from its own origin.
	big := solid(200, 100, color.RGBA{0, 0, 255, 255})
	draw.Draw(big, image.Rect(100, 0, 200, 100), image.NewUniform(color.RGBA{0, 255, 0, 255}), image.Point{}, draw.Src)
	sub := big.SubImage(image.Rect(100, 0, 200, 100)).(*image.RGBA)
	var s Scaler
	out := s.Scale(sub, 10)
	if got := out.RGBAAt(0, 0); got != (color.RGBA{0, 255, 0, 255}) {
		t.Errorf("sub-image scaled to %v, want green", got)
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	src := solid(320, 180, color.RGBA{200, 30, 30, 255})
	var e Encoder
	b, err := e.Encode(src, 70)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0xff, 0xd8}) {
		t.Fatalf("not a JPEG: % x", b[:4])
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 320 || img.Bounds().Dy() != 180 {
		t.Fatalf("decoded size %v", img.Bounds())
	}
	r, g, bb, _ := img.At(160, 90).RGBA()
	if r>>8 < 180 || g>>8 > 60 || bb>>8 > 60 {
		t.Errorf("decoded colour %d,%d,%d, want about 200,30,30", r>>8, g>>8, bb>>8)
	}
	// Quality matters: a busy picture is smaller at low quality.
	busy := textScreen(640, 360)
	hi, _ := e.Encode(busy, 95)
	nHi := len(hi)
	lo, _ := e.Encode(busy, 20)
	if len(lo) >= nHi {
		t.Errorf("q20 %d bytes ≥ q95 %d bytes", len(lo), nHi)
	}
}

func TestFingerprint(t *testing.T) {
	white := solid(1920, 1080, color.RGBA{255, 255, 255, 255})
	var s Scaler
	a := NewFingerprint(s.Scale(white, 320))
	b := a
	if a.Differs(&b, DefaultTolerance) {
		t.Error("identical fingerprints differ")
	}
	var zero Fingerprint
	if !zero.Differs(&a, DefaultTolerance) || !a.Differs(&zero, DefaultTolerance) {
		t.Error("zero fingerprint must differ from a real one")
	}
	// One typed character (7x13 px) on a 1080p screen changes the fingerprint.
	typed := solid(1920, 1080, color.RGBA{255, 255, 255, 255})
	d := font.Drawer{Dst: typed, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13, Dot: fixed.P(900, 500)}
	d.DrawString("W")
	c := NewFingerprint(s.Scale(typed, 320))
	if !a.Differs(&c, DefaultTolerance) {
		t.Error("a typed character was not noticed")
	}
	// Faint noise (±1 grey level everywhere) is not a change.
	noisy := solid(1920, 1080, color.RGBA{254, 254, 254, 255})
	n := NewFingerprint(s.Scale(noisy, 320))
	if a.Differs(&n, DefaultTolerance) {
		t.Error("1-level noise counted as a change")
	}
	// Another size is a change (the server must get the new size).
	other := NewFingerprint(s.Scale(white, 640))
	if a.Differs(&other, DefaultTolerance) == false {
		t.Error("a new frame size must count as changed")
	}
	// Tiny frames (smaller than the thumbnail) work too.
	tiny := NewFingerprint(solid(3, 2, color.RGBA{10, 10, 10, 255}))
	if tiny.Grey[0] != 10 || tiny.Grey[len(tiny.Grey)-1] != 10 {
		t.Errorf("tiny fingerprint = %d..%d", tiny.Grey[0], tiny.Grey[len(tiny.Grey)-1])
	}
}

func TestCheckSession(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, tc := range []struct {
		name string
		env  func(string) string
		want error
	}{
		{"x11", env("DISPLAY", ":0", "XDG_SESSION_TYPE", "x11"), nil},
		{"plain display", env("DISPLAY", ":1"), nil},
		{"wayland session with xwayland", env("DISPLAY", ":0", "XDG_SESSION_TYPE", "wayland", "WAYLAND_DISPLAY", "wayland-0"), ErrWayland},
		{"wayland socket only", env("WAYLAND_DISPLAY", "wayland-0"), ErrWayland},
		{"nothing", env(), ErrNoDisplay},
	} {
		if got := CheckSession(tc.env); got != tc.want {
			t.Errorf("%s: CheckSession = %v, want %v", tc.name, got, tc.want)
		}
	}
	// New refuses a Wayland session before touching any display.
	if _, err := New(Options{Screen: AllScreens, Getenv: env("XDG_SESSION_TYPE", "wayland", "WAYLAND_DISPLAY", "wayland-0")}); err != ErrWayland {
		t.Errorf("New under Wayland = %v, want ErrWayland", err)
	}
}
