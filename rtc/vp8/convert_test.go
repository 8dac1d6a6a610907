package vp8

import (
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

func TestToI420KnownColours(t *testing.T) {
	// BT.601 limited range reference values.
	for _, tc := range []struct {
		c         color.RGBA
		y, cb, cr byte
	}{
		{color.RGBA{0, 0, 0, 255}, 16, 128, 128},
		{color.RGBA{255, 255, 255, 255}, 235, 128, 128},
		{color.RGBA{255, 0, 0, 255}, 82, 90, 240},
		{color.RGBA{0, 255, 0, 255}, 145, 54, 34},
		{color.RGBA{0, 0, 255, 255}, 41, 240, 110},
	} {
		for _, order := range []PixelOrder{RGBA, BGRA} {
			src := image.NewRGBA(image.Rect(0, 0, 5, 3)) // odd on both axes
			for i := 0; i < len(src.Pix); i += 4 {
				p := src.Pix[i : i+4]
				p[0], p[1], p[2], p[3] = tc.c.R, tc.c.G, tc.c.B, 255
				if order == BGRA {
					p[0], p[2] = tc.c.B, tc.c.R
				}
			}
			s := SourceFromRGBA(src)
			s.Order = order
			dst := NewI420(5, 3)
			if err := ToI420(dst, s, 2); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst.Y {
				if d := int(v) - int(tc.y); d < -1 || d > 1 { // integer coefficients round a little differently
					t.Fatalf("%v order %d: Y[%d] = %d, want %d", tc.c, order, i, v, tc.y)
				}
			}
			for i := range dst.Cb {
				if d1, d2 := int(dst.Cb[i])-int(tc.cb), int(dst.Cr[i])-int(tc.cr); d1*d1 > 1 || d2*d2 > 1 {
					t.Fatalf("%v order %d: Cb,Cr[%d] = %d,%d, want %d,%d", tc.c, order, i, dst.Cb[i], dst.Cr[i], tc.cb, tc.cr)
				}
			}
		}
	}
}

// TestToI420MatchesReference checks the fast path against a plain per-pixel
// conversion, whatever the worker count, on random pixels and odd sizes.
func TestToI420MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	for _, sz := range []image.Point{{64, 48}, {33, 17}, {1, 7}, {200, 1}} {
		src := image.NewRGBA(image.Rect(0, 0, sz.X, sz.Y))
		for i := range src.Pix {
			src.Pix[i] = byte(rng.Uint32())
		}
		want := referenceI420(src)
		for _, workers := range []int{1, 2, 3, 16} {
			got := NewI420(sz.X, sz.Y)
			if err := ToI420(got, SourceFromRGBA(src), workers); err != nil {
				t.Fatal(err)
			}
			for name, pair := range map[string][2][]byte{"Y": {got.Y, want.Y}, "Cb": {got.Cb, want.Cb}, "Cr": {got.Cr, want.Cr}} {
				for i := range pair[1] {
					if pair[0][i] != pair[1][i] {
						t.Fatalf("%v workers %d: %s[%d] = %d, want %d", sz, workers, name, i, pair[0][i], pair[1][i])
					}
				}
			}
		}
	}
}

func referenceI420(src *image.RGBA) *image.YCbCr {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	out := NewI420(w, h)
	at := func(x, y int) (int, int, int) {
		c := src.RGBAAt(min(x, w-1), min(y, h-1))
		return int(c.R), int(c.G), int(c.B)
	}
	for y := range h {
		for x := range w {
			r, g, b := at(x, y)
			out.Y[y*out.YStride+x] = byte((66*r+129*g+25*b+128)>>8 + 16)
		}
	}
	for cy := range (h + 1) / 2 {
		for cx := range (w + 1) / 2 {
			var rs, gs, bs, n int
			for dy := range 2 {
				for dx := range 2 {
					if 2*cx+dx >= w && dx == 1 {
						continue
					}
					if 2*cy+dy >= h && dy == 1 {
						continue
					}
					r, g, b := at(2*cx+dx, 2*cy+dy)
					rs, gs, bs, n = rs+r, gs+g, bs+b, n+1
				}
			}
			r, g, b := (rs+n/2)/n, (gs+n/2)/n, (bs+n/2)/n
			out.Cb[cy*out.CStride+cx] = byte((-38*r-74*g+112*b+128)>>8 + 128)
			out.Cr[cy*out.CStride+cx] = byte((112*r-94*g-18*b+128)>>8 + 128)
		}
	}
	return out
}

func TestToI420BadInput(t *testing.T) {
	src := SourceFromRGBA(image.NewRGBA(image.Rect(0, 0, 8, 8)))
	short := src
	short.Pix = short.Pix[:100]
	badOrder := src
	badOrder.Order = 7
	for name, tc := range map[string]struct {
		dst *image.YCbCr
		src Source
	}{
		"nil dst":       {nil, src},
		"size mismatch": {NewI420(8, 6), src},
		"444 dst":       {image.NewYCbCr(image.Rect(0, 0, 8, 8), image.YCbCrSubsampleRatio444), src},
		"short pixels":  {NewI420(8, 8), short},
		"bad order":     {NewI420(8, 8), badOrder},
		"zero source":   {NewI420(8, 8), Source{}},
	} {
		if err := ToI420(tc.dst, tc.src, 0); !errors.Is(err, ErrBadImage) {
			t.Errorf("%s: err %v, want ErrBadImage", name, err)
		}
	}
}

func TestScale(t *testing.T) {
	// A flat colour stays that colour at any size.
	src := NewI420(64, 36)
	for i := range src.Y {
		src.Y[i] = 100
	}
	for i := range src.Cb {
		src.Cb[i], src.Cr[i] = 60, 200
	}
	for _, sz := range []image.Point{{32, 18}, {43, 25}, {128, 72}, {1, 1}} {
		dst := NewI420(sz.X, sz.Y)
		if err := Scale(dst, src, 0); err != nil {
			t.Fatal(err)
		}
		for i, v := range dst.Y {
			if v != 100 {
				t.Fatalf("%v: Y[%d] = %d, want 100", sz, i, v)
			}
		}
		for i := range dst.Cb {
			if dst.Cb[i] != 60 || dst.Cr[i] != 200 {
				t.Fatalf("%v: chroma[%d] = %d,%d", sz, i, dst.Cb[i], dst.Cr[i])
			}
		}
	}
	// Halving averages 2x2 blocks: a one-pixel checkerboard turns grey.
	for y := range 36 {
		for x := range 64 {
			src.Y[y*src.YStride+x] = byte(255 * ((x + y) % 2))
		}
	}
	half := NewI420(32, 18)
	if err := Scale(half, src, 2); err != nil {
		t.Fatal(err)
	}
	for i, v := range half.Y {
		if v < 126 || v > 129 {
			t.Fatalf("halved checkerboard Y[%d] = %d, want ~128", i, v)
		}
	}
	big, down := NewI420(64, 48), NewI420(32, 24)
	if err := Scale(nil, big, 0); !errors.Is(err, ErrBadImage) {
		t.Errorf("Scale into nil: err %v", err)
	}
	if err := Scale(down, image.NewYCbCr(image.Rect(0, 0, 4, 4), image.YCbCrSubsampleRatio422), 0); !errors.Is(err, ErrBadImage) {
		t.Errorf("Scale from 4:2:2: err %v", err)
	}
}
