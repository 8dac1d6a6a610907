// Package floodgen is the abuse load test: from one client address it holds
// slow clients (request bodies trickled a byte at a time), idle connections
// that never send a request, and signaling websockets (far past the caps),
// reopening whatever the server cuts, while a second client address probes
// /healthz and records its latency.
package floodgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/internal/procstat"
	"github.com/didacto/didacto/wire"
)

// Config sets the flood's size.
type Config struct {
	Server     string        // http://host:port
	From       string        // the flood's source address, e.g. 127.0.0.1
	ProbeFrom  string        // the probing client's source address, e.g. 127.0.0.2
	Slow       int           // slow clients (a body trickled a byte per Trickle)
	Trickle    time.Duration // default 5 s
	Idle       int           // connections that never send a request
	Sockets    int           // websockets attempted, spread over Accounts accounts
	Accounts   int           // default 40
	Duration   time.Duration // the measured time, after the flood is up
	ProbeEvery time.Duration // default 50 ms
	ServerPID  int           // when > 0, sample /proc/<pid> for RSS and CPU
	// NoProbe floods for Duration without probing: the probe then runs as
	// its own process (a flood of goroutines would slow a probe sharing it).
	NoProbe bool
}

// Result is what the probe saw and what the flood held.
type Result struct {
	Probes, ProbeErrors        int
	P50, P99, Max              time.Duration
	SlowCut, IdleCut           int64 // connections the server closed (and the flood reopened)
	SocketsHeld, SocketsCapped int64 // websockets open at the end / refused with 4029
	ServerCPUPercent           float64
	ServerRSSMiB               float64
	Slow, Idle, Sockets        int
}

func (r Result) String() string {
	return fmt.Sprintf("slow=%d idle=%d sockets=%d probes=%d errors=%d healthz p50=%s p99=%s max=%s slow_cut=%d idle_cut=%d sockets_held=%d sockets_capped=%d server cpu=%.0f%% rss=%.0fMiB",
		r.Slow, r.Idle, r.Sockets, r.Probes, r.ProbeErrors, r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond),
		r.Max.Round(10*time.Microsecond), r.SlowCut, r.IdleCut, r.SocketsHeld, r.SocketsCapped, r.ServerCPUPercent, r.ServerRSSMiB)
}

func dialer(from string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
}

// Run floods until the measured Duration has passed (or ctx ends).
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Trickle <= 0 {
		cfg.Trickle = 5 * time.Second
	}
	if cfg.Accounts <= 0 {
		cfg.Accounts = 40
	}
	if cfg.ProbeEvery <= 0 {
		cfg.ProbeEvery = 50 * time.Millisecond
	}
	u, err := url.Parse(cfg.Server)
	if err != nil || u.Host == "" {
		return Result{}, fmt.Errorf("floodgen: server %q: want http://host:port", cfg.Server)
	}
	d := dialer(cfg.From)
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	var tokens []string
	if cfg.Sockets > 0 {
		if tokens, err = accounts(ctx, hc, cfg.Server, cfg.Accounts); err != nil {
			return Result{}, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := Result{Slow: cfg.Slow, Idle: cfg.Idle, Sockets: cfg.Sockets}
	var wg sync.WaitGroup
	var held int64
	for i := range cfg.Slow {
		wg.Add(1)
		go func() { defer wg.Done(); slowClient(ctx, d, u.Host, cfg.Trickle, i, &res.SlowCut) }()
	}
	for range cfg.Idle {
		wg.Add(1)
		go func() { defer wg.Done(); idleClient(ctx, d, u.Host, &res.IdleCut) }()
	}
	wsBase := "ws" + strings.TrimPrefix(cfg.Server, "http") + "/api/v1/signal"
	// Refused handshakes leave their connection reusable: keep them, so the
	// flood does not measure loopback TCP set-up on the shared cores.
	wsClient := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: cfg.Sockets}}
	for i := range cfg.Sockets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			socket(ctx, wsClient, wsBase, tokens[i%len(tokens)], &held, &res.SocketsCapped)
		}()
	}
	// Let the flood build up before measuring.
	select {
	case <-time.After(3 * time.Second):
	case <-ctx.Done():
	}
	var before procstat.Sample
	if cfg.ServerPID > 0 {
		before, _ = procstat.Read(cfg.ServerPID)
	}
	var lat []time.Duration
	var errs int
	if cfg.NoProbe {
		sleep(ctx, cfg.Duration)
	} else {
		lat, errs = probe(ctx, cfg, u.Host)
	}
	if cfg.ServerPID > 0 {
		if after, err := procstat.Read(cfg.ServerPID); err == nil {
			res.ServerCPUPercent = 100 * float64(after.CPU-before.CPU) / float64(after.At.Sub(before.At))
			res.ServerRSSMiB = after.RSSMiB
		}
	}
	res.SocketsHeld = atomic.LoadInt64(&held)
	cancel()
	wg.Wait()
	res.Probes, res.ProbeErrors = len(lat)+errs, errs
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	res.P50, res.P99 = pct(lat, 0.50), pct(lat, 0.99)
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
	}
	if len(lat) == 0 && !cfg.NoProbe {
		return res, errors.New("floodgen: no probe answered")
	}
	return res, nil
}

