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

	api := (&servertest.Instance{URL: a.url})
	prof := api.Register(t, wire.RoleProfessor, "Prof Replicas")
	stud := api.Register(t, wire.RoleStudent, "Student Replicas")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Replicas"}, &l)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
	var e wire.Enrollment
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	room := wire.SignalMessage{Type: wire.SignalJoin, LectureID: l.ID, StudentID: stud.User.ID}

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
	}
	if len(replicas) < 2 {
		t.Fatalf("audit log names %d replicas: %+v", len(replicas), audit.Items)
	}
}
