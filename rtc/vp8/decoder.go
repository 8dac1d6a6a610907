package vp8

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"image"
	"sync"
	"unsafe"
)

// DecoderConfig limits and tunes a decoder. Zero fields take the defaults.
type DecoderConfig struct {
	// MaxWidth and MaxHeight bound the frame size a bitstream may announce,
	// so a hostile keyframe cannot make libvpx allocate gigabytes.
	// Default 3840x2160.
	MaxWidth, MaxHeight int
	Threads             int // default 1
}

// Decoder decodes VP8 frames (from a browser's camera, or our own stream in
// tests). Its methods are safe for concurrent use; they are serialised.
type Decoder struct {
	mu         sync.Mutex
	ctx        *C.vpx_codec_ctx_t
	buf        unsafe.Pointer // C copy of the input: libvpx keeps pointers into it
	bufCap     int
	maxW, maxH int
	gotKey     bool
	corrupted  bool
	closed     bool
}

// NewDecoder creates a VP8 decoder.
func NewDecoder(cfg DecoderConfig) (*Decoder, error) {
	if cfg.MaxWidth == 0 {
		cfg.MaxWidth = 3840
	}
	if cfg.MaxHeight == 0 {
		cfg.MaxHeight = 2160
	}
	if cfg.Threads == 0 {
		cfg.Threads = 1
	}
	if err := checkSize(cfg.MaxWidth, cfg.MaxHeight); err != nil {
		return nil, fmt.Errorf("decoder limits: %w", err)
	}
	if cfg.Threads < 1 || cfg.Threads > 64 {
		return nil, fmt.Errorf("%w: decoder threads %d out of 1..64", ErrBadConfig, cfg.Threads)
	}
	d := &Decoder{
		ctx:  (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t)),
		maxW: cfg.MaxWidth,
		maxH: cfg.MaxHeight,
	}
	if rc := C.shim_dec_init(d.ctx, C.uint(cfg.Threads)); rc != C.VPX_CODEC_OK {
		err := initErr("vp8 decoder init", d.ctx, rc)
		C.free(unsafe.Pointer(d.ctx))
		return nil, err
	}
	return d, nil
}

// Decode decodes one VP8 frame (one RTP-depacketised sample) and returns the
// picture in a new image, or nil with no error when the frame produced no
// picture. Interframes before the first keyframe are rejected: there is
// nothing to predict them from.
func (d *Decoder) Decode(frame []byte) (*image.YCbCr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	d.corrupted = true // until libvpx says otherwise
	if len(frame) == 0 {
		return nil, fmt.Errorf("%w: empty frame", ErrBadImage)
	}
	if len(frame) > 64<<20 {
		return nil, fmt.Errorf("%w: %d-byte frame", ErrTooLarge, len(frame))
	}
	if len(frame) > d.bufCap {
		C.free(d.buf)
		d.buf = C.malloc(C.size_t(len(frame)))
		d.bufCap = len(frame)
	}
	copy(unsafe.Slice((*byte)(d.buf), len(frame)), frame)
	keyframe := frame[0]&1 == 0 // frame tag bit 0: 0 means keyframe
	if keyframe {
		if err := d.checkKeyframe(len(frame)); err != nil {
			return nil, err
		}
	} else if !d.gotKey {
		return nil, fmt.Errorf("vp8 decode: %w: interframe before any keyframe", ErrBadImage)
	}
	if rc := C.vpx_codec_decode(d.ctx, (*C.uint8_t)(d.buf), C.uint(len(frame)), nil, 0); rc != C.VPX_CODEC_OK {
		return nil, d.codecErr("vp8 decode", rc)
	}
	var corrupt C.int
	if rc := C.shim_dec_corrupted(d.ctx, &corrupt); rc == C.VPX_CODEC_OK {
		d.corrupted = corrupt != 0
	}
	if keyframe {
		d.gotKey = true
	}
	var (
		iter C.vpx_codec_iter_t
		out  *image.YCbCr
	)
	for {
		img := C.vpx_codec_get_frame(d.ctx, &iter)
		if img == nil {
			break
		}
		if img.fmt != C.VPX_IMG_FMT_I420 {
			return nil, fmt.Errorf("vp8 decode: %w: unexpected output format %d", ErrCodec, img.fmt)
		}
		out = toYCbCr(img) // VP8 yields at most one; keep the last
	}
	return out, nil
}

// checkKeyframe reads the size from the keyframe header (already in d.buf)
// before libvpx allocates for it.
func (d *Decoder) checkKeyframe(size int) error {
	var w, h C.uint
	var isKF C.int
	if rc := C.shim_peek((*C.uint8_t)(d.buf), C.uint(size), &w, &h, &isKF); rc != C.VPX_CODEC_OK {
		return fmt.Errorf("vp8 decode: %w: keyframe header: %s", ErrCodec, C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	if int(w) > d.maxW || int(h) > d.maxH {
		return fmt.Errorf("vp8 decode: %w: %dx%d above %dx%d", ErrTooLarge, w, h, d.maxW, d.maxH)
	}
	return nil
}

func toYCbCr(img *C.vpx_image_t) *image.YCbCr {
	w, h := int(img.d_w), int(img.d_h)
	out := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	cw, ch := (w+1)/2, (h+1)/2
	readPlane(img, 0, out.Y, out.YStride, w, h)
	readPlane(img, 1, out.Cb, out.CStride, cw, ch)
	readPlane(img, 2, out.Cr, out.CStride, cw, ch)
	return out
}

func readPlane(img *C.vpx_image_t, plane int, dst []byte, dstStride, w, h int) {
	srcStride := int(img.stride[plane])
	src := unsafe.Slice((*byte)(unsafe.Pointer(img.planes[plane])), srcStride*(h-1)+w)
	for y := range h {
		copy(dst[y*dstStride:y*dstStride+w], src[y*srcStride:y*srcStride+w])
	}
}

// Corrupted reports whether the last Decode failed or produced a picture
// from damaged data; the receiver should then ask the sender for a keyframe
// (PLI).
func (d *Decoder) Corrupted() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.corrupted
}

// Close frees the decoder's C memory. It is safe to call more than once.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	C.vpx_codec_destroy(d.ctx)
	C.free(unsafe.Pointer(d.ctx))
	C.free(d.buf)
	d.ctx, d.buf = nil, nil
	return nil
}

func (d *Decoder) codecErr(op string, rc C.vpx_codec_err_t) error {
	msg := C.GoString(C.vpx_codec_error(d.ctx))
	if s := C.vpx_codec_error_detail(d.ctx); s != nil {
		msg += ": " + C.GoString(s)
	}
	return fmt.Errorf("%s: %w: %s", op, ErrCodec, msg)
}
