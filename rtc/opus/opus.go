package opus

/*
#cgo pkg-config: opus
#include <opus.h>

// The variadic ctl calls cannot be made from Go; these fix their types.
static int enc_set_bitrate(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_BITRATE(v)); }
static int enc_set_complexity(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(v)); }
static int enc_set_fec(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(v)); }
static int enc_set_loss(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(v)); }
static int enc_set_dtx(OpusEncoder *e, opus_int32 v) { return opus_encoder_ctl(e, OPUS_SET_DTX(v)); }
static int enc_set_signal_voice(OpusEncoder *e) { return opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)); }
*/
import "C"

import (
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"
)

const (
	// SampleRate is the rate of every PCM buffer here (Opus in WebRTC).
	SampleRate = 48000
	// FrameDuration is the default packet duration.
	FrameDuration = 20 * time.Millisecond
	// MaxFrameSamples is the most samples per channel one packet decodes
	// to (120 ms at 48 kHz): the size of a decode buffer per channel.
	MaxFrameSamples = 5760
	// MaxPacketBytes bounds one packet, in and out (RFC 6716 allows up
	// to 1275 bytes per frame; a WebRTC packet fits in one MTU).
	MaxPacketBytes = 1500
)

// Errors returned by this package, wrapped with detail.
var (
	ErrBadConfig = errors.New("opus: bad configuration")
	ErrBadFrame  = errors.New("opus: bad PCM frame")
	ErrBadPacket = errors.New("opus: bad packet")
	ErrClosed    = errors.New("opus: closed")
)

// EncoderConfig describes an encoder. Zero fields take the defaults noted.
type EncoderConfig struct {
	Channels    int // 1 (default) or 2
	BitrateKbps int // 6..510, default 32 (clear wideband voice)
	Complexity  int // 1..10, default (0) 5: a third of the CPU of 10, barely audible
	// Frame is the packet duration: 10, 20 (default), 40 or 60 ms.
	Frame time.Duration
	// LossPercent tunes in-band FEC for the expected loss, 1..100
	// (default (0) 5); FEC is on unless NoFEC.
	LossPercent int
	NoFEC       bool
	// DTX sends almost nothing while the input is silent (a muted
	// microphone costs ~1 packet per 400 ms).
	DTX bool
}

func (c EncoderConfig) withDefaults() (EncoderConfig, error) {
	if c.Channels == 0 {
		c.Channels = 1
	}
	if c.BitrateKbps == 0 {
		c.BitrateKbps = 32
	}
	if c.Complexity == 0 {
		c.Complexity = 5
	}
	if c.Frame == 0 {
		c.Frame = FrameDuration
	}
	if c.LossPercent == 0 {
		c.LossPercent = 5
	}
	switch {
	case c.Channels != 1 && c.Channels != 2:
		return c, fmt.Errorf("%w: %d channels (1 or 2)", ErrBadConfig, c.Channels)
	case c.BitrateKbps < 6 || c.BitrateKbps > 510:
		return c, fmt.Errorf("%w: bitrate %d kbps out of 6..510", ErrBadConfig, c.BitrateKbps)
	case c.Complexity < 0 || c.Complexity > 10:
		return c, fmt.Errorf("%w: complexity %d out of 0..10", ErrBadConfig, c.Complexity)
	case c.Frame != 10*time.Millisecond && c.Frame != 20*time.Millisecond &&
		c.Frame != 40*time.Millisecond && c.Frame != 60*time.Millisecond:
		return c, fmt.Errorf("%w: frame %v (10, 20, 40 or 60 ms)", ErrBadConfig, c.Frame)
	case c.LossPercent < 0 || c.LossPercent > 100:
		return c, fmt.Errorf("%w: loss %d%% out of 0..100", ErrBadConfig, c.LossPercent)
	}
	return c, nil
}

// Encoder encodes PCM into Opus packets. Its methods are safe for
// concurrent use; they are serialised.
type Encoder struct {
	mu       sync.Mutex
	st       *C.OpusEncoder
	channels int
	frame    int // samples per channel per packet
}

// NewEncoder creates an encoder tuned for voice over a real-time link.
func NewEncoder(cfg EncoderConfig) (*Encoder, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	var rc C.int
	st := C.opus_encoder_create(SampleRate, C.int(cfg.Channels), C.OPUS_APPLICATION_VOIP, &rc)
	if rc != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("opus_encoder_create: %w", codecErr(rc))
	}
	fec := C.opus_int32(1)
	if cfg.NoFEC {
		fec = 0
	}
	dtx := C.opus_int32(0)
	if cfg.DTX {
		dtx = 1
	}
	for _, set := range []struct {
		name string
		rc   C.int
	}{
		{"bitrate", C.enc_set_bitrate(st, C.opus_int32(cfg.BitrateKbps*1000))},
		{"complexity", C.enc_set_complexity(st, C.opus_int32(cfg.Complexity))},
		{"inband FEC", C.enc_set_fec(st, fec)},
		{"packet loss", C.enc_set_loss(st, C.opus_int32(cfg.LossPercent))},
		{"DTX", C.enc_set_dtx(st, dtx)},
		{"signal", C.enc_set_signal_voice(st)},
	} {
		if set.rc != C.OPUS_OK {
			C.opus_encoder_destroy(st)
			return nil, fmt.Errorf("opus encoder %s: %w", set.name, codecErr(set.rc))
		}
	}
	return &Encoder{st: st, channels: cfg.Channels, frame: int(cfg.Frame * SampleRate / time.Second)}, nil
}

// FrameSamples is the length Encode wants: samples per channel per packet
// times channels (interleaved).
func (e *Encoder) FrameSamples() int { return e.frame * e.channels }

