package audio

import (
	"testing"
	"time"
)

func ramp(start, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(start + i)
	}
	return out
}

func TestPlayoutWaitsForTargetThenPlaysInOrder(t *testing.T) {
	p := NewPlayout(20*time.Millisecond, 100*time.Millisecond) // 960 / 4800 samples
	out := make([]int16, 480)
	p.Push(ramp(1, 480))
	p.Pull(out)
	if out[0] != 0 || out[479] != 0 {
		t.Fatal("played before the target was buffered")
	}
	p.Push(ramp(481, 480))
	for i := 0; i < 2; i++ {
		p.Pull(out)
		for j, s := range out {
			if want := int16(1 + i*480 + j); s != want {
				t.Fatalf("pull %d sample %d = %d, want %d", i, j, s, want)
			}
		}
	}
	// Dry: the rest is silence, counted once as an underrun, and playback
	// waits for the target again.
	p.Push(ramp(961, 100))
	p.Pull(out)
	if out[0] != 961 || out[99] != 1060 || out[100] != 0 {
		t.Fatalf("partial pull: %d %d %d", out[0], out[99], out[100])
	}
	p.Push(ramp(2000, 480))
	p.Pull(out)
	if out[0] != 0 {
		t.Fatal("played again before the target was buffered after an underrun")
	}
	st := p.Stats()
	if st.Underruns != 1 || st.Played != 1060 || st.Pushed != 1540 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
	if got := p.Buffered(); got != 10*time.Millisecond {
		t.Fatalf("Buffered = %v, want 10ms", got)
	}
}

func TestPlayoutDropsBackToTargetOverLimit(t *testing.T) {
	p := NewPlayout(20*time.Millisecond, 60*time.Millisecond) // 960 / 2880
	for i := 0; i < 6; i++ {                                  // 5760 samples, a stall's burst
		p.Push(ramp(i*960, 960))
	}
	if got := p.Buffered(); got > 60*time.Millisecond {
		t.Fatalf("buffered %v, more than the limit", got)
	}
	out := make([]int16, 960)
	p.Pull(out)
	// What plays is the newest audio, contiguous.
	for j := 1; j < len(out); j++ {
		if out[j] != out[j-1]+1 {
			t.Fatalf("not contiguous at %d: %d then %d", j, out[j-1], out[j])
		}
	}
	// The newest audio stays: what is left after this pull ends with the
	// last sample pushed.
	rest := make([]int16, Samples(p.Buffered()))
	p.Pull(rest)
	if len(rest) == 0 || rest[len(rest)-1] != int16(5*960+959) || rest[0] != out[len(out)-1]+1 {
		t.Fatalf("did not keep the newest audio contiguous: pulled up to %d, then %d..%d", out[len(out)-1], rest[0], rest[len(rest)-1])
	}
	st := p.Stats()
	if st.Dropped == 0 || st.Pushed-st.Dropped-st.Played != 0 {
		t.Fatalf("stats %+v, buffered %v", st, p.Buffered())
	}
	// One push larger than the whole buffer keeps its newest target.
	p.Push(ramp(10000, 4000))
	p.Pull(out)
	if out[0] != int16(10000+4000-960) || out[959] != int16(10000+3999) {
		t.Fatalf("huge push kept %d..%d", out[0], out[959])
	}
}

func TestPlayoutWrapsAround(t *testing.T) {
	p := NewPlayout(10*time.Millisecond, 30*time.Millisecond) // 480 / 1440
	out := make([]int16, 300)
	next := int16(1)
	want := int16(1)
	for round := 0; round < 40; round++ {
		p.Push(ramp(int(next), 300))
		next += 300
		p.Pull(out)
		if round == 0 {
			continue // still buffering
		}
		for j, s := range out {
			if s != want {
				t.Fatalf("round %d sample %d = %d, want %d", round, j, s, want)
			}
			want++
		}
	}
}

func TestMeasure(t *testing.T) {
	if l := Measure(nil); l.RMS != 0 || l.Peak != 0 {
		t.Fatal(l)
	}
	l := Measure([]int16{16384, -16384, 16384, -16384})
	if l.RMS != 0.5 || l.Peak != 0.5 {
		t.Fatalf("%+v", l)
	}
	if db := l.DBFS(); db > -6 || db < -6.1 {
		t.Fatalf("DBFS %f", db)
	}
	if l := Measure([]int16{-32768}); l.Peak != 1 {
		t.Fatalf("%+v", l)
	}
}

func TestFromSetting(t *testing.T) {
	for s, want := range map[string]struct {
		backend string
		on, ok  bool
	}{"": {"", true, true}, "auto": {"", true, true}, "off": {"", false, true}, "alsa": {"alsa", true, true},
		"null": {"null", true, true}, "loud": {"", false, false}} {
		o, on, err := FromSetting(s)
		if (err == nil) != want.ok || on != want.on || o.Backend != want.backend {
			t.Errorf("FromSetting(%q) = %+v, %v, %v; want %+v", s, o, on, err, want)
		}
	}
}
