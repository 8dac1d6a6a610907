package rtc

import (
	"testing"
	"time"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/testenv"
)

// TestStreamerFollowsEstimate: a falling estimate lowers the frame rate at
// once and the resolution only after ResizeEvery (with a keyframe, as
// interframes carry no size); a rising one brings both back.
func TestStreamerFollowsEstimate(t *testing.T) {
	d := testenv.StartXvfb(t, "1280x720x24")
	capt, err := capture.New(capture.Options{Screen: 0, Display: d.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer capt.Close()
	now := time.Unix(1000, 0)
	st, err := NewStreamer(capt, StreamConfig{FPS: 30, StartKbps: 2500, ResizeEvery: 3 * time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pts := time.Duration(0)
	step := func(bps int) ([]bool, int) {
		t.Helper()
		pts += 33 * time.Millisecond
		frames, fps, err := st.frame(bps, pts)
		if err != nil {
			t.Fatal(err)
		}
		var keys []bool
		for _, f := range frames {
			keys = append(keys, f.Keyframe)
		}
		return keys, fps
	}
	check := func(w, h, fps int) {
		t.Helper()
		s := st.Stats()
		if s.Width != w || s.Height != h || s.FPS != fps {
			t.Fatalf("plan %dx%d@%d, want %dx%d@%d", s.Width, s.Height, s.FPS, w, h, fps)
		}
	}
	step(2_500_000)
	check(1280, 720, 30)
	now = now.Add(time.Second)
	if _, fps := step(200_000); fps != 5 {
		t.Fatalf("fps %d on a poor link, want 5", fps)
	}
	check(1280, 720, 5) // too soon to resize
	now = now.Add(3 * time.Second)
	keys, _ := step(200_000)
	check(960, 540, 5)
	if len(keys) != 1 || !keys[0] {
		t.Fatalf("the first frame at the new size is not a keyframe: %v", keys)
	}
	if keys, _ := step(200_000); len(keys) == 1 && keys[0] {
		t.Fatal("every frame is a keyframe")
	}
	now = now.Add(3 * time.Second)
	step(2_500_000)
	check(1280, 720, 30)
}
