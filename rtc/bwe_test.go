package rtc

import (
	"math/rand/v2"
	"testing"
	"time"
)

// simLink is a bottleneck link: a FIFO drained at capacity bps with a
// buffer, a fixed propagation delay, random loss, and a busy host's noise:
// the receiving process is descheduled now and then (noiseP of the 10 ms
// slots start a stall of up to noiseMax) and every packet that arrives
// meanwhile is read when the stall ends, with no queue on the link.
type simLink struct {
	capacity  float64 // bits per second
	delay     time.Duration
	buffer    time.Duration // tail drop past this much queue
	loss      float64
	noiseP    float64
	noiseMax  time.Duration
	rng       *rand.Rand
	busyUntil time.Time // when the FIFO is empty again
	stallEnd  time.Time // the receiver reads nothing before this
	nextSlot  time.Time
}

// send returns when the packet arrives, or false if it is dropped.
func (l *simLink) send(at time.Time, size int) (time.Time, bool) {
	if l.rng.Float64() < l.loss {
		return time.Time{}, false
	}
	start := at
	if l.busyUntil.After(at) {
		if l.busyUntil.Sub(at) > l.buffer {
			return time.Time{}, false // the buffer is full
		}
		start = l.busyUntil
	}
	tx := time.Duration(float64(size*8) / l.capacity * float64(time.Second))
	l.busyUntil = start.Add(tx)
	arrive := l.busyUntil.Add(l.delay)
	for l.noiseP > 0 && !l.nextSlot.After(arrive) {
		if l.nextSlot.IsZero() {
			l.nextSlot = arrive
		}
		if l.stallEnd.Before(l.nextSlot) && l.rng.Float64() < l.noiseP {
			l.stallEnd = l.nextSlot.Add(time.Duration(l.rng.Int64N(int64(l.noiseMax))))
		}
		l.nextSlot = l.nextSlot.Add(10 * time.Millisecond)
	}
	if arrive.Before(l.stallEnd) {
		arrive = l.stallEnd
	}
	return arrive, true
}

// simRun drives a controller over a link for d: frames every 1/30 s of
// size want(target)/30 in 1,200-byte packets, feedback every 100 ms. It
// returns the targets seen every 100 ms and the queueing delays of the
// packets.
type simResult struct {
	targets []int
	queue   []time.Duration // per packet: arrival - (send + delay), noise included
}

func simRun(c *rateController, l *simLink, start time.Time, d time.Duration, want func(target int) int) simResult {
	type inflight struct {
		ack
		at time.Time
	}
	var pending []inflight
	var res simResult
	now := start
	nextFeedback := start.Add(100 * time.Millisecond)
	for now.Before(start.Add(d)) {
		bytes := want(c.Target()) / 8 / 30
		for bytes > 0 {
			size := min(bytes, 1200)
			bytes -= size
			arrive, ok := l.send(now, size)
			a := ack{sent: now, size: size, received: ok}
			if ok {
				a.arrival = time.Duration(arrive.UnixNano()) + 5*time.Hour // another clock
				res.queue = append(res.queue, arrive.Sub(now)-l.delay)
			}
			pending = append(pending, inflight{ack: a, at: arrive})
		}
		now = now.Add(time.Second / 30)
		for !now.Before(nextFeedback) {
			var acks []ack
			rest := pending[:0]
			for _, p := range pending {
				switch {
				case p.received && !p.at.After(nextFeedback):
					acks = append(acks, p.ack)
				case !p.received && nextFeedback.Sub(p.sent) > 50*time.Millisecond:
					acks = append(acks, p.ack)
				default:
					rest = append(rest, p)
				}
			}
			pending = rest
			c.onFeedback(nextFeedback, acks)
			res.targets = append(res.targets, c.Target())
			nextFeedback = nextFeedback.Add(100 * time.Millisecond)
		}
	}
	return res
}

func greedy(target int) int { return target }

func TestRateControllerHoldsAFastLinkDespiteHostNoise(t *testing.T) {
	// The failure of GCC here: a LAN with a busy host (stalls of up to
	// 80 ms, two a second on average) was read as congestion.
	c := newRateController(150_000, 2_500_000, 12_000_000)
	l := &simLink{capacity: 100e6, delay: time.Millisecond, buffer: 100 * time.Millisecond, noiseP: 0.03, noiseMax: 150 * time.Millisecond, rng: rand.New(rand.NewPCG(1, 2))}
	res := simRun(c, l, time.Unix(1000, 0), 20*time.Second, greedy)
	if d := c.State().Decreases; d != 0 {
		t.Errorf("%d decreases on an uncongested link", d)
	}
	if got := res.targets[len(res.targets)-1]; got != 12_000_000 {
		t.Errorf("target after 20 s = %d, want the maximum 12000000", got)
	}
	// From 2.5 to 12 Mbps at 2x/s is about 2.3 s.
	for i, tg := range res.targets {
		if tg == 12_000_000 {
			if at := time.Duration(i+1) * 100 * time.Millisecond; at > 4*time.Second {
				t.Errorf("reached the maximum after %v, want within 4 s", at)
			}
			break
		}
	}
}

func TestRateControllerStillDesktopKeepsItsEstimate(t *testing.T) {
	// App-limited: a still desktop sends 50 kbps. The estimate neither
	// collapses (GCC fell to 150 kbps) nor grows without evidence.
	c := newRateController(150_000, 2_500_000, 12_000_000)
	l := &simLink{capacity: 100e6, delay: time.Millisecond, buffer: 100 * time.Millisecond, noiseP: 0.03, noiseMax: 150 * time.Millisecond, rng: rand.New(rand.NewPCG(3, 4))}
	simRun(c, l, time.Unix(1000, 0), 30*time.Second, func(int) int { return 50_000 })
	if got := c.Target(); got != 2_500_000 {
		t.Errorf("target after 30 s of a still desktop = %d, want the start 2500000", got)
	}
}

func TestRateControllerFindsABottleneck(t *testing.T) {
	c := newRateController(150_000, 2_500_000, 12_000_000)
	l := &simLink{capacity: 2e6, delay: 40 * time.Millisecond, buffer: 500 * time.Millisecond, rng: rand.New(rand.NewPCG(5, 6))}
	res := simRun(c, l, time.Unix(1000, 0), 30*time.Second, greedy)
	late := res.targets[len(res.targets)/2:] // after 15 s
	lo, hi := late[0], late[0]
	for _, tg := range late {
		lo, hi = min(lo, tg), max(hi, tg)
	}
	if lo < 1_000_000 || hi > 2_600_000 {
		t.Errorf("target on a 2 Mbps link ranged %d..%d in the second half, want within 1.0..2.6 Mbps", lo, hi)
	}
	q := res.queue[len(res.queue)/2:]
	over := 0
	for _, d := range q {
		if d > 250*time.Millisecond {
			over++
		}
	}
	if share := float64(over) / float64(len(q)); share > 0.05 {
		t.Errorf("%.1f %% of packets queued over 250 ms once settled, want under 5 %%", share*100)
	}
}

func TestRateControllerClimbsBackWhenTheLinkClears(t *testing.T) {
	c := newRateController(150_000, 2_500_000, 12_000_000)
	rng := rand.New(rand.NewPCG(7, 8))
	l := &simLink{capacity: 2e6, delay: 40 * time.Millisecond, buffer: 500 * time.Millisecond, rng: rng}
	t0 := time.Unix(1000, 0)
	simRun(c, l, t0, 15*time.Second, greedy)
	if got := c.Target(); got > 2_600_000 {
		t.Fatalf("target on 2 Mbps = %d", got)
	}
	clear := &simLink{capacity: 100e6, delay: time.Millisecond, buffer: 100 * time.Millisecond, rng: rng, busyUntil: l.busyUntil}
	res := simRun(c, clear, t0.Add(15*time.Second), 10*time.Second, greedy)
	reached := -1
	for i, tg := range res.targets {
		if tg >= 10_000_000 {
			reached = i
			break
		}
	}
	if reached < 0 || reached > 60 {
		t.Errorf("after the link cleared the target reached 10 Mbps at step %d (100 ms each; want within 6 s); targets %v", reached, res.targets)
	}
}

func TestRateControllerLoss(t *testing.T) {
	t.Run("1 % is a Wi-Fi's normal: no decrease", func(t *testing.T) {
		c := newRateController(150_000, 2_500_000, 12_000_000)
		l := &simLink{capacity: 20e6, delay: 10 * time.Millisecond, buffer: 100 * time.Millisecond, loss: 0.01, rng: rand.New(rand.NewPCG(9, 10))}
		simRun(c, l, time.Unix(1000, 0), 10*time.Second, func(target int) int { return min(target, 8_000_000) })
		if d := c.State().Decreases; d != 0 {
			t.Errorf("%d decreases at 1 %% loss", d)
		}
	})
	t.Run("20 % lowers the target", func(t *testing.T) {
		c := newRateController(150_000, 2_500_000, 12_000_000)
		l := &simLink{capacity: 100e6, delay: time.Millisecond, buffer: 100 * time.Millisecond, loss: 0.2, rng: rand.New(rand.NewPCG(11, 12))}
		simRun(c, l, time.Unix(1000, 0), 5*time.Second, greedy)
		if got := c.Target(); got >= 1_000_000 {
			t.Errorf("target at 20 %% loss = %d, want well under the start", got)
		}
	})
}

func TestRateControllerBounds(t *testing.T) {
	c := newRateController(150_000, 2_500_000, 3_000_000)
	now := time.Unix(1000, 0)
	// Every packet lost, for a long time: never below the minimum.
	for i := range 200 {
		now = now.Add(100 * time.Millisecond)
		c.onFeedback(now, []ack{{sent: now.Add(-50 * time.Millisecond), size: 1200}, {sent: now.Add(-40 * time.Millisecond), size: 1200}})
		if got := c.Target(); got < 150_000 || got > 3_000_000 {
			t.Fatalf("step %d: target %d out of bounds", i, got)
		}
	}
	if got := c.Target(); got != 150_000 {
		t.Errorf("target after total loss = %d, want the minimum", got)
	}
	// An empty report changes nothing.
	if got := c.onFeedback(now, nil); got != 150_000 {
		t.Errorf("empty report moved the target to %d", got)
	}
}

// report builds one feedback report of n packets sent 3 ms apart from
// sent on, each queued by q(i) on top of a 1 ms path.
func report(sent time.Time, n int, q func(i int) time.Duration) []ack {
	acks := make([]ack, n)
	for i := range acks {
		at := sent.Add(time.Duration(i) * 3 * time.Millisecond)
		acks[i] = ack{sent: at, size: 1200, received: true, arrival: time.Duration(at.UnixNano()) + time.Millisecond + q(i)}
	}
	return acks
}

func TestRateControllerIgnoresHostStalls(t *testing.T) {
	// A stall of the receiving process delays the packets read during it,
	// one report's tail and the next one's head, never a whole window.
	c := newRateController(150_000, 2_500_000, 12_000_000)
	now := time.Unix(1000, 0)
	for k := range 100 {
		stalled := k%5 == 2
		after := k%5 == 3
		acks := report(now.Add(-100*time.Millisecond), 33, func(i int) time.Duration {
			switch {
			case stalled && i >= 8:
				return time.Duration(33-i) * 6 * time.Millisecond // up to 150 ms, read at the stall's end
			case after && i < 15:
				return time.Duration(15-i) * 6 * time.Millisecond
			}
			return 0
		})
		c.onFeedback(now, acks)
		now = now.Add(100 * time.Millisecond)
	}
	if d := c.State().Decreases; d != 0 {
		t.Errorf("%d decreases for host stalls", d)
	}
}

func TestRateControllerSeesAStandingQueue(t *testing.T) {
	c := newRateController(150_000, 2_500_000, 12_000_000)
	now := time.Unix(1000, 0)
	for range 10 { // an empty link first: the base delay
		c.onFeedback(now, report(now.Add(-100*time.Millisecond), 33, func(int) time.Duration { return 0 }))
		now = now.Add(100 * time.Millisecond)
	}
	// Then every packet 60 ms late: the queue has stood for a whole floor
	// window (200 ms) on the third report, and again on the fourth.
	before, first := c.Target(), 0
	for k := 1; k <= 6 && first == 0; k++ {
		c.onFeedback(now, report(now.Add(-100*time.Millisecond), 33, func(int) time.Duration { return 60 * time.Millisecond }))
		now = now.Add(100 * time.Millisecond)
		if c.Target() < before {
			first = k
		}
	}
	if first != 4 {
		t.Errorf("first decrease on report %d of a 60 ms standing queue, want 4 (a full window, twice)", first)
	}
}
