package signal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/wire"
)

func memReplica(t *testing.T, w *world, cfg Config) *replica {
	t.Helper()
	return startReplica(t, w, cfg, NewMemoryLock(), NewMemoryBus())
}

func TestJoinRelayAndPeerInfo(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{Replica: "solo"})
	agent := dial(t, r, w.stu)
	sj := agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	if sj.Epoch <= 0 || sj.Peer != nil {
		t.Fatalf("student joined: %+v", sj)
	}
	console := dial(t, r, w.prof)
	pj := console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	if pj.Peer == nil || pj.Peer.UserID != w.stu.ID || pj.Peer.Name != "stu" || pj.Peer.Role != wire.RoleStudent {
		t.Fatalf("professor joined without the student's info: %+v", pj)
	}
	a, _ := json.Marshal(sj.ICEServers)
	b, _ := json.Marshal(pj.ICEServers)
	if len(sj.ICEServers) != 2 || !bytes.Equal(a, b) {
		t.Fatalf("ice servers differ or missing: %s vs %s", a, b)
	}
	peer := agent.expect(wire.SignalPeerJoined)
	if peer.Peer == nil || peer.Peer.UserID != w.prof.ID || peer.Peer.Name != "prof" || peer.Peer.Role != wire.RoleProfessor || peer.Epoch != pj.Epoch {
		t.Fatalf("peer_joined: %+v", peer)
	}

	console.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "v=0 offer"})
	if m := agent.expect(wire.SignalOffer); m.SDP != "v=0 offer" || m.Role != wire.RoleProfessor || m.Epoch != pj.Epoch {
		t.Fatalf("offer: %+v", m)
	}
	agent.send(wire.SignalMessage{Type: wire.SignalAnswer, SDP: "v=0 answer"})
	if m := console.expect(wire.SignalAnswer); m.SDP != "v=0 answer" || m.Role != wire.RoleStudent {
		t.Fatalf("answer: %+v", m)
	}
	cand := json.RawMessage(`{"candidate":"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}`)
	console.send(wire.SignalMessage{Type: wire.SignalCandidate, Candidate: cand})
	agent.send(wire.SignalMessage{Type: wire.SignalCandidate, Candidate: cand})
	for _, c := range []*client{agent, console} {
		if m := c.expect(wire.SignalCandidate); !bytes.Equal(m.Candidate, cand) {
			t.Fatalf("%s candidate: %s", c.name, m.Candidate)
		}
	}
	if on, err := r.hub.Online(context.Background(), w.lecture.ID, w.stu.ID); err != nil || !on {
		t.Fatalf("Online = %v, %v", on, err)
	}
	w.waitAudit(t, w.lecture, AuditJoin, w.stu.ID, w.stu.ID)
	e := w.waitAudit(t, w.lecture, AuditJoin, w.prof.ID, w.stu.ID)
	if e.Replica != "solo" || e.At.IsZero() {
		t.Fatalf("audit entry lacks replica or time: %+v", e)
	}
}

func TestJoinRules(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)

	cases := []struct {
		name    string
		as      func() *client
		lecture int64
		student int64
		role    wire.Role
		code    string
	}{
		{"not the owner", func() *client { return dial(t, r, w.otherProf) }, w.lecture.ID, w.stu.ID, wire.RoleProfessor, wire.CodeForbidden},
		{"student posing as professor", func() *client { return dial(t, r, w.stu2) }, w.lecture.ID, w.stu.ID, wire.RoleProfessor, wire.CodeForbidden},
		{"professor posing as student", func() *client { return dial(t, r, w.prof) }, w.lecture.ID, w.stu.ID, wire.RoleStudent, wire.CodeForbidden},
		{"another student's room", func() *client { return dial(t, r, w.stu2) }, w.lecture.ID, w.stu.ID, wire.RoleStudent, wire.CodeForbidden},
		{"not a member", func() *client { return dial(t, r, w.outsider) }, w.lecture.ID, w.outsider.ID, wire.RoleStudent, wire.CodeNotMember},
		{"member of another lecture only", func() *client { return dial(t, r, w.stu) }, w.otherLec.ID, w.stu.ID, wire.RoleStudent, wire.CodeNotMember},
		{"inactive lecture (student)", func() *client { return dial(t, r, w.stu2) }, w.inactive.ID, w.stu2.ID, wire.RoleStudent, wire.CodeLectureInactive},
		{"inactive lecture (professor)", func() *client { return dial(t, r, w.prof) }, w.inactive.ID, w.stu.ID, wire.RoleProfessor, wire.CodeLectureInactive},
		{"unknown lecture", func() *client { return dial(t, r, w.stu) }, 999999, w.stu.ID, wire.RoleStudent, wire.CodeNotFound},
		{"student not connected", func() *client { return dial(t, r, w.prof) }, w.lecture.ID, w.stu2.ID, wire.RoleProfessor, wire.CodeStudentNotInRoom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := c.as()
			cl.t = t
			cl.send(wire.SignalMessage{Type: wire.SignalJoin, LectureID: c.lecture, StudentID: c.student, Role: c.role})
			cl.expectError(c.code)
			// Refused joins leave the socket usable and out of any room.
			cl.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "x"})
			cl.expectError(wire.CodeNotJoined)
		})
	}
	// Nothing above disturbed the legitimate student's room.
	agent.roundTrip()
	if on, _ := r.hub.Online(context.Background(), w.lecture.ID, w.stu.ID); !on {
		t.Fatal("student lost the room")
	}
	// A second join on the same socket is refused.
	agent.join(w.lecture, w.stu, wire.RoleStudent)
	agent.expectError(wire.CodeAlreadyJoined)
}

