package live_test

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/wire"
)

// TestSelectScreen: an X screen split into two RandR monitors; the
// professor picks the second one: the video switches to its size and
// control maps onto it.
func TestSelectScreen(t *testing.T) {
	xrandr := testenv.LookPath(t, "xrandr")
	d := testenv.StartXvfb(t, "1280x480x24")
	for _, args := range [][]string{
		{"--setmonitor", "LEFT", "640/170x480/127+0+0", "none"},
		{"--setmonitor", "RIGHT", "640/170x480/127+640+0", "none"},
	} {
		cmd := exec.Command(xrandr, args...)
		cmd.Env = d.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			testenv.Missing(t, "xrandr cannot define monitors on Xvfb: "+err.Error()+" "+string(out))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := newRoom(t)
	st := &states{}
	startAgent(ctx, t, r, d.Name, st, nil)
	st.wait(t, live.State{Mode: live.Idle})
	prof := joinProfessor(ctx, t, r)
	prof.call(ctx)

	scr := prof.nextSession(ctx, wire.SessionScreens)
	// Xvfb keeps its own monitor covering both (it cannot be deleted), so
	// three are listed; the first, LEFT, is streamed (no primary is set).
	if len(scr.Screens) < 2 || scr.Screens[*scr.Current].Width != 640 {
		t.Fatalf("screens %+v, want LEFT and RIGHT", scr)
	}
	eventually(t, "video of the first monitor", func() bool { return prof.decoded.Load() > 0 && prof.width.Load() == 640 })

	prof.send(ctx, wire.SignalMessage{Type: wire.SignalControlStart})
	prof.nextSession(ctx, wire.SessionControlState)
	right := -1
	for _, s := range scr.Screens {
		if s.X == 640 && s.Width == 640 {
			right = s.Index
		}
	}
	if right < 0 {
		t.Fatalf("no monitor at x=640 in %+v", scr)
	}
	if err := prof.sess.SendText(fmt.Sprintf(`{"type":"select_screen","index":%d}`, right)); err != nil {
		t.Fatal(err)
	}
	if m := prof.nextSession(ctx, wire.SessionScreens); *m.Current != right {
		t.Fatalf("after select_screen %d: %+v", right, m)
	}
	prof.control(`{"type":"move","x":0.5,"y":0.5,"seq":1}`)
	eventually(t, "the pointer at the middle of the right monitor", func() bool { x, y, _ := pointer(t, d.Name); return x == 960 && y == 240 })
	prof.control(`{"type":"move","x":0,"y":0,"seq":2}`)
	eventually(t, "the pointer at the right monitor's corner", func() bool { x, y, _ := pointer(t, d.Name); return x == 640 && y == 0 })
}
