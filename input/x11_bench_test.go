//go:build linux

package input

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
)

// controlMix is 1,000 encoded events in the proportions of a remote-control
// session: mostly moves, then typing (down/up pairs, some Shift), clicks,
// wheel and a few characters typed as text.
func controlMix() [][]byte {
	var out [][]byte
	add := func(format string, args ...any) { out = append(out, []byte(fmt.Sprintf(format, args...))) }
	for i := 0; len(out) < 1000; i++ {
		x, y := float64(i%997)/997, float64(i%571)/571
		switch {
		case i%10 < 7:
			add(`{"type":"move","x":%v,"y":%v,"seq":%d,"t":1763900000000}`, x, y, i)
		case i%10 < 9:
			code := fmt.Sprintf("Key%c", 'A'+i%26)
			mods := 0
			if i%7 == 0 {
				mods = 1
				add(`{"type":"keydown","code":"ShiftLeft","key":"Shift","mods":1,"seq":%d}`, i)
			}
			add(`{"type":"keydown","code":"%s","key":"x","mods":%d,"seq":%d}`, code, mods, i)
			add(`{"type":"keyup","code":"%s","key":"x","mods":%d,"seq":%d}`, code, mods, i)
			if mods != 0 {
				add(`{"type":"keyup","code":"ShiftLeft","key":"Shift","seq":%d}`, i)
			}
		case i%30 == 9:
			add(`{"type":"wheel","x":%v,"y":%v,"dy":1,"seq":%d}`, x, y, i)
		case i%30 == 19:
			add(`{"type":"keydown","key":"한","seq":%d}`, i)
		default:
			add(`{"type":"down","x":%v,"y":%v,"button":"left","seq":%d}`, x, y, i)
			add(`{"type":"up","x":%v,"y":%v,"button":"left","seq":%d}`, x, y, i)
		}
	}
	return out[:1000]
}

// BenchmarkControlInject measures decode + validate + inject per event
// against Xvfb and reports p50/p99 over all events. Run with -benchtime=1x
// for exactly 1,000 events.
func BenchmarkControlInject(b *testing.B) {
	d := testenv.StartXvfb(b, "1920x1080x24")
	inj, err := NewInjector(InjectorOptions{Display: d.Name, Getenv: noEnv})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = inj.Close() })
	ctrl, err := NewController(context.Background(), inj, Options{
		Screen: Screen{W: 1920, H: 1080}, MoveRate: 1e9, MoveBurst: 1 << 30, KeyRate: 1e9, KeyBurst: 1 << 30,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer ctrl.Close()
	events := controlMix()
	var samples []time.Duration
	b.ResetTimer()
	for b.Loop() {
		for _, ev := range events {
			start := time.Now()
			if err := ctrl.HandleMessage(ev); err != nil {
				b.Fatalf("%s: %v", ev, err)
			}
			samples = append(samples, time.Since(start))
		}
	}
	b.StopTimer()
	slices.Sort(samples)
	pct := func(p float64) float64 {
		return float64(samples[int(p*float64(len(samples)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(samples[len(samples)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(len(samples)), "events")
}
