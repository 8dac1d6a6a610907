// Package loadgen simulates a lab against a running server: N agents
// uploading realistic JPEG thumbnails at their interval and M consoles
// watching the monitoring stream, and measures ingest latency, console
// staleness (capture time → SSE event seen) and the server's CPU and memory.
package loadgen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/didacto/didacto/internal/procstat"
	"github.com/didacto/didacto/wire"
)

// Config of one run.
type Config struct {
	Server    string        // base URL
	Agents    int           // simulated students
	Consoles  int           // simulated professors' consoles on the SSE stream
	Interval  time.Duration // upload interval per agent
	Duration  time.Duration // measured time after warm-up
	Warmup    time.Duration
	Width     int // thumbnail width
	ServerPID int // when > 0, sample /proc/<pid> for CPU and RSS
	Setup     int // parallel requests while creating accounts
	Logger    *slog.Logger
}

// Result of a run.
type Result struct {
	Agents, Consoles     int
	Uploads, Errors      int
	UploadsPerSec        float64
	IngestP50, IngestP99 time.Duration
	StaleP50, StaleP99   time.Duration
	Events               int
	ServerCPUPercent     float64 // of one core
	ServerRSSMiB         float64
	FrameBytes           int
}

func (r Result) String() string {
	return fmt.Sprintf("agents=%d consoles=%d uploads=%d (%.0f/s) errors=%d ingest p50=%s p99=%s staleness p50=%s p99=%s events=%d server cpu=%.0f%% rss=%.0fMiB frame=%dB",
		r.Agents, r.Consoles, r.Uploads, r.UploadsPerSec, r.Errors, r.IngestP50.Round(10*time.Microsecond), r.IngestP99.Round(10*time.Microsecond),
		r.StaleP50.Round(10*time.Microsecond), r.StaleP99.Round(10*time.Microsecond), r.Events, r.ServerCPUPercent, r.ServerRSSMiB, r.FrameBytes)
}

type client struct {
	base  string
	http  *http.Client
	token string
}

func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// register creates an account and returns a client logged in as it.
func register(ctx context.Context, hc *http.Client, base string, role wire.Role, email string) (*client, wire.User, error) {
	c := &client{base: base, http: hc}
	const pw = "Load-test-1!"
	if err := c.do(ctx, "POST", "/api/v1/auth/register", wire.RegisterRequest{Email: email, Password: pw, Name: email, Role: role}, nil); err != nil {
		return nil, wire.User{}, err
	}
	var pair wire.TokenPair
	if err := c.do(ctx, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: email, Password: pw}, &pair); err != nil {
		return nil, wire.User{}, err
	}
	c.token = pair.AccessToken
	return c, pair.User, nil
}

// Run sets up a lecture with cfg.Agents accepted students and measures.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Setup <= 0 {
		cfg.Setup = 8
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Agents + cfg.Consoles + 16, MaxConnsPerHost: 0}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	runID := strconv.FormatInt(time.Now().UnixNano(), 36)

	prof, _, err := register(ctx, hc, cfg.Server, wire.RoleProfessor, "prof-"+runID+"@load.example")
	if err != nil {
		return Result{}, fmt.Errorf("professor: %w", err)
	}
	// A load-test professor needs no plan: one lecture.
	var lec wire.Lecture
	if err := prof.do(ctx, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "load " + runID}, &lec); err != nil {
		return Result{}, err
	}
	if err := prof.do(ctx, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", lec.ID), nil, nil); err != nil {
		return Result{}, err
	}

	log.Info("creating students", "n", cfg.Agents)
	agents := make([]*client, cfg.Agents)
	sem := make(chan struct{}, cfg.Setup)
	var wg sync.WaitGroup
	var setupErr error
	var mu sync.Mutex
	for i := range agents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := register(ctx, hc, cfg.Server, wire.RoleStudent, fmt.Sprintf("s%d-%s@load.example", i, runID))
			var e wire.Enrollment
			if err == nil {
				err = c.do(ctx, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: lec.Code}, &e)
			}
			if err == nil {
				err = prof.do(ctx, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && setupErr == nil {
				setupErr = err
			}
			agents[i] = c
		}()
	}
	wg.Wait()
	if setupErr != nil {
		return Result{}, fmt.Errorf("creating students: %w", setupErr)
	}

	frames := make([][]byte, 16)
	for i := range frames {
		frames[i] = ScreenJPEG(cfg.Width, cfg.Width*9/16, int64(i))
	}

	runCtx, cancel := context.WithTimeout(ctx, cfg.Warmup+cfg.Duration)
	defer cancel()
	start := time.Now()
	measureFrom := start.Add(cfg.Warmup)
	rec := &recorder{}

	for i := 0; i < cfg.Consoles; i++ {
		go watch(runCtx, hc, prof, lec.ID, measureFrom, rec)
	}
	cpu0c := make(chan procstat.Sample, 1) // the server's CPU when measuring starts
	if cfg.ServerPID > 0 {
		go func() {
			select {
			case <-time.After(cfg.Warmup):
				s, _ := procstat.Read(cfg.ServerPID)
				cpu0c <- s
			case <-runCtx.Done():
				cpu0c <- procstat.Sample{}
			}
		}()
	}
	var agentsWG sync.WaitGroup
	for i, a := range agents {
		agentsWG.Add(1)
		go func() {
			defer agentsWG.Done()
			upload(runCtx, a, lec.ID, frames, cfg.Interval, int64(i), measureFrom, rec)
		}()
	}
	agentsWG.Wait()
	<-runCtx.Done()

	res := rec.result()
	res.Agents, res.Consoles, res.FrameBytes = cfg.Agents, cfg.Consoles, len(frames[0])
	res.UploadsPerSec = float64(res.Uploads) / cfg.Duration.Seconds()
	if cfg.ServerPID > 0 {
		cpu0 := <-cpu0c
		if cpu1, err := procstat.Read(cfg.ServerPID); err == nil && cpu0.At.After(start) {
			res.ServerCPUPercent = 100 * (cpu1.CPU - cpu0.CPU).Seconds() / cpu1.At.Sub(cpu0.At).Seconds()
			res.ServerRSSMiB = cpu1.RSSMiB
		}
	}
	return res, nil
}

