//go:build linux

package input

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/didacto/didacto/internal/testenv"
)

// These tests drive a real Xvfb through the real injector and look at the
// result from outside: xdotool, an xterm writing to a file, and a probe window
// on its own X connection. robotgo's display is process-wide, so all of them
// share one Xvfb inside one test function.

func noEnv(string) string { return "" }

func TestX11Injection(t *testing.T) {
	xdotool := testenv.LookPath(t, "xdotool")
	xterm := testenv.LookPath(t, "xterm")
	// One X screen holding two monitors side by side: 1920x1080 and 1280x1024.
	d := testenv.StartXvfb(t, "3200x1080x24")
	left := Screen{X: 0, Y: 0, W: 1920, H: 1080}
	right := Screen{X: 1920, Y: 0, W: 1280, H: 1024}

	inj, err := NewInjector(InjectorOptions{Display: d.Name, Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = inj.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ctrl, err := NewController(ctx, inj, Options{Screen: left})
	if err != nil {
		t.Fatal(err)
	}
	handle := func(t *testing.T, msgs ...string) {
		t.Helper()
		for _, m := range msgs {
			if err := ctrl.HandleMessage([]byte(m)); err != nil {
				t.Fatalf("%s: %v", m, err)
			}
		}
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(xdotool, args...)
		cmd.Env = d.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	location := func() (int, int) {
		t.Helper()
		m := regexp.MustCompile(`x:(-?\d+) y:(-?\d+)`).FindStringSubmatch(run("getmouselocation"))
		if m == nil {
			t.Fatal("cannot parse xdotool getmouselocation")
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		return x, y
	}

	t.Run("move on two monitors", func(t *testing.T) {
		for _, c := range []struct {
			screen Screen
			nx, ny float64
			x, y   int
		}{
			{left, 0.5, 0.5, 960, 540}, {left, 0, 0, 0, 0}, {left, 1, 1, 1919, 1079},
			{left, (123 + 0.5) / 1920, (456 + 0.5) / 1080, 123, 456},
			{right, 0, 0, 1920, 0}, {right, 0.5, 0.5, 2560, 512}, {right, 1, 1, 3199, 1023},
		} {
			if err := ctrl.SetScreen(c.screen); err != nil {
				t.Fatal(err)
			}
			handle(t, fmt.Sprintf(`{"type":"move","x":%v,"y":%v}`, c.nx, c.ny))
			if x, y := location(); x != c.x || y != c.y {
				t.Errorf("%+v (%v,%v): pointer at %d,%d, want %d,%d", c.screen, c.nx, c.ny, x, y, c.x, c.y)
			}
		}
		// A HiDPI monitor described in physical pixels at scale 2 on X11
		// where the injector takes pixels is the caller's conversion: here
		// the right monitor as 2560x2048 physical at 2x is 1280x1024.
		s, err := PhysicalScreen(3840, 0, 2560, 2048, 2)
		if err != nil {
			t.Fatal(err)
		}
		_ = ctrl.SetScreen(s)
		handle(t, `{"type":"move","x":0.25,"y":0.5}`)
		if x, y := location(); x != 1920+320 || y != 512 {
			t.Errorf("scaled screen: pointer at %d,%d", x, y)
		}
		_ = ctrl.SetScreen(left)
	})

	t.Run("invalid events are dropped and counted", func(t *testing.T) {
		handle(t, `{"type":"move","x":0.25,"y":0.25}`)
		before := ctrl.Stats()
		for _, m := range []string{`{"type":"move","x":1.5,"y":0}`, `{"type":"move","x":0.9,"y":0.9,"evil":1}`,
			`{"type":"keydown","code":"KeyAA"}`, `{`, `{"type":"up","x":0.9,"y":0.9,"button":"left"}`} {
			if err := ctrl.HandleMessage([]byte(m)); err == nil {
				t.Errorf("%s accepted", m)
			}
		}
		if x, y := location(); x != 480 || y != 270 {
			t.Errorf("a dropped event moved the pointer to %d,%d", x, y)
		}
		after := ctrl.Stats()
		if after.Dropped["malformed"]-before.Dropped["malformed"] != 4 || after.Dropped["not_held"]-before.Dropped["not_held"] != 1 {
			t.Errorf("dropped before %v after %v", before.Dropped, after.Dropped)
		}
	})

	probe := newProbe(t, d.Name, 2000, 100, 800, 600)

	t.Run("buttons, double click and wheel", func(t *testing.T) {
		_ = ctrl.SetScreen(right)       // the probe window sits on the right monitor
		at := func(px, py int) string { // normalized position of a pixel of the right monitor
			return fmt.Sprintf(`"x":%v,"y":%v`, (float64(px-right.X)+0.5)/float64(right.W), (float64(py)+0.5)/float64(right.H))
		}
		probe.drain()
		handle(t,
			`{"type":"down",`+at(2100, 150)+`,"button":"left"}`, `{"type":"up",`+at(2100, 150)+`,"button":"left"}`,
			`{"type":"down",`+at(2200, 250)+`,"button":"middle"}`, `{"type":"up",`+at(2200, 250)+`,"button":"middle"}`,
			`{"type":"down",`+at(2300, 350)+`,"button":"right"}`, `{"type":"up",`+at(2300, 350)+`,"button":"right"}`,
			`{"type":"dblclick",`+at(2400, 450)+`,"button":"left"}`,
			`{"type":"wheel",`+at(2500, 500)+`,"dy":2}`, `{"type":"wheel",`+at(2500, 500)+`,"dy":-1}`,
			`{"type":"wheel",`+at(2500, 500)+`,"dx":1}`, `{"type":"wheel",`+at(2500, 500)+`,"dx":-1}`,
		)
		want := []string{
			"press 1 at 100,50", "release 1 at 100,50",
			"press 2 at 200,150", "release 2 at 200,150",
			"press 3 at 300,250", "release 3 at 300,250",
			"press 1 at 400,350", "release 1 at 400,350", "press 1 at 400,350", "release 1 at 400,350",
			// X wheel buttons: 4 up, 5 down, 6 left, 7 right.
			"press 5 at 500,400", "release 5 at 500,400", "press 5 at 500,400", "release 5 at 500,400",
			"press 4 at 500,400", "release 4 at 500,400",
			"press 7 at 500,400", "release 7 at 500,400",
			"press 6 at 500,400", "release 6 at 500,400",
		}
		got := probe.buttons(t, len(want))
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("probe saw\n  %s\nwant\n  %s", strings.Join(got, "; "), strings.Join(want, "; "))
		}
		_ = ctrl.SetScreen(left)
	})

	t.Run("Hangul, Hanja, Meta, Menu and text reach the X server", func(t *testing.T) {
		probe.focus(t)
		probe.drain()
		handle(t,
			`{"type":"keydown","code":"Lang1","key":"HangulMode"}`, `{"type":"keyup","code":"Lang1","key":"HangulMode"}`,
			`{"type":"keydown","code":"Lang2","key":"HanjaMode"}`, `{"type":"keyup","code":"Lang2","key":"HanjaMode"}`,
			`{"type":"keydown","code":"HangulMode"}`, `{"type":"keyup","code":"HangulMode"}`,
			`{"type":"keydown","code":"MetaLeft","key":"Meta","mods":8}`, `{"type":"keyup","code":"MetaLeft","key":"Meta"}`,
			`{"type":"keydown","code":"ContextMenu"}`, `{"type":"keyup","code":"ContextMenu"}`,
			`{"type":"keydown","code":"IntlBackslash"}`, `{"type":"keyup","code":"IntlBackslash"}`,
			`{"type":"keydown","key":"한"}`,
		)
		want := []string{
			"press 0xff31", "release 0xff31", "press 0xff34", "release 0xff34", "press 0xff31", "release 0xff31",
			"press 0xffeb", "release 0xffeb", "press 0xff67", "release 0xff67", "press 0x3c", "release 0x3c",
			"press 0x100d55c", "release 0x100d55c",
		}
		got := probe.keys(t, len(want))
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("probe saw\n  %s\nwant\n  %s", strings.Join(got, "; "), strings.Join(want, "; "))
		}
	})

	t.Run("Close releases held Shift and button", func(t *testing.T) {
		c2, err := NewController(context.Background(), inj, Options{Screen: left})
		if err != nil {
			t.Fatal(err)
		}
		if err := c2.HandleMessage([]byte(`{"type":"keydown","code":"ShiftLeft","key":"Shift","mods":1}`)); err != nil {
			t.Fatal(err)
		}
		if err := c2.HandleMessage([]byte(`{"type":"down","x":0.1,"y":0.1,"button":"left","mods":1}`)); err != nil {
			t.Fatal(err)
		}
		if m := probe.mask(t); m&xproto.ModMaskShift == 0 || m&xproto.KeyButMaskButton1 == 0 {
			t.Fatalf("X server does not see Shift and button 1 held: mask %#x", m)
		}
		if err := c2.Close(); err != nil {
			t.Fatal(err)
		}
		if m := probe.mask(t); m != 0 {
			t.Errorf("after Close the X server still sees mask %#x", m)
		}
	})

	t.Run("typing into xterm", func(t *testing.T) {
		dir := t.TempDir()
		out := filepath.Join(dir, "out.txt")
		title := "didacto-input-test"
		cmd := exec.Command(xterm, "-T", title, "-geometry", "80x10+0+0", "-e", "sh", "-c", "cat > "+out)
		cmd.Env = d.Env()
		p, err := testenv.StartProc(cmd)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop(3 * time.Second)
		id := strings.Fields(run("search", "--sync", "--name", title))[0]
		run("windowfocus", "--sync", id)

		key := func(code string, mods int) []string {
			return []string{
				fmt.Sprintf(`{"type":"keydown","code":"%s","mods":%d}`, code, mods),
				fmt.Sprintf(`{"type":"keyup","code":"%s","mods":%d}`, code, mods),
			}
		}
		var msgs []string
		shifted := func(code string) {
			msgs = append(msgs, `{"type":"keydown","code":"ShiftLeft","mods":1}`)
			msgs = append(msgs, key(code, 1)...)
			msgs = append(msgs, `{"type":"keyup","code":"ShiftLeft"}`)
		}
		shifted("KeyH")
		for _, c := range []string{"KeyE", "KeyL", "KeyL", "KeyO", "Comma", "Space"} {
			msgs = append(msgs, key(c, 0)...)
		}
		shifted("KeyW")
		for _, c := range []string{"KeyO", "KeyR", "KeyL", "KeyD"} {
			msgs = append(msgs, key(c, 0)...)
		}
		shifted("Digit1")
		msgs = append(msgs, `{"type":"keydown","key":"é"}`, `{"type":"keydown","key":"한"}`)
		msgs = append(msgs, key("Enter", 0)...)
		handle(t, msgs...)

		// Shift held, then released by ReleaseAll: the next letter is lower case.
		handle(t, `{"type":"keydown","code":"ShiftRight","mods":1}`)
		if err := ctrl.ReleaseAll(); err != nil {
			t.Fatal(err)
		}
		run("windowfocus", "--sync", id)
		handle(t, `{"type":"keydown","code":"KeyA"}`, `{"type":"keyup","code":"KeyA"}`)
		handle(t, key("Enter", 0)...)

		want := "Hello, World!é한\na\n"
		var got string
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			b, _ := os.ReadFile(out)
			if got = string(b); got == want {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if got != want {
			t.Errorf("xterm wrote %q, want %q", got, want)
		}
	})

	if s := ctrl.Stats(); s.Held != 0 || s.Dropped["inject_failed"] != 0 || s.Dropped["unsupported_key"] != 0 {
		t.Errorf("stats at the end: %+v", s)
	}
}

// probe is a window on its own X connection that records what reaches it.
type probe struct {
	conn   *xgb.Conn
	win    xproto.Window
	root   xproto.Window
	events chan xgb.Event
}

func newProbe(t *testing.T, display string, x, y, w, h int) *probe {
	t.Helper()
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	screen := xproto.Setup(conn).DefaultScreen(conn)
	win, err := xproto.NewWindowId(conn)
	if err != nil {
		t.Fatal(err)
	}
	mask := uint32(xproto.EventMaskKeyPress | xproto.EventMaskKeyRelease | xproto.EventMaskButtonPress | xproto.EventMaskButtonRelease)
	err = xproto.CreateWindowChecked(conn, screen.RootDepth, win, screen.Root, int16(x), int16(y), uint16(w), uint16(h), 0,
		xproto.WindowClassInputOutput, screen.RootVisual, xproto.CwBackPixel|xproto.CwOverrideRedirect|xproto.CwEventMask,
		[]uint32{screen.WhitePixel, 1, mask}).Check()
	if err != nil {
		t.Fatal(err)
	}
	if err := xproto.MapWindowChecked(conn, win).Check(); err != nil {
		t.Fatal(err)
	}
	p := &probe{conn: conn, win: win, root: screen.Root, events: make(chan xgb.Event, 1024)}
	go func() {
		for {
			ev, err := conn.WaitForEvent()
			if ev == nil && err == nil {
				return
			}
			if ev != nil {
				p.events <- ev
			}
		}
	}()
	return p
}

func (p *probe) focus(t *testing.T) {
	t.Helper()
	if err := xproto.SetInputFocusChecked(p.conn, xproto.InputFocusParent, p.win, xproto.TimeCurrentTime).Check(); err != nil {
		t.Fatal(err)
	}
}

func (p *probe) drain() {
	for {
		select {
		case <-p.events:
		default:
			return
		}
	}
}

func (p *probe) next(t *testing.T) xgb.Event {
	t.Helper()
	select {
	case ev := <-p.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("probe window: no event in 5 s")
		return nil
	}
}

func (p *probe) buttons(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		switch ev := p.next(t).(type) {
		case xproto.ButtonPressEvent:
			out = append(out, fmt.Sprintf("press %d at %d,%d", ev.Detail, ev.EventX, ev.EventY))
		case xproto.ButtonReleaseEvent:
			out = append(out, fmt.Sprintf("release %d at %d,%d", ev.Detail, ev.EventX, ev.EventY))
		}
	}
	return out
}

// keys reports key events as the keysym of their keycode's first column in
// the server's keymap at the time of reading, as any X client would.
func (p *probe) keys(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for len(out) < n {
		var kind string
		var kc xproto.Keycode
		switch ev := p.next(t).(type) {
		case xproto.KeyPressEvent:
			kind, kc = "press", ev.Detail
		case xproto.KeyReleaseEvent:
			kind, kc = "release", ev.Detail
		default:
			continue
		}
		r, err := xproto.GetKeyboardMapping(p.conn, kc, 1).Reply()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %#x", kind, uint32(r.Keysyms[0])))
	}
	return out
}

// mask is the X server's modifier and button state.
func (p *probe) mask(t *testing.T) uint16 {
	t.Helper()
	r, err := xproto.QueryPointer(p.conn, p.root).Reply()
	if err != nil {
		t.Fatal(err)
	}
	return r.Mask
}

func TestNewInjectorRefusesWayland(t *testing.T) {
	for _, env := range []map[string]string{{"WAYLAND_DISPLAY": "wayland-0"}, {"XDG_SESSION_TYPE": "wayland", "DISPLAY": ":0"}} {
		_, err := NewInjector(InjectorOptions{Getenv: func(k string) string { return env[k] }})
		if err != ErrWayland {
			t.Errorf("%v: %v", env, err)
		}
	}
	if _, err := NewInjector(InjectorOptions{Getenv: noEnv}); err == nil {
		t.Error("no DISPLAY accepted")
	}
}
