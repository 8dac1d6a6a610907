package audio

import (
	"sync"
	"time"
)

// Rate is the sample rate of every buffer in this package.
const Rate = 48000

// Samples converts a duration to a sample count at Rate.
func Samples(d time.Duration) int { return int(d * Rate / time.Second) }

// Playout is the jitter buffer between decoded network audio and the
// speaker. The decoder pushes whole packets as they arrive; the device pulls
// fixed periods at its own clock. It starts (and, after running dry,
// restarts) playing only once Target is buffered, so that the usual jitter
// of a LAN never reaches the ear as gaps; it never holds more than Limit,
// dropping the oldest audio, so a burst after a stall or a sender whose
// clock runs fast cannot build up delay. Safe for concurrent use.
type Playout struct {
	mu      sync.Mutex
	ring    []int16
	head, n int // first buffered sample, buffered count
	target  int
	limit   int
	playing bool
	stats   PlayoutStats
}

// PlayoutStats count samples (at Rate) since the buffer was made.
type PlayoutStats struct {
	Pushed, Played, Silent, Dropped int64
	// Underruns counts the times playback ran dry and started buffering
	// again.
	Underruns int64
}

// NewPlayout makes a buffer that plays once target is buffered and keeps at
// most limit (at least target plus 20 ms).
func NewPlayout(target, limit time.Duration) *Playout {
	t := max(Samples(target), 0)
	l := max(Samples(limit), t+Samples(20*time.Millisecond))
	return &Playout{ring: make([]int16, l), target: t, limit: l}
}

// Push appends decoded audio.
func (p *Playout) Push(pcm []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stats.Pushed += int64(len(pcm))
	if len(pcm) >= p.limit { // more than fits: keep the newest Target
		p.stats.Dropped += int64(p.n + len(pcm) - p.target)
		pcm = pcm[len(pcm)-p.target:]
		p.head, p.n = 0, 0
	} else if p.n+len(pcm) > p.limit {
		// Over the limit: drop back to Target, not just to the limit, so
		// that the delay really shrinks instead of clipping every packet.
		drop := p.n + len(pcm) - p.target
		drop = min(drop, p.n)
		p.head = (p.head + drop) % len(p.ring)
		p.n -= drop
		p.stats.Dropped += int64(drop)
	}
	// n+len(pcm) <= limit now, so the free space after the tail (up to the
	// ring's end, then from its start) always holds pcm.
	for len(pcm) > 0 {
		tail := (p.head + p.n) % len(p.ring)
		c := copy(p.ring[tail:], pcm)
		p.n += c
		pcm = pcm[c:]
	}
}

// Pull fills dst completely: buffered audio, then silence.
func (p *Playout) Pull(dst []int16) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.playing {
		if p.n < p.target || p.n == 0 {
			clear(dst)
			p.stats.Silent += int64(len(dst))
			return
		}
		p.playing = true
	}
	got := 0
	for got < len(dst) && p.n > 0 {
		c := copy(dst[got:], p.ring[p.head:min(len(p.ring), p.head+p.n)])
		p.head = (p.head + c) % len(p.ring)
		p.n -= c
		got += c
	}
	p.stats.Played += int64(got)
	if got < len(dst) {
		clear(dst[got:])
		p.stats.Silent += int64(len(dst) - got)
		p.stats.Underruns++
		p.playing = false
	}
}

// Buffered is the audio waiting to be played.
func (p *Playout) Buffered() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration(p.n) * time.Second / Rate
}

// Stats returns the counters.
func (p *Playout) Stats() PlayoutStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}
