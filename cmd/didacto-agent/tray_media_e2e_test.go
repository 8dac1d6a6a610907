//go:build linux

package main

import (
	"bufio"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestTrayLiveMediaWithConsole: the real tray app under Xvfb, on a real
// sound server, in a live session opened from the real console in headless
// Chromium with its fake camera and microphone. The live panel shows the
// professor's camera (Chrome's green test picture, checked on the X screen
// from outside) with their name; the page hears the student; the
// professor's voice plays on the student's speakers; the student ends the
// session with the panel's button, the console says so, and the panel goes
// away. The X screen is two monitors (where
// xrandr can make them): the panel opens on the one that is not streamed,
// so the professor never sees it in their view; with one monitor, at its
// right side, off the centre.
func TestTrayLiveMediaWithConsole(t *testing.T) {
	node := testenv.LookPath(t, "node")
	chromium := testenv.LookPath(t, "chromium")
	xdotool := testenv.LookPath(t, "xdotool")
	e2eDir, _ := filepath.Abs("../../tests/e2e")
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core")); err != nil {
		testenv.Missing(t, "playwright-core not installed in tests/e2e (run scripts/setup.sh)")
	}
	d := testenv.StartXvfb(t, "2560x720x24")
	// The agent streams the first monitor (none is primary): LEFT.
	streamed, other := image.Rect(0, 0, 1280, 720), image.Rect(1280, 0, 2560, 720)
	twoMonitors := true
	for _, args := range [][]string{
		{"--setmonitor", "LEFT", "1280/340x720/190+0+0", "none"},
		{"--setmonitor", "RIGHT", "1280/340x720/190+1280+0", "none"},
	} {
		c := exec.Command("xrandr", args...)
		c.Env = d.Env()
		if out, err := c.CombinedOutput(); err != nil {
			t.Logf("one monitor: xrandr cannot define monitors here: %v %s", err, out)
			twoMonitors, streamed = false, image.Rect(0, 0, 2560, 720)
			break
		}
	}
	pa := testenv.StartPulse(t, 440)

	srv := servertest.Start(t)
	class := srv.ActiveClass(t, "Prof Kim", "Lee Student", "Live media")
	prof, stud, lec := class.Prof, class.Student, class.Lecture

	// The student signed in before (a desktop without a keyring keeps the
	// session in the private file).
	home := t.TempDir()
	var pair wire.TokenPair
	stud.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: stud.User.Email, Password: servertest.Password}, &pair)
	tokens, _ := json.Marshal(map[string]any{"access_token": pair.AccessToken, "refresh_token": pair.RefreshToken,
		"expires_at": pair.ExpiresAt})
	cfgDir := filepath.Join(home, ".config", "didacto")
	if err := os.MkdirAll(cfgDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfgDir, "session.json"), tokens, 0o600); err != nil {
		t.Fatal(err)
	}
	sys := filepath.Join(home, "agent.yaml")
	if err := os.WriteFile(sys, []byte("server: "+srv.URL+"\nlanguage: en\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(pa.Env(d.Env()), agentChildEnv+"=1", agentSystemEnv+"="+sys, "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus",
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_RUNTIME_DIR="+home)
	p, logHas := startTray(t, env, "--ice-loopback", "--log-level", "debug")
	logHas("monitoring", "msg=monitoring lecture="+strconv.FormatInt(lec.ID, 10))
	logHas("in its room", `msg="live session state" component=live mode=idle`)

	cmd := exec.Command(node, filepath.Join(e2eDir, "live-hold.mjs"))
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "BASE_URL="+srv.URL, "EMAIL="+prof.User.Email,
		"PASSWORD="+servertest.Password, "LECTURE_ID="+strconv.FormatInt(lec.ID, 10),
		"STUDENT_ID="+strconv.FormatInt(stud.User.ID, 10), "STUDENT_NAME="+stud.User.Name)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	expect := func(want string) {
		t.Helper()
		select {
		case l, ok := <-lines:
			if !ok || l != want {
				_ = cmd.Wait()
				t.Fatalf("console script said %q (ok %v), want %q:\n%s\nagent output:\n%s", l, ok, want, stderr.String(), p.Output())
			}
		case <-time.After(90 * time.Second):
			t.Fatalf("console script did not say %q:\n%s", want, stderr.String())
		}
	}
	defer func() { stdin.Close(); _ = cmd.Wait() }()
	expect("live") // the page decodes the screen and hears the student

	logHas("camera and sound", `mode=viewed professor="Prof Kim" microphone=on speaker=on camera=true`)
	// The live panel on the X screen, with the camera below the message
	// strip and the stop buttons, centred in the panel.
	win := ""
	for deadline := time.Now().Add(20 * time.Second); win == ""; {
		c := exec.Command(xdotool, "search", "--onlyvisible", "--name", "^DIDACTO live$")
		c.Env = d.Env()
		out, _ := c.Output()
		if f := strings.Fields(string(out)); len(f) > 0 {
			win = f[0]
		}
		if win == "" && time.Now().After(deadline) {
			t.Fatalf("no live panel on screen:\n%s", p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var shot *image.RGBA
	var panel image.Rectangle
	deadline := time.Now().Add(20 * time.Second)
	for {
		panel = geometry(t, xdotool, d, win)
		shot = grab(t, d.Name)
		cam := image.Rect(60, 120, panel.Dx()-60, 300).Add(panel.Min).Intersect(panel)
		g := greenShare(shot, cam)
		if g > 0.5 && panel.Dy() > 280 {
			break
		}
		if time.Now().After(deadline) {
			save(t, shot.SubImage(panel), "agent-e2e-live-camera-failed")
			t.Fatalf("the camera area %v of the panel %v is %.0f%% Chrome-test-picture green, want most of it:\n%s",
				cam, panel, 100*g, p.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	save(t, shot.SubImage(panel), "agent-e2e-live-camera")
	centre := image.Pt(streamed.Min.X+streamed.Dx()/2, streamed.Min.Y+streamed.Dy()/2)
	switch {
	case twoMonitors && !panel.In(other):
		t.Errorf("the panel %v is not on the monitor that is not streamed %v", panel, other)
	case !twoMonitors && (centre.In(panel) || panel.Min.X < centre.X):
		t.Errorf("the panel %v is not at the right side of %v", panel, streamed)
	}
	save(t, shot, "agent-e2e-live-panel-screen")

	// The professor's voice (the fake microphone's beeps) on the speakers.
	rec := pa.RecordSpeaker(t, 3*time.Second)
	loud := 0
	for i := 0; i+960 <= len(rec); i += 960 {
		var sum float64
		for _, s := range rec[i : i+960] {
			sum += float64(s) * float64(s)
		}
		if sum/960 > 330*330 { // RMS above 1% of full scale
			loud++
		}
	}
	if loud < 2 {
		t.Errorf("%d loud 20 ms windows on the student's speakers in 3 s", loud)
	}

	// The student ends the session with the panel's End session button
	// (the red one below the strip), clicked on the X screen; the console
	// says the student ended it.
	if _, err := io.WriteString(stdin, "student-ends\n"); err != nil {
		t.Fatal(err)
	}
	btn := redBox(shot, image.Rect(panel.Min.X, panel.Min.Y+40, panel.Max.X, panel.Max.Y))
	if btn.Dx() < 40 || btn.Dy() < 16 {
		t.Fatalf("no End session button in the panel %v (red area %v)", panel, btn)
	}
	at := btn.Min.Add(btn.Size().Div(2))
	click := exec.Command(xdotool, "mousemove", "--sync", strconv.Itoa(at.X), strconv.Itoa(at.Y), "click", "1")
	click.Env = d.Env()
	if out, err := click.CombinedOutput(); err != nil {
		t.Fatalf("clicking End session: %v %s", err, out)
	}
	expect("ended")
	logHas("session over", `msg="live session ended" component=live why="ended by the student"`)
	for deadline := time.Now().Add(20 * time.Second); ; {
		c := exec.Command(xdotool, "search", "--onlyvisible", "--name", "^DIDACTO live$")
		c.Env = d.Env()
		if out, _ := c.Output(); strings.TrimSpace(string(out)) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("live panel still shown after the session ended:\n%s", p.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	logHas("media stats", `msg="live media"`)
	for _, l := range strings.Split(p.Output(), "\n") {
		if strings.Contains(l, `msg="live media"`) {
			t.Log(l)
		}
	}
}

// redBox bounds the strongly red pixels of img within r (the panel's
// danger-coloured End session button).
func redBox(img *image.RGBA, r image.Rectangle) image.Rectangle {
	box := image.Rectangle{}
	r = r.Intersect(img.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := img.RGBAAt(x, y)
			if c.R > 200 && c.G < 110 && c.B < 110 {
				box = box.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return box
}

// geometry is a window's place on the screen (xdotool getwindowgeometry).
func geometry(t *testing.T, xdotool string, d *testenv.Display, win string) image.Rectangle {
	t.Helper()
	c := exec.Command(xdotool, "getwindowgeometry", "--shell", win)
	c.Env = d.Env()
	out, err := c.Output()
	if err != nil {
		t.Fatalf("xdotool getwindowgeometry: %v", err)
	}
	v := map[string]int{}
	for _, l := range strings.Fields(string(out)) {
		if k, val, ok := strings.Cut(l, "="); ok {
			v[k], _ = strconv.Atoi(val)
		}
	}
	return image.Rect(v["X"], v["Y"], v["X"]+v["WIDTH"], v["Y"]+v["HEIGHT"])
}

// grab captures the whole X screen.
func grab(t *testing.T, display string) *image.RGBA {
	t.Helper()
	c, err := capture.New(capture.Options{Screen: capture.AllScreens, Display: display})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	img, err := c.CaptureInto(nil)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// greenShare is the share of r's pixels that are clearly green (Chrome's
// fake camera paints a green picture).
func greenShare(img *image.RGBA, r image.Rectangle) float64 {
	n, green := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := img.PixOffset(x, y)
			// capture hands out BGRA or RGBA; green is the middle byte either way.
			r, g, b := int(img.Pix[o]), int(img.Pix[o+1]), int(img.Pix[o+2])
			n++
			if g > r+40 && g > b+40 {
				green++
			}
		}
	}
	return float64(green) / float64(n)
}

// save writes a screenshot for a person to look at (DIDACTO_SCREENSHOTS).
func save(t *testing.T, img image.Image, name string) {
	dir := os.Getenv("DIDACTO_SCREENSHOTS")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Log(err)
		return
	}
	defer f.Close()
	_ = png.Encode(f, img)
}