func TestStudentLeaveEndsProfessorSession(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)

	agent.send(wire.SignalMessage{Type: wire.SignalLeave})
	if m := console.expect(wire.SignalPeerLeft); m.Code != wire.CodeStudentLeft {
		t.Fatalf("peer_left code %q", m.Code)
	}
	// The professor is out of the room, with the socket still open.
	console.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "x"})
	console.expectError(wire.CodeNotJoined)
	if _, ok, _ := r.hub.lock.Get(context.Background(), Slot{w.lecture.ID, w.stu.ID, wire.RoleProfessor}); ok {
		t.Fatal("professor slot still held")
	}
	if on, _ := r.hub.Online(context.Background(), w.lecture.ID, w.stu.ID); on {
		t.Fatal("student still online after leave")
	}
	w.waitAudit(t, w.lecture, AuditLeave, w.stu.ID, w.stu.ID)
	w.waitAudit(t, w.lecture, AuditLeave, w.prof.ID, w.stu.ID)

	// Both may come back: the student's agent rejoins on the same socket.
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)
}

// TestStudentLeaveGivesReason: a student's leave with a reason (refused,
// ended by the student) reaches the professor as peer_left's code and the
// audit log; an unknown code, or one from the professor, is a plain leave.
func TestStudentLeaveGivesReason(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	agent := dial(t, r, w.stu)
	console := dial(t, r, w.prof)
	for _, tc := range []struct{ code, want string }{
		{wire.CodeConsentRefused, wire.CodeConsentRefused},
		{wire.CodeStudentEnded, wire.CodeStudentEnded},
		{"made_up", wire.CodeStudentLeft},
	} {
		agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
		console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
		agent.expect(wire.SignalPeerJoined)
		agent.send(wire.SignalMessage{Type: wire.SignalLeave, Code: tc.code})
		if m := console.expect(wire.SignalPeerLeft); m.Code != tc.want {
			t.Fatalf("leave with %q: peer_left code %q, want %q", tc.code, m.Code, tc.want)
		}
	}
	eventually(t, "an audited leave with the reason", func() bool {
		for _, a := range w.audits(t, w.lecture) {
			if a.Action == AuditLeave && a.ActorID == w.stu.ID && strings.Contains(a.Detail, wire.CodeConsentRefused) {
				return true
			}
		}
		return false
	})
	// The professor's own leave keeps professor_left whatever code it sends.
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)
	console.send(wire.SignalMessage{Type: wire.SignalLeave, Code: wire.CodeStudentEnded})
	if m := agent.expect(wire.SignalPeerLeft); m.Code != wire.CodeProfessorLeft {
		t.Fatalf("professor's leave: peer_left code %q", m.Code)
	}
}

func TestStudentDropEndsProfessorSession(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)

	agent.c.CloseNow() // no close handshake: a dropped connection
	if m := console.expect(wire.SignalPeerLeft); m.Code != wire.CodeStudentLeft || m.Peer == nil || m.Peer.UserID != w.stu.ID {
		t.Fatalf("peer_left: %+v", m)
	}
	console.send(wire.SignalMessage{Type: wire.SignalCandidate, Candidate: json.RawMessage(`{}`)})
	console.expectError(wire.CodeNotJoined)
	console.join(w.lecture, w.stu, wire.RoleProfessor)
	console.expectError(wire.CodeStudentNotInRoom)
}

