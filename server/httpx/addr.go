package httpx

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

const addrKey ctxKey = iota + 1

// ClientAddress records each request's client address for the per-address
// limits: the connection's peer, or, when the peer is one of the trusted
// proxies, the nearest address in X-Forwarded-For that is not one.
func ClientAddress(h http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := peer(r)
		if isTrusted(addr, trusted) {
			hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break // a malformed hop: trust nothing before it
				}
				addr = a.Unmap()
				if !isTrusted(addr, trusted) {
					break
				}
			}
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), addrKey, addr)))
	})
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func peer(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// ClientAddr is the request's client address (the peer outside the
// ClientAddress middleware).
func ClientAddr(r *http.Request) netip.Addr {
	if a, ok := r.Context().Value(addrKey).(netip.Addr); ok {
		return a
	}
	return peer(r)
}

// AddrKey names the client for per-address limits: an IPv4 address, or the
// /64 of an IPv6 one (one subscriber usually holds a whole /64).
func AddrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