// Encode compresses one frame of interleaved PCM (exactly FrameSamples
// long) into out and returns the packet's length. out should have
// MaxPacketBytes; with DTX a silent frame may encode to 1-2 bytes, which
// are still sent (the receiver conceals them as silence).
func (e *Encoder) Encode(pcm []int16, out []byte) (int, error) {
	if len(pcm) != e.frame*e.channels {
		return 0, fmt.Errorf("%w: %d samples, want %d", ErrBadFrame, len(pcm), e.frame*e.channels)
	}
	if len(out) == 0 {
		return 0, fmt.Errorf("%w: empty output buffer", ErrBadFrame)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st == nil {
		return 0, ErrClosed
	}
	n := C.opus_encode(e.st, (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(e.frame),
		(*C.uchar)(unsafe.Pointer(&out[0])), C.opus_int32(min(len(out), MaxPacketBytes)))
	if n < 0 {
		return 0, fmt.Errorf("opus_encode: %w", codecErr(n))
	}
	return int(n), nil
}

// SetBitrate changes the target at run time.
func (e *Encoder) SetBitrate(kbps int) error {
	if kbps < 6 || kbps > 510 {
		return fmt.Errorf("%w: bitrate %d kbps out of 6..510", ErrBadConfig, kbps)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st == nil {
		return ErrClosed
	}
	if rc := C.enc_set_bitrate(e.st, C.opus_int32(kbps*1000)); rc != C.OPUS_OK {
		return fmt.Errorf("opus encoder bitrate: %w", codecErr(rc))
	}
	return nil
}

// Close frees the encoder. It is safe to call more than once.
func (e *Encoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.st != nil {
		C.opus_encoder_destroy(e.st)
		e.st = nil
	}
	return nil
}

// Decoder decodes Opus packets from a peer. Packets are untrusted: every
// length is checked before libopus sees it. Its methods are safe for
// concurrent use; they are serialised.
type Decoder struct {
	mu       sync.Mutex
	st       *C.OpusDecoder
	channels int
	last     int // samples per channel of the last good packet, for concealment
}

// NewDecoder creates a decoder that outputs 48 kHz PCM with the given
// number of channels (whatever the packets carry; libopus mixes).
func NewDecoder(channels int) (*Decoder, error) {
	if channels != 1 && channels != 2 {
		return nil, fmt.Errorf("%w: %d channels (1 or 2)", ErrBadConfig, channels)
	}
	var rc C.int
	st := C.opus_decoder_create(SampleRate, C.int(channels), &rc)
	if rc != C.OPUS_OK || st == nil {
		return nil, fmt.Errorf("opus_decoder_create: %w", codecErr(rc))
	}
	return &Decoder{st: st, channels: channels, last: int(FrameDuration * SampleRate / time.Second)}, nil
}

// Decode decodes one packet into pcm (interleaved) and returns the samples
// per channel written. A nil or empty packet conceals one lost packet of
// the last packet's duration. pcm must hold the packet's samples times the
// channels; with MaxFrameSamples per channel any packet fits.
func (d *Decoder) Decode(packet []byte, pcm []int16) (int, error) {
	return d.decode(packet, pcm, false)
}

// DecodeFEC recovers the packet lost just before this one from the FEC data
// this one carries (or conceals it when there is none). It writes the lost
// packet's duration, the last packet's; pass this packet to Decode after.
func (d *Decoder) DecodeFEC(packet []byte, pcm []int16) (int, error) {
	if len(packet) == 0 {
		return d.decode(nil, pcm, false)
	}
	return d.decode(packet, pcm, true)
}

func (d *Decoder) decode(packet []byte, pcm []int16, fec bool) (int, error) {
	if len(packet) > MaxPacketBytes {
		return 0, fmt.Errorf("%w: %d bytes, more than %d", ErrBadPacket, len(packet), MaxPacketBytes)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st == nil {
		return 0, ErrClosed
	}
	want := d.last // concealment and FEC fill the last packet's duration
	if len(packet) > 0 && !fec {
		n := C.opus_decoder_get_nb_samples(d.st, (*C.uchar)(unsafe.Pointer(&packet[0])), C.opus_int32(len(packet)))
		if n < 0 {
			return 0, fmt.Errorf("%w: %v", ErrBadPacket, codecErr(n))
		}
		want = int(n)
	}
	if want <= 0 || want > MaxFrameSamples {
		return 0, fmt.Errorf("%w: %d samples per channel", ErrBadPacket, want)
	}
	if len(pcm) < want*d.channels {
		return 0, fmt.Errorf("%w: buffer of %d samples, the packet needs %d", ErrBadFrame, len(pcm), want*d.channels)
	}
	var data *C.uchar
	if len(packet) > 0 {
		data = (*C.uchar)(unsafe.Pointer(&packet[0]))
	}
	decodeFEC := C.int(0)
	if fec {
		decodeFEC = 1
	}
	n := C.opus_decode(d.st, data, C.opus_int32(len(packet)), (*C.opus_int16)(unsafe.Pointer(&pcm[0])), C.int(want), decodeFEC)
	if n < 0 {
		return 0, fmt.Errorf("opus_decode: %w: %v", ErrBadPacket, codecErr(n))
	}
	if len(packet) > 0 && !fec {
		d.last = int(n)
	}
	return int(n), nil
}

// Close frees the decoder. It is safe to call more than once.
func (d *Decoder) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.st != nil {
		C.opus_decoder_destroy(d.st)
		d.st = nil
	}
	return nil
}

func codecErr(rc C.int) error {
	return fmt.Errorf("libopus error %d (%s)", int(rc), C.GoString(C.opus_strerror(rc)))
}
