package integration

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/internal/procstat"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// The Windows agent under Wine: its real .exe (scripts/package.sh windows),
// with Windows' code paths — GDI capture, SendInput, wincred — running on
// Wine over an Xvfb display the test starts. Wine is not Windows: these
// prove the Windows build works end to end, not how fast real Windows is.

// startWindowsAgent runs the headless Windows agent under Wine on disp as
// the class's student, against the server at url, and waits until it has
// signed in and holds its seat in the lecture's room (it is stopped, its
// output shown if the test failed, when the test ends).
func startWindowsAgent(ctx context.Context, t *testing.T, w *testenv.Wine, disp *testenv.Display, url string, class servertest.Class, args ...string) *testenv.Proc {
	t.Helper()
	exe := testenv.WindowsAgent(t).Exe
	cmd := w.Command(disp, exe, append([]string{"--headless", "--server", url}, args...)...)
	cmd.Env = append(cmd.Env, "DIDACTO_EMAIL="+class.Student.User.Email, "DIDACTO_PASSWORD="+servertest.Password)
	p, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	waitSeated(ctx, t, p, class.Prof, class.Lecture.ID, class.Student.User.ID)
	return p
}

// quadrants is a screen-filling X window of four colours (top-left,
// top-right, bottom-left, bottom-right as 0xRRGGBB), drawn by its own X
// client: what the student's screen shows.
type quadrants struct {
	conn *xgb.Conn
	win  xproto.Window
	gc   xproto.Gcontext
	w, h uint16
}

