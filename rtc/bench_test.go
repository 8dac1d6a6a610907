package rtc

import (
	"os/exec"
	"testing"
	"time"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/testenv"
)

// BenchmarkStreamFrame is one frame of the live loop (capture from a real X
// server, RGBA→I420, VP8 at 2.5 Mbps with 30 fps timestamps) on an idle
// desktop, with an xterm printing a line every 100 ms (typing-like), and
// under an xterm that scrolls text without pause (the worst case of a text
// desktop). Reported per encoded frame: capture-ms, convert-ms, encode-ms;
// kbps-at-30fps is the encoded bytes as a 30 fps stream and kept-% the
// share of frames the encoder did not drop to hold its bitrate.
func BenchmarkStreamFrame(b *testing.B) {
	for _, size := range []struct{ name, screen string }{{"720p", "1280x720x24"}, {"1080p", "1920x1080x24"}} {
		for _, content := range []string{"idle", "typing", "scrolling"} {
			b.Run(size.name+"/"+content, func(b *testing.B) {
				d := testenv.StartXvfb(b, size.screen)
				if content != "idle" {
					script := "while :; do date; sleep 0.1; done" // a line every 100 ms
					if content == "scrolling" {
						script = "while :; do ls -l /usr/bin /usr/lib; done" // the whole screen moves every frame
					}
					xterm := testenv.LookPath(b, "xterm")
					xdotool := testenv.LookPath(b, "xdotool")
					cmd := exec.Command(xterm, "-T", "bench", "-geometry", "400x120+0+0", "-e", "sh", "-c", script)
					cmd.Env = d.Env()
					p, err := testenv.StartProc(cmd)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { p.Stop(3 * time.Second) })
					search := exec.Command(xdotool, "search", "--sync", "--name", "bench")
					search.Env = d.Env()
					if out, err := search.CombinedOutput(); err != nil {
						b.Fatalf("xterm did not appear: %v %s", err, out)
					}
				}
				capt, err := capture.New(capture.Options{Screen: 0, Display: d.Name})
				if err != nil {
					b.Fatal(err)
				}
				defer capt.Close()
				st, err := NewStreamer(capt, StreamConfig{FPS: 30, StartKbps: 2500})
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				b.ResetTimer()
				for i := range b.N {
					if _, _, err := st.frame(2_500_000, time.Duration(i)*time.Second/30); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				s := st.Stats()
				n := float64(s.Frames)
				if n == 0 {
					b.Fatal("no frames")
				}
				ms := func(d time.Duration) float64 { return d.Seconds() * 1000 / n }
				b.ReportMetric(ms(s.Capture), "capture-ms")
				b.ReportMetric(ms(s.Convert), "convert-ms")
				b.ReportMetric(ms(s.Encode), "encode-ms")
				// Frames the encoder dropped to hold the bitrate count as time too.
				b.ReportMetric(float64(s.Bytes)*8*30/float64(b.N)/1000, "kbps-at-30fps")
				b.ReportMetric(100*n/float64(b.N), "kept-%")
			})
		}
	}
}
