package vp8

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time. The benchmark machine is
// shared and often overloaded, so CPU time per frame is reported next to wall
// time: it is what a frame costs, wall time is what it cost today.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportTimes(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/frame")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/frame")
}

// Benchmarks on a synthetic coding desktop (see desktop_test.go). Run with a
// fixed frame count so the bitrate covers the same stretch of "typing":
//
//	go test -run '^$' -bench . -benchtime 150x ./rtc/vp8/

var resolutions = []struct {
	name string
	w, h int
}{{"720p", 1280, 720}, {"1080p", 1920, 1080}, {"540p", 960, 540}}

func BenchmarkToI420(b *testing.B) {
	for _, r := range resolutions[:2] {
		for _, order := range []PixelOrder{RGBA, BGRA} {
			name := map[PixelOrder]string{RGBA: "RGBA", BGRA: "BGRA"}[order]
			b.Run(r.name+"/"+name, func(b *testing.B) {
				desk := newDesktop(b, r.w, r.h)
				src := SourceFromRGBA(desk.img)
				src.Order = order
				dst := NewI420(r.w, r.h)
				b.SetBytes(int64(len(desk.img.Pix)))
				c0 := cpuTime(b)
				for b.Loop() {
					if err := ToI420(dst, src, 0); err != nil {
						b.Fatal(err)
					}
				}
				reportTimes(b, cpuTime(b)-c0)
			})
		}
	}
}

func BenchmarkScale1080pTo720p(b *testing.B) {
	src := newDesktop(b, 1920, 1080).i420(b)
	dst := NewI420(1280, 720)
	c0 := cpuTime(b)
	for b.Loop() {
		if err := Scale(dst, src, 0); err != nil {
			b.Fatal(err)
		}
	}
	reportTimes(b, cpuTime(b)-c0)
}

// BenchmarkEncode times the encoder alone on a stream of typing and
// scrolling at 30 fps, and reports the bitrate it produced.
func BenchmarkEncode(b *testing.B) {
	cases := []struct {
		res, cpu, threads, kbps int
	}{
		{0, 8, 1, 1500}, {0, 16, 1, 1500}, {0, 8, 2, 1500},
		{1, 8, 1, 2500}, {1, 16, 1, 2500}, {1, 8, 2, 2500},
		{1, 8, 1, 300}, {0, 8, 1, 300}, {2, 8, 1, 300}, // a poor link
	}
	for _, c := range cases {
		r := resolutions[c.res]
		b.Run(fmt.Sprintf("%s/cpu%d/threads%d/%dkbps", r.name, c.cpu, c.threads, c.kbps), func(b *testing.B) {
			desk := newDesktop(b, r.w, r.h)
			enc := newEncoder(b, Config{Width: r.w, Height: r.h, BitrateKbps: c.kbps, CPUUsed: c.cpu, Threads: c.threads, ScreenContent: true})
			// The opening keyframe is measured by BenchmarkKeyframe.
			if _, err := enc.Encode(desk.i420(b), 0, false); err != nil {
				b.Fatal(err)
			}
			var bytes, dropped, keys, maxFrame int
			var cpu time.Duration
			img := NewI420(r.w, r.h)
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				desk.step()
				if err := ToI420(img, SourceFromRGBA(desk.img), 0); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				c0 := cpuTime(b)
				frames, err := enc.Encode(img, time.Duration(i+1)*frameTime, false)
				cpu += cpuTime(b) - c0
				if err != nil {
					b.Fatal(err)
				}
				if len(frames) == 0 {
					dropped++
				}
				for _, f := range frames {
					bytes += len(f.Data)
					maxFrame = max(maxFrame, len(f.Data))
					if f.Keyframe {
						keys++
					}
				}
			}
			b.StopTimer()
			seconds := float64(b.N) / 30
			reportTimes(b, cpu)
			b.ReportMetric(float64(bytes)*8/1000/seconds, "kbps")
			b.ReportMetric(float64(dropped)/float64(b.N), "dropped/frame")
			b.ReportMetric(float64(maxFrame), "max-frame-B")
			b.ReportMetric(float64(keys), "keyframes")
		})
	}
}

// BenchmarkKeyframe forces every frame to be a keyframe (what a PLI costs).
func BenchmarkKeyframe(b *testing.B) {
	for _, r := range resolutions[:2] {
		for _, kbps := range []int{map[string]int{"720p": 1500, "1080p": 2500}[r.name]} {
			b.Run(fmt.Sprintf("%s/%dkbps", r.name, kbps), func(b *testing.B) {
				desk := newDesktop(b, r.w, r.h)
				enc := newEncoder(b, Config{Width: r.w, Height: r.h, BitrateKbps: kbps, Threads: 1, ScreenContent: true})
				img := desk.i420(b)
				var bytes int
				c0 := cpuTime(b)
				for i := range b.N {
					frames, err := enc.Encode(img, time.Duration(i)*frameTime, true)
					if err != nil {
						b.Fatal(err)
					}
					for _, f := range frames {
						if !f.Keyframe {
							b.Fatalf("frame %d not a keyframe", i)
						}
						bytes += len(f.Data)
					}
				}
				reportTimes(b, cpuTime(b)-c0)
				b.ReportMetric(float64(bytes)/float64(b.N), "B/keyframe")
			})
		}
	}
}

// BenchmarkDecodeCamera decodes a professor's 320x240 camera at 300 kbps
// (a moving picture), what the agent does 30 times a second in a session.
func BenchmarkDecodeCamera(b *testing.B) {
	enc, err := NewEncoder(Config{Width: 320, Height: 240, BitrateKbps: 300})
	if err != nil {
		b.Fatal(err)
	}
	img := NewI420(320, 240)
	var frames [][]byte
	for i := 0; i < 90; i++ {
		for y := 0; y < 240; y++ {
			for x := 0; x < 320; x++ {
				img.Y[y*img.YStride+x] = byte((x-160)*(x-160)/64 + (y+3*i)%240)
			}
		}
		out, err := enc.Encode(img, time.Duration(i)*33*time.Millisecond, i == 0)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range out {
			frames = append(frames, f.Data)
		}
	}
	enc.Close()
	dec, err := NewDecoder(DecoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { dec.Close() }()
	cpu := cpuTime(b)
	for i := 0; b.Loop(); i++ {
		if i%len(frames) == 0 { // start over at the keyframe
			dec.Close()
			if dec, err = NewDecoder(DecoderConfig{}); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := dec.Decode(frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
	}
	reportTimes(b, cpuTime(b)-cpu)
}
