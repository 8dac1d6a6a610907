package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

var serverBuild struct {
	sync.Once
	path string
	err  error
}

// serverBinary builds cmd/didacto-server (CGO_ENABLED=0) once.
func serverBinary(t *testing.T) string {
	t.Helper()
	serverBuild.Do(func() {
		dir, err := exec.Command("mktemp", "-d").Output()
		if err != nil {
			serverBuild.err = err
			return
		}
		serverBuild.path = filepath.Join(strings.TrimSpace(string(dir)), "didacto-server")
		cmd := exec.Command("go", "build", "-o", serverBuild.path, "../../cmd/didacto-server")
		cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			serverBuild.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if serverBuild.err != nil {
		t.Fatalf("building the server: %v", serverBuild.err)
	}
	return serverBuild.path
}

type replica struct {
	url  string
	proc *testenv.Proc
}

func startReplica(t *testing.T, bin, db, redisURL string) *replica {
	t.Helper()
	port := testenv.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--addr", addr, "--data-dir", t.TempDir(), "--database-url", db, "--redis-url", redisURL,
		"--room-ttl", "2s", "--log-level", "warn")
	p, err := testenv.StartProc(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("replica %s output:\n%s", addr, p.Output())
		}
	})
	if err := testenv.WaitTCP(addr, 30*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, p.Output())
	}
	return &replica{url: "http://" + addr, proc: p}
}

type sock struct {
	t *testing.T
	c *websocket.Conn
}

func dialSignal(t *testing.T, ctx context.Context, base, token string) *sock {
	t.Helper()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/signal",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial %s: %v", base, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return &sock{t: t, c: c}
}

func (s *sock) send(ctx context.Context, m wire.SignalMessage) {
	m.V = wire.ProtocolVersion
	b, _ := json.Marshal(m)
	if err := s.c.Write(ctx, websocket.MessageText, b); err != nil {
		s.t.Fatalf("send %s: %v", m.Type, err)
	}
}

// recv returns the next message that is not a pong.
func (s *sock) recv(ctx context.Context) (wire.SignalMessage, error) {
	for {
		_, b, err := s.c.Read(ctx)
		if err != nil {
			return wire.SignalMessage{}, err
		}
		m, err := wire.DecodeSignal(b)
		if err != nil {
			s.t.Fatalf("decoding %s: %v", b, err)
		}
		if m.Type != wire.SignalPong {
			return m, nil
		}
	}
}

func (s *sock) expect(ctx context.Context, typ string) wire.SignalMessage {
	s.t.Helper()
	m, err := s.recv(ctx)
	if err != nil || m.Type != typ {
		s.t.Fatalf("want %s, got %+v (%v)", typ, m, err)
	}
	return m
}

// replicaRoom makes a professor, an accepted student and an active lecture
// through replica r, and the join message of their room.
func replicaRoom(t *testing.T, r *replica) (prof, stud *servertest.Client, l wire.Lecture, room wire.SignalMessage) {
	t.Helper()
	c := (&servertest.Instance{URL: r.url}).ActiveClass(t, "Prof Replicas", "Student Replicas", "Replicas")
	return c.Prof, c.Student, c.Lecture, wire.SignalMessage{Type: wire.SignalJoin, LectureID: c.Lecture.ID, StudentID: c.Student.User.ID}
}