// accounts registers students and signs them in from the flood's address.
func accounts(ctx context.Context, hc *http.Client, base string, n int) ([]string, error) {
	stamp := strconv.FormatInt(time.Now().UnixNano(), 36)
	var out []string
	for i := range n {
		email := fmt.Sprintf("flood-%s-%d@load.example", stamp, i)
		if err := post(ctx, hc, base+"/api/v1/auth/register", wire.RegisterRequest{Email: email, Password: "Fl00d-pass!", Name: "Flood", Role: wire.RoleStudent}, nil); err != nil {
			return nil, err
		}
		var pair wire.TokenPair
		if err := post(ctx, hc, base+"/api/v1/auth/login", wire.LoginRequest{Email: email, Password: "Fl00d-pass!"}, &pair); err != nil {
			return nil, err
		}
		out = append(out, pair.AccessToken)
	}
	return out, nil
}

func post(ctx context.Context, hc *http.Client, u string, body, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, "POST", u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("floodgen: POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("floodgen: POST %s: %d %s", u, resp.StatusCode, rb)
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

// slowClient keeps one login request open, sending its body a byte at a
// time; when the server cuts it, it starts again.
func slowClient(ctx context.Context, d *net.Dialer, host string, trickle time.Duration, i int, cut *int64) {
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			sleep(ctx, time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		_, err = fmt.Fprintf(c, "POST /api/v1/auth/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{", host)
		// The server answers (408 or 400) or closes when its read timeout
		// passes; a read that returns tells us.
		gone := make(chan struct{})
		go func() { _, _ = io.Copy(io.Discard, c); close(gone) }()
		for err == nil {
			select {
			case <-gone:
				err = io.EOF
			case <-ctx.Done():
				err = ctx.Err()
			case <-time.After(trickle):
				_, err = c.Write([]byte(" "))
			}
		}
		stop()
		c.Close()
		if ctx.Err() == nil {
			atomic.AddInt64(cut, 1)
		}
	}
}

// idleClient opens a connection and sends nothing; when the server cuts it,
// it opens another.
func idleClient(ctx context.Context, d *net.Dialer, host string, cut *int64) {
	for ctx.Err() == nil {
		c, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			sleep(ctx, time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, func() { c.Close() })
		_, _ = io.Copy(io.Discard, c)
		stop()
		c.Close()
		if ctx.Err() == nil {
			atomic.AddInt64(cut, 1)
		}
	}
}

// socket holds a signaling websocket open without joining; refused ones
// (429 before the upgrade, or 4029 after it) wait and try again.
func socket(ctx context.Context, hc *http.Client, u, token string, held, capped *int64) {
	for ctx.Err() == nil {
		c, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		if err != nil {
			wait := time.Second
			if resp != nil && resp.StatusCode == http.StatusTooManyRequests {
				atomic.AddInt64(capped, 1) // over the cap, refused before the upgrade
				// Like an agent, wait as asked: the flood runs on the same
				// two cores, and a tighter loop measures the flooder, not
				// the server.
				if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil {
					wait = time.Duration(s) * time.Second
				}
			}
			sleep(ctx, wait)
			continue
		}
		atomic.AddInt64(held, 1)
		for {
			if _, _, err = c.Read(ctx); err != nil {
				break
			}
		}
		atomic.AddInt64(held, -1)
		c.CloseNow()
		if websocket.CloseStatus(err) == 4029 {
			atomic.AddInt64(capped, 1)
		}
		sleep(ctx, 2*time.Second)
	}
}

// probe is the second client: GET /healthz every ProbeEvery for Duration,
// from another address, on one keep-alive connection (a new one after an
// error).
func probe(ctx context.Context, cfg Config, host string) ([]time.Duration, int) {
	d := dialer(cfg.ProbeFrom)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
	var lat []time.Duration
	errs := 0
	end := time.Now().Add(cfg.Duration)
	t := time.NewTicker(cfg.ProbeEvery)
	defer t.Stop()
	for time.Now().Before(end) && ctx.Err() == nil {
		start := time.Now()
		resp, err := hc.Get("http://" + host + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, bufio.NewReader(resp.Body))
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		if err != nil {
			errs++
		} else {
			lat = append(lat, time.Since(start))
		}
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return lat, errs
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}
