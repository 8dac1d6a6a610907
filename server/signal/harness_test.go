package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/server/store/sqlstore"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// tokenAuth is the tests' Authenticator: bearer tokens mapped to identities.
type tokenAuth struct {
	mu     sync.Mutex
	tokens map[string]Identity
}

func (a *tokenAuth) AuthenticateRequest(r *http.Request) (Identity, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Identity{}, errors.New("no bearer token")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	id, ok := a.tokens[tok]
	if !ok {
		return Identity{}, errors.New("unknown token")
	}
	return id, nil
}

// world is a real SQLite store with users, an active and an inactive
// lecture, and tokens for every user.
type world struct {
	st                          *sqlstore.Store
	auth                        *tokenAuth
	prof, otherProf             store.User
	stu, stu2, outsider         store.User
	lecture, inactive, otherLec store.Lecture
}

func newWorld(t testing.TB) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "didacto.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &world{st: st, auth: &tokenAuth{tokens: map[string]Identity{}}}
	user := func(name string, role wire.Role) store.User {
		u, err := st.CreateUser(ctx, store.User{Email: name + "@example.test", Name: name, Role: role, PasswordHash: "x"})
		if err != nil {
			t.Fatal(err)
		}
		w.auth.tokens["tok-"+name] = Identity{UserID: u.ID, Role: role, Name: name}
		return u
	}
	w.prof = user("prof", wire.RoleProfessor)
	w.otherProf = user("otherprof", wire.RoleProfessor)
	w.stu = user("stu", wire.RoleStudent)
	w.stu2 = user("stu2", wire.RoleStudent)
	w.outsider = user("outsider", wire.RoleStudent)
	w.lecture = w.newLecture(t, w.prof, "Networks", true)
	w.inactive = w.newLecture(t, w.prof, "Closed", false)
	w.otherLec = w.newLecture(t, w.otherProf, "Other", true)
	for _, l := range []store.Lecture{w.lecture, w.inactive} {
		w.enroll(t, l, w.stu)
		w.enroll(t, l, w.stu2)
	}
	return w
}

