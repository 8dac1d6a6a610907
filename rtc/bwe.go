package rtc

import (
	"math"
	"time"
)

// The screen stream's congestion controller. It reads transport-wide
// congestion control feedback (TWCC: when each packet arrived at the
// browser, or that it did not) and keeps a target bitrate for the encoder.
//
// It replaces pion's GCC, which measured badly for a desktop on a LAN
// (docs/bench/live.md, "why the estimate collapsed"): GCC's delay detector
// reacts to the delay *gradient* between packet groups, and on a loaded
// two-core host that gradient swung by ±50-80 ms between frames on loopback,
// so it saw overuse several times a minute; each overuse set the target to
// 0.85 × the received rate, and a desktop that is mostly still is received
// at a few hundred kbps or less, so a gigabit link was rated 150-300 kbps and
// climbed back at 8 % a second. Here:
//
//   - congestion is a standing queue, not a gradient: the *lowest* queueing
//     delay among the packets of the last 200 ms (at least the last four) has
//     to stay above a threshold on two feedback reports in a row. A host that
//     stalls for a moment delays some packets, never all of them; a link that
//     is full delays every packet behind the queue;
//   - the rate after congestion is what the link delivered (the arrival rate
//     while the queue stood), which is the link's capacity then, when we
//     were using most of the target; when we were not (a still desktop, so
//     the queue is someone else's), the target only steps down by 15 %;
//   - it climbs fast (2× a second) when it has no recent capacity to respect,
//     carefully (1.3× a second) just above the last one, and forgets that
//     capacity once the link has carried more;
//   - while the desktop is still (the sender is app-limited) it does not grow
//     without evidence: the target stays at most 2.5× the highest rate the
//     link was seen to deliver in the last 5 s (or the start rate), so the first
//     scroll after a quiet minute cannot flood a slow link.
//
// Loss follows GCC's rule: above 10 % the target falls by half the loss
// ratio, between 2 and 10 % it holds. It is used by one goroutine (the RTCP
// reader); Target may be read from any.

// Congestion thresholds.
const (
	queueHigh      = 30 * time.Millisecond  // a standing queue above this is congestion
	queueLow       = 10 * time.Millisecond  // below this the link is empty: the target may grow
	floorWindow    = 200 * time.Millisecond // how far back the queue's floor is taken
	floorMinPkts   = 4                      // and over at least this many packets
	baseWindow     = 20 * time.Second       // the one-way delay's minimum is kept this long (twice)
	decreaseHold   = 300 * time.Millisecond // at most one decrease per hold
	deliveredSpan  = 500 * time.Millisecond // the arrival window the delivered rate is measured over
	peakWindow     = 5 * time.Second        // how long the highest delivered rate counts for
	appLimitFactor = 2.5                    // the target stays within this factor of the peak delivered rate
	lossHigh       = 0.10
	lossLow        = 0.02
	maxHistory     = 4096 // samples kept for the windows above (bounded memory on a fast link)
)

// ack is the fate of one sent packet as feedback reported it.
type ack struct {
	sent     time.Time     // departure, on our clock
	size     int           // bytes on the wire
	received bool          // false: reported lost
	arrival  time.Duration // on the receiver's clock (its TWCC reference), when received
}

// sample is a received packet in the controller's history.
type sample struct {
	sent    time.Time
	owd     time.Duration // one-way delay plus the (unknown, constant) clock offset
	arrival time.Duration
	size    int
}

// CongestionState is what the controller concluded last (for logs and
// benchmarks).
type CongestionState struct {
	TargetBps    int
	DeliveredBps int           // arrival rate over the last 500 ms
	QueueDelay   time.Duration // the floor of the last window
	Loss         float64       // smoothed loss ratio
	Overuse      bool
	Decreases    int // how many times the target was lowered
}

