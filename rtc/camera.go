package rtc

import (
	"context"
	"image"
	"sync"
	"time"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/didacto/didacto/rtc/vp8"
)

// CameraReceiver decodes the professor's VP8 camera track. Pictures go to
// OnFrame as they decode; a frame that does not decode, or decodes from
// damaged data, asks the sender for a keyframe (at most every
// keyframeEvery).
type CameraReceiver struct {
	dec      *vp8.Decoder
	onFrame  func(*image.YCbCr)
	keyframe func()

	mu    sync.Mutex
	stats CameraStats
}

// CameraStats count what arrived.
type CameraStats struct {
	Frames, Errors, KeyframeRequests int64
	Width, Height                    int
}

// keyframeEvery bounds how often a receiver asks for a keyframe.
const keyframeEvery = 500 * time.Millisecond

// maxCamera bounds what a camera may announce: more than any webcam sends.
const maxCameraW, maxCameraH = 1920, 1080

// NewCameraReceiver creates the decoder. onFrame runs on Run's goroutine
// and owns the picture; keyframe sends a PLI.
func NewCameraReceiver(onFrame func(*image.YCbCr), keyframe func()) (*CameraReceiver, error) {
	dec, err := vp8.NewDecoder(vp8.DecoderConfig{MaxWidth: maxCameraW, MaxHeight: maxCameraH})
	if err != nil {
		return nil, err
	}
	if onFrame == nil {
		onFrame = func(*image.YCbCr) {}
	}
	if keyframe == nil {
		keyframe = func() {}
	}
	return &CameraReceiver{dec: dec, onFrame: onFrame, keyframe: keyframe}, nil
}

// Run reads the track until it ends or ctx is done, then frees the decoder.
func (c *CameraReceiver) Run(ctx context.Context, track RTPReader) error {
	defer c.dec.Close()
	// A short wait for late packets (a LAN reorders little): a frame whose
	// packets never came is dropped after 200 ms, not after hundreds of
	// packets, and the sender is asked for a keyframe.
	sb := samplebuilder.New(64, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(200*time.Millisecond))
	var asked time.Time
	ask := func() {
		if time.Since(asked) >= keyframeEvery {
			asked = time.Now()
			c.keyframe()
			c.count(func(s *CameraStats) { s.KeyframeRequests++ })
		}
	}
	for ctx.Err() == nil {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return nil
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if s.PrevDroppedPackets > 0 { // the picture now refers to lost data
				ask()
			}
			img, err := c.dec.Decode(s.Data)
			if err != nil || c.dec.Corrupted() {
				c.count(func(s *CameraStats) { s.Errors++ })
				ask()
				continue
			}
			if img == nil {
				continue
			}
			c.count(func(s *CameraStats) {
				s.Frames++
				s.Width, s.Height = img.Rect.Dx(), img.Rect.Dy()
			})
			c.onFrame(img)
		}
	}
	return ctx.Err()
}

func (c *CameraReceiver) count(f func(*CameraStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// Stats returns the counters.
func (c *CameraReceiver) Stats() CameraStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}
