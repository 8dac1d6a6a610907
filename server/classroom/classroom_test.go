package classroom_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// agent is a student's agent channel, as a test drives it.
type agent struct {
	t      testing.TB
	conn   *websocket.Conn
	events chan wire.AgentEvent
	cancel context.CancelFunc
	done   chan struct{}
}

func openAgent(t *testing.T, in *servertest.Instance, c *servertest.Client) *agent {
	return openAgentB(t, in, c)
}

func openAgentB(t testing.TB, in *servertest.Instance, c *servertest.Client) *agent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := "ws" + strings.TrimPrefix(in.URL, "http") + "/api/v1/agent/channel"
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + c.Token}}})
	if err != nil {
		cancel()
		t.Fatalf("agent channel: %v", err)
	}
	a := &agent{t: t, conn: conn, events: make(chan wire.AgentEvent, 64), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(a.done)
		defer close(a.events)
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var ev wire.AgentEvent
			if json.Unmarshal(b, &ev) == nil {
				a.events <- ev
			}
		}
	}()
	t.Cleanup(a.close)
	return a
}

// ackEverything answers every lock change and command as a quick agent
// would: delivered, then applied.
func (a *agent) ackEverything(lectureID int64) {
	for ev := range a.events {
		id := ev.CommandID
		if ev.Command != nil {
			id = ev.Command.ID
		}
		if id == 0 {
			continue
		}
		for _, st := range []string{wire.ResultDelivered, wire.ResultApplied} {
			b, _ := json.Marshal(wire.AgentReply{Type: wire.AgentAck, CommandID: id, LectureID: lectureID, State: st})
			if a.conn.Write(context.Background(), websocket.MessageText, b) != nil {
				return
			}
		}
	}
}

func (a *agent) close() {
	a.conn.Close(websocket.StatusNormalClosure, "")
	a.cancel()
	<-a.done
}

// next waits for the next event of type typ (others are skipped).
func (a *agent) next(typ string) wire.AgentEvent {
	a.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-a.events:
			if ev.Type == typ {
				return ev
			}
		case <-deadline:
			a.t.Fatalf("no %s event in 10 s", typ)
		}
	}
}

func (a *agent) ack(commandID, lectureID int64, state, reason string) {
	a.t.Helper()
	b, _ := json.Marshal(wire.AgentReply{Type: wire.AgentAck, CommandID: commandID, LectureID: lectureID, State: state, Reason: reason})
	if err := a.conn.Write(context.Background(), websocket.MessageText, b); err != nil {
		a.t.Fatalf("ack: %v", err)
	}
}

// class is a lecture (on) with two students.
type class struct {
	servertest.Class
	second *servertest.Client
	path   string
}

func newClass(t *testing.T, in *servertest.Instance) class {
	c := in.ActiveClass(t, "Prof Kim", "Student A", "Networks")
	b := in.Register(t, wire.RoleStudent, "Student B")
	var e wire.Enrollment
	b.Must(http.StatusCreated, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: c.Lecture.Code}, &e)
	c.Prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	return class{Class: c, second: b, path: fmt.Sprintf("/api/v1/lectures/%d", c.Lecture.ID)}
}

func (c class) state(t *testing.T) wire.ClassroomState {
	var st wire.ClassroomState
	c.Prof.Must(http.StatusOK, "GET", c.path+"/classroom", nil, &st)
	return st
}

// waitResult polls the command until the student's result has state.
func (c class) waitResult(t *testing.T, cmd int64, student int64, state string) wire.CommandResult {
	t.Helper()
	var last wire.CommandResult
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var got wire.Command
		c.Prof.Must(http.StatusOK, "GET", fmt.Sprintf("%s/commands/%d", c.path, cmd), nil, &got)
		for _, r := range got.Results {
			if r.StudentID == student {
				last = r
				if r.State == state {
					return r
				}
			}
		}
	}
	t.Fatalf("result of student %d for command %d: %+v, want %s", student, cmd, last, state)
	return last
}