// rateController turns feedback into a target bitrate.
type rateController struct {
	minBps, startBps, maxBps float64

	target     float64
	capacity   float64 // the delivered rate at the last congestion; 0 when none is known
	lastUpdate time.Time
	lastDecr   time.Time
	overuseRun int // consecutive reports with a standing queue

	// base one-way delay: the minimum of this window and of the previous one
	baseCur, basePrev   time.Duration
	baseSince           time.Time
	haveBase, havePrevB bool

	history []sample // received packets, oldest first, within the windows above
	peaks   []peak   // delivered-rate maxima over peakWindow
	loss    float64  // smoothed loss ratio
	state   CongestionState
}

type peak struct {
	at  time.Time
	bps float64
}

func newRateController(minBps, startBps, maxBps int) *rateController {
	return &rateController{
		minBps: float64(minBps), startBps: float64(startBps), maxBps: float64(maxBps),
		target: float64(startBps),
	}
}

// Target is the current target in bits per second.
func (c *rateController) Target() int { return int(c.target) }

// State is the controller's last conclusion.
func (c *rateController) State() CongestionState { return c.state }

// onFeedback takes one feedback report's acks (in sequence order) received
// at now, and returns the new target.
func (c *rateController) onFeedback(now time.Time, acks []ack) int {
	if len(acks) == 0 {
		return int(c.target)
	}
	lost, total := 0, 0
	for _, a := range acks {
		total++
		if !a.received {
			lost++
			continue
		}
		owd := a.arrival - time.Duration(a.sent.UnixNano())
		c.noteBase(now, owd)
		c.history = append(c.history, sample{sent: a.sent, owd: owd, arrival: a.arrival, size: a.size})
	}
	c.trim()
	ratio := float64(lost) / float64(total)
	// A report of n packets weighs like n packets: a single-packet report
	// (a still desktop) cannot swing the average on its own.
	w := math.Min(1, float64(total)/50)
	c.loss += w * (ratio - c.loss)

	floor, ok := c.queueFloor()
	delivered := c.delivered()
	c.notePeak(now, delivered)

	switch {
	case ok && floor > queueHigh:
		c.overuseRun++
	default:
		c.overuseRun = 0
	}
	overuse := c.overuseRun >= 2
	dt := now.Sub(c.lastUpdate)
	if c.lastUpdate.IsZero() || dt < 0 {
		dt = 0
	}
	dt = min(dt, 200*time.Millisecond) // a gap in feedback is not growth earned
	c.lastUpdate = now

	switch {
	case overuse && now.Sub(c.lastDecr) >= decreaseHold:
		// A link we filled carries what it delivered: go just under that.
		// One we hardly use (a still desktop) is queued by something else:
		// our share goes down gently, as sending less than we already do
		// would empty little of that queue.
		next := c.target * 0.85
		if delivered >= 0.5*c.target {
			next = math.Min(next, 0.85*delivered)
			c.capacity = delivered
		}
		c.decrease(now, next)
	case c.loss > lossHigh && now.Sub(c.lastDecr) >= decreaseHold:
		c.decrease(now, c.target*(1-0.5*c.loss))
	case overuse || c.loss > lossLow || !ok || floor > queueLow:
		// hold: a queue is forming or packets are lost, or nothing to go on
	default:
		c.increase(dt)
	}
	c.state = CongestionState{
		TargetBps: int(c.target), DeliveredBps: int(delivered), QueueDelay: floor,
		Loss: c.loss, Overuse: overuse, Decreases: c.state.Decreases,
	}
	if c.lastDecr == now {
		c.state.Decreases++
	}
	return int(c.target)
}

func (c *rateController) decrease(now time.Time, next float64) {
	c.target = clampF(next, c.minBps, c.maxBps)
	c.lastDecr = now
	c.overuseRun = 0
}

