package live_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/wire"
)

func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []live.Config{
		{Server: "ftp://x", Tokens: staticTokens{"t"}, LectureID: 1, StudentID: 1},
		{Server: "http://127.0.0.1:1", LectureID: 1, StudentID: 1},
		{Server: "http://127.0.0.1:1", Tokens: staticTokens{"t"}, StudentID: 1},
	} {
		if _, err := live.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// TestRunnerTakesItsSeatBack: another session of the same student takes the
// seat; the agent is kicked, waits its longest backoff and joins again,
// which kicks the intruder in turn.
func TestRunnerTakesItsSeatBack(t *testing.T) {
	d := testenv.StartXvfb(t, "640x480x24")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := newRoom(t)
	st := &states{}
	startAgent(ctx, t, r, d.Name, st, nil)
	st.wait(t, live.State{Mode: live.Idle})

	wsURL := "ws" + strings.TrimPrefix(r.srv.URL, "http") + "/api/v1/signal"
	c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + r.stud.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	intruder := &professor{tb: t, ws: c} // only its send/recv helpers
	intruder.send(ctx, wire.SignalMessage{Type: wire.SignalJoin, LectureID: r.lecture.ID, StudentID: r.stud.User.ID, Role: wire.RoleStudent})
	if m := intruder.recv(ctx); m.Type != wire.SignalJoined {
		t.Fatalf("intruder join: %+v", m)
	}
	for {
		m := intruder.recv(ctx) // fails the test if the socket closes without kicked
		if m.Type == wire.SignalKicked {
			break
		}
	}
}