// TestLockReachesTheSelectedAgentAndHolds: a lock of one student arrives
// on their channel only, its acknowledgement shows in the command, a
// reconnecting agent gets it in hello, unlock and switching the lecture
// off release it, and the console's stream hears each step.
func TestLockReachesTheSelectedAgentAndHolds(t *testing.T) {
	in := servertest.Start(t)
	c := newClass(t, in)
	a, b := openAgent(t, in, c.Student), openAgent(t, in, c.second)
	if h := a.next(wire.AgentHello); len(h.Locks) != 0 {
		t.Fatalf("hello before any lock = %+v", h.Locks)
	}
	b.next(wire.AgentHello)
	stream := openStream(t, in, c)

	var cmd wire.Command
	c.Prof.Must(http.StatusCreated, "POST", c.path+"/commands",
		wire.CommandRequest{Kind: wire.CommandLock, StudentIDs: []int64{c.Student.User.ID}, Text: "Eyes on me"}, &cmd)
	if len(cmd.Results) != 1 || cmd.Results[0].State != wire.ResultPending || cmd.Results[0].StudentID != c.Student.User.ID {
		t.Fatalf("command = %+v", cmd)
	}
	ev := a.next(wire.AgentLocks)
	if ev.CommandID != cmd.ID || len(ev.Locks) != 1 || ev.Locks[0].Mode != wire.CommandLock || ev.Locks[0].Message != "Eyes on me" ||
		ev.Locks[0].LectureTitle != "Networks" || ev.Locks[0].Professor != "Prof Kim" || !ev.Locks[0].Until.After(time.Now().Add(time.Hour)) {
		t.Fatalf("locks event = %+v", ev)
	}
	stream.waitLocks(t, 1)
	a.ack(cmd.ID, c.Lecture.ID, wire.ResultDelivered, "")
	a.ack(cmd.ID, c.Lecture.ID, wire.ResultApplied, "")
	c.waitResult(t, cmd.ID, c.Student.User.ID, wire.ResultApplied)
	stream.waitResult(t, c.Student.User.ID, wire.ResultApplied)
	// An ack for someone else's command, or a garbled one, changes nothing.
	b.ack(cmd.ID, c.Lecture.ID, wire.ResultFailed, "not mine")
	_ = b.conn.Write(context.Background(), websocket.MessageText, []byte(`{"type":"ack"`))
	select {
	case ev := <-b.events:
		if ev.Type == wire.AgentLocks {
			t.Fatalf("the other student got a lock: %+v", ev)
		}
	case <-time.After(300 * time.Millisecond):
	}
	if st := c.state(t); len(st.Locks) != 1 || st.Locks[0].StudentID != c.Student.User.ID || len(st.Latest) != 1 || st.Latest[0].State != wire.ResultApplied {
		t.Fatalf("state = %+v", st)
	}

	// The agent restarts: hello carries the lock.
	a.close()
	a = openAgent(t, in, c.Student)
	if h := a.next(wire.AgentHello); len(h.Locks) != 1 || h.Locks[0].CommandID != cmd.ID {
		t.Fatalf("hello after a restart = %+v", h.Locks)
	}

	var unlock wire.Command
	c.Prof.Must(http.StatusCreated, "POST", c.path+"/commands", wire.CommandRequest{Kind: wire.CommandUnlock}, &unlock)
	if len(unlock.Results) != 2 {
		t.Fatalf("unlock all went to %d students", len(unlock.Results))
	}
	if ev := a.next(wire.AgentLocks); ev.CommandID != unlock.ID || len(ev.Locks) != 0 {
		t.Fatalf("after unlock = %+v", ev)
	}
	if ev := b.next(wire.AgentLocks); len(ev.Locks) != 0 {
		t.Fatalf("b after unlock = %+v", ev)
	}
	stream.waitLocks(t, 0)

	// Blank everyone, then switch the lecture off: the sweep releases both.
	var blank wire.Command
	c.Prof.Must(http.StatusCreated, "POST", c.path+"/commands", wire.CommandRequest{Kind: wire.CommandBlank}, &blank)
	if ev := b.next(wire.AgentLocks); len(ev.Locks) != 1 || ev.Locks[0].Mode != wire.CommandBlank {
		t.Fatalf("blank = %+v", ev)
	}
	a.next(wire.AgentLocks)
	c.Prof.Must(http.StatusOK, "POST", c.path+"/deactivate", nil, nil)
	for _, ag := range []*agent{a, b} {
		if ev := ag.next(wire.AgentLocks); len(ev.Locks) != 0 || ev.CommandID != 0 {
			t.Fatalf("after the lecture was switched off = %+v", ev)
		}
	}
	if st := c.state(t); len(st.Locks) != 0 {
		t.Fatalf("locks after switch-off = %+v", st.Locks)
	}
	var audit wire.Page[wire.AuditRecord]
	c.Prof.Must(http.StatusOK, "GET", c.path+"/audit?size=50", nil, &audit)
	actions := map[string]int{}
	for _, e := range audit.Items {
		actions[e.Action]++
	}
	if actions["command_lock"] != 1 || actions["command_unlock"] != 1 || actions["command_blank"] != 1 || actions["lock_ended"] != 1 {
		t.Fatalf("audit actions = %v", actions)
	}
}

