//go:build linux

package capture

import (
	"errors"
	"image"
	"image/color"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// xenv runs an X client against d and fails the test on error.
func xrun(t testing.TB, d *testenv.Display, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(testenv.LookPath(t, name), args...)
	cmd.Env = d.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func envOf(d *testenv.Display) func(string) string {
	return func(k string) string {
		if k == "DISPLAY" {
			return d.Name
		}
		return ""
	}
}

// showWindow maps an override-redirect window filled with pixel at r (no
// window manager runs, so it lands exactly there) and keeps the connection
// open until the test ends.
func showWindow(t *testing.T, d *testenv.Display, r image.Rectangle, pixel uint32) {
	t.Helper()
	conn, err := xgb.NewConnDisplay(d.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	scr := xproto.Setup(conn).DefaultScreen(conn)
	wid, err := xproto.NewWindowId(conn)
	if err != nil {
		t.Fatal(err)
	}
	err = xproto.CreateWindowChecked(conn, scr.RootDepth, wid, scr.Root, int16(r.Min.X), int16(r.Min.Y),
		uint16(r.Dx()), uint16(r.Dy()), 0, xproto.WindowClassInputOutput, scr.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect, []uint32{pixel, 1}).Check()
	if err != nil {
		t.Fatal(err)
	}
	if err := xproto.MapWindowChecked(conn, wid).Check(); err != nil {
		t.Fatal(err)
	}
	// A round trip after mapping: the server has painted the background.
	if _, err := xproto.GetInputFocus(conn).Reply(); err != nil {
		t.Fatal(err)
	}
}

func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestX11CaptureColoursAndChange(t *testing.T) {
	d := testenv.StartXvfb(t, "640x480x24")
	xrun(t, d, "xsetroot", "-solid", "#ff0000")
	showWindow(t, d, image.Rect(100, 50, 200, 150), 0x00ff00) // green

	for _, noSHM := range []bool{false, true} {
		c, err := New(Options{Screen: AllScreens, Getenv: envOf(d), NoSHM: noSHM})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.SHM() == noSHM {
			t.Errorf("NoSHM=%v but SHM()=%v (Xvfb offers MIT-SHM)", noSHM, c.SHM())
		}
		img, err := c.Capture()
		if err != nil {
			t.Fatalf("capture (NoSHM=%v): %v", noSHM, err)
		}
		if img.Rect != image.Rect(0, 0, 640, 480) {
			t.Fatalf("bounds %v", img.Rect)
		}
		for _, p := range []struct {
			x, y int
			want color.RGBA
		}{
			{5, 5, color.RGBA{255, 0, 0, 255}},
			{639, 479, color.RGBA{255, 0, 0, 255}},
			{150, 100, color.RGBA{0, 255, 0, 255}},
			{100, 50, color.RGBA{0, 255, 0, 255}},
			{99, 50, color.RGBA{255, 0, 0, 255}},
			{200, 150, color.RGBA{255, 0, 0, 255}},
		} {
			if got := img.RGBAAt(p.x, p.y); got != p.want {
				t.Errorf("NoSHM=%v pixel %d,%d = %v, want %v", noSHM, p.x, p.y, got, p.want)
			}
		}
		if !noSHM && !c.SHM() {
			t.Error("SHM was given up after a capture on a local Xvfb")
		}
	}

	// Change detection follows the screen.
	c, err := New(Options{Screen: AllScreens, Getenv: envOf(d)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s Scaler
	shot := func() Fingerprint {
		img, err := c.Capture()
		if err != nil {
			t.Fatal(err)
		}
		return NewFingerprint(s.Scale(img, 320))
	}
	a, b := shot(), shot()
	if a.Differs(&b, DefaultTolerance) {
		t.Error("two captures of a still screen differ")
	}
	xrun(t, d, "xsetroot", "-solid", "#0000ff")
	eventually(t, "the blue root to show", func() bool { c := shot(); return a.Differs(&c, DefaultTolerance) })
	img, _ := c.Capture()
	if got := img.RGBAAt(5, 5); got != (color.RGBA{0, 0, 255, 255}) {
		t.Errorf("after xsetroot blue: %v", got)
	}
}

func TestX11Monitors(t *testing.T) {
	d := testenv.StartXvfb(t, "640x480x24")
	xrun(t, d, "xsetroot", "-solid", "#ff0000")
	showWindow(t, d, image.Rect(400, 0, 640, 480), 0x0000ff) // blue right part
	c, err := New(Options{Screen: AllScreens, Getenv: envOf(d)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ss, err := c.Screens()
	if err != nil || len(ss) == 0 {
		t.Fatalf("screens: %v %v", ss, err)
	}
	if ss[0].Rect != image.Rect(0, 0, 640, 480) {
		t.Errorf("single screen = %+v", ss)
	}

	// Two virtual monitors side by side (RandR 1.5 monitors, as a dual-head
	// desktop reports them).
	xrun(t, d, "xrandr", "--setmonitor", "LEFT", "320/85x480/127+0+0", "none")
	xrun(t, d, "xrandr", "--setmonitor", "RIGHT", "320/85x480/127+320+0", "none")
	ss, err = c.Screens()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Screen{}
	for i, s := range ss {
		if s.Index != i {
			t.Errorf("screen %d has index %d", i, s.Index)
		}
		byName[s.Name] = s
	}
	if byName["LEFT"].Rect != image.Rect(0, 0, 320, 480) || byName["RIGHT"].Rect != image.Rect(320, 0, 640, 480) {
		t.Fatalf("monitors = %+v", ss)
	}

	right, err := New(Options{Screen: byName["RIGHT"].Index, Getenv: envOf(d)})
	if err != nil {
		t.Fatal(err)
	}
	defer right.Close()
	img, err := right.Capture()
	if err != nil {
		t.Fatal(err)
	}
	if img.Rect != image.Rect(0, 0, 320, 480) {
		t.Fatalf("right monitor bounds %v", img.Rect)
	}
	if got := img.RGBAAt(10, 10); got != (color.RGBA{255, 0, 0, 255}) { // x=330 on the desktop
		t.Errorf("right monitor at 10,10 = %v, want red", got)
	}
	if got := img.RGBAAt(100, 10); got != (color.RGBA{0, 0, 255, 255}) { // x=420
		t.Errorf("right monitor at 100,10 = %v, want blue", got)
	}

	bad, err := New(Options{Screen: 9, Getenv: envOf(d)})
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	if _, err := bad.Capture(); !errors.Is(err, ErrNoScreen) {
		t.Errorf("screen 9: %v, want ErrNoScreen", err)
	}
}

func TestX11ReconnectsAfterBrokenConnection(t *testing.T) {
	d := testenv.StartXvfb(t, "320x240x24")
	c, err := New(Options{Screen: AllScreens, Getenv: envOf(d)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Capture(); err != nil {
		t.Fatal(err)
	}
	// Break the connection under the Capturer, as a server reset would.
	c.mu.Lock()
	old := c.x.conn
	old.Close()
	c.mu.Unlock()
	// The first call may fail (and drops the connection); the next succeeds.
	var img *image.RGBA
	for range 2 {
		if img, err = c.Capture(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no recovery after a broken connection: %v", err)
	}
	if img.Rect.Dx() != 320 {
		t.Errorf("bounds %v", img.Rect)
	}
	c.mu.Lock()
	if c.x == nil || c.x.conn == old {
		t.Error("connection was not replaced")
	}
	c.mu.Unlock()
	c.Close()
	if _, err := c.Capture(); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestX11NoServer(t *testing.T) {
	_, err := New(Options{Screen: AllScreens, Display: ":4093"})
	if err == nil {
		t.Fatal("connected to a display that does not exist")
	}
	if errors.Is(err, ErrWayland) || errors.Is(err, ErrNoDisplay) {
		t.Errorf("wrong error kind: %v", err)
	}
}
