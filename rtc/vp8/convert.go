package vp8

import (
	"encoding/binary"
	"fmt"
	"image"
	"runtime"
	"sync"
)

// PixelOrder is the byte order of a packed 32-bit pixel.
type PixelOrder int

const (
	// RGBA is R,G,B,A in memory: image.RGBA, kbinani/screenshot.
	RGBA PixelOrder = iota
	// BGRA is B,G,R,X in memory: a raw X11 ZPixmap on little-endian hosts,
	// Windows GDI/DXGI captures.
	BGRA
)

// Source is a captured frame of packed 32-bit pixels.
type Source struct {
	Pix           []byte
	Stride        int // bytes per row
	Width, Height int
	Order         PixelOrder
}

// SourceFromRGBA views an image.RGBA as a Source (no copy).
func SourceFromRGBA(img *image.RGBA) Source {
	r := img.Rect
	return Source{
		Pix:    img.Pix[img.PixOffset(r.Min.X, r.Min.Y):],
		Stride: img.Stride,
		Width:  r.Dx(),
		Height: r.Dy(),
		Order:  RGBA,
	}
}

// NewI420 allocates a 4:2:0 image of the given size (odd sizes allowed).
func NewI420(width, height int) *image.YCbCr {
	return image.NewYCbCr(image.Rect(0, 0, width, height), image.YCbCrSubsampleRatio420)
}

func checkI420(name string, img *image.YCbCr) error {
	if img == nil {
		return fmt.Errorf("%w: nil %s image", ErrBadImage, name)
	}
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("%w: %s subsampling %v, want 4:2:0", ErrBadImage, name, img.SubsampleRatio)
	}
	if img.Rect.Min != (image.Point{}) {
		return fmt.Errorf("%w: %s image must start at 0,0, not %v", ErrBadImage, name, img.Rect.Min)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w < 1 || h < 1 {
		return fmt.Errorf("%w: empty %s image", ErrBadImage, name)
	}
	cw, ch := (w+1)/2, (h+1)/2
	if err := checkPlane(name+" Y", img.Y, img.YStride, 0, w, h); err != nil {
		return err
	}
	if err := checkPlane(name+" Cb", img.Cb, img.CStride, 0, cw, ch); err != nil {
		return err
	}
	return checkPlane(name+" Cr", img.Cr, img.CStride, 0, cw, ch)
}

// ToI420 converts src into dst (same size) with BT.601 limited-range
// coefficients, the matrix browsers assume for VP8. Rows are split over
// workers goroutines (0 means GOMAXPROCS).
func ToI420(dst *image.YCbCr, src Source, workers int) error {
	if err := checkI420("destination", dst); err != nil {
		return err
	}
	w, h := src.Width, src.Height
	if dst.Rect.Dx() != w || dst.Rect.Dy() != h {
		return fmt.Errorf("%w: source %dx%d, destination %v", ErrBadImage, w, h, dst.Rect.Size())
	}
	if src.Order != RGBA && src.Order != BGRA {
		return fmt.Errorf("%w: unknown pixel order %d", ErrBadImage, src.Order)
	}
	if src.Stride < 4*w || (h-1)*src.Stride+4*w > len(src.Pix) {
		return fmt.Errorf("%w: source pixels too small (len %d, stride %d) for %dx%d", ErrBadImage, len(src.Pix), src.Stride, w, h)
	}
	// Pixels are read as little-endian uint32s; the order only moves the
	// shifts that pick red and blue, so one loop serves both.
	rs, bs := uint(0), uint(16)
	if src.Order == BGRA {
		rs, bs = 16, 0
	}
	parallel((h+1)/2, workers, func(cy0, cy1 int) {
		convertRows(dst, src, rs, bs, cy0, cy1)
	})
	return nil
}

