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
// under Xvfb. The page decodes the student's screen; the professor takes
// control and types into a real xterm on the student's display, which is
// checked from outside (the file xterm writes).
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
	prof := in.Register(t, wire.RoleProfessor, "Prof Live Console")
	stud := in.Register(t, wire.RoleStudent, "Student Live Console")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Live console"}, &l)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
	var e wire.Enrollment
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	agent := exec.CommandContext(ctx, bin, "--headless", "--server", in.URL, "--interval", "1s")
	agent.Env = append(disp.Env(), "DIDACTO_EMAIL="+stud.User.Email, "DIDACTO_PASSWORD="+servertest.Password)
	ap, err := testenv.StartProc(agent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ap.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("agent output:\n%s", ap.Output())
		}
	})

	// Wait until the agent holds its seat in the room (its join is audited).
	for {
		var audit wire.Page[wire.AuditRecord]
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/audit", l.ID), nil, &audit)
		seated := false
		for _, a := range audit.Items {
			seated = seated || (a.Action == "join" && a.ActorID == stud.User.ID)
		}
		if seated {
			break
		}
		if ctx.Err() != nil || ap.Exited() {
			t.Fatalf("the agent never joined its room:\n%s", ap.Output())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// With no window manager, keys go to the X focus: give it to the terminal
	// as a person's earlier click would have (the page's click lands there too).
	focus := exec.Command(xdotool, "search", "--sync", "--class", "xterm", "windowfocus", "--sync")
	focus.Env = disp.Env()
	if o, err := focus.CombinedOutput(); err != nil {
		t.Fatalf("focusing the terminal: %v %s", err, o)
	}

	text := "didacto-" + strconv.FormatInt(time.Now().UnixNano()%100000, 10)
	cmd := exec.CommandContext(ctx, node, filepath.Join(e2eDir, "live-real.mjs"))
	cmd.Dir = e2eDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium, "BASE_URL="+in.URL, "EMAIL="+prof.User.Email,
		"PASSWORD="+servertest.Password, "LECTURE_ID="+strconv.FormatInt(l.ID, 10),
		"STUDENT_ID="+strconv.FormatInt(stud.User.ID, 10), "TYPE_TEXT="+text,
		"SCREENSHOT_DIR="+os.Getenv("DIDACTO_SCREENSHOT_DIR"))
	cmd.WaitDelay = 5 * time.Second
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	err = cmd.Run()
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		t.Log(line)
	}
	if err != nil {
		t.Fatalf("live-real.mjs: %v", err)
	}
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
}