// TestTwoReplicaProcesses runs two real server processes sharing PostgreSQL
// and Redis: the agent on A and the professor on B talk through the relay; a
// second professor tab on A takes over the one on B and B's socket closes;
// killing A (SIGKILL, no goodbye) frees the room within the lease.
func TestTwoReplicaProcesses(t *testing.T) {
	bin := serverBinary(t)
	rd := testenv.StartRedis(t)
	db := testenv.PostgresURL(t)
	a := startReplica(t, bin, db, rd.URL())
	b := startReplica(t, bin, db, rd.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	prof, stud, l, room := replicaRoom(t, a)

	agent := dialSignal(t, ctx, a.url, stud.Token)
	room.Role = wire.RoleStudent
	agent.send(ctx, room)
	agent.expect(ctx, wire.SignalJoined)

	profB := dialSignal(t, ctx, b.url, prof.Token)
	room.Role = wire.RoleProfessor
	profB.send(ctx, room)
	profB.expect(ctx, wire.SignalJoined)
	agent.expect(ctx, wire.SignalPeerJoined)
	profB.send(ctx, wire.SignalMessage{Type: wire.SignalOffer, SDP: "offer from B"})
	if m := agent.expect(ctx, wire.SignalOffer); m.SDP != "offer from B" {
		t.Fatalf("offer %+v", m)
	}
	agent.send(ctx, wire.SignalMessage{Type: wire.SignalAnswer, SDP: "answer from A"})
	if m := profB.expect(ctx, wire.SignalAnswer); m.SDP != "answer from A" {
		t.Fatalf("answer %+v", m)
	}
	agent.send(ctx, wire.SignalMessage{Type: wire.SignalCandidate, Candidate: json.RawMessage(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}`)})
	profB.expect(ctx, wire.SignalCandidate)

	// A second professor tab on A takes over: B's socket gets kicked and closed.
	profA := dialSignal(t, ctx, a.url, prof.Token)
	profA.send(ctx, room)
	profA.expect(ctx, wire.SignalJoined)
	profB.expect(ctx, wire.SignalKicked)
	if _, err := profB.recv(ctx); websocket.CloseStatus(err) != 4001 {
		t.Fatalf("taken-over socket: %v, want close 4001", err)
	}

	// Move the professor to B again, then crash A (agent's replica).
	profB2 := dialSignal(t, ctx, b.url, prof.Token)
	profB2.send(ctx, room)
	profB2.expect(ctx, wire.SignalJoined)
	a.proc.Kill()
	crashed := time.Now()
	m := profB2.expect(ctx, wire.SignalPeerLeft)
	if m.Code != wire.CodeStudentLeft {
		t.Fatalf("peer_left %+v", m)
	}
	t.Logf("professor on B told %s after replica A was killed (room TTL 2s)", time.Since(crashed).Round(10*time.Millisecond))

	// The room is free: the student reconnects through B and is seated.
	agent2 := dialSignal(t, ctx, b.url, stud.Token)
	room.Role = wire.RoleStudent
	agent2.send(ctx, room)
	agent2.expect(ctx, wire.SignalJoined)

	var audit wire.Page[wire.AuditRecord]
	bc := (&servertest.Instance{URL: b.url}).NewClient(t)
	bc.Token = prof.Token
	bc.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/audit?size=100", l.ID), nil, &audit)
	replicas := map[string]bool{}
	for _, r := range audit.Items {
		replicas[r.Replica] = true
		// The crashed replica's student seat had expired: the new session
		// took a free seat, it did not take over a held one.
		if r.Action == "takeover" && r.ActorID == stud.User.ID {
			t.Errorf("the student's seat was taken over, not free, after replica A died: %+v", r)
		}
	}
	if len(replicas) < 2 {
		t.Fatalf("audit log names %d replicas: %+v", len(replicas), audit.Items)
	}
}

// seat is a client that keeps a seat in a room: it redials and rejoins
// whenever its socket ends, and hands every message over a channel (a read
// with a deadline would close a coder/websocket connection).
type seat struct {
	t     *testing.T
	base  string
	token string
	join  wire.SignalMessage
	in    chan wire.SignalMessage
	mu    sync.Mutex
	cur   *websocket.Conn
}

func keepSeat(t *testing.T, ctx context.Context, base, token string, join wire.SignalMessage) *seat {
	s := &seat{t: t, base: base, token: token, join: join, in: make(chan wire.SignalMessage, 64)}
	go s.run(ctx)
	return s
}

func (s *seat) run(ctx context.Context) {
	for ctx.Err() == nil {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.base, "http")+"/api/v1/signal",
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + s.token}}})
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		s.mu.Lock()
		s.cur = c
		s.mu.Unlock()
		s.send(ctx, s.join)
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				break
			}
			if m, err := wire.DecodeSignal(b); err == nil && m.Type != wire.SignalPong {
				if m.Type == wire.SignalError && (m.Code == wire.CodeNotJoined || m.Code == wire.CodeUnavailable || m.Code == wire.CodeStudentNotInRoom) {
					time.Sleep(200 * time.Millisecond)
					s.send(ctx, s.join) // the room is being rebuilt: take the seat again
				}
				select {
				case s.in <- m:
				default:
				}
			}
		}
		c.CloseNow()
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *seat) send(ctx context.Context, m wire.SignalMessage) {
	s.mu.Lock()
	c := s.cur
	s.mu.Unlock()
	if c == nil {
		return
	}
	m.V = wire.ProtocolVersion
	b, _ := json.Marshal(m)
	_ = c.Write(ctx, websocket.MessageText, b)
}

// TestTwoReplicaProcessesSurviveRedisRestart: the agent on replica A and the
// professor on replica B, then Redis restarts (every lease and subscription
// gone). Without anyone's help beyond reconnecting, the room is rebuilt and
// offers flow from B to A again.
func TestTwoReplicaProcessesSurviveRedisRestart(t *testing.T) {
	bin := serverBinary(t)
	rd := testenv.StartRedis(t)
	db := testenv.PostgresURL(t)
	a := startReplica(t, bin, db, rd.URL())
	b := startReplica(t, bin, db, rd.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	prof, stud, _, room := replicaRoom(t, a)
	room.Role = wire.RoleStudent
	agent := keepSeat(t, ctx, a.url, stud.Token, room)
	waitType := func(s *seat, typ string, sdp string, poke func()) {
		t.Helper()
		tick := time.NewTicker(300 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case m := <-s.in:
				if m.Type == typ && (sdp == "" || m.SDP == sdp) {
					return
				}
			case <-tick.C:
				if poke != nil {
					poke()
				}
			case <-ctx.Done():
				t.Fatalf("no %s %q", typ, sdp)
			}
		}
	}
	waitType(agent, wire.SignalJoined, "", nil)
	room.Role = wire.RoleProfessor
	profB := keepSeat(t, ctx, b.url, prof.Token, room)
	waitType(profB, wire.SignalJoined, "", nil)
	offer := func(sdp string) func() {
		return func() { profB.send(ctx, wire.SignalMessage{Type: wire.SignalOffer, SDP: sdp}) }
	}
	waitType(agent, wire.SignalOffer, "before", offer("before"))

	rd.Stop()
	time.Sleep(500 * time.Millisecond)
	if err := rd.Start(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	waitType(agent, wire.SignalOffer, "after the restart", offer("after the restart"))
	t.Logf("relay across the two processes back %s after Redis restarted", time.Since(restarted).Round(10*time.Millisecond))
}