// upload behaves like an agent: a new picture every interval (with jitter),
// one request at a time, never queueing.
func upload(ctx context.Context, c *client, lectureID int64, frames [][]byte, interval time.Duration, seed int64, from time.Time, rec *recorder) {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	// Spread the lab over the first interval, as the agents' jitter does.
	select {
	case <-time.After(time.Duration(rng.Int64N(int64(interval)))):
	case <-ctx.Done():
		return
	}
	url := fmt.Sprintf("%s/api/v1/lectures/%d/frame", c.base, lectureID)
	for n := 0; ; n++ {
		t0 := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "PUT", url, bytes.NewReader(frames[(int(seed)+n)%len(frames)]))
		req.Header.Set("Content-Type", "image/jpeg")
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set(wire.HeaderCapturedAt, t0.UTC().Format(time.RFC3339Nano))
		resp, err := c.http.Do(req)
		took := time.Since(t0)
		if ctx.Err() != nil {
			return
		}
		ok := err == nil && resp.StatusCode == 200
		if resp != nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if t0.After(from) {
			rec.upload(took, ok)
		}
		jitter := time.Duration(rng.Int64N(int64(interval)/5)) - interval/10
		select {
		case <-time.After(interval + jitter - took):
		case <-ctx.Done():
			return
		}
	}
}

// watch reads the SSE stream like a console and records capture → event time.
func watch(ctx context.Context, hc *http.Client, prof *client, lectureID int64, from time.Time, rec *recorder) {
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/lectures/%d/monitor/stream", prof.base, lectureID), nil)
	req.Header.Set("Authorization", "Bearer "+prof.token)
	sse := &http.Client{Transport: hc.Transport} // no timeout on a stream
	resp, err := sse.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		d, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok || !strings.Contains(d, `"tile"`) {
			continue
		}
		now := time.Now()
		var ev wire.MonitorEvent
		if json.Unmarshal([]byte(d), &ev) == nil && ev.Tile.CapturedAt != nil && ev.Tile.CapturedAt.After(from) {
			rec.event(now.Sub(*ev.Tile.CapturedAt))
		}
	}
}

type recorder struct {
	mu     sync.Mutex
	ingest []time.Duration
	stale  []time.Duration
	errors int
}

func (r *recorder) upload(d time.Duration, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		r.errors++
		return
	}
	r.ingest = append(r.ingest, d)
}

func (r *recorder) event(d time.Duration) {
	r.mu.Lock()
	r.stale = append(r.stale, d)
	r.mu.Unlock()
}

func (r *recorder) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Result{Uploads: len(r.ingest), Errors: r.errors, Events: len(r.stale),
		IngestP50: pct(r.ingest, 0.5), IngestP99: pct(r.ingest, 0.99),
		StaleP50: pct(r.stale, 0.5), StaleP99: pct(r.stale, 0.99)}
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// ScreenJPEG draws a desktop-like picture (title bar, text lines of varying
// length, a sidebar) and encodes it at quality 70, so frame sizes match what
// real agents send rather than flat colour.
func ScreenJPEG(w, h int, seed int64) []byte {
	rng := rand.New(rand.NewPCG(uint64(seed), 42))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	bg := color.RGBA{250, 250, 248, 255}
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = bg.R, bg.G, bg.B, 255
	}
	fill := func(x0, y0, x1, y1 int, c color.RGBA) {
		for y := max(0, y0); y < min(h, y1); y++ {
			for x := max(0, x0); x < min(w, x1); x++ {
				o := img.PixOffset(x, y)
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = c.R, c.G, c.B
			}
		}
	}
	fill(0, 0, w, h/18, color.RGBA{40, 44, 52, 255})
	fill(0, h/18, w/5, h, color.RGBA{230, 232, 236, 255})
	line := max(2, h/40)
	for y := h/18 + line; y < h-line; y += line * 2 {
		x := w/5 + line*2
		for x < w-line*4 && rng.IntN(10) > 0 {
			word := line * (1 + rng.IntN(5))
			shade := uint8(20 + rng.IntN(90))
			fill(x, y, x+word, y+line, color.RGBA{shade, shade, uint8(int(shade) + rng.IntN(60)), 255})
			x += word + line
		}
	}
	var b bytes.Buffer
	_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 70})
	return b.Bytes()
}
