package integration

import (
	"fmt"
	"image"
	"image/color"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// lockBlue is the lock screen's background (lockscreen's colour).
var lockBlue = color.RGBA{0x14, 0x2b, 0x4c, 0xff}

// TestLockWithRealAgent: a real headless agent on a two-monitor X display
// is locked from the API: both monitors show the lock and typed keys do
// not reach the window under it; the agent is killed and restarted while
// locked and comes back locked; unlock lets the keys through again. The
// lock's command shows applied.
func TestLockWithRealAgent(t *testing.T) {
	bin := agentBinary(t)
	xdotool, xterm, xrandr := testenv.LookPath(t, "xdotool"), testenv.LookPath(t, "xterm"), testenv.LookPath(t, "xrandr")
	d := testenv.StartXvfb(t, "1280x480x24")
	x := func(bin string, args ...string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = d.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
		}
	}
	x(xrandr, "--setmonitor", "LEFT", "640/170x480/127+0+0", "none")
	x(xrandr, "--setmonitor", "RIGHT", "640/170x480/127+640+0", "none")
	typed := filepath.Join(t.TempDir(), "typed.txt")
	term := exec.Command(xterm, "-T", "lock-target", "-geometry", "60x10+0+0", "-e", "sh", "-c", "cat > "+typed)
	term.Env = d.Env()
	tp, err := testenv.StartProc(term)
	if err != nil {
		t.Fatal(err)
	}
	defer tp.Stop(3 * time.Second)
	typeText := func(s string) {
		x(xdotool, "search", "--sync", "--name", "lock-target", "windowfocus")
		x(xdotool, "mousemove", "100", "60")
		x(xdotool, "type", "--delay", "20", s+"\n")
	}

	in := servertest.Start(t)
	c := in.ActiveClass(t, "Prof Lock", "Student Lock", "Networks 101")
	path := fmt.Sprintf("/api/v1/lectures/%d", c.Lecture.ID)
	start := func() *testenv.Proc {
		cmd := exec.Command(bin, "--headless", "--server", in.URL, "--interval", "1s")
		cmd.Env = append(d.Env(), "DIDACTO_EMAIL="+c.Student.User.Email, "DIDACTO_PASSWORD="+servertest.Password, "LANG=C.UTF-8")
		p, err := testenv.StartProc(cmd)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			p.Stop(5 * time.Second)
			if t.Failed() {
				t.Logf("agent output:\n%s", p.Output())
			}
		})
		return p
	}
	agent := start()
	waitOnline(t, c, path)

	typeText("before")
	waitText(t, typed, "before\n")

	var cmd wire.Command
	sent := time.Now()
	c.Prof.Must(http.StatusCreated, "POST", path+"/commands", wire.CommandRequest{Kind: wire.CommandLock, Text: "Eyes on me"}, &cmd)
	img := waitScreen(t, d, true)
	t.Logf("lock: POST to the screen covered %v", time.Since(sent).Round(time.Millisecond))
	waitApplied(t, c, path, cmd.ID)
	t.Logf("lock: POST to applied %v", time.Since(sent).Round(time.Millisecond))
	testenv.Shot(t, "agent-lock-two-monitors.png", img)
	for _, p := range []image.Point{{20, 20}, {620, 460}, {660, 20}, {1260, 460}} {
		if img.RGBAAt(p.X, p.Y) != lockBlue {
			t.Errorf("at %v the screen is %v, not the lock", p, img.RGBAAt(p.X, p.Y))
		}
	}
	// The professor's thumbnail shows the desktop under the lock (the
	// white xterm on black), not the lock.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		var snap wire.MonitorSnapshot
		c.Prof.Must(http.StatusOK, "GET", path+"/monitor", nil, &snap)
		if tile := snap.Tiles[0]; tile.CapturedAt != nil && tile.CapturedAt.After(sent.Add(300*time.Millisecond)) {
			m := meanColor(t, c.Prof.Must(http.StatusOK, "GET", tile.FrameURL, nil, nil).Body)
			if m[2]-m[0] > 20 {
				t.Fatalf("the thumbnail under the lock is bluish %v: it shows the lock", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no thumbnail after the lock")
		}
	}
	typeText("during")
	time.Sleep(300 * time.Millisecond)
	if b, _ := os.ReadFile(typed); string(b) != "before\n" {
		t.Fatalf("keys reached the window under the lock: %q", b)
	}

	// Killed while locked: its windows go with it; restarted, it is
	// locked again before anything else.
	agent.Kill()
	waitScreen(t, d, false)
	restarted := time.Now()
	start()
	waitScreen(t, d, true)
	t.Logf("restart while locked: agent start to the screen covered %v", time.Since(restarted).Round(time.Millisecond))

	var unlock wire.Command
	sent = time.Now()
	c.Prof.Must(http.StatusCreated, "POST", path+"/commands", wire.CommandRequest{Kind: wire.CommandUnlock}, &unlock)
	waitScreen(t, d, false)
	t.Logf("unlock: POST to the screen released %v", time.Since(sent).Round(time.Millisecond))
	waitApplied(t, c, path, unlock.ID)
	typeText("after")
	waitText(t, typed, "before\nafter\n")
}

func waitOnline(t *testing.T, c servertest.Class, path string) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var snap wire.MonitorSnapshot
		c.Prof.Must(http.StatusOK, "GET", path+"/monitor", nil, &snap)
		if len(snap.Tiles) == 1 && snap.Tiles[0].Online {
			time.Sleep(500 * time.Millisecond) // the channel opens beside the first upload
			return
		}
	}
	t.Fatal("the agent did not come online")
}

func waitApplied(t *testing.T, c servertest.Class, path string, id int64) {
	t.Helper()
	var got wire.Command
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		c.Prof.Must(http.StatusOK, "GET", fmt.Sprintf("%s/commands/%d", path, id), nil, &got)
		if len(got.Results) == 1 && got.Results[0].State == wire.ResultApplied {
			return
		}
	}
	t.Fatalf("command %d: %+v, want applied", id, got.Results)
}

// waitScreen waits until the display shows the lock (or does not).
func waitScreen(t *testing.T, d *testenv.Display, locked bool) *image.RGBA {
	t.Helper()
	var img *image.RGBA
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		img = d.RootImage(t)
		if (img.RGBAAt(1000, 300) == lockBlue) == locked {
			return img
		}
	}
	t.Fatalf("the screen did not become locked=%v", locked)
	return nil
}

func waitText(t *testing.T, path, want string) {
	t.Helper()
	var got []byte
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got, _ = os.ReadFile(path); string(got) == want {
			return
		}
	}
	t.Fatalf("typed %q, want %q", got, want)
}
