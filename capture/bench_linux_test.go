//go:build linux

package capture

import (
	"image"
	"os/exec"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/kbinani/screenshot"
)

// benchDisplay is a 1080p Xvfb showing the text screen as its root
// background is not needed: capture cost does not depend on content.
func benchCapturer(b *testing.B, noSHM bool) *Capturer {
	d := testenv.StartXvfb(b, "1920x1080x24")
	c, err := New(Options{Screen: AllScreens, Getenv: envOf(d), NoSHM: noSHM})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

func BenchmarkCapture1080pXGBSHM(b *testing.B) {
	c := benchCapturer(b, false)
	var img *image.RGBA
	b.ResetTimer()
	for b.Loop() {
		var err error
		if img, err = c.CaptureInto(img); err != nil {
			b.Fatal(err)
		}
	}
	if !c.SHM() {
		b.Fatal("MIT-SHM not used")
	}
}

func BenchmarkCapture1080pXGBGetImage(b *testing.B) {
	c := benchCapturer(b, true)
	var img *image.RGBA
	for b.Loop() {
		var err error
		if img, err = c.CaptureInto(img); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCapture1080pKbinani is the library the agent used before: a new X
// connection per call. Failures are counted, not fatal (they happen under
// load, which is the point).
func BenchmarkCapture1080pKbinani(b *testing.B) {
	d := testenv.StartXvfb(b, "1920x1080x24")
	b.Setenv("DISPLAY", d.Name)
	r := image.Rect(0, 0, 1920, 1080)
	failed := 0
	for b.Loop() {
		if _, err := screenshot.CaptureRect(r); err != nil {
			failed++
		}
	}
	b.ReportMetric(float64(failed), "failures")
}

func BenchmarkScale1080pTo320(b *testing.B)  { benchScale(b, 320) }
func BenchmarkScale1080pTo640(b *testing.B)  { benchScale(b, 640) }
func BenchmarkScale1080pTo1280(b *testing.B) { benchScale(b, 1280) }

func benchScale(b *testing.B, w int) {
	src := textScreen(1920, 1080)
	var s Scaler
	for b.Loop() {
		s.Scale(src, w)
	}
}

func BenchmarkEncode320q70(b *testing.B)  { benchEncode(b, 320, 70) }
func BenchmarkEncode640q70(b *testing.B)  { benchEncode(b, 640, 70) }
func BenchmarkEncode1280q70(b *testing.B) { benchEncode(b, 1280, 70) }
func BenchmarkEncode1920q70(b *testing.B) { benchEncode(b, 1920, 70) }

func benchEncode(b *testing.B, w, q int) {
	var s Scaler
	img := s.Scale(textScreen(1920, 1080), w)
	var e Encoder
	n := 0
	for b.Loop() {
		out, err := e.Encode(img, q)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "bytes/frame")
}

func BenchmarkFingerprint320(b *testing.B) {
	var s Scaler
	img := s.Scale(textScreen(1920, 1080), 320)
	for b.Loop() {
		NewFingerprint(img)
	}
}

func BenchmarkFingerprint1080p(b *testing.B) {
	img := textScreen(1920, 1080)
	for b.Loop() {
		NewFingerprint(img)
	}
}

func BenchmarkDiffers(b *testing.B) {
	var s Scaler
	f := NewFingerprint(s.Scale(textScreen(1920, 1080), 320))
	g := f
	for b.Loop() {
		if f.Differs(&g, DefaultTolerance) {
			b.Fatal("differs")
		}
	}
}

// BenchmarkFrame1080pTo320 is one whole agent tick on a changed screen:
// capture, scale, fingerprint, encode, with a real xterm full of text on
// the screen (scaling and JPEG cost depend on the content).
func BenchmarkFrame1080pTo320(b *testing.B) {
	d := testenv.StartXvfb(b, "1920x1080x24")
	term := exec.Command(testenv.LookPath(b, "xterm"), "-geometry", "240x70+0+0", "-e", "sh", "-c",
		"ls -lR /usr/share/doc | head -n 400; sleep 600")
	term.Env = d.Env()
	tp, err := testenv.StartProc(term)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tp.Stop(2 * time.Second) })
	c, err := New(Options{Screen: AllScreens, Getenv: envOf(d)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	// Wait until the text is drawn: the picture is no longer one colour.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		img, err := c.Capture()
		if err == nil && !uniform(img) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the xterm never drew")
		}
	}
	b.ResetTimer()
	var (
		img *image.RGBA
		s   Scaler
		e   Encoder
	)
	for b.Loop() {
		var err error
		if img, err = c.CaptureInto(img); err != nil {
			b.Fatal(err)
		}
		small := s.Scale(img, 320)
		NewFingerprint(small)
		if _, err := e.Encode(small, 70); err != nil {
			b.Fatal(err)
		}
	}
}

// uniform reports a picture of a single colour.
func uniform(img *image.RGBA) bool {
	for i := 4; i < len(img.Pix); i += 4 {
		if img.Pix[i] != img.Pix[0] || img.Pix[i+1] != img.Pix[1] || img.Pix[i+2] != img.Pix[2] {
			return false
		}
	}
	return true
}
