package rtc

import (
	"testing"
	"time"
)

func TestResendLimiter(t *testing.T) {
	now := time.Unix(1000, 0)
	l := &resendLimiter{target: func() int { return 1_000_000 }, now: func() time.Time { return now }, streams: map[uint32]*resendStream{}}
	st := &resendStream{}
	for seq := range uint16(100) {
		if !l.allow(st, seq, 1200) {
			t.Fatalf("new packet %d refused", seq)
		}
	}
	// 1 Mbps x 25 % x 0.5 s = 15,625 bytes: 13 resends of 1,200 bytes.
	n := 0
	for seq := range uint16(100) {
		if l.allow(st, seq, 1200) {
			n++
		}
	}
	if n != 13 {
		t.Fatalf("%d resends allowed in one window, want 13", n)
	}
	now = now.Add(50 * time.Millisecond)
	if l.allow(st, 0, 1200) {
		t.Fatal("packet 0 resent again 50 ms later")
	}
	now = now.Add(600 * time.Millisecond) // the window has passed
	if !l.allow(st, 0, 1200) {
		t.Fatal("packet 0 not resent after the window and the gap")
	}
	if !l.allow(st, 100, 1200) {
		t.Fatal("a new packet refused while resends are limited")
	}
	// Sequence numbers wrap: 65,000 → 10 is new; 65,000 again is a resend.
	wrap := &resendStream{}
	if !l.allow(wrap, 65000, 100) || !l.allow(wrap, 10, 100) {
		t.Fatal("new packets across the wrap refused")
	}
	if !l.allow(wrap, 65000, 100) || l.allow(wrap, 65000, 100) {
		t.Fatal("a resend across the wrap: want one allowed, then one refused within the gap")
	}
}

func TestPacer(t *testing.T) {
	now := time.Unix(0, 0)
	p := pacer{now: func() time.Time { return now }}
	// The burst leaves at once: ten 1,200-byte packets.
	for i := range 10 {
		if w := p.wait(1200, 1_000_000); w != 0 {
			t.Fatalf("packet %d of the burst waits %v", i, w)
		}
	}
	// The next waits for its own bytes at 1 Mbps: 9.6 ms, less what the
	// burst left over (12,000 - 10 x 1,200 = 0).
	if w := p.wait(1200, 1_000_000); w != 9600*time.Microsecond {
		t.Fatalf("11th packet waits %v, want 9.6ms", w)
	}
	now = now.Add(time.Hour) // a pause refills only the burst
	for range 10 {
		p.wait(1200, 1_000_000)
	}
	if w := p.wait(1200, 1_000_000); w == 0 {
		t.Fatal("after a pause more than the burst left at once")
	}
	// A big frame at a low estimate is spread over 300 ms at most.
	if r := paceRate(150_000, 150_000, false); r != 150_000*8/0.3 {
		t.Fatalf("pace rate %v for a 150 KB frame at 150 kbps", r)
	}
	if r := paceRate(1000, 4_000_000, false); r != 10_000_000 {
		t.Fatalf("pace rate %v at 4 Mbps, want 2.5x", r)
	}
	// Keyframes go just above the estimate, over a second at most.
	if r := paceRate(1000, 4_000_000, true); r != 5_000_000 {
		t.Fatalf("keyframe pace rate %v at 4 Mbps, want 1.25x", r)
	}
	if r := paceRate(150_000, 150_000, true); r != 150_000*8 {
		t.Fatalf("keyframe pace rate %v for 150 KB at 150 kbps, want all of it in 1 s", r)
	}
}
