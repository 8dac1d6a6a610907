package signal

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/wire"
)

// redisReplica starts a hub with its own Redis client (as a separate server
// process would have).
func redisReplica(t *testing.T, w *world, r *testenv.Redis, name string, ttl time.Duration) (*replica, *redis.Client) {
	t.Helper()
	rdb := newRedisClient(t, r)
	prefix := "t:" + t.Name() + ":"
	logger := slog.New(slog.DiscardHandler)
	return startReplica(t, w, Config{Replica: name, LockTTL: ttl},
		NewRedisLock(rdb, prefix), NewRedisBus(rdb, prefix, logger)), rdb
}

func TestRedisTwoReplicasRelayAndTakeover(t *testing.T) {
	w := newWorld(t)
	r := testenv.StartRedis(t)
	a, _ := redisReplica(t, w, r, "A", 3*time.Second)
	b, _ := redisReplica(t, w, r, "B", 3*time.Second)

	agent := dial(t, a, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, b, w.prof)
	pj := console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	if pj.Peer == nil || pj.Peer.UserID != w.stu.ID {
		t.Fatalf("joined: %+v", pj)
	}
	if m := agent.expect(wire.SignalPeerJoined); m.Peer == nil || m.Peer.Name != "prof" {
		t.Fatalf("peer_joined: %+v", m)
	}
	if on, err := b.hub.Online(context.Background(), w.lecture.ID, w.stu.ID); err != nil || !on {
		t.Fatalf("replica B does not see the student on A: %v %v", on, err)
	}
	console.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "offer-B"})
	if m := agent.expect(wire.SignalOffer); m.SDP != "offer-B" {
		t.Fatalf("offer %+v", m)
	}
	agent.send(wire.SignalMessage{Type: wire.SignalAnswer, SDP: "answer-A"})
	if m := console.expect(wire.SignalAnswer); m.SDP != "answer-A" {
		t.Fatalf("answer %+v", m)
	}
	cand := json.RawMessage(`{"candidate":"candidate:1 1 udp 1 127.0.0.1 9 typ host","sdpMid":"0"}`)
	for range 3 {
		console.send(wire.SignalMessage{Type: wire.SignalCandidate, Candidate: cand})
		agent.send(wire.SignalMessage{Type: wire.SignalCandidate, Candidate: cand})
	}
	for range 3 {
		agent.expect(wire.SignalCandidate)
		console.expect(wire.SignalCandidate)
	}
	console.send(wire.SignalMessage{Type: wire.SignalControlStart})
	agent.expect(wire.SignalControlStart)
	console.send(wire.SignalMessage{Type: wire.SignalControl, Control: json.RawMessage(`{"t":"move","x":0.1,"y":0.2}`)})
	agent.expect(wire.SignalControl)

	// Professor takeover across replicas: a console on A replaces the one on B.
	console2 := dial(t, a, w.prof)
	console2.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	console.expect(wire.SignalKicked)
	console.expectClosed(CloseTakenOver)
	agent.expect(wire.SignalPeerJoined)
	e := w.waitAudit(t, w.lecture, AuditKick, w.prof.ID, w.prof.ID)
	if e.Replica != "B" {
		t.Fatalf("kick audited on %q, want B", e.Replica)
	}
	w.waitAudit(t, w.lecture, AuditControlEnd, w.prof.ID, w.stu.ID) // the kicked console was controlling

	// Student takeover across replicas: the agent on A is replaced by one on B;
	// the old socket on A is closed and the professor is told.
	agent2 := dial(t, b, w.stu)
	agent2.joinOK(w.lecture, w.stu, wire.RoleStudent)
	agent.expect(wire.SignalKicked)
	agent.expectClosed(CloseTakenOver)
	console2.expect(wire.SignalPeerLeft)
	e = w.waitAudit(t, w.lecture, AuditTakeover, w.stu.ID, w.stu.ID)
	if e.Replica != "B" {
		t.Fatalf("takeover audited on %q, want B", e.Replica)
	}
	console2.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent2.expect(wire.SignalPeerJoined)
	console2.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "again"})
	if m := agent2.expect(wire.SignalOffer); m.SDP != "again" {
		t.Fatalf("offer %+v", m)
	}

	// The student leaving on B ends the professor's session on A.
	agent2.send(wire.SignalMessage{Type: wire.SignalLeave})
	console2.expect(wire.SignalPeerLeft)
	console2.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "x"})
	console2.expectError(wire.CodeNotJoined)
	console2.join(w.lecture, w.stu, wire.RoleProfessor)
	console2.expectError(wire.CodeStudentNotInRoom)
}

