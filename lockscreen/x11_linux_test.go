//go:build linux

package lockscreen

import (
	"context"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestLockCoversBothMonitorsAndHoldsInput: on a two-monitor X display the
// lock covers each monitor, keys typed and clicks made while it is up
// reach neither window under it, and after it is lifted they do again.
func TestLockCoversBothMonitorsAndHoldsInput(t *testing.T) {
	xdotool, xterm, xev := testenv.LookPath(t, "xdotool"), testenv.LookPath(t, "xterm"), testenv.LookPath(t, "xev")
	d := testenv.StartXvfb(t, "1280x480x24")
	run := func(bin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = d.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
		}
		return string(out)
	}
	run(testenv.LookPath(t, "xrandr"), "--setmonitor", "LEFT", "640/170x480/127+0+0", "none")
	run(testenv.LookPath(t, "xrandr"), "--setmonitor", "RIGHT", "640/170x480/127+640+0", "none")

	out := filepath.Join(t.TempDir(), "typed.txt")
	term := exec.Command(xterm, "-T", "typing-target", "-geometry", "60x10+0+0", "-e", "sh", "-c", "cat > "+out)
	term.Env = d.Env()
	tp, err := testenv.StartProc(term)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Stop(3 * time.Second)
	evCmd := exec.Command(xev, "-geometry", "300x300+800+50", "-name", "click-target", "-event", "button")
	evCmd.Env = d.Env()
	ep, err := testenv.StartProc(evCmd)
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Stop(3 * time.Second)
	termID := strings.Fields(run(xdotool, "search", "--sync", "--name", "typing-target"))[0]
	run(xdotool, "search", "--sync", "--name", "click-target")
	typeAndClick := func(text string) {
		run(xdotool, "windowfocus", termID)
		run(xdotool, "mousemove", "100", "60")
		run(xdotool, "type", "--delay", "20", text+"\n")
		run(xdotool, "mousemove", "900", "150", "click", "1")
	}
	typeAndClick("before")
	waitFile(t, out, "before\n")
	clicks := strings.Count(ep.Output(), "ButtonPress")
	if clicks == 0 {
		t.Fatalf("the click target saw no click before the lock:\n%s", ep.Output())
	}

	s, err := Open(context.Background(), d.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	spec := &Spec{Title: "Networks 101", Message: "Eyes on me, please", Professor: "Prof. Kim", Lang: "en"}
	if err := s.Show(spec); err != nil {
		t.Fatal(err)
	}
	img := d.RootImage(t)
	testenv.Shot(t, "lock-two-monitors.png", img)
	for _, mon := range []image.Rectangle{image.Rect(0, 0, 640, 480), image.Rect(640, 0, 1280, 480)} {
		bg, text, sumX := 0, 0, 0
		for y := mon.Min.Y; y < mon.Max.Y; y += 2 {
			for x := mon.Min.X; x < mon.Max.X; x += 2 {
				switch c := img.RGBAAt(x, y); {
				case c == lockBackground:
					bg++
				case c.R > 0xc0 && c.G > 0xc0:
					text++
					sumX += x
				}
			}
		}
		total := mon.Dx() * mon.Dy() / 4
		if bg < total*8/10 || text < 50 {
			t.Fatalf("monitor %v: %d of %d points are the lock's background and %d its text", mon, bg, total, text)
		}
		// Each monitor has its own lock, its text centred on it.
		if mid := sumX / text; mid < mon.Min.X+mon.Dx()/2-40 || mid > mon.Min.X+mon.Dx()/2+40 {
			t.Errorf("monitor %v: the text is centred at x=%d", mon, mid)
		}
	}

	// The agent's capture sees the desktop under the lock: the xterm
	// (white) where it is, black where no window is.
	seen := grab(t, d)
	testenv.Shot(t, "lock-thumbnail-under-the-lock.png", seen)
	if c := seen.RGBAAt(40, 40); c == lockBackground || c.R < 0xe0 {
		t.Errorf("the capture under the lock shows %v where the xterm is", c)
	}
	if c := seen.RGBAAt(600, 400); c != (color.RGBA{0, 0, 0, 0xff}) {
		t.Errorf("the capture under the lock shows %v where no window is", c)
	}
	typeAndClick("during")
	time.Sleep(300 * time.Millisecond)
	if b, _ := os.ReadFile(out); string(b) != "before\n" {
		t.Fatalf("keys reached the window under the lock: %q", b)
	}
	if n := strings.Count(ep.Output(), "ButtonPress"); n != clicks {
		t.Fatalf("a click reached the window under the lock (%d presses, %d before)", n, clicks)
	}
	// Another window raised over the lock goes under it again.
	run(xdotool, "windowraise", termID)
	time.Sleep(2 * keepEvery)
	if c := d.RootImage(t).RGBAAt(5, 470); c != lockBackground {
		t.Errorf("after another window was raised, the lock's corner is %v", c)
	}

	// Blank: the same, black.
	if err := s.Show(&Spec{Blank: true}); err != nil {
		t.Fatal(err)
	}
	if c := d.RootImage(t).RGBAAt(1000, 200); c != blankColour {
		t.Errorf("blank screen at 1000,200 = %v", c)
	}

	if err := s.Show(nil); err != nil {
		t.Fatal(err)
	}
	typeAndClick("after")
	waitFile(t, out, "before\nafter\n")
	if n := strings.Count(ep.Output(), "ButtonPress"); n <= clicks {
		t.Fatalf("no click reached the window after the unlock:\n%s", ep.Output())
	}
}

// TestPropertyNameMatchesCapture: the capture finds the lock by the
// property this package sets.
func TestPropertyNameMatchesCapture(t *testing.T) {
	if lockProperty != capture.LockProperty {
		t.Fatalf("lockscreen sets %q, capture reads %q", lockProperty, capture.LockProperty)
	}
}

// TestRenderKorean: a Korean title and message are drawn (a font with
// Hangul is found), and long messages wrap.
func TestRenderKorean(t *testing.T) {
	img := Render(Spec{Title: "네트워크 실습", Message: strings.Repeat("화면을 봐 주세요 ", 20), Professor: "김 교수", Lang: "ko"}, image.Pt(960, 540))
	testenv.Shot(t, "lock-korean.png", img)
	lit := 0
	for y := 0; y < 540; y++ {
		for x := 0; x < 960; x++ {
			if c := img.RGBAAt(x, y); c.R > 0xc0 && c.G > 0xc0 {
				lit++
			}
		}
	}
	if lit < 2000 {
		t.Fatalf("only %d text pixels: the Korean text was not drawn", lit)
	}
	if n := len(wrap(strings.Repeat("word ", 200), 48)); n != 6 {
		t.Fatalf("a long message wraps into %d lines, want 6 at most", n)
	}
}

// grab is what the agent's capture sends the professor.
func grab(t *testing.T, d *testenv.Display) *image.RGBA {
	t.Helper()
	c, err := capture.New(capture.Options{Screen: capture.AllScreens, Getenv: func(k string) string {
		if k == "DISPLAY" {
			return d.Name
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	img, err := c.Capture()
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func waitFile(t *testing.T, path, want string) {
	t.Helper()
	var got []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, _ = os.ReadFile(path); string(got) == want {
			return
		}
	}
	t.Fatalf("%s = %q, want %q", path, got, want)
}