func TestProfessorLeaveTellsStudent(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)
	console.send(wire.SignalMessage{Type: wire.SignalLeave})
	if m := agent.expect(wire.SignalPeerLeft); m.Code != wire.CodeProfessorLeft {
		t.Fatalf("peer_left: %+v", m)
	}
	// The student stays in the room; with nobody there, relays are refused.
	agent.send(wire.SignalMessage{Type: wire.SignalAnswer, SDP: "x"})
	agent.expectError(wire.CodePeerNotInRoom)
}

func TestStudentTakeover(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	old := dial(t, r, w.stu)
	o := old.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	old.expect(wire.SignalPeerJoined)

	fresh := dial(t, r, w.stu)
	n := fresh.joinOK(w.lecture, w.stu, wire.RoleStudent)
	if n.Epoch <= o.Epoch {
		t.Fatalf("new epoch %d not above old %d", n.Epoch, o.Epoch)
	}
	if k := old.expect(wire.SignalKicked); k.Code != wire.CodeRoomTakenOver || k.Epoch != n.Epoch {
		t.Fatalf("kicked: %+v", k)
	}
	old.expectClosed(CloseTakenOver)
	// The professor's session belonged to the old student session.
	console.expect(wire.SignalPeerLeft)
	console.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "x"})
	console.expectError(wire.CodeNotJoined)
	// The new session holds the room and the old one's end freed nothing.
	if h, ok, _ := r.hub.lock.Get(context.Background(), Slot{w.lecture.ID, w.stu.ID, wire.RoleStudent}); !ok || h.Epoch != n.Epoch {
		t.Fatalf("student slot holder %+v %v, want epoch %d", h, ok, n.Epoch)
	}
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	fresh.expect(wire.SignalPeerJoined)
	w.waitAudit(t, w.lecture, AuditTakeover, w.stu.ID, w.stu.ID)
	w.waitAudit(t, w.lecture, AuditKick, w.stu.ID, w.stu.ID)
}

func TestProfessorTakeover(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	old := dial(t, r, w.prof)
	old.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)

	fresh := dial(t, r, w.prof)
	n := fresh.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	old.expect(wire.SignalKicked)
	old.expectClosed(CloseTakenOver)
	if m := agent.expect(wire.SignalPeerJoined); m.Epoch != n.Epoch {
		t.Fatalf("student told of epoch %d, want %d", m.Epoch, n.Epoch)
	}
	// The old professor's end did not tell the student anything; offers flow from the new one.
	fresh.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "new"})
	if m := agent.expect(wire.SignalOffer); m.SDP != "new" {
		t.Fatalf("offer %+v", m)
	}
	w.waitAudit(t, w.lecture, AuditTakeover, w.prof.ID, w.prof.ID)
	w.waitAudit(t, w.lecture, AuditKick, w.prof.ID, w.prof.ID)
}

func TestRemoteControlRulesAndAudit(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)

	ev := json.RawMessage(`{"t":"move","x":0.5,"y":0.5}`)
	console.send(wire.SignalMessage{Type: wire.SignalControl, Control: ev})
	console.expectError(wire.CodeControlInactive)
	agent.send(wire.SignalMessage{Type: wire.SignalControlStart})
	agent.expectError(wire.CodeForbidden)
	agent.send(wire.SignalMessage{Type: wire.SignalControl, Control: ev})
	agent.expectError(wire.CodeControlInactive)

	console.send(wire.SignalMessage{Type: wire.SignalControlStart})
	agent.expect(wire.SignalControlStart)
	console.send(wire.SignalMessage{Type: wire.SignalControl, Control: ev})
	if m := agent.expect(wire.SignalControl); !bytes.Equal(m.Control, ev) {
		t.Fatalf("control %s", m.Control)
	}
	big := json.RawMessage(`{"k":"` + strings.Repeat("a", wire.MaxControlBytes) + `"}`)
	console.send(wire.SignalMessage{Type: wire.SignalControl, Control: big})
	console.expectError(wire.CodeTooLarge)
	console.send(wire.SignalMessage{Type: wire.SignalControlEnd})
	agent.expect(wire.SignalControlEnd)
	w.waitAudit(t, w.lecture, AuditControlStart, w.prof.ID, w.stu.ID)
	w.waitAudit(t, w.lecture, AuditControlEnd, w.prof.ID, w.stu.ID)

	// The student ends control from their side; the professor hears it.
	console.send(wire.SignalMessage{Type: wire.SignalControlStart})
	agent.expect(wire.SignalControlStart)
	agent.send(wire.SignalMessage{Type: wire.SignalControlEnd})
	console.expect(wire.SignalControlEnd)
	console.send(wire.SignalMessage{Type: wire.SignalControl, Control: ev})
	console.expectError(wire.CodeControlInactive)
	w.waitAudit(t, w.lecture, AuditControlEnd, w.stu.ID, w.stu.ID)

	// A professor dropping mid-control ends control in the audit log.
	console.send(wire.SignalMessage{Type: wire.SignalControlStart})
	agent.expect(wire.SignalControlStart)
	console.c.CloseNow()
	agent.expect(wire.SignalPeerLeft)
	eventually(t, "control_end on drop", func() bool {
		n := 0
		for _, e := range w.audits(t, w.lecture) {
			if e.Action == AuditControlEnd && e.ActorID == w.prof.ID {
				n++
			}
		}
		return n == 2
	})
}

