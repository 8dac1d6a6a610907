package live_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/wire"
)

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// states records a Runner's state changes.
type states struct {
	mu  sync.Mutex
	all []live.State
}

func (s *states) add(st live.State) {
	s.mu.Lock()
	s.all = append(s.all, st)
	s.mu.Unlock()
}

// waitFor waits for a state that satisfies ok.
func (s *states) waitFor(tb testing.TB, what string, ok func(live.State) bool) live.State {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		var last live.State
		n := len(s.all)
		if n > 0 {
			last = s.all[n-1]
		}
		s.mu.Unlock()
		if n > 0 && ok(last) {
			return last
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tb.Fatalf("no state with %s; got %+v", what, s.all)
	return live.State{}
}

func (s *states) wait(tb testing.TB, want live.State) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		n := len(s.all)
		last := live.State{}
		if n > 0 {
			last = s.all[n-1]
		}
		s.mu.Unlock()
		// Mode and professor: the media part depends on the machine's
		// sound devices; tests that care use waitFor.
		if n > 0 && last.Mode == want.Mode && last.Professor == want.Professor {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tb.Fatalf("state %+v never reached; got %+v", want, s.all)
}

// startAgent runs the live session runner as the room's student.
func startAgent(ctx context.Context, tb testing.TB, r *room, display string, st *states, onControl func([]byte, error), opts ...func(*live.Config)) *live.Runner {
	tb.Helper()
	cfg := live.Config{
		Server: r.srv.URL, Tokens: staticTokens{r.stud.Token},
		LectureID: r.lecture.ID, StudentID: r.stud.User.ID,
		Display: display, LoopbackOnly: true,
		OnState: st.add, OnControl: onControl,
		MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	run, err := live.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	rctx, cancel := context.WithCancel(ctx)
	go func() {
		defer close(done)
		_ = run.Run(rctx)
	}()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	return run
}

// pointer reads the pointer position and the modifier/button mask.
func pointer(tb testing.TB, display string) (x, y int, mask uint16) {
	tb.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	root := xproto.Setup(c).DefaultScreen(c).Root
	r, err := xproto.QueryPointer(c, root).Reply()
	if err != nil {
		tb.Fatal(err)
	}
	return int(r.RootX), int(r.RootY), r.Mask
}

func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s", what)
}

// TestLiveSessionWithPionProfessor runs the whole session against a real
// server and X server: the professor is a pion offerer in this test.
func TestLiveSessionWithPionProfessor(t *testing.T) {
	xdotool := testenv.LookPath(t, "xdotool")
	xterm := testenv.LookPath(t, "xterm")
	d := testenv.StartXvfb(t, "1280x720x24")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// An xterm filling the screen writes what is typed into a file.
	out := filepath.Join(t.TempDir(), "typed.txt")
	cmd := exec.Command(xterm, "-T", "live-test", "-geometry", "200x60+0+0", "-e", "sh", "-c", "cat > "+out)
	cmd.Env = d.Env()
	xp, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { xp.Stop(3 * time.Second) })
	xdo := func(args ...string) string {
		c := exec.Command(xdotool, args...)
		c.Env = d.Env()
		b, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("xdotool %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	win := strings.Fields(xdo("search", "--sync", "--name", "live-test"))[0]

	r := newRoom(t)
	st := &states{}
	var refusedMu sync.Mutex
	refused := 0 // events the agent dropped because control was off
	startAgent(ctx, t, r, d.Name, st, func(_ []byte, err error) {
		if err != nil && strings.Contains(err.Error(), "control is not on") {
			refusedMu.Lock()
			refused++
			refusedMu.Unlock()
		}
	})
	st.wait(t, live.State{Mode: live.Idle})

	prof := joinProfessor(ctx, t, r)
	prof.call(ctx)
	st.wait(t, live.State{Mode: live.Viewed, Professor: "Prof Lee"})

	scr := prof.nextSession(ctx, wire.SessionScreens)
	if len(scr.Screens) != 1 || *scr.Current != 0 || scr.Screens[0].Width != 1280 || scr.Screens[0].Height != 720 {
		t.Fatalf("screens message %+v", scr)
	}
	eventually(t, "decoded video frames", func() bool { return prof.decoded.Load() >= 3 })
	if w, h := prof.width.Load(), prof.height.Load(); w != 1280 || h != 720 {
		t.Errorf("decoded %dx%d, want 1280x720", w, h)
	}
	if !prof.playout.Load() {
		t.Errorf("no playout-delay 0/0 extension on the video packets")
	}

	// Control before control_start is refused.
	prof.control(`{"type":"move","x":0.9,"y":0.9,"seq":1}`)
	prof.control(`{"type":"keydown","code":"KeyQ"}`)
	eventually(t, "the agent to refuse control before control_start", func() bool {
		refusedMu.Lock()
		defer refusedMu.Unlock()
		return refused == 2
	})
	if x, y, _ := pointer(t, d.Name); x == 1152 && y == 648 {
		t.Fatalf("a move before control_start was injected")
	}

	prof.send(ctx, wire.SignalMessage{Type: wire.SignalControlStart})
	if m := prof.nextSession(ctx, wire.SessionControlState); !*m.Accepted {
		t.Fatalf("control refused: %+v", m)
	}
	st.wait(t, live.State{Mode: live.Controlled, Professor: "Prof Lee"})

	// Moves over the unordered channel, then over the signaling relay.
	prof.control(`{"type":"move","x":0.5,"y":0.5,"seq":2}`)
	eventually(t, "the pointer at 640,360", func() bool { x, y, _ := pointer(t, d.Name); return x == 640 && y == 360 })
	prof.send(ctx, wire.SignalMessage{Type: wire.SignalControl, Control: []byte(`{"type":"move","x":0.25,"y":0.25,"seq":3}`)})
	eventually(t, "the pointer at 320,180 (relay)", func() bool { x, y, _ := pointer(t, d.Name); return x == 320 && y == 180 })

	// A click: the button is down, then up, where the event says.
	prof.control(`{"type":"down","button":"left","x":0.5,"y":0.5}`)
	eventually(t, "button 1 down at 640,360", func() bool {
		x, y, m := pointer(t, d.Name)
		return m&xproto.ButtonMask1 != 0 && x == 640 && y == 360
	})
	prof.control(`{"type":"up","button":"left","x":0.5,"y":0.5}`)
	eventually(t, "button 1 up", func() bool { _, _, m := pointer(t, d.Name); return m&xproto.ButtonMask1 == 0 })

	// Typing reaches a real X client.
	xdo("windowfocus", "--sync", win)
	for _, c := range []string{"KeyH", "KeyI", "Enter"} {
		prof.control(fmt.Sprintf(`{"type":"keydown","code":"%s"}`, c))
		prof.control(fmt.Sprintf(`{"type":"keyup","code":"%s"}`, c))
	}
	eventually(t, "xterm to write what was typed", func() bool {
		b, _ := os.ReadFile(out)
		return string(b) == "hi\n"
	})

	// Screen selection answers with the screen list.
	if err := prof.sess.SendText(`{"type":"select_screen","index":0}`); err != nil {
		t.Fatal(err)
	}
	if m := prof.nextSession(ctx, wire.SessionScreens); *m.Current != 0 {
		t.Fatalf("after select_screen: %+v", m)
	}

	// Keys held when the professor's connection closes are released.
	prof.control(`{"type":"keydown","code":"ShiftLeft","mods":1}`)
	prof.control(`{"type":"down","button":"right","x":0.5,"y":0.5}`)
	eventually(t, "shift and button 3 held", func() bool {
		_, _, m := pointer(t, d.Name)
		return m&xproto.ModMaskShift != 0 && m&xproto.ButtonMask3 != 0
	})
	if err := prof.pc.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "everything released after the professor closed", func() bool { _, _, m := pointer(t, d.Name); return m == 0 })
	prof.ws.CloseNow()
	st.wait(t, live.State{Mode: live.Idle})
}
