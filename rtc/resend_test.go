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
