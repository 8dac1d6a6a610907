package live_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb/xproto"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/wire"
)

// browser is headless Chromium driven through testdata/e2e/driver.mjs: each
// call runs a snippet with playwright's page in scope.
type browser struct {
	tb   testing.TB
	proc *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	log  *strings.Builder
}

// startBrowser serves testdata/e2e/professor.html and opens it in Chromium
// as the professor of r, with extra query parameters ("media=1"). The
// server must allow the page's origin.
func startBrowser(ctx context.Context, tb testing.TB, r *room, page *httptest.Server, extra ...string) *browser {
	tb.Helper()
	node := testenv.LookPath(tb, "node")
	chromium := testenv.LookPath(tb, "chromium")
	dir, err := filepath.Abs(filepath.Join("testdata", "e2e"))
	if err != nil {
		tb.Fatal(err)
	}
	// playwright-core from this package's testdata (npm ci there) or from
	// tests/e2e, which scripts/setup.sh installs.
	pwc := ""
	for _, d := range []string{filepath.Join(dir, "node_modules", "playwright-core"), filepath.Join(dir, "..", "..", "..", "..", "tests", "e2e", "node_modules", "playwright-core")} {
		if _, err := os.Stat(filepath.Join(d, "index.mjs")); err == nil {
			pwc = filepath.Join(d, "index.mjs")
			break
		}
	}
	if pwc == "" {
		testenv.Missing(tb, "playwright-core not installed in agent/live/testdata/e2e nor tests/e2e (scripts/setup.sh)")
	}
	var ticket struct {
		Ticket string `json:"ticket"`
	}
	r.prof.Must(200, "POST", "/api/v1/signal/ticket", nil, &ticket)
	q := url.Values{
		"ws":      {"ws" + strings.TrimPrefix(r.srv.URL, "http") + "/api/v1/signal"},
		"ticket":  {ticket.Ticket},
		"lecture": {fmt.Sprint(r.lecture.ID)},
		"student": {fmt.Sprint(r.stud.User.ID)},
	}
	if os.Getenv("LIVE_TEST_NOPLAYOUT") != "" {
		q.Set("noplayout", "1")
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		q.Set(k, v)
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "driver.mjs"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "PLAYWRIGHT_CORE="+pwc, "PAGE_URL="+page.URL+"/?"+q.Encode())
	cmd.WaitDelay = 5 * time.Second
	b := &browser{tb: tb, proc: cmd, log: &strings.Builder{}}
	cmd.Stderr = b.log
	if b.in, err = cmd.StdinPipe(); err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		b.in.Close()
		_ = cmd.Wait()
		if tb.Failed() {
			tb.Logf("browser log:\n%s", b.log.String())
		}
	})
	b.out = bufio.NewScanner(stdout)
	b.out.Buffer(make([]byte, 1<<20), 1<<20)
	if got := b.call(""); string(got) != `"ready"` {
		tb.Fatalf("driver said %s", got)
	}
	return b
}

// call runs js (the body of an async function of page) and returns its JSON
// result; js "" only reads the next line.
func (b *browser) call(js string) json.RawMessage {
	b.tb.Helper()
	if js != "" {
		if _, err := io.WriteString(b.in, strings.ReplaceAll(js, "\n", " ")+"\n"); err != nil {
			b.tb.Fatalf("driver: %v\n%s", err, b.log.String())
		}
	}
	if !b.out.Scan() {
		b.tb.Fatalf("driver ended: %v\n%s", b.out.Err(), b.log.String())
	}
	var res struct {
		OK  json.RawMessage `json:"ok"`
		Err string          `json:"err"`
	}
	if err := json.Unmarshal(b.out.Bytes(), &res); err != nil {
		b.tb.Fatalf("driver said %q: %v", b.out.Text(), err)
	}
	if res.Err != "" {
		b.tb.Fatalf("in the browser: %s\n(js: %s)", res.Err, js)
	}
	return res.OK
}

// eval runs an expression in the page and decodes the result into out.
func (b *browser) eval(expr string, out any) {
	b.tb.Helper()
	raw := b.call("return await page.evaluate(() => " + expr + ");")
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.tb.Fatalf("%s = %s: %v", expr, raw, err)
		}
	}
}

func servePage(tb testing.TB) *httptest.Server { return servePageWith(tb, nil) }

// servePageWith serves the page and, on /relay?to=host:port, whatever
// relay answers (the shaped-link tests make their relay there).
func servePageWith(tb testing.TB, relay http.HandlerFunc) *httptest.Server {
	html, err := os.ReadFile(filepath.Join("testdata", "e2e", "professor.html"))
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	if relay != nil {
		mux.HandleFunc("/relay", relay)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(html)
	})
	s := httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

