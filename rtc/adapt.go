package rtc

// Plan is what the video loop sends for a bandwidth estimate: the encoded
// size, the frame rate and the encoder's target bitrate.
type Plan struct {
	Width, Height int
	FPS           int
	Kbps          int
}

// PlanFor picks the size and frame rate for an estimate of bps bits per
// second. A text desktop stays readable at a low frame rate but not at a low
// resolution, and queued frames are latency, so the frame rate goes first,
// then the resolution; latency is never traded (no frame is ever queued).
func PlanFor(bps, srcW, srcH, maxFPS, maxWidth int) Plan {
	kbps := max(bps/1000, 1)
	width, fps := maxWidth, maxFPS
	switch {
	case kbps >= 1200:
	case kbps >= 600:
		fps = min(fps, 15)
	case kbps >= 300:
		width, fps = min(width, 1280), min(fps, 10)
	default:
		width, fps = min(width, 960), min(fps, 5)
	}
	w, h := fit(srcW, srcH, width)
	return Plan{Width: w, Height: h, FPS: max(fps, 1), Kbps: kbps}
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
