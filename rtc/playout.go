package rtc

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// PlayoutDelayURI is the RTP header extension that tells the receiver how
// long to buffer frames before rendering. With min=max=0 Chrome renders at
// once (about 110 ms glass-to-glass on loopback instead of about 300 ms).
const PlayoutDelayURI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

// playoutDelayFactory builds interceptors that put a 0/0 playout delay on
// every outgoing video packet when the extension was negotiated.
type playoutDelayFactory struct{}

func (playoutDelayFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &playoutDelay{}, nil
}

type playoutDelay struct{ interceptor.NoOp }

func (*playoutDelay) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	id := 0
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == PlayoutDelayURI {
			id = e.ID
		}
	}
	if id <= 0 || id > 255 {
		return writer // not negotiated: the peer would not understand it
	}
	ext, err := rtp.PlayoutDelayExtension{MinDelay: 0, MaxDelay: 0}.Marshal()
	if err != nil {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		if err := h.SetExtension(uint8(id), ext); err != nil {
			return 0, err
		}
		return writer.Write(h, payload, a)
	})
}

// transportCCURI is the transport-wide sequence number extension that GCC
// needs on every packet.
const transportCCURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

// twccOnly applies the congestion controller only to streams that
// negotiated transport-wide sequence numbers: pion's GCC refuses to send a
// packet without one.
type twccOnly struct{ f interceptor.Factory }

func (t twccOnly) NewInterceptor(id string) (interceptor.Interceptor, error) {
	in, err := t.f.NewInterceptor(id)
	if err != nil {
		return nil, err
	}
	return &twccOnlyInterceptor{Interceptor: in}, nil
}

type twccOnlyInterceptor struct{ interceptor.Interceptor }

func (t *twccOnlyInterceptor) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == transportCCURI {
			return t.Interceptor.BindLocalStream(info, w)
		}
	}
	return w
}
