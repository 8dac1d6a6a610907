package capture

import "image"

// Fingerprint size: a 64×36 grey thumbnail (16:9) is enough to notice a
// typed character or a moved window at 1080p and costs microseconds to compare.
const (
	ThumbW = 64
	ThumbH = 36
)

// DefaultTolerance is the grey-level difference (0-255) one thumbnail cell
// may show before the picture counts as changed: above dithering and JPEG-free
// capture noise, below a typed character (which moves its cell by ~10-40).
const DefaultTolerance = 3

// Fingerprint is a tiny grey thumbnail of a frame. The zero value differs
// from every real fingerprint.
type Fingerprint struct {
	W, H int // size of the frame it was taken from
	Grey [ThumbW * ThumbH]uint8
}

// NewFingerprint averages img into ThumbW×ThumbH grey cells. Taking it from
// the already downscaled frame keeps it cheap.
func NewFingerprint(img *image.RGBA) Fingerprint {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	f := Fingerprint{W: w, H: h}
	if w <= 0 || h <= 0 {
		return f
	}
	var cols [ThumbW]span
	for i := range cols {
		cols[i] = spanOf(i, w, ThumbW)
	}
	base := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y)
	for ty := range ThumbH {
		rs := spanOf(ty, h, ThumbH)
		for tx, c := range cols {
			var sum uint32
			for y := rs.lo; y < rs.hi; y++ {
				row := img.Pix[base+y*img.Stride:]
				for i := c.lo * 4; i < c.hi*4; i += 4 {
					// ITU-R 601 luma in integer arithmetic (weights sum to 1024).
					sum += 306*uint32(row[i]) + 601*uint32(row[i+1]) + 117*uint32(row[i+2])
				}
			}
			n := uint32((rs.hi - rs.lo) * (c.hi - c.lo) * 1024)
			f.Grey[ty*ThumbW+tx] = uint8((sum + n/2) / n)
		}
	}
	return f
}

// Differs reports whether g shows a different picture than f: another frame
// size, or any cell whose grey level moved by more than tolerance.
func (f *Fingerprint) Differs(g *Fingerprint, tolerance int) bool {
	if f.W == 0 || f.W != g.W || f.H != g.H {
		return true
	}
	for i, a := range f.Grey {
		d := int(a) - int(g.Grey[i])
		if d > tolerance || -d > tolerance {
			return true
		}
	}
	return false
}
