package rtc

import "testing"

func TestPlanFor(t *testing.T) {
	cases := []struct {
		bps, w, h   int
		want        Plan
		description string
	}{
		{20_000_000, 1920, 1080, Plan{1920, 1080, 30, 9331}, "LAN: native size, full rate, bits on sharpness"},
		{2_500_000, 1920, 1080, Plan{1920, 1080, 30, 2500}, "full rate from 2.5 Mbps at 1080p"},
		{1_700_000, 1920, 1080, Plan{1920, 1080, 20, 1700}, "2 Mbps link: the frame rate goes first"},
		{600_000, 1920, 1080, Plan{1920, 1080, 7, 600}, "still the native size"},
		{300_000, 1920, 1080, Plan{1600, 900, 5, 300}, "then the size, one step"},
		{150_000, 1920, 1080, Plan{960, 540, 7, 150}, "the floor: two steps down"},
		{1_200_000, 1280, 720, Plan{1280, 720, 30, 1200}, "720p needs half as much"},
		{100_000, 800, 600, Plan{800, 600, 5, 100}, "a small screen keeps its size while it fits"},
		{20_000_000, 3840, 2160, Plan{1920, 1080, 30, 9331}, "4K is capped at MaxWidth"},
		{300_000, 1366, 768, Plan{1366, 768, 7, 300}, "odd aspect"},
		{0, 1280, 720, Plan{640, 360, 5, 1}, "no estimate: the lowest plan"},
	}
	for _, c := range cases {
		if got := PlanFor(c.bps, c.w, c.h, 30, 1920); got != c.want {
			t.Errorf("%s: PlanFor(%d, %dx%d) = %+v, want %+v", c.description, c.bps, c.w, c.h, got, c.want)
		}
	}
}

func TestStartKbpsIsAFullRatePlan(t *testing.T) {
	for _, s := range [][2]int{{1920, 1080}, {1280, 720}, {1366, 768}, {2560, 1440}} {
		w, h := fit(s[0], s[1], 1920)
		p := PlanFor(StartKbps(w, h, 30)*1000, s[0], s[1], 30, 1920)
		if p.Width != w || p.FPS != 30 {
			t.Errorf("%dx%d: the start plan is %+v, want %dx%d at 30 fps", s[0], s[1], p, w, h)
		}
	}
}