// TestLockEndsWhenTheProfessorSignsOut: no PC stays locked by a
// professor who is gone.
func TestLockEndsWhenTheProfessorSignsOut(t *testing.T) {
	in := servertest.Start(t)
	c := newClass(t, in)
	prof := in.NewClient(t)
	var pair wire.TokenPair
	if err := json.Unmarshal(prof.Login(c.Prof.User.Email, servertest.Password).Body, &pair); err != nil {
		t.Fatal(err)
	}
	a := openAgent(t, in, c.Student)
	a.next(wire.AgentHello)
	var cmd wire.Command
	prof.Must(http.StatusCreated, "POST", c.path+"/commands", wire.CommandRequest{Kind: wire.CommandLock}, &cmd)
	a.next(wire.AgentLocks)
	prof.Must(http.StatusNoContent, "POST", "/api/v1/auth/logout", wire.RefreshRequest{RefreshToken: pair.RefreshToken}, nil)
	if ev := a.next(wire.AgentLocks); len(ev.Locks) != 0 {
		t.Fatalf("after sign-out = %+v", ev)
	}
}

// TestMessagesRepliesAndHands: a message to all reaches every agent as a
// command, a student answers, hands go up and down.
func TestMessagesRepliesAndHands(t *testing.T) {
	in := servertest.Start(t)
	c := newClass(t, in)
	a, b := openAgent(t, in, c.Student), openAgent(t, in, c.second)
	a.next(wire.AgentHello)
	b.next(wire.AgentHello)
	var cmd wire.Command
	c.Prof.Must(http.StatusCreated, "POST", c.path+"/commands", wire.CommandRequest{Kind: wire.CommandMessage, Text: "  Save your work  "}, &cmd)
	for _, ag := range []*agent{a, b} {
		ev := ag.next(wire.AgentCommand)
		if ev.Command == nil || ev.Command.ID != cmd.ID || ev.Command.Text != "Save your work" || ev.Command.Professor != "Prof Kim" {
			t.Fatalf("message event = %+v", ev)
		}
	}
	a.ack(cmd.ID, c.Lecture.ID, wire.ResultApplied, "")
	c.Student.Must(http.StatusNoContent, "POST", fmt.Sprintf("%s/commands/%d/reply", c.path, cmd.ID), wire.ReplyRequest{Text: "done\nalready"}, nil)
	r := c.waitResult(t, cmd.ID, c.Student.User.ID, wire.ResultApplied)
	if r.Reply != "done already" {
		t.Fatalf("reply = %+v", r)
	}
	c.Student.Do("POST", fmt.Sprintf("%s/commands/%d/reply", c.path, cmd.ID), wire.ReplyRequest{Text: strings.Repeat("x", 201)}, nil).
		Code(t, http.StatusUnprocessableEntity, wire.CodeValidation)
	c.Student.Do("POST", fmt.Sprintf("%s/commands/%d/reply", c.path, cmd.ID+99), wire.ReplyRequest{Text: "hi"}, nil).
		Code(t, http.StatusNotFound, wire.CodeNotFound)

	var url wire.Command
	c.Prof.Must(http.StatusCreated, "POST", c.path+"/commands", wire.CommandRequest{Kind: wire.CommandOpenURL, StudentIDs: []int64{c.second.User.ID},
		URL: "https://example.org/exercise?id=3"}, &url)
	if ev := b.next(wire.AgentCommand); ev.Command.Kind != wire.CommandOpenURL || ev.Command.URL != "https://example.org/exercise?id=3" {
		t.Fatalf("open_url event = %+v", ev)
	}
	b.ack(url.ID, c.Lecture.ID, wire.ResultFailed, "no browser")
	if r := c.waitResult(t, url.ID, c.second.User.ID, wire.ResultFailed); r.Reason != "no browser" {
		t.Fatalf("failed result = %+v", r)
	}

	c.Student.Must(http.StatusNoContent, "PUT", c.path+"/hand", nil, nil)
	c.second.Must(http.StatusNoContent, "PUT", c.path+"/hand", nil, nil)
	c.Student.Must(http.StatusNoContent, "PUT", c.path+"/hand", nil, nil) // again: still one hand
	if st := c.state(t); len(st.Hands) != 2 || st.Hands[0].StudentID != c.Student.User.ID {
		t.Fatalf("hands = %+v", st.Hands)
	}
	c.Prof.Must(http.StatusNoContent, "DELETE", fmt.Sprintf("%s/hands/%d", c.path, c.Student.User.ID), nil, nil)
	c.second.Must(http.StatusNoContent, "DELETE", c.path+"/hand", nil, nil)
	if st := c.state(t); len(st.Hands) != 0 {
		t.Fatalf("hands after lowering = %+v", st.Hands)
	}
	outsider := in.Register(t, wire.RoleStudent, "Outsider")
	outsider.Do("PUT", c.path+"/hand", nil, nil).Code(t, http.StatusForbidden, wire.CodeNotMember)
}

