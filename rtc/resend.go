package rtc

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// resendShare is the part of the target that retransmissions may use.
// Measured through a shaped link: with no limit, a 2 Mbps bottleneck hit
// at 12 Mbps lost most packets, the receiver asked for every one of them
// again every RTT, and the resends alone kept the queue full for as long
// as the session lasted, so the estimate fell to its minimum. (pion's NACK
// responder has a limit of its own, but only its GCC interceptor can turn
// it on.)
const resendShare = 0.25

// resendWindow is the span the retransmitted bytes are counted over.
const resendWindow = 500 * time.Millisecond

// resendLimiterFactory makes one resendLimiter per connection. It sits
// between pion's NACK responder and the TWCC header interceptor (added to
// the registry after the latter and before the former), so a resend it
// lets through gets a transport sequence number of its own and one it
// drops leaves no gap in them.
type resendLimiterFactory struct {
	target func() int // bits per second
	now    func() time.Time
}

func (f resendLimiterFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	now := f.now
	if now == nil {
		now = time.Now
	}
	return &resendLimiter{target: f.target, now: now, streams: map[uint32]*resendStream{}}, nil
}

type resendLimiter struct {
	interceptor.NoOp
	target func() int
	now    func() time.Time

	mu      sync.Mutex
	streams map[uint32]*resendStream
	sent    []resent // within resendWindow, oldest first
	bytes   int      // sum of sent
}

type resendStream struct {
	newest rtpNewest
	last   [1024]time.Time // when each sequence number (mod 1024) was last resent
}

// resendGap is how soon the same packet may be resent again: a receiver
// that asks again before the first resend could arrive gets a duplicate,
// which costs the link and tells it nothing.
const resendGap = 100 * time.Millisecond

type resent struct {
	at   time.Time
	size int
}

func (l *resendLimiter) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	l.mu.Lock()
	st := &resendStream{}
	l.streams[info.SSRC] = st
	l.mu.Unlock()
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if !l.allow(st, h.SequenceNumber, h.MarshalSize()+len(payload)) {
			return h.MarshalSize() + len(payload), nil // dropped: the receiver asks again or a keyframe repairs it
		}
		return w.Write(h, payload, a)
	})
}

func (l *resendLimiter) UnbindLocalStream(info *interceptor.StreamInfo) {
	l.mu.Lock()
	delete(l.streams, info.SSRC)
	l.mu.Unlock()
}

// allow says whether a packet may go: every new packet does; one whose
// sequence number was sent before is a resend and goes while the resends
// of the last resendWindow stay within resendShare of the target, and not
// twice within resendGap.
func (l *resendLimiter) allow(st *resendStream, seq uint16, size int) bool {
	if st.newest.note(seq) {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if last := st.last[seq%1024]; !last.IsZero() && now.Sub(last) < resendGap {
		return false
	}
	i := 0
	for i < len(l.sent) && now.Sub(l.sent[i].at) > resendWindow {
		l.bytes -= l.sent[i].size
		i++
	}
	l.sent = l.sent[i:]
	budget := int(float64(l.target()) * resendShare * resendWindow.Seconds() / 8)
	if l.bytes+size > budget {
		return false
	}
	st.last[seq%1024] = now
	l.sent = append(l.sent, resent{at: now, size: size})
	l.bytes += size
	return true
}
