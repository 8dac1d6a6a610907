package input

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/wire"
)

// recorder is an Injector that writes down what it was asked to do; the
// Controller's bookkeeping is checked against it (the OS side is checked
// under Xvfb in x11_test.go).
type recorder struct {
	mu   sync.Mutex
	log  []string
	fail error
}

func (r *recorder) add(format string, args ...any) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.log = append(r.log, fmt.Sprintf(format, args...))
	return nil
}

func (r *recorder) MoveTo(x, y int) error            { return r.add("move %d,%d", x, y) }
func (r *recorder) Button(b string, down bool) error { return r.add("button %s %v", b, down) }
func (r *recorder) Wheel(dx, dy int) error           { return r.add("wheel %d,%d", dx, dy) }
func (r *recorder) Text(ch rune) error               { return r.add("text %c", ch) }
func (r *recorder) Key(k Key, down bool) error {
	if k.Robotgo == "" && k.Keysym == 0 {
		return ErrUnsupportedKey
	}
	return r.add("key %s %v", k.Code, down)
}

func (r *recorder) take() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := strings.Join(r.log, "; ")
	r.log = nil
	return s
}

// fakeClock is a clock the test advances.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func newTestController(t *testing.T, opts Options) (*Controller, *recorder, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	opts.Now = clk.now
	if opts.Screen == (Screen{}) {
		opts.Screen = Screen{W: 1920, H: 1080}
	}
	rec := &recorder{}
	c, err := NewController(context.Background(), rec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec, clk
}

func send(t *testing.T, c *Controller, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if err := c.HandleMessage([]byte(m)); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
}

