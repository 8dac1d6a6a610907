package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

type wsConn struct {
	t *testing.T
	c *websocket.Conn
}

func dialWS(t *testing.T, ctx context.Context, url string, hdr http.Header) (*wsConn, *http.Response, error) {
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { c.CloseNow() })
	return &wsConn{t: t, c: c}, resp, nil
}

func (w *wsConn) send(ctx context.Context, m wire.SignalMessage) {
	m.V = wire.ProtocolVersion
	b, _ := json.Marshal(m)
	if err := w.c.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatalf("send %s: %v", m.Type, err)
	}
}

func (w *wsConn) recv(ctx context.Context) wire.SignalMessage {
	w.t.Helper()
	_, b, err := w.c.Read(ctx)
	if err != nil {
		w.t.Fatalf("recv: %v", err)
	}
	m, err := wire.DecodeSignal(b)
	if err != nil {
		w.t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

// TestSignalingThroughServer checks the hub's wiring: the agent's bearer
// token, the console's cookie session and a ticket all authenticate; an
// offer is relayed; the audit log is readable by the owner only.
func TestSignalingThroughServer(t *testing.T) {
	in := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	prof := in.Register(t, wire.RoleProfessor, "Prof Live")
	stud := in.Register(t, wire.RoleStudent, "Student Live")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Live"}, &l)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
	var e wire.Enrollment
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	wsURL := "ws" + strings.TrimPrefix(in.URL, "http") + "/api/v1/signal"

	// No credentials: refused before the upgrade.
	if _, resp, err := dialWS(t, ctx, wsURL, nil); err == nil || resp == nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous dial: err %v resp %v", err, resp)
	}
	// A foreign page's origin is refused.
	if _, resp, err := dialWS(t, ctx, wsURL, http.Header{"Authorization": {"Bearer " + stud.Token}, "Origin": {"https://evil.example"}}); err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("cross-origin dial: err %v resp %v", err, resp)
	}

	agent, _, err := dialWS(t, ctx, wsURL, http.Header{"Authorization": {"Bearer " + stud.Token}})
	if err != nil {
		t.Fatal(err)
	}
	agent.send(ctx, wire.SignalMessage{Type: wire.SignalJoin, LectureID: l.ID, StudentID: stud.User.ID, Role: wire.RoleStudent})
	if m := agent.recv(ctx); m.Type != wire.SignalJoined {
		t.Fatalf("student join: %+v", m)
	}

	// The console: cookie session, then a ticket for the websocket.
	console := in.NewClient(t)
	console.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: prof.User.Email, Password: servertest.Password, Session: "cookie"}, nil)
	var ticket struct{ Ticket string }
	r := console.Do("POST", "/api/v1/signal/ticket", nil, &ticket)
	r.Code(t, 403, wire.CodeCSRF) // cookie sessions need the CSRF header on POST
	for _, ck := range console.HTTP.Jar.Cookies(mustURL(t, in.URL)) {
		if ck.Name == "didacto_csrf" {
			console.CSRF = ck.Value
		}
	}
	console.Must(200, "POST", "/api/v1/signal/ticket", nil, &ticket)
	if _, resp, err := dialWS(t, ctx, wsURL+"?ticket=forged", nil); err == nil || resp.StatusCode != 401 {
		t.Fatalf("forged ticket: %v %v", err, resp)
	}
	pc, _, err := dialWS(t, ctx, wsURL+"?ticket="+ticket.Ticket, http.Header{"Origin": {in.URL}})
	if err != nil {
		t.Fatal(err)
	}
	pc.send(ctx, wire.SignalMessage{Type: wire.SignalJoin, LectureID: l.ID, StudentID: stud.User.ID, Role: wire.RoleProfessor})
	if m := pc.recv(ctx); m.Type != wire.SignalJoined || m.Peer == nil || m.Peer.UserID != stud.User.ID {
		t.Fatalf("professor join: %+v", m)
	}
	if m := agent.recv(ctx); m.Type != wire.SignalPeerJoined || m.Peer == nil || m.Peer.Name != "Prof Live" {
		t.Fatalf("student told: %+v", m)
	}
	pc.send(ctx, wire.SignalMessage{Type: wire.SignalOffer, SDP: "v=0 fake offer"})
	if m := agent.recv(ctx); m.Type != wire.SignalOffer || m.SDP != "v=0 fake offer" || m.Role != wire.RoleProfessor {
		t.Fatalf("relayed offer: %+v", m)
	}
	agent.send(ctx, wire.SignalMessage{Type: wire.SignalLeave})
	if m := pc.recv(ctx); m.Type != wire.SignalPeerLeft {
		t.Fatalf("professor told: %+v", m)
	}

	var audit wire.Page[wire.AuditRecord]
	prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/audit", l.ID), nil, &audit)
	actions := map[string]bool{}
	for _, a := range audit.Items {
		actions[a.Action] = true
		if a.Replica != in.Config.Replica && a.Replica == "" {
			t.Errorf("audit entry without replica: %+v", a)
		}
	}
	if !actions["join"] || !actions["leave"] {
		t.Fatalf("audit log %+v", audit.Items)
	}
	in.Register(t, wire.RoleProfessor, "Other").Do("GET", fmt.Sprintf("/api/v1/lectures/%d/audit", l.ID), nil, nil).Code(t, 404, wire.CodeNotFound)
}