// TestBadCommandsChangeNothing: every refusal is clear and stores nothing.
func TestBadCommandsChangeNothing(t *testing.T) {
	in := servertest.Start(t)
	c := newClass(t, in)
	a := openAgent(t, in, c.Student)
	a.next(wire.AgentHello)
	other := in.Register(t, wire.RoleProfessor, "Other Prof")
	outsider := in.Register(t, wire.RoleStudent, "Outsider")
	cases := []struct {
		name   string
		who    *servertest.Client
		body   any
		status int
		code   string
		field  string
	}{
		{"unknown kind", c.Prof, wire.CommandRequest{Kind: "reboot"}, 422, wire.CodeValidation, "kind"},
		{"ftp url", c.Prof, wire.CommandRequest{Kind: wire.CommandOpenURL, URL: "ftp://example.org/x"}, 422, wire.CodeValidation, "url"},
		{"javascript url", c.Prof, wire.CommandRequest{Kind: wire.CommandOpenURL, URL: "javascript:alert(1)"}, 422, wire.CodeValidation, "url"},
		{"file url", c.Prof, wire.CommandRequest{Kind: wire.CommandOpenURL, URL: "file:///etc/passwd"}, 422, wire.CodeValidation, "url"},
		{"no url", c.Prof, wire.CommandRequest{Kind: wire.CommandOpenURL}, 422, wire.CodeValidation, "url"},
		{"10 KB message", c.Prof, wire.CommandRequest{Kind: wire.CommandMessage, Text: strings.Repeat("가", 10<<10/3)}, 422, wire.CodeValidation, "text"},
		{"empty message", c.Prof, wire.CommandRequest{Kind: wire.CommandMessage, Text: "  "}, 422, wire.CodeValidation, "text"},
		{"not a member", c.Prof, wire.CommandRequest{Kind: wire.CommandLock, StudentIDs: []int64{outsider.User.ID}}, 422, wire.CodeValidation, "student_ids"},
		{"another professor's lecture", other, wire.CommandRequest{Kind: wire.CommandLock}, 404, wire.CodeNotFound, ""},
		{"a student", c.Student, wire.CommandRequest{Kind: wire.CommandLock}, 403, wire.CodeForbidden, ""},
		{"not JSON", c.Prof, "lock everyone", 400, wire.CodeBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.who.Do("POST", c.path+"/commands", tc.body, nil)
			r.Code(t, tc.status, tc.code)
			if tc.field != "" && (len(r.Problem.Errors) == 0 || r.Problem.Errors[0].Field != tc.field) {
				t.Fatalf("problem = %+v, want the field %s named", r.Problem, tc.field)
			}
		})
	}
	c.Prof.Must(http.StatusOK, "POST", c.path+"/deactivate", nil, nil)
	c.Prof.Do("POST", c.path+"/commands", wire.CommandRequest{Kind: wire.CommandLock}, nil).Code(t, http.StatusConflict, wire.CodeLectureInactive)
	if st := c.state(t); len(st.Locks) != 0 || len(st.Latest) != 0 {
		t.Fatalf("refused commands left state: %+v", st)
	}
	select {
	case ev := <-a.events:
		if ev.Type == wire.AgentLocks || ev.Type == wire.AgentCommand {
			t.Fatalf("a refused command reached the agent: %+v", ev)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// stream reads the console's classroom stream.
type stream struct {
	events chan wire.ClassroomEvent
}

func openStream(t *testing.T, in *servertest.Instance, c class) *stream {
	return openStreamB(t, in, c.Prof, c.path)
}

func openStreamB(t testing.TB, in *servertest.Instance, prof *servertest.Client, path string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", in.URL+path+"/classroom/stream", nil)
	req.Header.Set("Authorization", "Bearer "+prof.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("classroom stream: %v %v", err, resp)
	}
	s := &stream{events: make(chan wire.ClassroomEvent, 1024)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		event := ""
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				event = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok && event == "classroom" {
				var ev wire.ClassroomEvent
				if json.Unmarshal([]byte(v), &ev) == nil {
					s.events <- ev
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	// The subscription is taken before hello is written: once hello is
	// here, nothing published later is missed.
	return s
}

func (s *stream) waitLocks(t *testing.T, n int) {
	t.Helper()
	for deadline := time.After(10 * time.Second); ; {
		select {
		case ev := <-s.events:
			if ev.LocksChanged && len(ev.Locks) == n {
				return
			}
		case <-deadline:
			t.Fatalf("no locks event with %d locks", n)
		}
	}
}

func (s *stream) waitResult(t *testing.T, student int64, state string) {
	t.Helper()
	for deadline := time.After(10 * time.Second); ; {
		select {
		case ev := <-s.events:
			if ev.Result != nil && ev.Result.StudentID == student && ev.Result.State == state {
				return
			}
		case <-deadline:
			t.Fatalf("no result %s for student %d on the stream", state, student)
		}
	}
}
