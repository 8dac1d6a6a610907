package vp8

import "errors"

// Sentinel errors; returned errors wrap them with detail.
var (
	// ErrClosed is returned by any method called after Close.
	ErrClosed = errors.New("vp8: closed")
	// ErrBadConfig reports an unusable Config (zero or oversized dimensions…).
	ErrBadConfig = errors.New("vp8: bad config")
	// ErrBadImage reports an image that does not match what the call expects.
	ErrBadImage = errors.New("vp8: bad image")
	// ErrTooLarge reports a bitstream announcing a frame above the decoder's limits.
	ErrTooLarge = errors.New("vp8: frame too large")
	// ErrCodec wraps a failure reported by libvpx.
	ErrCodec = errors.New("vp8: libvpx")
)
