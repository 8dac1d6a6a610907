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
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// MaxDimension is the largest width or height a VP8 bitstream can carry
// (14 bits in the keyframe header).
const MaxDimension = 16383

// rtpClock is the encoder's timebase (Hz): the RTP clock rate of VP8, so
// encoder timestamps map one to one onto RTP timestamps.
const rtpClock = 90000

// defaultMinQ is Config.MinQuantizer's default (see there).
const defaultMinQ = 8

// Config describes an encoder. Zero fields take the defaults noted.
type Config struct {
	Width, Height int // required, 1..MaxDimension; odd sizes are fine
	FPS           int // nominal frame rate, used until real timestamps arrive; default 30
	BitrateKbps   int // CBR target; default 1500
	// Threads is the encoder's thread count. Default 2 on 4+ CPUs, else 1:
	// libvpx's VP8 threads spin-wait on each other, and on a busy 2-CPU
	// machine 2 threads cost 3x the CPU of 1 and are slower (docs/bench/vp8.md).
	Threads int
	// CPUUsed trades quality for speed in realtime mode (-16..16; higher is
	// faster). Default 8: ~11 ms CPU per 1080p desktop frame; 16 halves
	// that for ~1.4x the bitrate (docs/bench/vp8.md).
	CPUUsed int
	// ScreenContent turns on libvpx's screen content mode with its more
	// aggressive rate control (mode 2), which drops a frame rather than let
	// a big change (a scroll, a window switch) overshoot the bitrate.
	ScreenContent bool
	// KeyframeMaxDist is the longest run of frames between keyframes.
	// Default 3000: keyframes come from PLI/FIR (ForceKeyframe) in practice.
	KeyframeMaxDist int
	// StaticThreshold lets the encoder skip macroblocks whose change is below
	// it. Default 1: skips unchanged blocks only, so a typed glyph is never
	// lost.
	StaticThreshold int
	// MinQuantizer and MaxQuantizer bound the quantizer (0..63). The minimum
	// matters on a screen: with a quiet desktop CBR saves up credit and then
	// spends it re-coding the whole screen at a tiny quantizer in one huge
	// frame, a latency spike: at 1080p the largest scroll frame measured
	// 121-133 KB with minimum 2, 34 KB with 8, at the same ~52 dB luma PSNR.
	// Defaults 8 and 56.
	MinQuantizer, MaxQuantizer int
}

