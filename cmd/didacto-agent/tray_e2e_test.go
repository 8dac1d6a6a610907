//go:build linux

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/godbus/dbus/v5"
	"github.com/pion/webrtc/v4"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// The end-to-end test runs this test binary as the agent (no separate
// build): TestMain hands over to runAgent() when this variable is set, with
// the admin's system config file named by agentSystemEnv (the shipped
// binary refuses a --system-config beside an installed admin file, and a
// .deb test may have installed one meanwhile).
const (
	agentChildEnv  = "DIDACTO_AGENT_E2E_CHILD"
	agentSystemEnv = "DIDACTO_AGENT_E2E_SYSTEM_CONFIG"
)

func TestMain(m *testing.M) {
	if os.Getenv(agentChildEnv) != "" {
		ctx, stop := signalContext()
		code := runAgent(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv(agentSystemEnv))
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case <-ch:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// TestTrayAppEndToEnd launches the real agent binary under Xvfb with a
// private session bus and an unlocked gnome-keyring, drives its windows
// with real X input (xdotool), and checks the result on a real server:
// register, join by code, get accepted, be monitored with real screen
// frames, second launch, clean shutdown.
func TestTrayAppEndToEnd(t *testing.T) {
	xdotool := testenv.LookPath(t, "xdotool")
	d := testenv.StartXvfb(t, "1280x720x24")
	bus := startBus(t)
	startKeyring(t, bus)
	srv := servertest.Start(t)
	prof := srv.Register(t, wire.RoleProfessor, "Prof Kim")
	var lec wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Go 101"}, &lec)

	home := t.TempDir()
	sys := filepath.Join(home, "etc", "agent.yaml")
	if err := os.MkdirAll(filepath.Dir(sys), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sys, []byte("server: "+srv.URL+"\nlanguage: en\nlocked: [server]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runtimeDir := filepath.Join(home, "run")
	if err := os.MkdirAll(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(d.Env(), agentChildEnv+"=1", agentSystemEnv+"="+sys, "DBUS_SESSION_BUS_ADDRESS="+bus, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_RUNTIME_DIR="+runtimeDir)
	args := []string{"--interval", "500ms", "--log-level", "debug"}
	p, logHas := startTray(t, env, args...)
	x := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(xdotool, args...)
		cmd.Env = d.Env()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("xdotool %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	window := func(name string) string {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			cmd := exec.Command(xdotool, "search", "--onlyvisible", "--name", "^"+name+"$")
			cmd.Env = d.Env()
			out, _ := cmd.Output()
			if ids := strings.Fields(string(out)); len(ids) > 0 {
				return ids[len(ids)-1]
			}
			if time.Now().After(deadline) || p.Exited() {
				t.Fatalf("no window %q; agent output:\n%s", name, p.Output())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	// click at window-relative coordinates (no window manager: windows sit
	// at 0,0 and keyboard focus must be set explicitly).
	click := func(win string, px, py int) {
		t.Helper()
		x("windowraise", win)
		x("windowfocus", "--sync", win)
		x("mousemove", "--window", win, strconv.Itoa(px), strconv.Itoa(py))
		x("click", "1")
		time.Sleep(300 * time.Millisecond)
	}
	typeText := func(s string) { x("type", "--delay", "30", s); time.Sleep(200 * time.Millisecond) }

	// Signed out: the status window (no tray host on this bus) and the sign-in window.
	logHas("tray fallback", "no system tray on this desktop")
	window("DIDACTO")
	signin := window("Sign in to DIDACTO")
	shoot(t, d, "agent-e2e-signin", "420x360")
	// Register tab, then the four fields and the button (layout as in
	// docs/screenshots/agent-register-en.png).
	click(signin, 112, 72)
	email := fmt.Sprintf("lee%d@school.example", time.Now().UnixNano()%100000)
	for _, f := range []struct {
		y    int
		text string
	}{{112, "Lee Student"}, {151, email}, {190, "Passw0rd!"}, {229, "Passw0rd!"}} {
		click(signin, 300, f.y)
		typeText(f.text)
	}
	click(signin, 210, 268)
	logHas("signed in", "msg=\"signed in\" user="+email)
	// The tokens went to the keyring, not to the fallback file.
	if _, err := os.Stat(filepath.Join(home, ".config", "didacto", "session.json")); err == nil {
		t.Fatal("tokens written to the fallback file although the keyring is unlocked")
	}
	if strings.Contains(p.Output(), "keyring unavailable") {
		t.Fatalf("keyring fallback with a working keyring:\n%s", p.Output())
	}

	// My lectures: join by code (Enter submits).
	lectures := window("My lectures")
	click(lectures, 230, 400)
	typeText(strings.ToLower(lec.Code))
	x("key", "Return")
	var e wire.Enrollment
	deadline := time.Now().Add(30 * time.Second)
	for {
		var page wire.Page[wire.Enrollment]
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/enrollments?status=waiting", lec.ID), nil, &page)
		if len(page.Items) == 1 {
			e = page.Items[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no join request reached the server; agent output:\n%s", p.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if e.StudentEmail != email {
		t.Fatalf("request from %q", e.StudentEmail)
	}
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", lec.ID), nil, nil)
	logHas("monitoring", "msg=monitoring lecture="+strconv.FormatInt(lec.ID, 10))
	// The professor's grid gets the student's real screen.
	deadline = time.Now().Add(60 * time.Second)
	for {
		var m wire.MonitorSnapshot
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/monitor", lec.ID), nil, &m)
		if len(m.Tiles) == 1 && m.Tiles[0].FrameURL != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frame on the grid: %+v\n%s", m, p.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the lecture list redraw
	shoot(t, d, "agent-e2e-lectures", "520x460")

	// A professor opens a live session: the banner appears, names them,
	// turns to "controlling" with control, and goes away when they leave.
	liveSession(t, srv.URL, prof.Token, lec.ID, e.StudentID, func(step string) {
		switch step {
		case "viewed":
			logHas("viewed state", "mode=viewed professor=\"Prof Kim\"")
			window("DIDACTO live")
			shoot(t, d, "agent-e2e-banner-viewing", "1280x720")
		case "controlled":
			logHas("controlled state", "mode=controlled professor=\"Prof Kim\"")
			window("DIDACTO live")
		}
	})
	logHas("session over", "msg=\"live session ended\"")
	deadline = time.Now().Add(30 * time.Second)
	for {
		cmd := exec.Command(xdotool, "search", "--onlyvisible", "--name", "^DIDACTO live$")
		cmd.Env = d.Env()
		if out, _ := cmd.Output(); strings.TrimSpace(string(out)) == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("banner still shown after the professor left:\n%s", p.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}

	if os.Getenv("DIDACTO_TRAY_BENCH") != "" {
		measure(t, p.Cmd.Process.Pid, 30*time.Second)
	}

	// A second launch shows the first one's window and exits.
	second := exec.Command(os.Args[0], args...)
	second.Env = env
	out, err := second.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "already running") {
		t.Fatalf("second launch: %v %s", err, out)
	}
	logHas("show request", "another launch asked to show the window")

	// Clean shutdown on SIGTERM: monitoring stops, exit status 0.
	agent := p.Cmd
	if err := agent.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for !p.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("agent did not exit on SIGTERM:\n%s", p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if agent.ProcessState.ExitCode() != 0 || !strings.Contains(p.Output(), "stopped monitoring") || !strings.Contains(p.Output(), "msg=stopped") {
		t.Fatalf("unclean exit %d:\n%s", agent.ProcessState.ExitCode(), p.Output())
	}
}

// shoot saves the whole X screen when DIDACTO_SCREENSHOTS names a folder.
// startTray runs this test binary as the tray app (stopped when the test
// ends) and returns it with a wait for a line of its log.
func startTray(t *testing.T, env []string, args ...string) (*testenv.Proc, func(what, s string)) {
	t.Helper()
	agent := exec.Command(os.Args[0], args...)
	agent.Env = env
	p, err := testenv.StartProc(agent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	return p, func(what, s string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for !strings.Contains(p.Output(), s) {
			if time.Now().After(deadline) || p.Exited() {
				t.Fatalf("waiting for %s (%q); agent output:\n%s", what, s, p.Output())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

func shoot(t *testing.T, d *testenv.Display, name, size string) {
	dir := os.Getenv("DIDACTO_SCREENSHOTS")
	if dir == "" {
		return
	}
	cmd := exec.Command("import", "-window", "root", "-crop", size+"+0+0", "+repage", "-colors", "128", filepath.Join(dir, name+".png"))
	cmd.Env = d.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Logf("screenshot %s: %v %s", name, err, out)
	}
}

// measure logs the agent's CPU use and RSS over a window while monitored.
func measure(t *testing.T, pid int, over time.Duration) {
	cpu := func() float64 {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		ut, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		return (ut + st) / 100 // USER_HZ
	}
	rss := func() string {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		var out []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
				out = append(out, strings.Join(strings.Fields(l), " "))
			}
		}
		return strings.Join(out, ", ")
	}
	c0, t0 := cpu(), time.Now()
	time.Sleep(over)
	c1, el := cpu(), time.Since(t0)
	t.Logf("BENCH tray agent while monitored (interval 500ms, 1280x720 Xvfb): CPU %.1f%% of one core over %s, %s",
		100*(c1-c0)/el.Seconds(), el.Round(time.Second), rss())
}

// startBus starts a private D-Bus session daemon and returns its address.
func startBus(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(testenv.LookPath(t, "dbus-daemon"), "--session", "--nofork", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(3 * time.Second) })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatalf("dbus-daemon printed no address: %s", p.Output())
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not start")
	}
	return ""
}

// startKeyring runs an unlocked gnome-keyring secrets service on bus.
func startKeyring(t *testing.T, bus string) {
	t.Helper()
	cmd := exec.Command(testenv.LookPath(t, "gnome-keyring-daemon"), "--foreground", "--components=secrets", "--unlock")
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "DBUS_SESSION_BUS_ADDRESS="+bus, "HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, "data"), "XDG_RUNTIME_DIR="+home)
	cmd.Stdin = strings.NewReader("test-password")
	p, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(3 * time.Second) })
	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.secrets").Store(&has)
		if err == nil && has {
			return
		}
		if time.Now().After(deadline) || p.Exited() {
			t.Fatalf("gnome-keyring did not start (%v):\n%s", err, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveSession plays the professor's side of the signaling far enough for
// the agent to answer (which is when it tells the student), then starts
// control and leaves. step is called after each stage.
func liveSession(t *testing.T, server, token string, lectureID, studentID int64, step func(string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(server, "http") + "/api/v1/signal"
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	send := func(m wire.SignalMessage) {
		m.V = wire.ProtocolVersion
		b, _ := json.Marshal(m)
		if err := c.Write(ctx, websocket.MessageText, b); err != nil {
			t.Fatalf("professor send %s: %v", m.Type, err)
		}
	}
	recv := func() wire.SignalMessage {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("professor recv: %v", err)
		}
		m, err := wire.DecodeSignal(b)
		if err != nil {
			t.Fatalf("decoding %s: %v", b, err)
		}
		return m
	}
	for joined := false; !joined; {
		send(wire.SignalMessage{Type: wire.SignalJoin, LectureID: lectureID, StudentID: studentID, Role: wire.RoleProfessor})
		switch m := recv(); {
		case m.Type == wire.SignalJoined:
			joined = true
		case m.Type == wire.SignalError && m.Code == wire.CodeStudentNotInRoom:
			time.Sleep(200 * time.Millisecond) // the agent has not joined its room yet
		default:
			t.Fatalf("professor join: %+v", m)
		}
	}
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.CreateDataChannel(wire.SessionChannel, nil); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	send(wire.SignalMessage{Type: wire.SignalOffer, SDP: offer.SDP})
	for m := recv(); m.Type != wire.SignalAnswer; m = recv() {
	}
	step("viewed")
	send(wire.SignalMessage{Type: wire.SignalControlStart})
	step("controlled")
	send(wire.SignalMessage{Type: wire.SignalLeave})
}

// TestTrayAppWithoutSessionBus: a desktop with no D-Bus at all still gets
// the status window, keeps tokens in the private file (with a warning) and
// quits cleanly on SIGTERM.
func TestTrayAppWithoutSessionBus(t *testing.T) {
	d := testenv.StartXvfb(t, "1024x600x24")
	home := t.TempDir()
	sys := filepath.Join(home, "agent.yaml")
	if err := os.WriteFile(sys, []byte("server: http://127.0.0.1:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(d.Env(), agentChildEnv+"=1", agentSystemEnv+"="+sys, "DBUS_SESSION_BUS_ADDRESS=unix:path=/nonexistent/bus", "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_RUNTIME_DIR="+home)
	p, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(10 * time.Second) })
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.Output(), "showing the status window instead") {
		if time.Now().After(deadline) || p.Exited() {
			t.Fatalf("no fallback window:\n%s", p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(p.Output(), "OS keyring unavailable") {
		t.Errorf("no keyring warning:\n%s", p.Output())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for !p.Exited() {
		if time.Now().After(deadline) {
			t.Fatalf("no exit on SIGTERM:\n%s", p.Output())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cmd.ProcessState.ExitCode() != 0 || !strings.Contains(p.Output(), "msg=stopped") {
		t.Fatalf("exit %d:\n%s", cmd.ProcessState.ExitCode(), p.Output())
	}
}
