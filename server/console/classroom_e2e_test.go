package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestConsoleClassroom drives the classroom controls of the monitoring grid
// in Chromium against a real server and three stand-in agents on the agent
// channel that acknowledge what they get (delivered, then applied; the
// third one has no browser and fails open_url): select two tiles and lock
// them, a message to all and a student's reply on the tile, a raised hand
// and Lower, an ftp:// address refused in the dialog, a website, Unlock.
func TestConsoleClassroom(t *testing.T) {
	e := needE2E(t)
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Classroom")
	var l wire.Lecture
	prof.Must(http.StatusCreated, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Networks Lab"}, &l)
	prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, &l)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	type student struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Token string `json:"token"`
	}
	var students []student
	var agents []*classAgent
	for i, name := range []string{"Ahn Jiwoo", "Baek Suho", "Cho Minseo"} {
		s := in.Register(t, wire.RoleStudent, name)
		var en wire.Enrollment
		s.Must(http.StatusCreated, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &en)
		prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", en.ID), nil, nil)
		students = append(students, student{s.User.ID, name, s.Token})
		agents = append(agents, startClassAgent(t, ctx, in.URL, s.Token, i == 2))
	}
	list, _ := json.Marshal(students)
	e.run(t, ctx, "classroom.mjs", append(screenshotEnv(),
		"BASE_URL="+in.URL, "EMAIL="+prof.User.Email, "PASSWORD="+servertest.Password,
		"LECTURE_ID="+strconv.FormatInt(l.ID, 10), "STUDENTS="+string(list), "FRAMES_DIR="+writeFrames(t, 3))...)

	// What the agents were told: the first two were locked, then unlocked;
	// the third never; everyone got the message and the website, no one ftp.
	for i, a := range agents {
		a.mu.Lock()
		if wantLocked := i < 2; a.wasLocked != wantLocked {
			t.Errorf("agent %d: locked %v, want %v", i, a.wasLocked, wantLocked)
		}
		if a.locked {
			t.Errorf("agent %d still locked at the end", i)
		}
		if a.lockMessage != "" && a.lockMessage != "Eyes on me" {
			t.Errorf("agent %d: lock message %q", i, a.lockMessage)
		}
		if a.commands[wire.CommandMessage] == 0 || a.commands[wire.CommandOpenURL] != 1 {
			t.Errorf("agent %d: commands %v, want a message and one open_url", i, a.commands)
		}
		for _, u := range a.urls {
			if !strings.HasPrefix(u, "https://") {
				t.Errorf("agent %d was asked to open %q", i, u)
			}
		}
		if a.bad != "" {
			t.Errorf("agent %d: %s", i, a.bad)
		}
		a.mu.Unlock()
	}

	// Close the agents and wait until the server has marked them offline:
	// the channel's handlers must not outlive the server (and its database).
	for _, a := range agents {
		a.ws.Close(websocket.StatusNormalClosure, "test over")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var snap wire.MonitorSnapshot
		prof.Must(http.StatusOK, "GET", fmt.Sprintf("/api/v1/lectures/%d/monitor", l.ID), nil, &snap)
		online := 0
		for _, tile := range snap.Tiles {
			if tile.Online {
				online++
			}
		}
		if online == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d agents still online after closing", online)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// classAgent is the stand-in for a student's agent on the agent channel:
// it shows (records) locks and commands and acknowledges them.
type classAgent struct {
	ws          *websocket.Conn
	mu          sync.Mutex
	locked      bool // the latest lock list is not empty
	wasLocked   bool
	lockMessage string
	commands    map[string]int
	urls        []string
	bad         string
}

func startClassAgent(t *testing.T, ctx context.Context, base, token string, noBrowser bool) *classAgent {
	t.Helper()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/agent/channel",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("agent channel: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	a := &classAgent{ws: ws, commands: map[string]int{}}
	ack := func(lectureID, commandID int64, state, reason string) {
		b, _ := json.Marshal(wire.AgentReply{Type: wire.AgentAck, CommandID: commandID, LectureID: lectureID, State: state, Reason: reason})
		_ = ws.Write(ctx, websocket.MessageText, b) // a closed socket ends the read loop
	}
	go func() {
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var ev wire.AgentEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				a.mu.Lock()
				a.bad = fmt.Sprintf("undecodable event %q: %v", b, err)
				a.mu.Unlock()
				continue
			}
			switch ev.Type {
			case wire.AgentHello, wire.AgentLocks:
				a.mu.Lock()
				a.locked = len(ev.Locks) > 0
				if a.locked {
					a.wasLocked = true
					a.lockMessage = ev.Locks[0].Message
				}
				a.mu.Unlock()
				if ev.CommandID != 0 {
					// A real agent acknowledges once its screens show the list;
					// the pause lets the console show "delivered" on its way.
					go func(lid, cid int64) {
						ack(lid, cid, wire.ResultDelivered, "")
						time.Sleep(300 * time.Millisecond)
						ack(lid, cid, wire.ResultApplied, "")
					}(ev.LectureID, ev.CommandID)
				}
			case wire.AgentCommand:
				c := ev.Command
				if c == nil {
					continue
				}
				a.mu.Lock()
				a.commands[c.Kind]++
				if c.URL != "" {
					a.urls = append(a.urls, c.URL)
				}
				a.mu.Unlock()
				go func() {
					ack(c.LectureID, c.ID, wire.ResultDelivered, "")
					time.Sleep(300 * time.Millisecond)
					if noBrowser && c.Kind == wire.CommandOpenURL {
						ack(c.LectureID, c.ID, wire.ResultFailed, "no default web browser is set on this PC")
						return
					}
					ack(c.LectureID, c.ID, wire.ResultApplied, "")
				}()
			}
		}
	}()
	return a
}
