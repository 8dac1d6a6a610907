package live_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/wire"
)

// paintStamps shows time.Now() in Unix ms mod 2^16 as 16 black/white 40 px
// squares (bit 15 first) at the top left of the X screen, redrawn every
// 2 ms, until ctx ends. The test page reads them back from the video.
func paintStamps(ctx context.Context, tb testing.TB, display string) {
	tb.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		tb.Fatal(err)
	}
	scr := xproto.Setup(c).DefaultScreen(c)
	wid, err := xproto.NewWindowId(c)
	if err != nil {
		tb.Fatal(err)
	}
	xproto.CreateWindow(c, scr.RootDepth, wid, scr.Root, 0, 0, 640, 40, 0, xproto.WindowClassInputOutput,
		scr.RootVisual, xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{scr.BlackPixel, 1})
	xproto.MapWindow(c, wid)
	gc := func(pixel uint32) xproto.Gcontext {
		id, err := xproto.NewGcontextId(c)
		if err != nil {
			tb.Fatal(err)
		}
		xproto.CreateGC(c, id, xproto.Drawable(wid), xproto.GcForeground, []uint32{pixel})
		return id
	}
	white, black := gc(scr.WhitePixel), gc(scr.BlackPixel)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.Close()
		for ctx.Err() == nil {
			v := time.Now().UnixMilli() & 0xffff
			var wr, br []xproto.Rectangle
			for i := range 16 {
				r := xproto.Rectangle{X: int16(i * 40), Y: 0, Width: 40, Height: 40}
				if v>>(15-i)&1 == 1 {
					wr = append(wr, r)
				} else {
					br = append(br, r)
				}
			}
			xproto.PolyFillRectangle(c, xproto.Drawable(wid), white, wr)
			xproto.PolyFillRectangle(c, xproto.Drawable(wid), black, br)
			if _, err := xproto.GetInputFocus(c).Reply(); err != nil { // a round trip: drawn
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	tb.Cleanup(func() { <-done })
}

// BenchmarkChromiumSession measures one session with headless Chromium as
// the professor (run it with -benchtime 1x): page start → first decoded
// frame, glass-to-glass (a timestamp drawn on the X screen, read back from
// the video in the page) and page → injected latency of 1,000 moves over
// the DataChannel (the events' ms timestamps, so ±1 ms).
func BenchmarkChromiumSession(b *testing.B) {
	for _, size := range []struct{ name, screen string }{{"720p", "1280x720x24"}, {"1080p", "1920x1080x24"}} {
		b.Run(size.name, func(b *testing.B) { benchChromium(b, size.screen) })
	}
}

func benchChromium(b *testing.B, screen string) {
	d := testenv.StartXvfb(b, screen)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	paintStamps(ctx, b, d.Name)
	var mu sync.Mutex
	var inject []float64
	page := servePage(b)
	r := newRoom(b, func(c *config.Config) { c.PublicURL = page.URL })
	st := &states{}
	startAgent(ctx, b, r, d.Name, st, func(raw []byte, err error) {
		now := time.Now().UnixMilli()
		var ev wire.ControlEvent
		if err != nil || json.Unmarshal(raw, &ev) != nil || ev.Type != wire.ControlMove || ev.T == 0 {
			return
		}
		mu.Lock()
		inject = append(inject, float64(now-ev.T))
		mu.Unlock()
	})
	st.wait(b, live.State{Mode: live.Idle})
	var first, g2g, fps []float64
	b.ResetTimer()
	for range b.N {
		br := startBrowser(ctx, b, r, page)
		br.call(`await page.waitForFunction(() => S.firstFrame > 0, null, {timeout: 30000});`)
		var ms float64
		br.eval(`S.firstFrame - S.t0`, &ms)
		var tm map[string]any
		br.eval(`({ws: S.tWs, joined: S.tJoined, offer: S.tOffer, answer: S.tAnswer, ice: S.tIce, connected: S.tConnected, first: S.firstFrame - S.t0, firstWall: S.firstWall, connWall: S.connWall, trackWall: S.trackWall, meta: S.firstMeta})`, &tm)
		b.Logf("page timings (ms from page start; wall clocks in ms): %v", tm)
		first = append(first, ms)

		decoded := func() float64 {
			var n float64
			br.eval(`pc.getStats().then(s => { let n = 0; s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') n = r.framesDecoded; }); return n; })`, &n)
			return n
		}
		n0 := decoded()
		br.call(`await page.waitForTimeout(3000);`)
		fps = append(fps, (decoded()-n0)/3)
		br.call(`await page.evaluate(() => { S.g2g = []; S.readStamp = true; }); await page.waitForTimeout(5000); await page.evaluate(() => { S.readStamp = false; });`)
		var in map[string]any
		br.eval(`pc.getStats().then(s => { let o = {}; s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') o = {framesReceived: r.framesReceived, framesDecoded: r.framesDecoded, framesDropped: r.framesDropped, pliCount: r.pliCount, firCount: r.firCount, nackCount: r.nackCount, packetsLost: r.packetsLost, keyFramesDecoded: r.keyFramesDecoded, jitterBufferDelay: r.jitterBufferDelay, jitterBufferEmittedCount: r.jitterBufferEmittedCount, totalDecodeTime: r.totalDecodeTime, decoder: r.decoderImplementation}; }); return o; })`, &in)
		b.Logf("page video stats: %v", in)
		var g []float64
		br.eval(`S.g2g`, &g)
		g2g = append(g2g, g...)

		br.call(`await page.evaluate(() => startControl()); await page.waitForFunction(() => S.controlAccepted === true, null, {timeout: 15000});`)
		br.call(`await page.evaluate(async () => { for (let i = 0; i < 1000; i++) { control({type: 'move', x: (i % 1000) / 1000, y: 0.5, seq: i + 1}); await new Promise(r => setTimeout(r, 3)); } });`)
		time.Sleep(time.Second)
		br.call(`await page.close();`)
		st.wait(b, live.State{Mode: live.Idle})
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	for _, s := range [][]float64{first, g2g, inject, fps} {
		slices.Sort(s)
	}
	b.ReportMetric(percentile(first, 50), "first-frame-ms")
	b.ReportMetric(percentile(fps, 50), "decoded-fps")
	b.ReportMetric(percentile(g2g, 50), "g2g-p50-ms")
	b.ReportMetric(percentile(g2g, 99), "g2g-p99-ms")
	b.ReportMetric(float64(len(g2g)), "g2g-samples")
	b.ReportMetric(percentile(inject, 50), "inject-p50-ms")
	b.ReportMetric(percentile(inject, 99), "inject-p99-ms")
	b.ReportMetric(float64(len(inject))/float64(b.N), "injected/1000")
}