func (c Config) withDefaults() (Config, error) {
	if err := checkSize(c.Width, c.Height); err != nil {
		return c, err
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if c.BitrateKbps == 0 {
		c.BitrateKbps = 1500
	}
	if c.Threads == 0 {
		c.Threads = 1
		if runtime.NumCPU() >= 4 {
			c.Threads = 2
		}
	}
	if c.CPUUsed == 0 {
		c.CPUUsed = 8
	}
	if c.KeyframeMaxDist == 0 {
		c.KeyframeMaxDist = 3000
	}
	if c.StaticThreshold == 0 {
		c.StaticThreshold = 1
	}
	if c.MinQuantizer == 0 {
		c.MinQuantizer = defaultMinQ
	}
	if c.MaxQuantizer == 0 {
		c.MaxQuantizer = 56
	}
	switch {
	case c.FPS < 1 || c.FPS > 240:
		return c, fmt.Errorf("%w: fps %d out of 1..240", ErrBadConfig, c.FPS)
	case c.BitrateKbps < 1 || c.BitrateKbps > 100000:
		return c, fmt.Errorf("%w: bitrate %d kbps out of 1..100000", ErrBadConfig, c.BitrateKbps)
	case c.Threads < 1 || c.Threads > 64:
		return c, fmt.Errorf("%w: threads %d out of 1..64", ErrBadConfig, c.Threads)
	case c.CPUUsed < -16 || c.CPUUsed > 16:
		return c, fmt.Errorf("%w: cpu-used %d out of -16..16", ErrBadConfig, c.CPUUsed)
	case c.KeyframeMaxDist < 1:
		return c, fmt.Errorf("%w: keyframe distance %d", ErrBadConfig, c.KeyframeMaxDist)
	case c.MinQuantizer < 0 || c.MaxQuantizer > 63 || c.MinQuantizer > c.MaxQuantizer:
		return c, fmt.Errorf("%w: quantizer range %d..%d not within 0..63", ErrBadConfig, c.MinQuantizer, c.MaxQuantizer)
	case c.StaticThreshold < 0:
		return c, fmt.Errorf("%w: static threshold %d", ErrBadConfig, c.StaticThreshold)
	}
	return c, nil
}

func checkSize(w, h int) error {
	if w < 1 || h < 1 || w > MaxDimension || h > MaxDimension {
		return fmt.Errorf("%w: size %dx%d out of 1..%d", ErrBadConfig, w, h, MaxDimension)
	}
	return nil
}

// Frame is one compressed VP8 frame: the payload of one media.Sample.
type Frame struct {
	Data     []byte
	Keyframe bool
	PTS      time.Duration // as given to Encode (after monotonic fix-up)
	// Duration is the gap since the previous frame as the encoder saw it.
	// pion's WriteSample advances the RTP clock by it; at a steady capture
	// rate that is the same as the gap to the next frame.
	Duration time.Duration
}

// Encoder is a realtime VP8 encoder. Its methods are safe for concurrent use
// (Encode on the capture goroutine, ForceKeyframe and SetBitrate from the
// RTCP reader); they are serialised internally.
type Encoder struct {
	mu      sync.Mutex
	ctx     *C.vpx_codec_ctx_t
	cfg     *C.vpx_codec_enc_cfg_t
	img     *C.vpx_image_t // C-allocated input planes, reused every frame
	w, h    int
	fps     int
	lastPTS int64 // in rtpClock ticks
	started bool
	closed  bool
	forceKF atomic.Bool
}

// NewEncoder creates and configures a VP8 encoder.
func NewEncoder(cfg Config) (*Encoder, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Encoder{
		ctx: (*C.vpx_codec_ctx_t)(C.calloc(1, C.sizeof_vpx_codec_ctx_t)),
		cfg: (*C.vpx_codec_enc_cfg_t)(C.calloc(1, C.sizeof_vpx_codec_enc_cfg_t)),
		w:   c.Width,
		h:   c.Height,
		fps: c.FPS,
	}
	if rc := C.shim_enc_default_config(e.cfg); rc != C.VPX_CODEC_OK {
		e.freeC(false)
		return nil, fmt.Errorf("vp8 default config: %w: %s", ErrCodec, C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	p := e.cfg
	p.g_w = C.uint(c.Width)
	p.g_h = C.uint(c.Height)
	p.g_threads = C.uint(c.Threads)
	p.g_timebase.num = 1
	p.g_timebase.den = rtpClock
	p.g_pass = C.VPX_RC_ONE_PASS
	p.g_lag_in_frames = 0 // no lookahead: every frame leaves as soon as it is encoded
	p.g_error_resilient = C.VPX_ERROR_RESILIENT_DEFAULT
	p.rc_end_usage = C.VPX_CBR
	p.rc_target_bitrate = C.uint(c.BitrateKbps)
	p.rc_min_quantizer = C.uint(c.MinQuantizer)
	p.rc_max_quantizer = C.uint(c.MaxQuantizer)
	p.rc_undershoot_pct = 100
	p.rc_overshoot_pct = 15
	// Small buffers (ms) keep queueing latency low; dropping frames when the
	// buffer runs low degrades frame rate instead of latency.
	p.rc_buf_initial_sz = 300
	p.rc_buf_optimal_sz = 400
	p.rc_buf_sz = 600
	p.rc_dropframe_thresh = 30
	p.rc_resize_allowed = 0 // resolution changes are explicit (SetSize)
	p.kf_mode = C.VPX_KF_AUTO
	p.kf_min_dist = 0
	p.kf_max_dist = C.uint(c.KeyframeMaxDist)

	if rc := C.shim_enc_init(e.ctx, e.cfg); rc != C.VPX_CODEC_OK {
		err := initErr("vp8 encoder init", e.ctx, rc)
		e.freeC(false)
		return nil, err
	}
	partitions := 0 // log2 of the token partition count; lets decoders use threads
	for n := c.Threads; n > 1 && partitions < 3; n >>= 1 {
		partitions++
	}
	screen := 0
	if c.ScreenContent {
		screen = 2
	}
	// Cap keyframe size like WebRTC does: half the optimal buffer at this
	// frame rate, as a percentage of an average frame, at least 300%.
	intraPct := max(300, 400/2*c.FPS/10)
	controls := []struct {
		name  string
		id    C.int
		value int
	}{
		{"cpu-used", C.VP8E_SET_CPUUSED, c.CPUUsed},
		{"static threshold", C.VP8E_SET_STATIC_THRESHOLD, c.StaticThreshold},
		{"token partitions", C.VP8E_SET_TOKEN_PARTITIONS, partitions},
		{"max intra bitrate", C.VP8E_SET_MAX_INTRA_BITRATE_PCT, intraPct},
		{"screen content mode", C.VP8E_SET_SCREEN_CONTENT_MODE, screen},
		{"noise sensitivity", C.VP8E_SET_NOISE_SENSITIVITY, 0},
	}
	for _, ctl := range controls {
		if rc := C.shim_control_int(e.ctx, ctl.id, C.int(ctl.value)); rc != C.VPX_CODEC_OK {
			err := e.codecErr("vp8 set "+ctl.name, rc)
			e.freeC(true)
			return nil, err
		}
	}
	if e.img = C.vpx_img_alloc(nil, C.VPX_IMG_FMT_I420, C.uint(c.Width), C.uint(c.Height), 16); e.img == nil {
		e.freeC(true)
		return nil, fmt.Errorf("vp8 allocating %dx%d image: %w: out of memory", c.Width, c.Height, ErrCodec)
	}
	return e, nil
}

// Size reports the frame size Encode currently expects.
func (e *Encoder) Size() (width, height int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.w, e.h
}

// ForceKeyframe makes the next encoded frame a keyframe (on PLI/FIR, or when
// a viewer connects).
func (e *Encoder) ForceKeyframe() { e.forceKF.Store(true) }

// Encode compresses one 4:2:0 image whose size must equal Size(). pts is the
// capture time relative to any fixed origin; gaps between timestamps tell the
// rate control the real frame rate. It returns zero frames when the rate
// control drops this one, normally one.
func (e *Encoder) Encode(img *image.YCbCr, pts time.Duration, forceKeyframe bool) ([]Frame, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if err := e.load(img); err != nil {
		return nil, err
	}
	ts := int64(pts/time.Microsecond) * 9 / 100 // µs → 90 kHz ticks
	step := int64(rtpClock / e.fps)
	var dur int64
	switch {
	case !e.started:
		dur = step
	case ts <= e.lastPTS: // keep libvpx's clock monotonic
		ts = e.lastPTS + step
		dur = step
	default:
		dur = min(ts-e.lastPTS, rtpClock) // a long pause is not a 0.01 fps stream
	}
	e.started = true
	e.lastPTS = ts

	var flags C.vpx_enc_frame_flags_t
	if e.forceKF.Swap(false) || forceKeyframe {
		flags |= C.VPX_EFLAG_FORCE_KF
	}
	if rc := C.vpx_codec_encode(e.ctx, e.img, C.vpx_codec_pts_t(ts), C.ulong(dur), flags, C.VPX_DL_REALTIME); rc != C.VPX_CODEC_OK {
		return nil, e.codecErr("vp8 encode", rc)
	}
	var (
		frames []Frame
		iter   C.vpx_codec_iter_t
	)
	for {
		pkt := C.vpx_codec_get_cx_data(e.ctx, &iter)
		if pkt == nil {
			break
		}
		var (
			buf     unsafe.Pointer
			size    C.size_t
			fflags  C.vpx_codec_frame_flags_t
			fpts    C.vpx_codec_pts_t
			fdurati C.ulong
		)
		if C.shim_pkt_frame(pkt, &buf, &size, &fflags, &fpts, &fdurati) == 0 {
			continue
		}
		frames = append(frames, Frame{
			Data:     C.GoBytes(buf, C.int(size)),
			Keyframe: fflags&C.VPX_FRAME_IS_KEY != 0,
			PTS:      ticksToDuration(int64(fpts)),
			Duration: ticksToDuration(int64(fdurati)),
		})
	}
	return frames, nil
}

func ticksToDuration(t int64) time.Duration {
	return time.Duration(t) * time.Second / rtpClock
}

// load copies img into the C-allocated input image. Copying (~0.3 ms at
// 1080p) keeps Go memory out of libvpx entirely.
func (e *Encoder) load(img *image.YCbCr) error {
	if img == nil {
		return fmt.Errorf("%w: nil image", ErrBadImage)
	}
	if img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return fmt.Errorf("%w: subsampling %v, want 4:2:0", ErrBadImage, img.SubsampleRatio)
	}
	r := img.Rect
	if r.Dx() != e.w || r.Dy() != e.h {
		return fmt.Errorf("%w: image %dx%d, encoder expects %dx%d", ErrBadImage, r.Dx(), r.Dy(), e.w, e.h)
	}
	cw, ch := (e.w+1)/2, (e.h+1)/2
	if err := checkPlane("Y", img.Y, img.YStride, img.YOffset(r.Min.X, r.Min.Y), e.w, e.h); err != nil {
		return err
	}
	co := img.COffset(r.Min.X, r.Min.Y)
	if err := checkPlane("Cb", img.Cb, img.CStride, co, cw, ch); err != nil {
		return err
	}
	if err := checkPlane("Cr", img.Cr, img.CStride, co, cw, ch); err != nil {
		return err
	}
	copyPlane(e.img, 0, img.Y[img.YOffset(r.Min.X, r.Min.Y):], img.YStride, e.w, e.h)
	copyPlane(e.img, 1, img.Cb[co:], img.CStride, cw, ch)
	copyPlane(e.img, 2, img.Cr[co:], img.CStride, cw, ch)
	return nil
}

func checkPlane(name string, p []byte, stride, off, w, h int) error {
	if stride < w || off < 0 || off+(h-1)*stride+w > len(p) {
		return fmt.Errorf("%w: %s plane too small (len %d, stride %d) for %dx%d", ErrBadImage, name, len(p), stride, w, h)
	}
	return nil
}

func copyPlane(img *C.vpx_image_t, plane int, src []byte, srcStride, w, h int) {
	dstStride := int(img.stride[plane])
	dst := unsafe.Slice((*byte)(unsafe.Pointer(img.planes[plane])), dstStride*(h-1)+w)
	for y := range h {
		copy(dst[y*dstStride:y*dstStride+w], src[y*srcStride:y*srcStride+w])
	}
}

// SetBitrate changes the CBR target at run time (from bandwidth estimation).
func (e *Encoder) SetBitrate(kbps int) error {
	if kbps < 1 || kbps > 100000 {
		return fmt.Errorf("%w: bitrate %d kbps out of 1..100000", ErrBadConfig, kbps)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	old := e.cfg.rc_target_bitrate
	e.cfg.rc_target_bitrate = C.uint(kbps)
	if rc := C.vpx_codec_enc_config_set(e.ctx, e.cfg); rc != C.VPX_CODEC_OK {
		e.cfg.rc_target_bitrate = old
		return e.codecErr("vp8 set bitrate", rc)
	}
	return nil
}

// SetSize changes the encoded resolution without a new encoder (to shed
// bitrate on a poor link); the next frame is a keyframe. libvpx cannot grow
// past the size the encoder was created with: recreate it for that.
func (e *Encoder) SetSize(width, height int) error {
	if err := checkSize(width, height); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return ErrClosed
	}
	if width == e.w && height == e.h {
		return nil
	}
	img := C.vpx_img_alloc(nil, C.VPX_IMG_FMT_I420, C.uint(width), C.uint(height), 16)
	if img == nil {
		return fmt.Errorf("vp8 allocating %dx%d image: %w: out of memory", width, height, ErrCodec)
	}
	e.cfg.g_w, e.cfg.g_h = C.uint(width), C.uint(height)
	if rc := C.vpx_codec_enc_config_set(e.ctx, e.cfg); rc != C.VPX_CODEC_OK {
		e.cfg.g_w, e.cfg.g_h = C.uint(e.w), C.uint(e.h)
		C.vpx_img_free(img)
		return e.codecErr(fmt.Sprintf("vp8 resize to %dx%d", width, height), rc)
	}
	C.vpx_img_free(e.img)
	e.img, e.w, e.h = img, width, height
	e.forceKF.Store(true) // interframes carry no size: viewers need a keyframe
	return nil
}

// Close frees the encoder's C memory. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	e.freeC(true)
	return nil
}

func (e *Encoder) freeC(initialised bool) {
	if initialised {
		C.vpx_codec_destroy(e.ctx)
	}
	if e.img != nil {
		C.vpx_img_free(e.img)
		e.img = nil
	}
	C.free(unsafe.Pointer(e.ctx))
	C.free(unsafe.Pointer(e.cfg))
	e.ctx, e.cfg = nil, nil
}

func (e *Encoder) codecErr(op string, rc C.vpx_codec_err_t) error {
	msg := C.GoString(C.vpx_codec_error(e.ctx))
	if d := C.vpx_codec_error_detail(e.ctx); d != nil {
		msg += ": " + C.GoString(d)
	}
	return fmt.Errorf("%s: %w: %s", op, ErrCodec, msg)
}

// initErr describes a failed init without touching the (torn-down) private
// state; the detail, when set, is a static string inside libvpx.
func initErr(op string, ctx *C.vpx_codec_ctx_t, rc C.vpx_codec_err_t) error {
	msg := C.GoString(C.vpx_codec_err_to_string(rc))
	if ctx.err_detail != nil {
		msg += ": " + C.GoString(ctx.err_detail)
	}
	return fmt.Errorf("%s: %w: %s", op, ErrCodec, msg)
}
