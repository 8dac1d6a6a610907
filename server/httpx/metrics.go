package httpx

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// latencyBuckets are the histogram bounds in seconds.
var latencyBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}

// Metrics is a small Prometheus text-format registry: request counts and
// latency histograms per route, plus gauges and counters other packages
// register by name. It avoids a client library for a handful of series.
type Metrics struct {
	mu       sync.Mutex
	requests map[reqKey]*histogram
	gauges   map[string]func() float64
	counters map[string]*Counter
	help     map[string]string
}

type reqKey struct {
	route, method string
	status        int
}

type histogram struct {
	counts [len(latencyBuckets) + 1]uint64
	sum    float64
	n      uint64
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{requests: map[reqKey]*histogram{}, gauges: map[string]func() float64{},
		counters: map[string]*Counter{}, help: map[string]string{}}
}

// ObserveRequest records one finished request.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if m == nil {
		return
	}
	s := d.Seconds()
	m.mu.Lock()
	defer m.mu.Unlock()
	k := reqKey{route, MethodLabel(method), status}
	h := m.requests[k]
	if h == nil {
		h = &histogram{}
		m.requests[k] = h
	}
	i := sort.SearchFloat64s(latencyBuckets[:], s)
	h.counts[i]++
	h.sum += s
	h.n++
}

// MethodLabel is the method as a metrics label: a client can send any
// token as a method, and each distinct label is a series kept forever, so
// anything but the standard methods is "OTHER".
func MethodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// Gauge registers a value read at scrape time.
func (m *Metrics) Gauge(name, help string, read func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gauges[name] = read
	m.help[name] = help
}

// Counter is a monotonically increasing value.
type Counter struct {
	mu sync.Mutex
	v  map[string]float64 // by label string, e.g. `reason="size"`
}

// Add adds d to the series with the given labels (`key="value"` pairs).
func (c *Counter) Add(labels string, d float64) {
	c.mu.Lock()
	c.v[labels] += d
	c.mu.Unlock()
}

// Counter returns (creating) the named counter.
func (m *Metrics) Counter(name, help string) *Counter {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counters[name]
	if c == nil {
		c = &Counter{v: map[string]float64{}}
		m.counters[name] = c
		m.help[name] = help
	}
	return c
}

// ServeHTTP writes the Prometheus text exposition format.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	b := m.snapshot()
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

// Write writes every series in the text exposition format.
func (m *Metrics) Write(w io.Writer) error {
	_, err := w.Write(m.snapshot())
	return err
}

// snapshot renders every series under the lock into memory. The lock is
// never held while writing to a client: every request's metrics step needs
// it, so a scraper that stops reading would otherwise stall the server.
func (m *Metrics) snapshot() []byte {
	var w bytes.Buffer
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintln(&w, "# HELP didacto_http_request_duration_seconds HTTP request latency by route, method and status.")
	fmt.Fprintln(&w, "# TYPE didacto_http_request_duration_seconds histogram")
	keys := make([]reqKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.route != b.route {
			return a.route < b.route
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.status < b.status
	})
	for _, k := range keys {
		h := m.requests[k]
		labels := fmt.Sprintf(`route=%s,method=%s,status="%d"`, quote(k.route), quote(k.method), k.status)
		var cum uint64
		for i, b := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(&w, "didacto_http_request_duration_seconds_bucket{%s,le=\"%s\"} %d\n", labels, strconv.FormatFloat(b, 'g', -1, 64), cum)
		}
		fmt.Fprintf(&w, "didacto_http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %d\n", labels, h.n)
		fmt.Fprintf(&w, "didacto_http_request_duration_seconds_sum{%s} %g\n", labels, h.sum)
		fmt.Fprintf(&w, "didacto_http_request_duration_seconds_count{%s} %d\n", labels, h.n)
	}
	names := make([]string, 0, len(m.gauges))
	for n := range m.gauges {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&w, "# HELP %s %s\n# TYPE %s gauge\n%s %g\n", n, m.help[n], n, n, m.gauges[n]())
	}
	names = names[:0]
	for n := range m.counters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := m.counters[n]
		fmt.Fprintf(&w, "# HELP %s %s\n# TYPE %s counter\n", n, m.help[n], n)
		c.mu.Lock()
		series := make([]string, 0, len(c.v))
		for l := range c.v {
			series = append(series, l)
		}
		sort.Strings(series)
		for _, l := range series {
			if l == "" {
				fmt.Fprintf(&w, "%s %g\n", n, c.v[l])
			} else {
				fmt.Fprintf(&w, "%s{%s} %g\n", n, l, c.v[l])
			}
		}
		c.mu.Unlock()
	}
	return w.Bytes()
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
