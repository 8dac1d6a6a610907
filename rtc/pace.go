package rtc

import (
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// Pacing: a frame's packets leave at pacingFactor times the estimate (as
// libwebrtc's pacer does), not in one burst: a frame larger than a slow
// link's queue sent at once loses its tail there, and the browser then
// waits for resends or a keyframe. Small frames (within pacingBurst) still
// leave at once, and no frame is spread over more than maxPacing, so a LAN
// adds no delay to a typed character and a keyframe on a slow link waits at
// most that.
const (
	pacingFactor = 2.5
	pacingBurst  = 12_000 // bytes sent at once after a pause: about ten packets
	maxPacing    = 300 * time.Millisecond
	videoMTU     = 1200 // pion's outbound MTU for a sample's packets
)

// videoPacketizer splits frames into VP8 RTP packets; the track sets the
// payload type and SSRC of each binding.
func videoPacketizer() rtp.Packetizer {
	return rtp.NewPacketizer(videoMTU, 0, 0, &codecs.VP8Payloader{EnablePictureID: true}, rtp.NewRandomSequencer(), 90000)
}

// pacer spreads one writer's packets over time with a token bucket.
type pacer struct {
	now    func() time.Time
	tokens float64 // bytes that may leave now
	last   time.Time
}

// wait returns how long to wait before a packet of size may leave at bps,
// and takes its tokens.
func (p *pacer) wait(size int, bps float64) time.Duration {
	now := p.now()
	if !p.last.IsZero() {
		p.tokens += now.Sub(p.last).Seconds() * bps / 8
	} else {
		p.tokens = pacingBurst
	}
	p.tokens = min(p.tokens, pacingBurst)
	p.last = now
	p.tokens -= float64(size)
	if p.tokens >= 0 {
		return 0
	}
	return time.Duration(-p.tokens * 8 / bps * float64(time.Second))
}

// Keyframes are paced just above the estimate, over up to a second: one
// is many times a delta frame, and a slow link's queue holds it only if it
// arrives little faster than the link drains it (a keyframe of K bytes at
// pace P into a link of rate C fills its queue by K(1 - C/P)). A keyframe
// that loses its tail is worthless, and the next costs as much again.
const (
	keyPacingFactor = 1.25
	maxKeyPacing    = time.Second
)

// paceRate is the rate a frame of bytes leaves at for an estimate of
// target bps.
func paceRate(bytes, target int, keyframe bool) float64 {
	if keyframe {
		return max(keyPacingFactor*float64(target), float64(bytes*8)/maxKeyPacing.Seconds(), 1)
	}
	return max(pacingFactor*float64(target), float64(bytes*8)/maxPacing.Seconds(), 1)
}
