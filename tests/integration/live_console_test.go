package integration

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestConsoleLiveSessionWithRealAgent: the professor opens the real console
// in headless Chromium and starts a live session with a real headless agent
// under Xvfb, on a real sound server (PulseAudio). The page decodes the
// student's screen and hears the student's microphone; the agent decodes
// the professor's camera and plays the professor's voice (its log says how
// much); the professor takes control and types into a real xterm on the
// student's display, which is checked from outside (the file xterm writes).
func TestConsoleLiveSessionWithRealAgent(t *testing.T) {
	bin := agentBinary(t)
	node := testenv.LookPath(t, "node")
	chromium := testenv.LookPath(t, "chromium")
	e2eDir, _ := filepath.Abs("../e2e")
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core")); err != nil {
		testenv.Missing(t, "playwright-core not installed in tests/e2e (run scripts/setup.sh)")
	}
	xterm := testenv.LookPath(t, "xterm")
	xdotool := testenv.LookPath(t, "xdotool")
	disp := testenv.StartXvfb(t, "1280x720x24")
	testenv.StartPulse(t, 440) // PULSE_SERVER reaches the agent through the environment

	// The student's terminal fills the top-left of the screen; what it
	// reads goes to a file we can check.
	out := filepath.Join(t.TempDir(), "typed.txt")
	term := exec.Command(xterm, "-geometry", "100x20+0+0", "-e", "sh", "-c", "cat > "+out)
	term.Env = disp.Env()
	tp, err := testenv.StartProc(term)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.Stop(3 * time.Second) })

	in := servertest.Start(t)
	class := in.ActiveClass(t, "Prof Live Console", "Student Live Console", "Live console")
	prof, stud, l := class.Prof, class.Student, class.Lecture

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	agent := exec.CommandContext(ctx, bin, "--headless", "--server", in.URL, "--interval", "1s")
	agent.Env = append(disp.Env(), "DIDACTO_EMAIL="+stud.User.Email, "DIDACTO_PASSWORD="+servertest.Password)
	ap, err := testenv.StartProc(agent)
	if err != nil {
		t.Fatal(err)
	}
	waitSeated(ctx, t, ap, prof, l.ID, stud.User.ID)
	// With no window manager, keys go to the X focus: give it to the terminal
	// as a person's earlier click would have (the page's click lands there too).
	focus := exec.Command(xdotool, "search", "--sync", "--class", "xterm", "windowfocus", "--sync")
	focus.Env = disp.Env()
	if o, err := focus.CombinedOutput(); err != nil {
		t.Fatalf("focusing the terminal: %v %s", err, o)
	}

	text := "didacto-" + strconv.FormatInt(time.Now().UnixNano()%100000, 10)
	runConsoleScript(ctx, t, node, chromium, e2eDir, "live-real.mjs", in.URL, prof.User.Email, l.ID, stud.User.ID, "TYPE_TEXT="+text)
	for {
		b, _ := os.ReadFile(out)
		if strings.Contains(string(b), text) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the student's terminal got %q, want %q", b, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The session's media as the agent saw it, once the page ended it.
	var media map[string]string
	for media == nil {
		for _, line := range strings.Split(ap.Output(), "\n") {
			if strings.Contains(line, `msg="live media"`) {
				media = logFields(line)
			}
		}
		if media == nil && ctx.Err() != nil {
			t.Fatalf("the agent logged no live media:\n%s", ap.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	num := func(k string) int { n, _ := strconv.Atoi(media[k]); return n }
	if num("camera_frames") < 10 || media["camera_size"] != "320x240" {
		t.Errorf("the professor's camera in the agent: %v", media)
	}
	if num("voice_loud_packets") < 1 || num("played_ms") < 1000 {
		t.Errorf("the professor's voice in the agent: %v", media)
	}
	if num("voice_sent_frames") < 50 {
		t.Errorf("the student's voice from the agent: %v", media)
	}
}

// logFields splits a slog text line into its key=value pairs.
func logFields(line string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = strings.Trim(v, `"`)
		}
	}
	return m
}

// TestConsoleShowsWhyTheAgentRefused: a real headless agent under the lab
// policy consent: ask has nobody to ask, so it refuses the live session
// before any frame (and logs why); the real console tells the professor
// that reason, not a plain "the student left".
func TestConsoleShowsWhyTheAgentRefused(t *testing.T) {
	bin := agentBinary(t)
	node := testenv.LookPath(t, "node")
	chromium := testenv.LookPath(t, "chromium")
	e2eDir, _ := filepath.Abs("../e2e")
	if _, err := os.Stat(filepath.Join(e2eDir, "node_modules", "playwright-core")); err != nil {
		testenv.Missing(t, "playwright-core not installed in tests/e2e (run scripts/setup.sh)")
	}
	disp := testenv.StartXvfb(t, "640x480x24")
	in := servertest.Start(t)
	class := in.ActiveClass(t, "Prof Consent", "Student Consent", "Consent")
	prof, stud, l := class.Prof, class.Student, class.Lecture

	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	agent := exec.CommandContext(ctx, bin, "--headless", "--server", in.URL, "--interval", "1s", "--audio", "off")
	agent.Env = append(disp.Env(), "DIDACTO_EMAIL="+stud.User.Email, "DIDACTO_PASSWORD="+servertest.Password, "DIDACTO_CONSENT=ask")
	ap, err := testenv.StartProc(agent)
	if err != nil {
		t.Fatal(err)
	}
	waitSeated(ctx, t, ap, prof, l.ID, stud.User.ID)
	runConsoleScript(ctx, t, node, chromium, e2eDir, "live-consent.mjs", in.URL, prof.User.Email, l.ID, stud.User.ID, "EXPECT=has no window to ask in")
	for _, want := range []string{"every live session will be refused", "live session refused: consent is ask"} {
		if !strings.Contains(ap.Output(), want) {
			t.Errorf("the agent's log does not say %q:\n%s", want, ap.Output())
		}
	}
}

// waitSeated stops the agent process at cleanup (showing its output if the
// test failed) and waits until it holds its seat in the lecture's room
// (its join is audited).
func waitSeated(ctx context.Context, t *testing.T, ap *testenv.Proc, prof *servertest.Client, lectureID, studentID int64) {
	t.Helper()
	t.Cleanup(func() {
		ap.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("agent output:\n%s", ap.Output())
		}
	})
	for {
		var audit wire.Page[wire.AuditRecord]
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/audit", lectureID), nil, &audit)
		for _, a := range audit.Items {
			if a.Action == "join" && a.ActorID == studentID {
				return
			}
		}
		if ctx.Err() != nil || ap.Exited() {
			t.Fatalf("the agent never joined its room:\n%s", ap.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runConsoleScript runs one of tests/e2e's scripts as the professor in the
// real console, logs what it printed, and fails the test if it failed.
func runConsoleScript(ctx context.Context, t *testing.T, node, chromium, e2eDir, script, baseURL, email string, lectureID, studentID int64, env ...string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, node, filepath.Join(e2eDir, script))
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "BASE_URL="+baseURL, "EMAIL="+email,
		"PASSWORD="+servertest.Password, "LECTURE_ID="+strconv.FormatInt(lectureID, 10),
		"STUDENT_ID="+strconv.FormatInt(studentID, 10), "SCREENSHOT_DIR="+os.Getenv("DIDACTO_SCREENSHOT_DIR"))
	cmd.Env = append(cmd.Env, env...)
	cmd.WaitDelay = 5 * time.Second
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err := cmd.Run()
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		t.Log(line)
	}
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
}
