package capture

import "image"

// MaxWidth bounds the upload width the agent accepts from flags or hints.
const MaxWidth = 1280

// ScaledSize is the size of a srcW×srcH picture scaled to width, keeping the
// aspect ratio. It never enlarges: width ≤ 0 or ≥ srcW keeps the source size.
func ScaledSize(srcW, srcH, width int) (int, int) {
	if width <= 0 || width >= srcW || srcW <= 0 {
		return srcW, srcH
	}
	h := (srcH*width + srcW/2) / srcW
	return width, max(h, 1)
}

// Scaler downsizes frames with a box filter (each output pixel is the mean
// of the source pixels it covers): every source pixel is read once, so it
// costs little more than nearest-neighbour and is much smoother, which makes
// the JPEG smaller and keeps text legible. It reuses its output buffer; not
// safe for concurrent use.
type Scaler struct {
	dst  *image.RGBA
	cols []span
	sums []uint32
}

// Scale returns src scaled to width (see ScaledSize). The result is owned by
// the Scaler and valid until the next call; when no scaling is needed src
// itself is returned.
func (s *Scaler) Scale(src *image.RGBA, width int) *image.RGBA {
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := ScaledSize(sw, sh, width)
	if dw == sw && dh == sh {
		return src
	}
	if s.dst == nil || s.dst.Rect.Dx() != dw || s.dst.Rect.Dy() != dh {
		s.dst = image.NewRGBA(image.Rect(0, 0, dw, dh))
	}
	s.cols = spans(s.cols, sw, dw)
	if cap(s.sums) < dw*3 {
		s.sums = make([]uint32, dw*3)
	}
	sums, cols := s.sums[:dw*3], s.cols
	base := src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y)
	for dy := range dh {
		rs := spanOf(dy, sh, dh)
		clear(sums)
		for sy := rs.lo; sy < rs.hi; sy++ {
			row := src.Pix[base+sy*src.Stride : base+sy*src.Stride+sw*4]
			for dx, c := range cols {
				var r, g, b uint32
				for i := c.lo * 4; i < c.hi*4; i += 4 {
					r += uint32(row[i])
					g += uint32(row[i+1])
					b += uint32(row[i+2])
				}
				sums[dx*3] += r
				sums[dx*3+1] += g
				sums[dx*3+2] += b
			}
		}
		out := s.dst.Pix[dy*s.dst.Stride : dy*s.dst.Stride+dw*4]
		for dx, c := range cols {
			n := uint32((rs.hi - rs.lo) * (c.hi - c.lo))
			out[dx*4] = uint8((sums[dx*3] + n/2) / n)
			out[dx*4+1] = uint8((sums[dx*3+1] + n/2) / n)
			out[dx*4+2] = uint8((sums[dx*3+2] + n/2) / n)
			out[dx*4+3] = 0xff
		}
	}
	return s.dst
}

// span is a half-open run [lo,hi) of source rows or columns.
type span struct{ lo, hi int }

// spanOf is the non-empty source run of output cell i when size source
// cells map onto n output cells (cells may share a source cell if n > size).
func spanOf(i, size, n int) span {
	lo := i * size / n
	return span{lo, max((i+1)*size/n, lo+1)}
}

func spans(s []span, size, n int) []span {
	s = s[:0]
	for i := range n {
		s = append(s, spanOf(i, size, n))
	}
	return s
}