func TestSocketAuthAndOrigin(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{OriginPatterns: []string{"console.example.test"}})
	for _, tok := range []string{"", "tok-nobody"} {
		_, err := dialErr(r, tok, nil)
		if err == nil {
			t.Fatalf("token %q: socket opened without authentication", tok)
		}
		resp, err := http.Get(r.srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("plain GET: %d", resp.StatusCode)
		}
	}
	if _, err := dialErr(r, tokenOf(w.prof), http.Header{"Origin": {"https://evil.example.test"}}); err == nil {
		t.Fatal("cross-origin socket accepted")
	}
	c, err := dialErr(r, tokenOf(w.prof), http.Header{"Origin": {"https://console.example.test"}})
	if err != nil {
		t.Fatalf("allowed origin refused: %v", err)
	}
	c.CloseNow()
}

func TestMessageValidationAndLimits(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{MaxMessageBytes: 8 << 10, RatePerSecond: 1, RateBurst: 5})
	c := dial(t, r, w.stu)
	c.sendRaw([]byte(`{"v":1,"type":"bogus"}`))
	c.expectError(wire.CodeUnknownType)
	c.sendRaw([]byte(`{"v":9,"type":"ping"}`))
	c.expectError(wire.CodeUnsupportedVersion)
	c.sendRaw([]byte(`{"v":1,"type":"ping","admin":true}`))
	c.expectError(wire.CodeBadRequest)
	c.send(wire.SignalMessage{Type: wire.SignalJoined})
	c.expectError(wire.CodeBadRequest)
	// Rate: the bucket (burst 5, 1/s) is nearly spent; a burst gets refused.
	refused := 0
	for range 10 {
		c.send(wire.SignalMessage{Type: wire.SignalPing})
	}
	for range 10 {
		b, err := c.next()
		if err != nil {
			t.Fatal(err)
		}
		if m, _ := wire.DecodeSignal(b); m.Type == wire.SignalError && m.Code == wire.CodeRateLimited {
			refused++
		}
	}
	if refused == 0 {
		t.Fatal("no message was rate limited")
	}
	// Size: a message beyond the socket limit closes it (1009).
	c.sendRaw([]byte(`{"v":1,"type":"offer","sdp":"` + strings.Repeat("a", 9<<10) + `"}`))
	c.expectClosed(websocket.StatusMessageTooBig)
}

func TestHeartbeatKeepsRoomAndTTLFreesIt(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{LockTTL: 600 * time.Millisecond})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)
	time.Sleep(4 * 600 * time.Millisecond) // several leases: heartbeats must renew them
	console.send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "still here"})
	agent.expect(wire.SignalOffer)

	// A lease nobody renews (a crashed holder) frees the slot by itself.
	ctx := context.Background()
	ghost := Slot{w.lecture.ID, w.stu2.ID, wire.RoleStudent}
	if _, _, _, err := r.hub.lock.Claim(ctx, ghost, Holder{Session: "ghost", Replica: "gone"}, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	eventually(t, "ghost lease to expire", func() bool {
		on, _ := r.hub.Online(ctx, w.lecture.ID, w.stu2.ID)
		return !on
	})
}

func TestCloseTellsSessionsAndReleases(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := r.hub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	agent.expectError(wire.CodeUnavailable)
	agent.expectClosed(websocket.StatusGoingAway)
	if on, _ := r.hub.Online(ctx, w.lecture.ID, w.stu.ID); on {
		t.Fatal("slot still held after Close")
	}
	if _, err := dialErr(r, tokenOf(w.stu), nil); err == nil {
		t.Fatal("closed hub accepted a socket")
	}
}

