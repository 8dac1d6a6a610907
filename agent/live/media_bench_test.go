package live_test

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/config"
)

// cpuSeconds is this process's user+system CPU time.
func cpuSeconds(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkChromiumMediaSession measures a session's sound with headless
// Chromium as the professor and the agent on a real PulseAudio, on
// loopback (run it with -benchtime 1x):
//
//   - cpu-%: the agent's CPU (this test process: the in-process server only
//     answers pings meanwhile) over 20 s of a session at 1280x720, "screen"
//     without any sound or camera, "full" with the professor's camera and
//     voice coming in and the student's voice going out;
//   - mouth-to-ear student → professor: a tone starts in the student's
//     microphone (the moment it enters PulseAudio) until the page's
//     analyser hears it (±5 ms polling);
//   - professor → student: a 1 kHz burst starts in the page's WebAudio graph
//     until it reaches the student's speaker sink (parec's 20 ms chunks, so
//     up to 20 ms late, plus the recorder's own 10 ms latency).
func BenchmarkChromiumMediaSession(b *testing.B) {
	b.Run("screen", func(b *testing.B) { benchMedia(b, false) })
	b.Run("full", func(b *testing.B) { benchMedia(b, true) })
}

func benchMedia(b *testing.B, media bool) {
	d := testenv.StartXvfb(b, "1280x720x24")
	pa := testenv.StartPulse(b, 440)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	page := servePage(b)
	r := newRoom(b, func(c *config.Config) { c.PublicURL = page.URL })
	st := &states{}
	cam := &cameraSink{}
	startAgent(ctx, b, r, d.Name, st, nil, func(c *live.Config) {
		c.OnCamera = cam.frame
		c.NoAudio = !media
		c.Logger = nil // a quiet log: its lines are CPU too
	})
	st.wait(b, live.State{Mode: live.Idle})
	var up, down []float64
	var cpu float64
	b.ResetTimer()
	for range b.N {
		extra := []string{}
		if media {
			extra = append(extra, "media=1")
		}
		br := startBrowser(ctx, b, r, page, extra...)
		br.call(`await page.waitForFunction(() => S.firstFrame > 0, null, {timeout: 30000});`)
		if media {
			st.waitFor(b, "camera and sound", func(s live.State) bool {
				return s.Media.Camera && s.Media.Microphone == live.DeviceOn && s.Media.Speaker == live.DeviceOn
			})
		}
		time.Sleep(2 * time.Second) // past the start-up: encoder, estimates, jitter buffers
		c0, t0 := cpuSeconds(b), time.Now()
		time.Sleep(20 * time.Second)
		cpu = 100 * (cpuSeconds(b) - c0) / time.Since(t0).Seconds()
		frames := cam.frames.Load()
		if !media {
			br.call(`await page.close();`)
			st.wait(b, live.State{Mode: live.Idle})
			continue
		}
		if frames == 0 {
			b.Fatal("no camera frames during the full session")
		}
		// Student → professor: tone bursts of 300 ms, 700 ms apart.
		for i := 0; i < 10; i++ {
			pa.Speak(false)
			time.Sleep(700 * time.Millisecond)
			var n int
			br.eval(`S.onsets.length`, &n)
			start := pa.Speak(true)
			deadline := time.Now().Add(3 * time.Second)
			for {
				var on []int64
				br.eval(`S.onsets`, &on)
				if len(on) > n {
					up = append(up, float64(on[n]-start.UnixMilli()))
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("burst %d never heard in the page", i)
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
		}
		// Professor → student: the page's tone, onset on the speaker sink.
		br.call(`await page.evaluate(() => toneMic());`)
		rec := pa.StartRecording(b)
		for i := 0; i < 10; i++ {
			br.call(`await page.evaluate(() => burst(false));`)
			time.Sleep(700 * time.Millisecond)
			var startMs int64
			br.eval(`burst(true)`, &startMs)
			start := time.UnixMilli(startMs)
			deadline := time.Now().Add(3 * time.Second)
			for {
				if at, ok := rec.Onset(start, 0.05); ok {
					down = append(down, float64(at.Sub(start).Milliseconds()))
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("burst %d never reached the student's speakers", i)
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(300 * time.Millisecond)
		}
		rec.Stop()
		br.call(`await page.close();`)
		st.wait(b, live.State{Mode: live.Idle})
	}
	b.StopTimer()
	b.ReportMetric(cpu, "cpu-%")
	if media {
		slices.Sort(up)
		slices.Sort(down)
		b.ReportMetric(percentile(up, 50), "mouth-to-ear-up-p50-ms")
		b.ReportMetric(percentile(up, 90), "mouth-to-ear-up-p90-ms")
		b.ReportMetric(percentile(down, 50), "mouth-to-ear-down-p50-ms")
		b.ReportMetric(percentile(down, 90), "mouth-to-ear-down-p90-ms")
		b.Logf("student → professor ms: %v; professor → student ms: %v", up, down)
	}
}
