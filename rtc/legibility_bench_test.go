package rtc

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/rtc/vp8"
)

// BenchmarkLegibility puts a terminal of 13 px text (the X core font 7x13)
// on a 1920x1080 screen, streams it through the real streamer at each
// estimate of the ladder for 3 s (one clock line changes 10 times a
// second, as a typing student's screen does), decodes the last frame as the
// browser would, scales it back to the screen's size if the plan had made
// it smaller, and compares the text region's luma with the screen's: PSNR
// in dB and SSIM (8x8 windows). Run it with -benchtime 1x;
// LEGIBILITY_PNG_DIR=dir also saves a crop of each decoded frame there.
func BenchmarkLegibility(b *testing.B) {
	d := testenv.StartXvfb(b, "1920x1080x24")
	xterm := testenv.LookPath(b, "xterm")
	script := `ls -l /usr/bin | head -60; while :; do printf '\033[70;1H%s' "$(date +%T.%N)"; sleep 0.1; done`
	cmd := exec.Command(xterm, "-T", "legibility", "-fn", "7x13", "-geometry", "260x75+0+0", "-e", "sh", "-c", script)
	cmd.Env = d.Env()
	p, err := testenv.StartProc(cmd)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.Stop(3 * time.Second) })
	time.Sleep(time.Second) // the listing is drawn
	capt, err := capture.New(capture.Options{Screen: 0, Display: d.Name})
	if err != nil {
		b.Fatal(err)
	}
	defer capt.Close()
	// The listing's lines (60 x 13 px from the top), not the clock's.
	text := image.Rect(0, 0, 1800, 780)
	for _, kbps := range []int{300, 600, 1000, 1500, 2500, 4000, 6000, 9000} {
		b.Run(fmt.Sprintf("%dkbps", kbps), func(b *testing.B) {
			for range b.N {
				psnr, ssim, plan := legibility(b, capt, kbps, text)
				b.ReportMetric(psnr, "psnr-db")
				b.ReportMetric(ssim, "ssim")
				b.ReportMetric(float64(plan.Width), "width")
				b.ReportMetric(float64(plan.FPS), "fps")
			}
		})
	}
}

func legibility(b *testing.B, capt *capture.Capturer, kbps int, text image.Rectangle) (psnr, ssim float64, plan Plan) {
	st, err := NewStreamer(capt, StreamConfig{FPS: 30, StartKbps: kbps})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	dec, err := vp8.NewDecoder(vp8.DecoderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer dec.Close()
	var last *image.YCbCr
	st.ForceKeyframe() // NewStreamer's warm-up frame was the first keyframe
	start := time.Now()
	for i := 0; time.Since(start) < 3*time.Second; i++ {
		frames, fps, err := st.frame(kbps*1000, time.Duration(i)*time.Second/30)
		if err != nil {
			b.Fatal(err)
		}
		for _, f := range frames {
			img, err := dec.Decode(f.Data)
			if err != nil {
				b.Fatal(err)
			}
			if img != nil {
				last = img
			}
		}
		time.Sleep(time.Second / time.Duration(max(fps, 1)))
	}
	if last == nil {
		b.Fatal("nothing decoded")
	}
	src, err := capt.CaptureInto(nil)
	if err != nil {
		b.Fatal(err)
	}
	plan = st.Stats().plan()
	psnr, ssim = compareLuma(src, last, text)
	if dir := os.Getenv("LEGIBILITY_PNG_DIR"); dir != "" {
		// What the professor reads, 400x130 px of it, at each rate.
		crop := last.SubImage(image.Rect(0, 0, 400*last.Bounds().Dx()/1920, 130*last.Bounds().Dy()/1080))
		var buf bytes.Buffer
		if err := png.Encode(&buf, crop); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("legibility-%05dkbps.png", kbps)), buf.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return psnr, ssim, plan
}

// plan reads the plan back from the stats.
func (s StreamStats) plan() Plan {
	return Plan{Width: s.Width, Height: s.Height, FPS: s.FPS, Kbps: s.Kbps}
}

// compareLuma compares the screen (RGBA) with a decoded frame (I420, maybe
// smaller: sampled bilinearly back to the screen's size) over r.
func compareLuma(src *image.RGBA, got *image.YCbCr, r image.Rectangle) (psnr, ssim float64) {
	sb, gb := src.Bounds(), got.Bounds()
	sx := float64(gb.Dx()) / float64(sb.Dx())
	sy := float64(gb.Dy()) / float64(sb.Dy())
	a := make([]float64, r.Dx()*r.Dy())
	g := make([]float64, len(a))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := src.PixOffset(x, y)
			p := src.Pix[i : i+3]
			a[(y-r.Min.Y)*r.Dx()+x-r.Min.X] = 0.257*float64(p[0]) + 0.504*float64(p[1]) + 0.098*float64(p[2]) + 16
			g[(y-r.Min.Y)*r.Dx()+x-r.Min.X] = bilinearY(got, (float64(x)+0.5)*sx-0.5, (float64(y)+0.5)*sy-0.5)
		}
	}
	var mse float64
	for i := range a {
		mse += (a[i] - g[i]) * (a[i] - g[i])
	}
	mse /= float64(len(a))
	psnr = 99
	if mse > 0 {
		psnr = 10 * math.Log10(255*255/mse)
	}
	return psnr, ssim8(a, g, r.Dx(), r.Dy())
}

func bilinearY(img *image.YCbCr, x, y float64) float64 {
	b := img.Bounds()
	x = math.Min(math.Max(x, 0), float64(b.Dx()-1))
	y = math.Min(math.Max(y, 0), float64(b.Dy()-1))
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, b.Dx()-1), min(y0+1, b.Dy()-1)
	fx, fy := x-float64(x0), y-float64(y0)
	at := func(x, y int) float64 { return float64(img.Y[y*img.YStride+x]) }
	top := at(x0, y0)*(1-fx) + at(x1, y0)*fx
	bot := at(x0, y1)*(1-fx) + at(x1, y1)*fx
	return top*(1-fy) + bot*fy
}

// ssim8 is the mean SSIM over non-overlapping 8x8 windows.
func ssim8(a, b []float64, w, h int) float64 {
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	var sum float64
	n := 0
	for by := 0; by+8 <= h; by += 8 {
		for bx := 0; bx+8 <= w; bx += 8 {
			var ma, mb float64
			for y := by; y < by+8; y++ {
				for x := bx; x < bx+8; x++ {
					ma += a[y*w+x]
					mb += b[y*w+x]
				}
			}
			ma /= 64
			mb /= 64
			var va, vb, cov float64
			for y := by; y < by+8; y++ {
				for x := bx; x < bx+8; x++ {
					da, db := a[y*w+x]-ma, b[y*w+x]-mb
					va += da * da
					vb += db * db
					cov += da * db
				}
			}
			va /= 63
			vb /= 63
			cov /= 63
			sum += ((2*ma*mb + c1) * (2*cov + c2)) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	return sum / float64(n)
}