// TestLiveSessionWithChromium is the session with headless Chromium as the
// professor: the video decodes in the page, the page's mouse and keyboard
// reach the X server, and keys held when the page closes are released.
func TestLiveSessionWithChromium(t *testing.T) {
	// 720p, and 1080p: control events are injected while the largest
	// stream a lab screen sends flows.
	for _, size := range []struct{ w, h int }{{1280, 720}, {1920, 1080}} {
		t.Run(fmt.Sprintf("%dx%d", size.w, size.h), func(t *testing.T) { liveSessionWithChromium(t, size.w, size.h) })
	}
}

func liveSessionWithChromium(t *testing.T, w, h int) {
	xdotool := testenv.LookPath(t, "xdotool")
	xterm := testenv.LookPath(t, "xterm")
	d := testenv.StartXvfb(t, fmt.Sprintf("%dx%dx24", w, h))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	out := filepath.Join(t.TempDir(), "typed.txt")
	cmd := exec.Command(xterm, "-T", "live-chromium", "-geometry", "200x60+0+0", "-e", "sh", "-c", "cat > "+out)
	cmd.Env = d.Env()
	xp, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { xp.Stop(3 * time.Second) })
	xdo := func(args ...string) string {
		c := exec.Command(xdotool, args...)
		c.Env = d.Env()
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	win := strings.Fields(xdo("search", "--sync", "--name", "live-chromium"))[0]

	page := servePage(t)
	r := newRoom(t, func(c *config.Config) { c.PublicURL = page.URL })
	st := &states{}
	startAgent(ctx, t, r, d.Name, st, nil)
	st.wait(t, live.State{Mode: live.Idle})

	b := startBrowser(ctx, t, r, page)
	b.call(`await page.waitForFunction(() => S.firstFrame > 0 && document.getElementById('v').videoWidth > 0, null, {timeout: 30000});`)
	st.wait(t, live.State{Mode: live.Viewed, Professor: "Prof Lee"})
	var video struct {
		Width, Height int
		FirstMs       float64
	}
	b.eval(`({width: document.getElementById('v').videoWidth, height: document.getElementById('v').videoHeight, firstMs: S.firstFrame - S.t0})`, &video)
	if video.Width != w || video.Height != h {
		t.Errorf("video %dx%d, want %dx%d", video.Width, video.Height, w, h)
	}
	t.Logf("page start → first decoded frame: %.0f ms", video.FirstMs)
	b.call(`await page.waitForFunction(async () => { const s = await pc.getStats(); let n = 0; s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') n = r.framesDecoded; }); return n >= 5; }, null, {timeout: 20000});`)
	var screens wire.SessionMessage
	b.eval(`S.screens`, &screens)
	if len(screens.Screens) != 1 || screens.Screens[0].Width != w {
		t.Errorf("screens %+v", screens)
	}

	b.call(`await page.evaluate(() => startControl()); await page.waitForFunction(() => S.controlAccepted === true, null, {timeout: 15000});`)
	st.wait(t, live.State{Mode: live.Controlled, Professor: "Prof Lee"})

	// The video element is 640x360 at the page's origin: page pixel (x, y)
	// is screen pixel (x*w/640, y*h/360).
	b.call(`await page.mouse.move(320, 180);`)
	eventually(t, "the pointer at the centre", func() bool { x, y, _ := pointer(t, d.Name); return x == w/2 && y == h/2 })
	b.call(`await page.mouse.move(160, 90); await page.mouse.down();`)
	eventually(t, "button 1 down at a quarter", func() bool {
		x, y, m := pointer(t, d.Name)
		return x == w/4 && y == h/4 && m&xproto.ButtonMask1 != 0
	})
	b.call(`await page.mouse.up();`)
	eventually(t, "button 1 up", func() bool { _, _, m := pointer(t, d.Name); return m&xproto.ButtonMask1 == 0 })

	xdo("windowfocus", "--sync", win)
	// Real key presses in the page (Shift+H, as a person types it).
	b.call(`await page.keyboard.down('Shift'); await page.keyboard.press('KeyH'); await page.keyboard.up('Shift'); await page.keyboard.type('ello'); await page.keyboard.press('Enter');`)
	var got []byte
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got, _ = os.ReadFile(out); string(got) == "Hello\n" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if string(got) != "Hello\n" {
		t.Fatalf("xterm wrote %q, want %q", got, "Hello\n")
	}

	// Shift held in the page, then the page closes: the agent lets go.
	b.call(`await page.keyboard.down('Shift');`)
	eventually(t, "shift held", func() bool { _, _, m := pointer(t, d.Name); return m&xproto.ModMaskShift != 0 })
	b.call(`await page.close();`)
	eventually(t, "shift released after the page closed", func() bool { _, _, m := pointer(t, d.Name); return m == 0 })
	st.wait(t, live.State{Mode: live.Idle})
}