func (w *world) newLecture(t testing.TB, owner store.User, title string, active bool) store.Lecture {
	t.Helper()
	ctx := context.Background()
	l, err := w.st.CreateLecture(ctx, store.Lecture{OwnerID: owner.ID, Title: title, Code: fmt.Sprintf("C%d%s", owner.ID, title)})
	if err != nil {
		t.Fatal(err)
	}
	if active {
		if l, err = w.st.SetLectureActive(ctx, l.ID, true, 0); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func (w *world) enroll(t testing.TB, l store.Lecture, u store.User) {
	t.Helper()
	ctx := context.Background()
	e, err := w.st.RequestJoin(ctx, l.ID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.DecideEnrollment(ctx, e.ID, true); err != nil {
		t.Fatal(err)
	}
}

// The real store plugs into the hub with no adapter.
var (
	_ Directory = store.Store(nil)
	_ Auditor   = store.Store(nil)
)

func tokenOf(u store.User) string { return "tok-" + u.Name }

// replica is one hub behind its own HTTP server.
type replica struct {
	hub *Hub
	srv *httptest.Server
	url string
}

func startReplica(t testing.TB, w *world, cfg Config, lock RoomLock, bus Bus) *replica {
	t.Helper()
	if cfg.ICEServers == nil {
		cfg.ICEServers = []wire.ICEServer{{URLs: []string{"stun:127.0.0.1:3478"}}, {URLs: []string{"turn:127.0.0.1:3478"}, Username: "u", Credential: "c"}}
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	hub, err := NewHub(context.Background(), cfg, lock, bus, w.st, w.auth, w.st, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	r := &replica{hub: hub, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hub.Close(ctx)
		srv.Close()
	})
	return r
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// client is a test websocket client.
// A background reader keeps reading, as real clients do: coder/websocket
// answers the server's pings only while a read is in progress.
type client struct {
	t    testing.TB
	name string
	c    *websocket.Conn
	msgs chan frame
	// frozen makes the background reader stop after its next frame, so the
	// socket no longer answers pings (a frozen or half-open client).
	frozen atomic.Bool
}

type frame struct {
	b   []byte
	err error
}

func newClient(t testing.TB, name string, c *websocket.Conn) *client {
	cl := &client{t: t, name: name, c: c, msgs: make(chan frame, 4096)}
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			cl.msgs <- frame{b, err}
			if err != nil || cl.frozen.Load() {
				return
			}
		}
	}()
	return cl
}

// freeze stops reading: the pong to this ping is the last frame read.
func (c *client) freeze() {
	c.frozen.Store(true)
	c.send(wire.SignalMessage{Type: wire.SignalPing})
}

// poll returns the next message if one arrives within d (pongs skipped).
func (c *client) poll(d time.Duration) (wire.SignalMessage, bool, error) {
	deadline := time.After(d)
	for {
		select {
		case f := <-c.msgs:
			if f.err != nil {
				c.msgs <- f
				return wire.SignalMessage{}, false, f.err
			}
			m, err := wire.DecodeSignal(f.b)
			if err != nil {
				return m, false, fmt.Errorf("server sent an invalid message %s: %w", f.b, err)
			}
			if m.Type != wire.SignalPong {
				return m, true, nil
			}
		case <-deadline:
			return wire.SignalMessage{}, false, nil
		}
	}
}

// next returns the next raw frame or the read error.
func (c *client) next() ([]byte, error) {
	select {
	case f := <-c.msgs:
		if f.err != nil {
			c.msgs <- f // stays ended for later reads
		}
		return f.b, f.err
	case <-time.After(waitLimit):
		return nil, errors.New("timed out waiting for a message")
	}
}

const waitLimit = 15 * time.Second // failure guard only

func dial(t testing.TB, r *replica, u store.User) *client {
	t.Helper()
	c, err := dialErr(r, tokenOf(u), nil)
	if err != nil {
		t.Fatalf("dial as %s: %v", u.Name, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return newClient(t, u.Name, c)
}

func dialErr(r *replica, token string, hdr http.Header) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if hdr == nil {
		hdr = http.Header{}
	}
	if token != "" {
		hdr.Set("Authorization", "Bearer "+token)
	}
	c, _, err := websocket.Dial(ctx, r.url, &websocket.DialOptions{HTTPHeader: hdr})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(1 << 20)
	return c, nil
}

func (c *client) send(m wire.SignalMessage) {
	c.t.Helper()
	m.V = wire.ProtocolVersion
	b, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

// read returns the next message (skipping pongs), or the read error.
func (c *client) read() (wire.SignalMessage, error) {
	for {
		b, err := c.next()
		if err != nil {
			return wire.SignalMessage{}, err
		}
		m, err := wire.DecodeSignal(b)
		if err != nil {
			return m, fmt.Errorf("server sent an invalid message %s: %w", b, err)
		}
		if m.Type != wire.SignalPong {
			return m, nil
		}
	}
}

func (c *client) expect(typ string) wire.SignalMessage {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("%s: waiting for %s: %v", c.name, typ, err)
	}
	if m.Type != typ {
		c.t.Fatalf("%s: got %s (%s %s), want %s", c.name, m.Type, m.Code, m.Message, typ)
	}
	return m
}

// expect2 returns the next message, which must be of one of two types.
func (c *client) expect2(a, b string) wire.SignalMessage {
	c.t.Helper()
	m, err := c.read()
	if err != nil {
		c.t.Fatalf("%s: waiting for %s or %s: %v", c.name, a, b, err)
	}
	if m.Type != a && m.Type != b {
		c.t.Fatalf("%s: got %s (%s %s), want %s or %s", c.name, m.Type, m.Code, m.Message, a, b)
	}
	return m
}

func (c *client) expectError(code string) wire.SignalMessage {
	c.t.Helper()
	m := c.expect(wire.SignalError)
	if m.Code != code {
		c.t.Fatalf("%s: error code %q (%s), want %q", c.name, m.Code, m.Message, code)
	}
	return m
}

// expectClosed reads until the socket ends and checks the close code.
func (c *client) expectClosed(code websocket.StatusCode) {
	c.t.Helper()
	for {
		m, err := c.read()
		if err != nil {
			if got := websocket.CloseStatus(err); got != code {
				c.t.Fatalf("%s: socket ended with %v (%v), want close code %d", c.name, got, err, code)
			}
			return
		}
		_ = m // whatever came before the close
	}
}

// roundTrip checks the socket is alive and everything before was consumed.
func (c *client) roundTrip() {
	c.t.Helper()
	c.send(wire.SignalMessage{Type: wire.SignalPing})
	b, err := c.next()
	if err != nil {
		c.t.Fatalf("%s: ping: %v", c.name, err)
	}
	if m, _ := wire.DecodeSignal(b); m.Type != wire.SignalPong {
		c.t.Fatalf("%s: got %s before pong", c.name, b)
	}
}

func (c *client) join(l store.Lecture, student store.User, role wire.Role) {
	c.t.Helper()
	c.send(wire.SignalMessage{Type: wire.SignalJoin, LectureID: l.ID, StudentID: student.ID, Role: role})
}

func (c *client) joinOK(l store.Lecture, student store.User, role wire.Role) wire.SignalMessage {
	c.t.Helper()
	c.join(l, student, role)
	return c.expect(wire.SignalJoined)
}

// eventually polls cond until it holds or the guard expires.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// audits returns the lecture's audit actions, oldest first.
func (w *world) audits(t testing.TB, l store.Lecture) []store.AuditEntry {
	t.Helper()
	es, _, err := w.st.AuditByLecture(context.Background(), l.ID, store.PageRequest{Page: 1, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func (w *world) waitAudit(t testing.TB, l store.Lecture, action string, actor, subject int64) store.AuditEntry {
	t.Helper()
	var found store.AuditEntry
	eventually(t, "audit "+action, func() bool {
		for _, e := range w.audits(t, l) {
			if e.Action == action && e.ActorID == actor && e.SubjectID == subject {
				found = e
				return true
			}
		}
		return false
	})
	return found
}