// parallel runs fn over [0,n) split into contiguous bands.
func parallel(n, workers int, fn func(lo, hi int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if workers <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := range workers {
		lo, hi := n*i/workers, n*(i+1)/workers
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

func luma(r, g, b int) byte { return byte((66*r+129*g+25*b+128)>>8 + 16) }

func chroma(r, g, b int) (cb, cr byte) {
	return byte((-38*r-74*g+112*b+128)>>8 + 128), byte((112*r-94*g-18*b+128)>>8 + 128)
}

// convertRows converts chroma rows [cy0,cy1), i.e. luma rows 2*cy0..2*cy1-1,
// averaging each 2x2 block for chroma; a last odd row or column is paired
// with itself.
func convertRows(dst *image.YCbCr, src Source, rs, bs uint, cy0, cy1 int) {
	w, h := src.Width, src.Height
	half := w / 2
	rgb := func(v uint32) (int, int, int) {
		return int(v >> rs & 0xff), int(v >> 8 & 0xff), int(v >> bs & 0xff)
	}
	for cy := cy0; cy < cy1; cy++ {
		y0 := 2 * cy
		y1 := min(y0+1, h-1)
		s0 := src.Pix[y0*src.Stride : y0*src.Stride+4*w]
		s1 := src.Pix[y1*src.Stride : y1*src.Stride+4*w]
		d0 := dst.Y[y0*dst.YStride : y0*dst.YStride+w]
		d1 := dst.Y[y1*dst.YStride : y1*dst.YStride+w]
		cbRow := dst.Cb[cy*dst.CStride : cy*dst.CStride+(w+1)/2]
		crRow := dst.Cr[cy*dst.CStride : cy*dst.CStride+(w+1)/2]
		for cx := range half {
			p := s0[8*cx : 8*cx+8 : 8*cx+8]
			q := s1[8*cx : 8*cx+8 : 8*cx+8]
			r0, g0, b0 := rgb(binary.LittleEndian.Uint32(p[0:4]))
			r1, g1, b1 := rgb(binary.LittleEndian.Uint32(p[4:8]))
			r2, g2, b2 := rgb(binary.LittleEndian.Uint32(q[0:4]))
			r3, g3, b3 := rgb(binary.LittleEndian.Uint32(q[4:8]))
			dy := d0[2*cx : 2*cx+2 : 2*cx+2]
			dz := d1[2*cx : 2*cx+2 : 2*cx+2]
			dy[0] = luma(r0, g0, b0)
			dy[1] = luma(r1, g1, b1)
			dz[0] = luma(r2, g2, b2)
			dz[1] = luma(r3, g3, b3)
			cbRow[cx], crRow[cx] = chroma((r0+r1+r2+r3+2)>>2, (g0+g1+g2+g3+2)>>2, (b0+b1+b2+b3+2)>>2)
		}
		if w%2 == 1 {
			x := w - 1
			r0, g0, b0 := rgb(binary.LittleEndian.Uint32(s0[4*x : 4*x+4]))
			r2, g2, b2 := rgb(binary.LittleEndian.Uint32(s1[4*x : 4*x+4]))
			d0[x] = luma(r0, g0, b0)
			d1[x] = luma(r2, g2, b2)
			cbRow[half], crRow[half] = chroma((r0+r2+1)>>1, (g0+g2+1)>>1, (b0+b2+1)>>1)
		}
	}
}

// Scale resizes src into dst (both 4:2:0, any sizes) with bilinear filtering
// per plane — used to drop resolution on a poor link. Downscaling by more
// than 2x aliases; text stays readable at the 1080p → 720p/540p steps used.
func Scale(dst, src *image.YCbCr, workers int) error {
	if err := checkI420("destination", dst); err != nil {
		return err
	}
	if err := checkI420("source", src); err != nil {
		return err
	}
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	scalePlane(dst.Y, dst.YStride, dw, dh, src.Y, src.YStride, sw, sh, workers)
	cdw, cdh, csw, csh := (dw+1)/2, (dh+1)/2, (sw+1)/2, (sh+1)/2
	scalePlane(dst.Cb, dst.CStride, cdw, cdh, src.Cb, src.CStride, csw, csh, workers)
	scalePlane(dst.Cr, dst.CStride, cdw, cdh, src.Cr, src.CStride, csw, csh, workers)
	return nil
}

// taps maps each destination coordinate to two source coordinates and the
// 8-bit weight of the second (centre-aligned sampling).
func taps(dn, sn int) (i0, i1, wt []int) {
	i0, i1, wt = make([]int, dn), make([]int, dn), make([]int, dn)
	for d := range dn {
		// source position in 1/256 pixel: (d+0.5)*sn/dn - 0.5
		pos := ((2*d+1)*sn*256)/(2*dn) - 128
		pos = max(pos, 0)
		a := pos >> 8
		if a >= sn-1 {
			i0[d], i1[d], wt[d] = sn-1, sn-1, 0
			continue
		}
		i0[d], i1[d], wt[d] = a, a+1, pos&255
	}
	return i0, i1, wt
}

func scalePlane(dst []byte, dstStride, dw, dh int, src []byte, srcStride, sw, sh, workers int) {
	x0, x1, xw := taps(dw, sw)
	y0, y1, yw := taps(dh, sh)
	parallel(dh, workers, func(lo, hi int) {
		for y := lo; y < hi; y++ {
			ra := src[y0[y]*srcStride : y0[y]*srcStride+sw]
			rb := src[y1[y]*srcStride : y1[y]*srcStride+sw]
			wy := yw[y]
			out := dst[y*dstStride : y*dstStride+dw]
			for x := range out {
				a, b, wx := x0[x], x1[x], xw[x]
				top := int(ra[a])*(256-wx) + int(ra[b])*wx
				bot := int(rb[a])*(256-wx) + int(rb[b])*wx
				out[x] = byte((top*(256-wy) + bot*wy + 1<<15) >> 16)
			}
		}
	})
}