func newQuadrants(t *testing.T, disp *testenv.Display) *quadrants {
	t.Helper()
	conn, err := xgb.NewConnDisplay(disp.Name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	screen := xproto.Setup(conn).DefaultScreen(conn)
	q := &quadrants{conn: conn, w: screen.WidthInPixels, h: screen.HeightInPixels}
	if q.win, err = xproto.NewWindowId(conn); err != nil {
		t.Fatal(err)
	}
	err = xproto.CreateWindowChecked(conn, screen.RootDepth, q.win, screen.Root, 0, 0, q.w, q.h, 0,
		xproto.WindowClassInputOutput, screen.RootVisual, xproto.CwBackPixel|xproto.CwOverrideRedirect,
		[]uint32{screen.BlackPixel, 1}).Check()
	if err != nil {
		t.Fatal(err)
	}
	if q.gc, err = xproto.NewGcontextId(conn); err != nil {
		t.Fatal(err)
	}
	if err := xproto.CreateGCChecked(conn, q.gc, xproto.Drawable(q.win), 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	if err := xproto.MapWindowChecked(conn, q.win).Check(); err != nil {
		t.Fatal(err)
	}
	return q
}

// paint fills the four quadrants (TrueColor: a pixel is 0xRRGGBB).
func (q *quadrants) paint(t *testing.T, c [4]uint32) {
	t.Helper()
	hw, hh := q.w/2, q.h/2
	for i, r := range []xproto.Rectangle{{X: 0, Y: 0, Width: hw, Height: hh}, {X: int16(hw), Y: 0, Width: q.w - hw, Height: hh},
		{X: 0, Y: int16(hh), Width: hw, Height: q.h - hh}, {X: int16(hw), Y: int16(hh), Width: q.w - hw, Height: q.h - hh}} {
		if err := xproto.ChangeGCChecked(q.conn, q.gc, xproto.GcForeground, []uint32{c[i]}).Check(); err != nil {
			t.Fatal(err)
		}
		if err := xproto.PolyFillRectangleChecked(q.conn, xproto.Drawable(q.win), q.gc, []xproto.Rectangle{r}).Check(); err != nil {
			t.Fatal(err)
		}
	}
	// A round trip: the drawing is on the server before the caller goes on.
	if _, err := xproto.GetInputFocus(q.conn).Reply(); err != nil {
		t.Fatal(err)
	}
}

// quadrantsMatch reports whether each quadrant of the frame (its inner half,
// away from JPEG blur at the edges) has the colour painted there.
func quadrantsMatch(img image.Image, c [4]uint32) (bool, string) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	desc := ""
	ok := true
	for i := 0; i < 4; i++ {
		x0, y0 := b.Min.X+(i%2)*w/2, b.Min.Y+(i/2)*h/2
		var sum [3]int
		n := 0
		for y := y0 + h/8; y < y0+3*h/8; y += 2 {
			for x := x0 + w/8; x < x0+3*w/8; x += 2 {
				r, g, bl, _ := img.At(x, y).RGBA()
				sum[0] += int(r >> 8)
				sum[1] += int(g >> 8)
				sum[2] += int(bl >> 8)
				n++
			}
		}
		got := [3]int{sum[0] / n, sum[1] / n, sum[2] / n}
		want := [3]int{int(c[i] >> 16 & 0xff), int(c[i] >> 8 & 0xff), int(c[i] & 0xff)}
		for k := range got {
			if d := got[k] - want[k]; d > 24 || d < -24 {
				ok = false
			}
		}
		desc += fmt.Sprintf(" q%d %v (want %v)", i, got, want)
	}
	return ok, desc
}

// TestWindowsAgentMonitoring: the Windows agent under Wine signs in against
// a real server, finds its lecture, and uploads frames of the X display
// through its GDI capture: a four-colour pattern drawn on the display shows
// in the right places, and when the pattern changes a new frame shows the
// new one (frames are live, not one lucky capture).
func TestWindowsAgentMonitoring(t *testing.T) {
	disp := testenv.StartXvfb(t, "1280x720x24")
	w := testenv.StartWine(t)
	testenv.WindowsAgent(t) // build before the clock starts
	q := newQuadrants(t, disp)
	first := [4]uint32{0xd02020, 0x20c040, 0x2040e0, 0xf0f0f0}
	second := [4]uint32{0xf0f0f0, 0x2040e0, 0x20c040, 0xd02020}
	q.paint(t, first)

	in := servertest.Start(t)
	class := in.ActiveClass(t, "Prof Wine", "Student Wine", "Wine monitoring")
	prof, stud, l := class.Prof, class.Student, class.Lecture

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	start := time.Now()
	ap := startWindowsAgent(ctx, t, w, disp, in.URL, class, "--interval", "1s", "--width", "320", "--audio", "off")
	t.Logf("the Windows agent signed in and joined its room in %v", time.Since(start).Round(100*time.Millisecond))

	// frame waits for a tile of the student newer than after whose JPEG
	// matches c, and returns its version.
	frame := func(after int64, c [4]uint32, what string) int64 {
		t.Helper()
		last := ""
		for {
			var snap wire.MonitorSnapshot
			prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/monitor", l.ID), nil, &snap)
			for _, tile := range snap.Tiles {
				if tile.StudentID != stud.User.ID || tile.Version <= after || tile.FrameURL == "" {
					continue
				}
				// The server may ask for smaller frames under load: at most
				// the asked width, in the screen's 16:9.
				if !tile.Online || tile.Width > 320 || tile.Width < 160 || tile.Width*9 != tile.Height*16 {
					t.Fatalf("tile %+v: want an online 16:9 frame at most 320 wide", tile)
				}
				img, err := jpeg.Decode(bytes.NewReader(prof.Must(200, "GET", tile.FrameURL, nil, nil).Body))
				if err != nil {
					t.Fatalf("frame is not a JPEG: %v", err)
				}
				ok, desc := quadrantsMatch(img, c)
				if ok {
					return tile.Version
				}
				last = desc
			}
			if ctx.Err() != nil || ap.Exited() {
				t.Fatalf("no frame with the %s pattern (last:%s); agent exited %v:\n%s", what, last, ap.Exited(), ap.Output())
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	v := frame(0, first, "first")
	t.Logf("first matching frame %v after the Windows agent started", time.Since(start).Round(100*time.Millisecond))
	before, berr := procstat.Read(ap.Cmd.Process.Pid) // the Windows process runs in wine64's PID
	q.paint(t, second)
	changed := time.Now()
	frame(v, second, "changed")
	t.Logf("the changed pattern arrived %v after painting", time.Since(changed).Round(100*time.Millisecond))
	// A figure for BENCHMARKS.md (Wine's, not Windows'), never asserted.
	if after, err := procstat.Read(ap.Cmd.Process.Pid); err == nil && berr == nil {
		t.Logf("the Windows agent under Wine while monitored: %.1f %% of one core over %v, RSS %.0f MiB",
			100*(after.CPU-before.CPU).Seconds()/after.At.Sub(before.At).Seconds(), after.At.Sub(before.At).Round(100*time.Millisecond), after.RSSMiB)
	}
}

// TestWindowsAgentLiveControl: the professor opens the real console in
// headless Chromium and starts a live session with the Windows agent under
// Wine. The page decodes the student's screen; the professor's click,
// wheel, keys with modifiers and Korean text arrive, through the agent's
// SendInput and Wine, in a Windows window on the student's display (which
// writes down what it receives), and the professor's pointer moves the X
// pointer (checked with xdotool). A Shift held when the page crashes is
// let go by the agent: nothing stays pressed on the student's side.
func TestWindowsAgentLiveControl(t *testing.T) {
	node := testenv.LookPath(t, "node")
	chromium := testenv.LookPath(t, "chromium")
	xdotool := testenv.LookPath(t, "xdotool")
	e2eDir, _ := filepath.Abs("../e2e")
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core")); err != nil {
		testenv.Missing(t, "playwright-core not installed in tests/e2e (run scripts/setup.sh)")
	}
	disp := testenv.StartXvfb(t, "1280x720x24")
	w := testenv.StartWine(t)
	testenv.WindowsAgent(t)

	// The student's window: full screen, in the foreground, recording.
	events := filepath.Join(t.TempDir(), "events.txt")
	reader := w.Command(disp, w.BuildC(t, "testdata/winreader.c"), testenv.WindowsPath(events))
	rp, err := testenv.StartProc(reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Stop(3 * time.Second) })
	lines := func() []string {
		b, _ := os.ReadFile(events)
		return strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	for !strings.HasPrefix(lines()[0], "ready") {
		if rp.Exited() {
			t.Fatalf("the Windows reader window exited:\n%s", rp.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := lines()[0]; got != "ready 1280 720" {
		t.Fatalf("the reader window says %q, want the 1280x720 screen", got)
	}

	in := servertest.Start(t)
	class := in.ActiveClass(t, "Prof Wine Live", "Student Wine Live", "Wine live")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	ap := startWindowsAgent(ctx, t, w, disp, in.URL, class, "--interval", "1s", "--audio", "off", "--ice-loopback")

	runConsoleScript(ctx, t, node, chromium, e2eDir, "live-wine.mjs", in.URL, class.Prof.User.Email, class.Lecture.ID,
		class.Student.User.ID, "MOVE_X=0.75", "MOVE_Y=0.5", "TMPDIR="+t.TempDir())

	// The last pointer move put the X pointer at 75%, 50% of the screen.
	loc := exec.Command(xdotool, "getmouselocation", "--shell")
	loc.Env = disp.Env()
	out, err := loc.Output()
	if err != nil {
		t.Fatalf("xdotool getmouselocation: %v", err)
	}
	var x, y int
	for _, l := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(l, "X="); ok {
			x, _ = strconv.Atoi(v)
		}
		if v, ok := strings.CutPrefix(l, "Y="); ok {
			y, _ = strconv.Atoi(v)
		}
	}
	if abs(x-960) > 2 || abs(y-360) > 2 {
		t.Errorf("X pointer at %d,%d, want 960,360", x, y)
	}

	// The Shift held at the crash is released by the agent.
	released := func() bool {
		ls := lines()
		held := false
		for _, l := range ls {
			if strings.HasPrefix(l, "keydown 0x10 ") {
				held = true
			}
			if l == "keyup 0x10" {
				held = false
			}
		}
		return !held && strings.Contains(strings.Join(ls, "\n"), "keydown 0x10 shift=1")
	}
	for !released() {
		if ctx.Err() != nil || ap.Exited() {
			t.Fatalf("the Shift held when the page crashed was not released:\n%s", strings.Join(lines(), "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	got := lines()
	t.Logf("the Windows window received:\n%s", strings.Join(got, "\n"))
	find := func(what string, match func(string) bool) int {
		for i, l := range got {
			if match(l) {
				return i
			}
		}
		t.Errorf("the Windows window got no %s", what)
		return -1
	}
	// The click at 25%, 25%: (320, 180) on the 1280x720 screen.
	clickAt := func(kind string) func(string) bool {
		return func(l string) bool {
			var px, py int
			if n, _ := fmt.Sscanf(l, kind+" left %d %d", &px, &py); n == 2 {
				return abs(px-320) <= 2 && abs(py-180) <= 2
			}
			return false
		}
	}
	d := find("left button press at 320,180", clickAt("down"))
	u := find("left button release at 320,180", clickAt("up"))
	if d >= 0 && u >= 0 && u < d {
		t.Error("the button was released before it was pressed")
	}
	find("wheel down", func(l string) bool {
		var n int
		_, err := fmt.Sscanf(l, "wheel %d", &n)
		return err == nil && n < 0 && n%120 == 0
	})
	find("W with Shift", func(l string) bool { return strings.HasPrefix(l, "keydown 0x57 shift=1 ctrl=0") })
	find("B with Control", func(l string) bool { return strings.HasPrefix(l, "keydown 0x42 shift=0 ctrl=1") })
	var typed []rune
	for _, l := range got {
		var c int
		if _, err := fmt.Sscanf(l, "char 0x%x", &c); err == nil {
			typed = append(typed, rune(c))
		}
	}
	if want := "wineW\x02한글"; string(typed) != want {
		t.Errorf("characters typed %q, want %q", string(typed), want)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// TestWindowsAgentMSIInstall: the MSI installs silently under Wine's
// msiexec with a preset, locked server address: the agent lands in Program
// Files with its autostart Run key, the admin config under ProgramData
// reads back through the agent's own loader, and the installed tray app,
// started as the Run key does, opens its sign-in window on that server
// even when told another one. Uninstalling removes the program and the Run
// key and keeps the admin's config (an upgrade or reinstall finds it).
func TestWindowsAgentMSIInstall(t *testing.T) {
	xdotool := testenv.LookPath(t, "xdotool")
	disp := testenv.StartXvfb(t, "1280x720x24")
	w := testenv.StartWine(t)
	build := testenv.WindowsAgent(t)
	in := servertest.Start(t)

	msiexec := func(args ...string) { t.Helper(); w.Run(t, disp, 2*time.Minute, "msiexec", args...) }
	runKey := func() (string, bool) {
		t.Helper()
		out, err := w.Command(disp, "reg", "query", `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`, "/v", "DidactoAgent").Output()
		return strings.ReplaceAll(string(out), "\r", ""), err == nil
	}
	exe := w.Path(`C:\Program Files\Didacto\didacto-agent.exe`)
	yamlPath := w.Path(`C:\ProgramData\Didacto\agent.yaml`)

	start := time.Now()
	msiexec("/i", testenv.WindowsPath(build.MSI), "/qn", "SERVER_URL="+in.URL, "LOCK_SERVER_URL=1")
	t.Logf("msiexec /i /qn took %v", time.Since(start).Round(100*time.Millisecond))
	a, _ := os.ReadFile(build.Exe)
	b, err := os.ReadFile(exe)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("Program Files holds no copy of the built agent (%v)", err)
	}
	if out, ok := runKey(); !ok || !strings.Contains(out, `"C:\Program Files\Didacto\didacto-agent.exe"`) {
		t.Errorf("the HKLM Run key after install: %q", out)
	}
	c, err := config.Load(config.Options{SystemFile: yamlPath})
	if err != nil {
		t.Fatalf("the admin config the MSI wrote does not load: %v", err)
	}
	if c.String(config.KeyServer) != in.URL || !c.Locked(config.KeyServer) {
		b, _ := os.ReadFile(yamlPath)
		t.Fatalf("admin config gives server %q locked %v, want %q locked:\n%s", c.String(config.KeyServer), c.Locked(config.KeyServer), in.URL, b)
	}

	// The installed program, as the Run key starts it at login (its
	// Windows path), told another server: the lock keeps the admin's.
	tray, err := testenv.StartProc(w.Command(disp, `C:\Program Files\Didacto\didacto-agent.exe`, "--server", "http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tray.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("tray output:\n%s", tray.Output())
		}
	})
	find := exec.Command(xdotool, "search", "--sync", "--onlyvisible", "--name", "Sign in to DIDACTO")
	find.Env = disp.Env()
	find.WaitDelay = time.Second
	done := make(chan error, 1)
	go func() { _, err := find.Output(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("no sign-in window: %v", err)
		}
	case <-time.After(90 * time.Second):
		_ = find.Process.Kill()
		t.Fatalf("the tray app opened no sign-in window in 90 s:\n%s", tray.Output())
	}
	t.Logf("the installed tray app's sign-in window appeared %v after it started", time.Since(start).Round(100*time.Millisecond))
	if want := "server=" + in.URL + " ui=tray"; !strings.Contains(tray.Output(), want) {
		t.Errorf("the tray app does not say %q:\n%s", want, tray.Output())
	}
	time.Sleep(time.Second) // let fyne draw the window before the picture
	if dir := os.Getenv("DIDACTO_SCREENSHOT_DIR"); dir != "" {
		screenshotPNG(t, disp, filepath.Join(dir, "agent-wine-signin.png"), 440, 400) // the window at the top left
	}
	tray.Stop(5 * time.Second)
	// The rest of the prefix's Windows processes (explorer, services) end
	// too before the uninstall, as at a logout.
	w.Stop()

	msiexec("/x", testenv.WindowsPath(build.MSI), "/qn")
	if _, err := os.Stat(exe); !os.IsNotExist(err) {
		t.Errorf("the agent is still in Program Files after uninstall (%v)", err)
	}
	if out, ok := runKey(); ok {
		t.Errorf("the Run key is still there after uninstall: %q", out)
	}
	if b, err := os.ReadFile(yamlPath); err != nil || !strings.Contains(string(b), in.URL) {
		t.Errorf("uninstall did not keep the admin config: %q %v", b, err)
	}
}

// screenshotPNG saves the top-left w x h of d's X screen (24-bit
// TrueColor) as a PNG.
func screenshotPNG(t *testing.T, d *testenv.Display, path string, w, h uint16) {
	t.Helper()
	conn, err := xgb.NewConnDisplay(d.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s := xproto.Setup(conn).DefaultScreen(conn)
	r, err := xproto.GetImage(conn, xproto.ImageFormatZPixmap, xproto.Drawable(s.Root), 0, 0, w, h, 0xffffffff).Reply()
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, int(w), int(h)))
	for i := 0; i+3 < len(r.Data) && i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = r.Data[i+2], r.Data[i+1], r.Data[i], 0xff
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestWindowsTokensInWincred: the tray's session store on Windows keeps the
// tokens in the Credential Manager (wincred), not in its fallback file: the
// agent/tokens package's Windows test, cross-compiled, runs under Wine.
func TestWindowsTokensInWincred(t *testing.T) {
	w := testenv.StartWine(t)
	exe := filepath.Join(t.TempDir(), "tokens.test.exe")
	build := exec.Command("go", "test", "-c", "-o", exe, "../../agent/tokens")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cross-compiling agent/tokens' tests: %v\n%s", err, out)
	}
	out := w.Run(t, nil, time.Minute, exe, "-test.run", "^TestWindowsCredentialManager$", "-test.v")
	if !strings.Contains(out, "--- PASS: TestWindowsCredentialManager") {
		t.Fatalf("the Windows token test did not pass under Wine:\n%s", out)
	}
}