func (c *rateController) increase(dt time.Duration) {
	factor := 2.0
	if c.capacity > 0 && c.target > 0.9*c.capacity {
		factor = 1.3 // just above the last known capacity: probe gently
	}
	next := c.target * math.Pow(factor, dt.Seconds())
	// App-limited: no growth past what the link has shown it carries.
	limit := math.Max(c.startBps, appLimitFactor*c.peakDelivered())
	if next > limit {
		next = math.Max(c.target, limit) // never lowered by this rule
	}
	c.target = clampF(next, c.minBps, c.maxBps)
	if c.capacity > 0 && c.target > 1.5*c.capacity {
		c.capacity = 0 // the link carries more now
	}
}

// noteBase keeps the minimum one-way delay of the last 20-40 s. A wrapped
// or reset receiver clock (a jump of more than a minute) starts over.
func (c *rateController) noteBase(now time.Time, owd time.Duration) {
	if c.haveBase && (owd < c.base()-time.Minute || owd > c.base()+time.Minute) {
		c.haveBase, c.havePrevB = false, false
		c.history = c.history[:0]
	}
	if !c.haveBase {
		c.baseCur, c.baseSince, c.haveBase = owd, now, true
		return
	}
	if now.Sub(c.baseSince) >= baseWindow {
		c.basePrev, c.havePrevB = c.baseCur, true
		c.baseCur, c.baseSince = owd, now
	}
	c.baseCur = min(c.baseCur, owd)
}

func (c *rateController) base() time.Duration {
	if c.havePrevB {
		return min(c.baseCur, c.basePrev)
	}
	return c.baseCur
}

// trim drops history that no window needs.
func (c *rateController) trim() {
	if len(c.history) == 0 {
		return
	}
	newest := c.history[len(c.history)-1]
	keep := 0
	for keep < len(c.history)-floorMinPkts {
		h := c.history[keep]
		if newest.sent.Sub(h.sent) <= floorWindow || newest.arrival-h.arrival <= deliveredSpan {
			break
		}
		keep++
	}
	if over := len(c.history) - keep - maxHistory; over > 0 {
		keep += over
	}
	c.history = append(c.history[:0], c.history[keep:]...)
}

// queueFloor is the lowest queueing delay among the packets sent in the last
// floorWindow before the newest, and at least floorMinPkts of them.
func (c *rateController) queueFloor() (time.Duration, bool) {
	n := len(c.history)
	if n == 0 {
		return 0, false
	}
	newest := c.history[n-1].sent
	floor := time.Duration(math.MaxInt64)
	for i := n - 1; i >= 0; i-- {
		h := c.history[i]
		if newest.Sub(h.sent) > floorWindow && n-i > floorMinPkts {
			break
		}
		floor = min(floor, h.owd-c.base())
	}
	return floor, true
}

// delivered is the arrival rate of the packets that arrived in the last
// deliveredSpan (0 when the span is too short to say).
func (c *rateController) delivered() float64 {
	n := len(c.history)
	if n < 2 {
		return 0
	}
	last := c.history[n-1].arrival
	bytes, first := 0, last
	for i := n - 1; i >= 0; i-- {
		h := c.history[i]
		if last-h.arrival > deliveredSpan {
			break
		}
		if i < n-1 { // the first packet's bytes arrived before the span began
			bytes += c.history[i+1].size
		}
		first = h.arrival
	}
	span := last - first
	if span < 50*time.Millisecond {
		return 0
	}
	return float64(bytes) * 8 / span.Seconds()
}

func (c *rateController) notePeak(now time.Time, bps float64) {
	i := 0
	for i < len(c.peaks) && now.Sub(c.peaks[i].at) > peakWindow {
		i++
	}
	c.peaks = c.peaks[i:]
	// A monotone queue: only maxima that can still matter are kept.
	for len(c.peaks) > 0 && c.peaks[len(c.peaks)-1].bps <= bps {
		c.peaks = c.peaks[:len(c.peaks)-1]
	}
	if bps > 0 {
		c.peaks = append(c.peaks, peak{at: now, bps: bps})
	}
}

func (c *rateController) peakDelivered() float64 {
	if len(c.peaks) == 0 {
		return 0
	}
	return c.peaks[0].bps
}

func clampF(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }
