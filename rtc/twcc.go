package rtc

import (
	"encoding/binary"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// transportCCURI is the transport-wide sequence number extension: pion's
// TWCC header interceptor numbers every outgoing packet, the browser reports
// each number's arrival.
const transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// sentRing is how many recent packets are remembered by sequence number:
// at 20 Mbps about 4.5 s of packets, far more than feedback ever lags.
const sentRing = 1 << 13

// congestionFactory builds one congestion interceptor per peer connection
// and hands it to onNew.
type congestionFactory struct {
	minBps, startBps, maxBps int
	log                      *slog.Logger
	onNew                    func(*congestion)
}

func (f congestionFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	c := &congestion{ctrl: newRateController(f.minBps, f.startBps, f.maxBps), now: time.Now, log: f.log}
	c.target.Store(int64(f.startBps))
	if f.onNew != nil {
		f.onNew(c)
	}
	return c, nil
}

// congestion records when each numbered packet left and feeds the
// browser's TWCC reports to the rate controller. It must sit after pion's
// TWCC header interceptor on the way out (added to the registry before it).
type congestion struct {
	interceptor.NoOp
	now    func() time.Time
	log    *slog.Logger
	target atomic.Int64

	mu   sync.Mutex // guards the rest
	sent [sentRing]sentPacket
	ctrl *rateController
	acks []ack // reused per report
	// what left in the last sentSpan, for pushback: the encoder's output
	// can run ahead of the target (a scroll coded at its quantizer limit)
	sentLog   []sentBytes
	sentTotal int
	state     CongestionState
}

type sentPacket struct {
	at    time.Time
	size  int
	seq   uint16
	valid bool
	acked bool // reported received already (reports may repeat a packet)
	lost  bool // reported missing already: counted once, whatever repeats
	// resend: an RTP sequence number sent before. One reported missing is
	// not counted as lost: it is often a second copy that the receiver's
	// SRTP replay check dropped, and counting those read a clear 2 Mbps
	// link as 10-20 % lossy.
	resend bool
}

// Target is the controller's current target in bits per second.
func (c *congestion) Target() int { return int(c.target.Load()) }

// State is the controller's last conclusion.
func (c *congestion) State() CongestionState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

func (c *congestion) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	id := 0
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == transportCCURI {
			id = e.ID
		}
	}
	if id <= 0 || id > 255 {
		return w // not negotiated: no feedback will come for this stream
	}
	var newest rtpNewest // the encoder's writes and the NACK responder's race
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		resend := !newest.note(h.SequenceNumber)
		// Stamped before the write: a goroutine descheduled after a write
		// would stamp late, that packet would look early, and the minimum
		// delay everything is measured from would be wrong for the next
		// 20-40 s. Stamped early, one packet looks queued, which the
		// floor ignores.
		if ext := h.GetExtension(uint8(id)); len(ext) >= 2 {
			c.onSent(binary.BigEndian.Uint16(ext), h.MarshalSize()+len(payload), resend)
		}
		return w.Write(h, payload, a)
	})
}

// rtpNewest tells new RTP sequence numbers from ones sent before (resends).
type rtpNewest struct {
	mu      sync.Mutex
	highest uint16
	started bool
}

// note reports whether seq is newer than every one noted before.
func (n *rtpNewest) note(seq uint16) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started && int16(seq-n.highest) <= 0 {
		return false
	}
	n.highest, n.started = seq, true
	return true
}

type sentBytes struct {
	at   time.Time
	size int
}

// sentSpan is the window the sending rate is measured over.
const sentSpan = 500 * time.Millisecond

// Pushback thresholds: the encoder should skip a frame while the link
// holds a long queue or while more left than the target allows.
const (
	pushbackQueue = 60 * time.Millisecond
	pushbackRate  = 1.1
)

// Pushback reports whether the sender should skip a frame: the standing
// queue is long, or what left in the last half second is well above the
// target. Skipping is a lower frame rate; sending is a growing queue, then
// losses, a keyframe request and a freeze.
func (c *congestion) Pushback() bool {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trimSent(now)
	sentBps := float64(c.sentTotal) * 8 / sentSpan.Seconds()
	return c.state.QueueDelay > pushbackQueue || sentBps > pushbackRate*float64(c.target.Load())
}

func (c *congestion) trimSent(now time.Time) {
	i := 0
	for i < len(c.sentLog) && now.Sub(c.sentLog[i].at) > sentSpan {
		c.sentTotal -= c.sentLog[i].size
		i++
	}
	c.sentLog = append(c.sentLog[:0], c.sentLog[i:]...)
}

func (c *congestion) onSent(seq uint16, size int, resend bool) {
	now := c.now()
	c.mu.Lock()
	c.trimSent(now)
	c.sentLog = append(c.sentLog, sentBytes{at: now, size: size})
	c.sentTotal += size
	c.sent[int(seq)%sentRing] = sentPacket{at: now, size: size, seq: seq, valid: true, resend: resend}
	c.mu.Unlock()
}

func (c *congestion) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, a, err := r.Read(b, a)
		if err != nil {
			return n, a, err
		}
		if a == nil {
			a = interceptor.Attributes{}
		}
		pkts, err := a.GetRTCPPackets(b[:n])
		if err != nil {
			return n, a, nil // not ours to refuse: the next reader says what is wrong
		}
		for _, p := range pkts {
			if fb, ok := p.(*rtcp.TransportLayerCC); ok {
				c.onFeedback(fb)
			}
		}
		return n, a, nil
	})
}

func (c *congestion) onFeedback(fb *rtcp.TransportLayerCC) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acks = c.acks[:0]
	walkTWCC(fb, func(seq uint16, received bool, arrival time.Duration) {
		p := &c.sent[int(seq)%sentRing]
		if !p.valid || p.seq != seq || p.acked || (!received && (p.lost || p.resend)) {
			return // unknown, too old, already counted, or a resend's copy
		}
		if received {
			p.acked = true
		} else {
			p.lost = true
		}
		c.acks = append(c.acks, ack{sent: p.at, size: p.size, received: received, arrival: arrival})
	})
	c.target.Store(int64(c.ctrl.onFeedback(now, c.acks)))
	prev := c.state
	c.state = c.ctrl.State()
	if c.state.Decreases > prev.Decreases {
		c.log.Debug("congestion: estimate lowered", "kbps", c.state.TargetBps/1000, "from_kbps", prev.TargetBps/1000,
			"queue_ms", c.state.QueueDelay.Milliseconds(), "delivered_kbps", c.state.DeliveredBps/1000, "loss", c.state.Loss)
	}
}

// TWCC packet status symbols (draft-holmer-rmcat-transport-wide-cc-extensions-01, 3.1.1).
const (
	twccNotReceived = 0
	twccSmallDelta  = 1
	twccLargeDelta  = 2
)

// walkTWCC calls f for each packet status of a feedback report, in
// sequence order, with the arrival time on the receiver's clock for received
// packets. A malformed report (more statuses than deltas, chunks past the
// count) ends the walk at the first inconsistency: what came before is kept.
func walkTWCC(fb *rtcp.TransportLayerCC, f func(seq uint16, received bool, arrival time.Duration)) {
	arrival := time.Duration(fb.ReferenceTime&0xffffff) * 64 * time.Millisecond
	seq := fb.BaseSequenceNumber
	left := int(fb.PacketStatusCount)
	deltas := fb.RecvDeltas
	status := func(sym uint16) bool {
		if left <= 0 {
			return false
		}
		left--
		switch sym {
		case twccSmallDelta, twccLargeDelta:
			if len(deltas) == 0 {
				return false
			}
			arrival += time.Duration(deltas[0].Delta) * time.Microsecond
			deltas = deltas[1:]
			f(seq, true, arrival)
		case twccNotReceived:
			f(seq, false, 0)
		default:
			return false
		}
		seq++
		return true
	}
	for _, ch := range fb.PacketChunks {
		switch ch := ch.(type) {
		case *rtcp.RunLengthChunk:
			for range ch.RunLength {
				if !status(ch.PacketStatusSymbol) {
					return
				}
			}
		case *rtcp.StatusVectorChunk:
			for _, sym := range ch.SymbolList {
				if !status(sym) {
					return
				}
			}
		}
		if left <= 0 {
			return
		}
	}
}