func TestRedisReplicaCrashFreesRooms(t *testing.T) {
	w := newWorld(t)
	r := testenv.StartRedis(t)
	ttl := 1500 * time.Millisecond
	a, rdbA := redisReplica(t, w, r, "A", ttl)
	b, _ := redisReplica(t, w, r, "B", ttl)
	agent := dial(t, a, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, b, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)

	// Crash A: it loses Redis and its sockets at once, releasing nothing.
	rdbA.Close()
	a.srv.CloseClientConnections()
	a.srv.Listener.Close()
	agent.c.CloseNow()
	crashed := time.Now()

	ctx := context.Background()
	eventually(t, "the crashed replica's room to free", func() bool {
		on, err := b.hub.Online(ctx, w.lecture.ID, w.stu.ID)
		return err == nil && !on
	})
	t.Logf("room freed %v after the crash (TTL %v)", time.Since(crashed).Round(time.Millisecond), ttl)
	// The professor on B is told and leaves the room.
	if m := console.expect(wire.SignalPeerLeft); m.Code != wire.CodeStudentLeft {
		t.Fatalf("peer_left %+v", m)
	}
	// The student comes back on B: a fresh join, not a takeover.
	agent2 := dial(t, b, w.stu)
	agent2.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent2.expect(wire.SignalPeerJoined)
	for _, e := range w.audits(t, w.lecture) {
		if e.Action == AuditTakeover {
			t.Fatalf("rejoin after a crash audited as a takeover: %+v", e)
		}
	}
}

// joinRetry joins (reconnecting if needed) until the hub accepts; used while
// Redis comes back.
func joinRetry(t *testing.T, r *replica, c **client, as wire.Role, w *world) wire.SignalMessage {
	t.Helper()
	u := w.stu
	if as == wire.RoleProfessor {
		u = w.prof
	}
	deadline := time.Now().Add(waitLimit)
	for {
		if *c == nil {
			if conn, err := dialErr(r, tokenOf(u), nil); err == nil {
				*c = newClient(t, u.Name, conn)
				t.Cleanup(func() { conn.CloseNow() })
			}
		}
		if *c != nil {
			(*c).join(w.lecture, w.stu, as)
			m, err := (*c).read()
			switch {
			case err != nil:
				*c = nil
			case m.Type == wire.SignalJoined:
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s could not join again after the Redis restart", as)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestRedisRestartSurvived(t *testing.T) {
	w := newWorld(t)
	r := testenv.StartRedis(t)
	ttl := 1500 * time.Millisecond
	a, _ := redisReplica(t, w, r, "A", ttl)
	b, _ := redisReplica(t, w, r, "B", ttl)
	agent := dial(t, a, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, b, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)

	r.Stop() // every lease and subscription is gone
	time.Sleep(300 * time.Millisecond)
	// While Redis is down a join is refused cleanly, not hung.
	extra := dial(t, b, w.stu2)
	extra.join(w.lecture, w.stu2, wire.RoleStudent)
	extra.expectError(wire.CodeUnavailable)
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}

	// Rooms are rebuilt: the sockets that survived get their leases back from
	// the heartbeats; a client whose socket ended reconnects and rejoins.
	// Offers flow again across replicas once both seats are back.
	deadline := time.Now().Add(waitLimit)
	for delivered := false; !delivered; {
		if time.Now().After(deadline) {
			t.Fatal("relay across replicas did not recover after the Redis restart")
		}
		console.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "after-restart"})
		if m, ok, err := console.poll(300 * time.Millisecond); err != nil {
			t.Fatalf("professor socket: %v", err)
		} else if ok && m.Type == wire.SignalError {
			t.Logf("professor after restart: %s %s", m.Code, m.Message)
			if m.Code == wire.CodeNotJoined { // the professor lost the room: rejoin
				joinRetry(t, b, &console, wire.RoleProfessor, w)
			}
			// Retry at a pace within the socket's rate limit: the seats come
			// back with the next heartbeats, not at once.
			time.Sleep(100 * time.Millisecond)
			continue
		}
		for {
			m, ok, err := agent.poll(300 * time.Millisecond)
			if err != nil {
				t.Fatalf("student socket: %v", err)
			}
			if !ok {
				break
			}
			t.Logf("student after restart: %s %s", m.Type, m.Code)
			if m.Type == wire.SignalOffer && m.SDP == "after-restart" {
				delivered = true
				break
			}
		}
	}
	// New joins work again on both replicas.
	var late *client
	joinRetry(t, a, &late, wire.RoleStudent, w) // a takeover of the student seat
	agent.expect(wire.SignalKicked)
	agent.expectClosed(CloseTakenOver)
	if on, err := b.hub.Online(context.Background(), w.lecture.ID, w.stu.ID); err != nil || !on {
		t.Fatalf("online after restart: %v %v", on, err)
	}
}
