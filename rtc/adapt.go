package rtc

// Plan is what the video loop sends for a bandwidth estimate: the encoded
// size, the frame rate and the encoder's target bitrate.
type Plan struct {
	Width, Height int
	FPS           int
	Kbps          int
}

// The rate ladder. A professor reads text, so the resolution is the last
// thing to give up: the frame rate goes first (the quantizer rises by itself
// as the encoder's target falls), and the size only when even minPlanFPS
// would not fit. Screen content is cheap where it is still, so these are
// budgets for a desktop that changes, measured in bits per pixel and frame.
const (
	// fullRateBPP is what a desktop needs for the full frame rate: 2.5 Mbps
	// for 1080p at 30 fps, 1.1 Mbps for 720p.
	fullRateBPP = 0.04
	// sharpBPP is the most the encoder is given: bits spent on sharpness once
	// the link allows (9.3 Mbps at 1080p30).
	sharpBPP = 0.15
	// minPlanFPS is the lowest frame rate before the size goes down.
	minPlanFPS = 5
	// minSharpKbps: small screens may still spend this much.
	minSharpKbps = 2500
)

// ladderWidths are the smaller sizes, widest first.
var ladderWidths = [...]int{1600, 1280, 960, 640}

// PlanFor picks the size, frame rate and encoder bitrate for an estimate of
// bps bits per second, for a source of srcW×srcH (scaled to at most
// maxWidth) and at most maxFPS frames a second.
func PlanFor(bps, srcW, srcH, maxFPS, maxWidth int) Plan {
	kbps := max(bps/1000, 1)
	w, h := fit(srcW, srcH, maxWidth)
	for _, lw := range ladderWidths {
		if kbps >= needKbps(w, h, minPlanFPS) {
			break
		}
		if lw < w {
			w, h = fit(srcW, srcH, lw)
		}
	}
	fps := min(maxFPS, max(minPlanFPS, kbps*maxFPS/max(needKbps(w, h, maxFPS), 1)))
	return Plan{Width: w, Height: h, FPS: max(fps, 1), Kbps: min(kbps, SharpKbps(w, h, maxFPS))}
}

// needKbps is the ladder's budget for w×h at fps.
func needKbps(w, h, fps int) int { return int(float64(w*h*fps) * fullRateBPP / 1000) }

// StartKbps is where the estimate starts for a screen of w×h at fps: the
// full frame rate at the native size, with a fifth to spare, so a LAN shows
// the screen sharp from the first frame and a slow link is found within a
// few hundred milliseconds.
func StartKbps(w, h, fps int) int { return max(DefaultMinKbps, needKbps(w, h, fps)*6/5) }

// SharpKbps is the most the encoder is asked for at w×h and fps.
func SharpKbps(w, h, fps int) int {
	return max(minSharpKbps, int(float64(w*h*fps)*sharpBPP/1000))
}

// fit scales srcW×srcH down to at most width, keeping the aspect ratio and
// even sizes (4:2:0 chroma).
func fit(srcW, srcH, width int) (int, int) {
	if srcW <= width || width <= 0 {
		return srcW, srcH
	}
	h := (srcH*width/srcW + 1) &^ 1
	return width, max(h, 2)
}