func TestControllerPointer(t *testing.T) {
	c, rec, _ := newTestController(t, Options{Screen: Screen{X: 1920, Y: 0, W: 1280, H: 1024}})
	send(t, c,
		`{"type":"move","x":0.5,"y":0.5}`,
		`{"type":"down","x":0,"y":0,"button":"left"}`,
		`{"type":"up","x":1,"y":1,"button":"left"}`,
		`{"type":"dblclick","x":0.25,"y":0.75,"button":"right"}`,
		`{"type":"wheel","x":0.5,"y":0.5,"dy":3,"dx":-1}`,
	)
	want := "move 2560,512; move 1920,0; button left true; move 3199,1023; button left false; " +
		"move 2240,768; button right true; button right false; button right true; button right false; " +
		"move 2560,512; wheel -1,3"
	if got := rec.take(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if s := c.Stats(); s.Injected != 5 || s.Held != 0 || len(s.Dropped) != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestControllerKeysAndRelease(t *testing.T) {
	c, rec, _ := newTestController(t, Options{})
	send(t, c,
		`{"type":"keydown","code":"ShiftLeft","key":"Shift","mods":1}`,
		`{"type":"keydown","code":"KeyA","key":"A","mods":1}`,
		`{"type":"keydown","code":"Lang1","key":"HangulMode","mods":1}`,
		`{"type":"down","x":0.5,"y":0.5,"button":"middle","mods":1}`,
	)
	rec.take()
	if s := c.Stats(); s.Held != 4 {
		t.Fatalf("held %d, want 4", s.Held)
	}
	if err := c.ReleaseAll(); err != nil {
		t.Fatal(err)
	}
	got := rec.take()
	// The button first, the modifier last; the order of plain keys is free.
	if !strings.HasPrefix(got, "button middle false; ") || !strings.HasSuffix(got, "; key ShiftLeft false") ||
		!strings.Contains(got, "key KeyA false") || !strings.Contains(got, "key Lang1 false") {
		t.Errorf("release: %s", got)
	}
	if s := c.Stats(); s.Held != 0 {
		t.Errorf("held %d after ReleaseAll", s.Held)
	}
	// A keyup after the release is not injected again.
	if err := c.HandleMessage([]byte(`{"type":"keyup","code":"KeyA","key":"a"}`)); !errors.Is(err, ErrNotHeld) {
		t.Errorf("keyup after release: %v", err)
	}
	if rec.take() != "" {
		t.Error("a not-held keyup reached the injector")
	}
}

func TestControllerModifierSync(t *testing.T) {
	c, rec, _ := newTestController(t, Options{})
	send(t, c, `{"type":"keydown","code":"ShiftLeft","key":"Shift","mods":1}`,
		`{"type":"keydown","code":"ControlRight","key":"Control","mods":3}`)
	rec.take()
	// The browser lost the Shift keyup: the next key says Shift is not down.
	send(t, c, `{"type":"keydown","code":"KeyB","key":"b","mods":2}`)
	if got, want := rec.take(), "key ShiftLeft false; key KeyB true"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	// Its own keyup releases a modifier normally.
	send(t, c, `{"type":"keyup","code":"ControlRight","key":"Control"}`)
	if got, want := rec.take(), "key ControlRight false"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestControllerText(t *testing.T) {
	c, rec, _ := newTestController(t, Options{})
	send(t, c, `{"type":"keydown","key":"한"}`, `{"type":"keyup","key":"한"}`,
		`{"type":"keydown","code":"Unidentified","key":"é"}`)
	if got, want := rec.take(), "text 한; text é"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if s := c.Stats(); s.Held != 0 || s.Injected != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestControllerDropsAndCounts(t *testing.T) {
	c, rec, _ := newTestController(t, Options{})
	bad := []string{`{"type":"move","x":2}`, `not json`, `{"type":"keydown","code":"KeyZZ"}`, ``}
	for _, m := range bad {
		if err := c.HandleMessage([]byte(m)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", m, err)
		}
	}
	if err := c.HandleMessage([]byte(`{"type":"up","x":0,"y":0,"button":"left"}`)); !errors.Is(err, ErrNotHeld) {
		t.Errorf("up of a button never pressed: %v", err)
	}
	// Invalid events built in Go (the relay path) are validated too.
	if err := c.Handle(wire.ControlEvent{Type: wire.ControlMove, X: -1}); !errors.Is(err, ErrMalformed) {
		t.Errorf("Handle invalid: %v", err)
	}
	if rec.take() != "" {
		t.Error("a dropped event reached the injector")
	}
	s := c.Stats()
	if s.Dropped["malformed"] != 5 || s.Dropped["not_held"] != 1 || s.Injected != 0 {
		t.Errorf("stats %+v", s)
	}
	rec.fail = errors.New("X connection lost")
	if err := c.HandleMessage([]byte(`{"type":"move","x":0.1,"y":0.1}`)); !errors.Is(err, ErrInject) {
		t.Errorf("failing injector: %v", err)
	}
	if c.Stats().Dropped["inject_failed"] != 1 {
		t.Errorf("inject failure not counted: %+v", c.Stats())
	}
}

func TestControllerRateLimit(t *testing.T) {
	c, rec, clk := newTestController(t, Options{MoveRate: 100, MoveBurst: 10, KeyRate: 10, KeyBurst: 2})
	move := []byte(`{"type":"move","x":0.5,"y":0.5}`)
	ok := 0
	for range 25 {
		if c.HandleMessage(move) == nil {
			ok++
		}
	}
	if ok != 10 {
		t.Errorf("%d of 25 moves in one instant passed, want the burst of 10", ok)
	}
	clk.t = clk.t.Add(50 * time.Millisecond) // 5 more tokens at 100/s
	ok = 0
	for range 25 {
		if c.HandleMessage(move) == nil {
			ok++
		}
	}
	if ok != 5 {
		t.Errorf("%d moves passed after 50 ms, want 5", ok)
	}
	// Key downs have their own bucket; key ups are never limited.
	down := func(code string) error {
		return c.HandleMessage([]byte(`{"type":"keydown","code":"` + code + `"}`))
	}
	if down("KeyA") != nil || down("KeyB") != nil {
		t.Fatal("key burst refused")
	}
	if err := down("KeyC"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("third key down: %v", err)
	}
	rec.take()
	send(t, c, `{"type":"keyup","code":"KeyA"}`, `{"type":"keyup","code":"KeyB"}`)
	if got := rec.take(); got != "key KeyA false; key KeyB false" {
		t.Errorf("key ups: %s", got)
	}
	if n := c.Stats().Dropped["rate_limited"]; n != 36 {
		t.Errorf("rate_limited %d, want 36", n)
	}
}

func TestControllerReleasesOnCancelAndClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{}
	c, err := NewController(ctx, rec, Options{Screen: Screen{W: 100, H: 100}})
	if err != nil {
		t.Fatal(err)
	}
	send(t, c, `{"type":"keydown","code":"ShiftRight","mods":1}`, `{"type":"down","x":0,"y":0,"button":"left","mods":1}`)
	rec.take()
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().Held != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := rec.take(); got != "button left false; key ShiftRight false" {
		t.Errorf("on cancel: %q", got)
	}
	if err := c.HandleMessage([]byte(`{"type":"move"}`)); !errors.Is(err, ErrClosed) {
		t.Errorf("after cancel: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}

	// Close on an already cancelled context does not deadlock.
	c2, err := NewController(ctx, rec, Options{Screen: Screen{W: 1, H: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestControllerConcurrent(t *testing.T) {
	c, _, _ := newTestController(t, Options{MoveRate: 1e9, MoveBurst: 1 << 30, KeyRate: 1e9, KeyBurst: 1 << 30})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				switch (g + i) % 4 {
				case 0:
					_ = c.HandleMessage([]byte(`{"type":"move","x":0.3,"y":0.3}`))
				case 1:
					_ = c.HandleMessage([]byte(`{"type":"keydown","code":"KeyQ"}`))
				case 2:
					_ = c.HandleMessage([]byte(`{"type":"keyup","code":"KeyQ"}`))
				case 3:
					_ = c.ReleaseAll()
				}
			}
		})
	}
	wg.Wait()
	_ = c.Close()
	if s := c.Stats(); s.Held != 0 {
		t.Errorf("held %d after close", s.Held)
	}
}

func TestNewControllerRejectsEmptyScreen(t *testing.T) {
	if _, err := NewController(context.Background(), &recorder{}, Options{Screen: Screen{W: 0, H: 10}}); err == nil {
		t.Error("empty screen accepted")
	}
}

// FuzzControllerHandleMessage feeds arbitrary messages to a Controller: it
// must never panic, must only pass valid events to the injector, and must
// hold nothing after ReleaseAll.
func FuzzControllerHandleMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"move","x":0.5,"y":0.5}`,
		`{"type":"down","x":0.1,"y":0.1,"button":"left"}`,
		`{"type":"up","x":0.1,"y":0.1,"button":"left"}`,
		`{"type":"dblclick","x":1,"y":1,"button":"middle"}`,
		`{"type":"wheel","x":0,"y":0,"dx":-20,"dy":20}`,
		`{"type":"keydown","code":"ShiftLeft","mods":1}`,
		`{"type":"keydown","code":"Lang1","key":"HangulMode"}`,
		`{"type":"keyup","code":"KeyA","key":"a","mods":15}`,
		`{"type":"keydown","key":"한"}`,
		`{"type":"release_all"}`,
		`{"type":"move","x":NaN}`,
	} {
		f.Add([]byte(s), []byte(`{"type":"keydown","code":"ControlLeft","mods":2}`))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		rec := &recorder{}
		c, err := NewController(context.Background(), rec, Options{Screen: Screen{X: -100, Y: 5, W: 640, H: 480}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range [][]byte{a, b, a} {
			_ = c.HandleMessage(m)
		}
		for _, line := range rec.log {
			var x, y int
			if n, _ := fmt.Sscanf(line, "move %d,%d", &x, &y); n == 2 && (x < -100 || x >= 540 || y < 5 || y >= 485) {
				t.Fatalf("pointer sent off the screen: %s", line)
			}
		}
		if err := c.ReleaseAll(); err != nil {
			t.Fatal(err)
		}
		if s := c.Stats(); s.Held != 0 {
			t.Fatalf("held %d after ReleaseAll", s.Held)
		}
	})
}

func TestControllerDropsStaleMoves(t *testing.T) {
	c, rec, _ := newTestController(t, Options{Screen: Screen{W: 100, H: 100}})
	for _, m := range []string{
		`{"type":"move","x":0.1,"seq":10}`,
		`{"type":"move","x":0.2,"seq":12}`,
		`{"type":"move","x":0.3,"seq":11}`, // late: dropped
		`{"type":"keydown","code":"KeyA","seq":13}`,
		`{"type":"move","x":0.4,"seq":14}`,
		`{"type":"move","x":0.5}`, // no seq: always taken
		`{"type":"move","x":0.6,"seq":20000}`,
		`{"type":"move","x":0.7,"seq":19999}`, // late again
		`{"type":"move","x":0.8,"seq":1}`,     // far behind: a restarted counter
	} {
		_ = c.HandleMessage([]byte(m))
	}
	want := "move 10,0; move 20,0; key KeyA true; move 40,0; move 50,0; move 60,0; move 80,0"
	if got := rec.take(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if n := c.Stats().Dropped["stale"]; n != 2 {
		t.Errorf("stale %d, want 2", n)
	}
}
