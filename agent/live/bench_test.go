package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/wire"
)

// percentile of sorted values (nearest rank).
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// BenchmarkFirstFrame: a pion professor joins the room, offers, and
// decodes; the metric is join → first decoded frame, per session.
func BenchmarkFirstFrame(b *testing.B) {
	d := testenv.StartXvfb(b, "1920x1080x24")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	r := newRoom(b)
	st := &states{}
	startAgent(ctx, b, r, d.Name, st, nil)
	st.wait(b, live.State{Mode: live.Idle})
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		prof := joinProfessor(ctx, b, r)
		prof.call(ctx)
		select {
		case at := <-prof.firstFrame:
			total += at.Sub(start)
		case <-ctx.Done():
			b.Fatal("no frame")
		}
		b.StopTimer()
		prof.pc.Close()
		prof.ws.CloseNow()
		st.wait(b, live.State{Mode: live.Idle})
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms-to-first-frame")
}

// BenchmarkControlLatency sends 1,000 moves over the unordered DataChannel
// (about 330 a second, under the controller's rate limit) and measures
// send → injected (the X server answered the XTest request) in this
// process's clock.
func BenchmarkControlLatency(b *testing.B) {
	d := testenv.StartXvfb(b, "1280x720x24")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var mu sync.Mutex
	sent := map[uint64]time.Time{}
	var lat []float64
	r := newRoom(b)
	st := &states{}
	startAgent(ctx, b, r, d.Name, st, func(raw []byte, err error) {
		now := time.Now()
		if err != nil {
			return
		}
		var ev wire.ControlEvent
		if json.Unmarshal(raw, &ev) != nil || ev.Type != wire.ControlMove {
			return
		}
		mu.Lock()
		if t, ok := sent[ev.Seq]; ok {
			lat = append(lat, now.Sub(t).Seconds()*1000)
		}
		mu.Unlock()
	})
	st.wait(b, live.State{Mode: live.Idle})
	prof := joinProfessor(ctx, b, r)
	prof.call(ctx)
	prof.send(ctx, wire.SignalMessage{Type: wire.SignalControlStart})
	prof.nextSession(ctx, wire.SessionControlState)
	b.ResetTimer()
	seq := uint64(0)
	for range b.N {
		for i := range 1000 {
			seq++
			ev := fmt.Sprintf(`{"type":"move","x":%.4f,"y":0.5,"seq":%d}`, float64(i%1000)/1000, seq)
			mu.Lock()
			sent[seq] = time.Now()
			mu.Unlock()
			prof.control(ev)
			time.Sleep(3 * time.Millisecond)
		}
	}
	b.StopTimer()
	time.Sleep(500 * time.Millisecond) // the last events
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	b.ReportMetric(percentile(lat, 50), "p50-ms")
	b.ReportMetric(percentile(lat, 99), "p99-ms")
	b.ReportMetric(float64(len(lat))/float64(b.N), "injected/1000")
}