func TestUnresponsiveClientFreesRoom(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{LockTTL: 900 * time.Millisecond})
	// A socket that joins and then never reads again cannot answer pings,
	// like a frozen or half-open client.
	conn, err := dialErr(r, tokenOf(w.stu), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	frozen := newClient(t, "frozen", conn)
	frozen.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	frozen.expect(wire.SignalPeerJoined)
	frozen.freeze()

	if m := console.expect(wire.SignalPeerLeft); m.Code != wire.CodeStudentLeft {
		t.Fatalf("peer_left %+v", m)
	}
	if on, _ := r.hub.Online(context.Background(), w.lecture.ID, w.stu.ID); on {
		t.Fatal("frozen student still online")
	}
}

func TestRefusedFloodClosesSocket(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{})
	c := dial(t, r, w.stu)
	for range maxRefused + 5 {
		if err := c.c.Write(context.Background(), websocket.MessageText, []byte(`{"v":1,"type":"nope"}`)); err != nil {
			break // already closed
		}
	}
	c.expectClosed(websocket.StatusPolicyViolation)
}

func TestRulesRecheckedWhileInRoom(t *testing.T) {
	w := newWorld(t)
	r := memReplica(t, w, Config{LockTTL: 900 * time.Millisecond})
	agent := dial(t, r, w.stu)
	agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	agent.expect(wire.SignalPeerJoined)
	other := dial(t, r, w.stu2)
	other.joinOK(w.lecture, w.stu2, wire.RoleStudent)

	// Removing one member ends that student's stay only.
	ctx := context.Background()
	if err := w.st.RemoveMember(ctx, w.lecture.ID, w.stu2.ID); err != nil {
		t.Fatal(err)
	}
	other.expectError(wire.CodeNotMember)
	eventually(t, "removed member out of the room", func() bool {
		on, _ := r.hub.Online(ctx, w.lecture.ID, w.stu2.ID)
		return !on
	})
	agent.roundTrip()

	// Switching the lecture off ends both seats of every room.
	if _, err := w.st.SetLectureActive(ctx, w.lecture.ID, false, 0); err != nil {
		t.Fatal(err)
	}
	// The student is told (perhaps after hearing the professor left); the
	// professor is told, or first loses its student and leaves with it.
	for {
		m := agent.expect2(wire.SignalError, wire.SignalPeerLeft)
		if m.Type == wire.SignalError {
			if m.Code != wire.CodeLectureInactive {
				t.Fatalf("student: error %s", m.Code)
			}
			break
		}
	}
	if m := console.expect2(wire.SignalError, wire.SignalPeerLeft); m.Type == wire.SignalError && m.Code != wire.CodeLectureInactive {
		t.Fatalf("professor: error %s", m.Code)
	}
	eventually(t, "room emptied", func() bool {
		on, _ := r.hub.Online(ctx, w.lecture.ID, w.stu.ID)
		_, prof, _ := r.hub.lock.Get(ctx, Slot{w.lecture.ID, w.stu.ID, wire.RoleProfessor})
		return !on && !prof
	})
	agent.join(w.lecture, w.stu, wire.RoleStudent)
	agent.expectError(wire.CodeLectureInactive)
}

// TestPeerJoinedHandsFreshICEServers: per-user, short-lived TURN
// credentials are made anew for the student when a professor arrives, so
// an agent connected since the morning does not use expired ones.
func TestPeerJoinedHandsFreshICEServers(t *testing.T) {
	w := newWorld(t)
	n := 0
	var mu sync.Mutex
	cfg := Config{Replica: "solo", ICEFor: func(uid int64) []wire.ICEServer {
		mu.Lock()
		defer mu.Unlock()
		n++
		return []wire.ICEServer{{URLs: []string{"turn:127.0.0.1:3478"}, Username: fmt.Sprintf("%d:%d", n, uid), Credential: "c"}}
	}}
	r := memReplica(t, w, cfg)
	agent := dial(t, r, w.stu)
	sj := agent.joinOK(w.lecture, w.stu, wire.RoleStudent)
	console := dial(t, r, w.prof)
	console.joinOK(w.lecture, w.stu, wire.RoleProfessor)
	peer := agent.expect(wire.SignalPeerJoined)
	if len(peer.ICEServers) != 1 || peer.ICEServers[0].Username == sj.ICEServers[0].Username ||
		!strings.HasSuffix(peer.ICEServers[0].Username, fmt.Sprintf(":%d", w.stu.ID)) {
		t.Fatalf("peer_joined ICE servers %+v after joined's %+v", peer.ICEServers, sj.ICEServers)
	}
}
