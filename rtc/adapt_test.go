package rtc

import "testing"

func TestPlanFor(t *testing.T) {
	cases := []struct {
		bps, w, h   int
		want        Plan
		description string
	}{
		{2_500_000, 1920, 1080, Plan{1920, 1080, 30, 2500}, "good link: full size and rate"},
		{1_200_000, 1920, 1080, Plan{1920, 1080, 30, 1200}, "threshold still full"},
		{900_000, 1920, 1080, Plan{1920, 1080, 15, 900}, "frame rate goes first"},
		{450_000, 1920, 1080, Plan{1280, 720, 10, 450}, "then the resolution"},
		{200_000, 1920, 1080, Plan{960, 540, 5, 200}, "poor link"},
		{200_000, 800, 600, Plan{800, 600, 5, 200}, "small screens are never scaled up"},
		{2_500_000, 3840, 2160, Plan{1920, 1080, 30, 2500}, "4K is capped at MaxWidth"},
		{450_000, 1366, 768, Plan{1280, 720, 10, 450}, "odd aspect, even height"},
		{0, 1280, 720, Plan{960, 540, 5, 1}, "no estimate yet: the lowest plan"},
	}
	for _, c := range cases {
		if got := PlanFor(c.bps, c.w, c.h, 30, 1920); got != c.want {
			t.Errorf("%s: PlanFor(%d, %dx%d) = %+v, want %+v", c.description, c.bps, c.w, c.h, got, c.want)
		}
	}
}
