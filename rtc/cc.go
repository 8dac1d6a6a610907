package rtc

import "github.com/pion/interceptor"

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
