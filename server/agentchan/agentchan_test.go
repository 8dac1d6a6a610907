package agentchan_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/agentchan"
	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fakeAuth reads "Bearer <role>:<id>" and can sign everyone out.
type fakeAuth struct{ signedOut atomic.Bool }

func (f *fakeAuth) Authenticate(r *http.Request) (auth.Identity, error) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	role, id, ok2 := strings.Cut(tok, ":")
	n, err := strconv.ParseInt(id, 10, 64)
	if !ok || !ok2 || err != nil {
		return auth.Identity{}, httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "sign in first")
	}
	return auth.Identity{UserID: n, Role: wire.Role(role), Name: "user " + id, Family: "f"}, nil
}

func (f *fakeAuth) Live(context.Context, auth.Identity) error {
	if f.signedOut.Load() {
		return httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "signed out")
	}
	return nil
}

// presence records Offline calls.
type presence struct {
	mu  sync.Mutex
	off []int64
	ch  chan int64
}

func (p *presence) Offline(_ context.Context, id int64, _ string) {
	p.mu.Lock()
	p.off = append(p.off, id)
	p.mu.Unlock()
	p.ch <- id
}

type replica struct {
	hub  *agentchan.Hub
	url  string
	auth *fakeAuth
	pres *presence
}

func start(t *testing.T, cfg agentchan.Config, bus agentchan.Bus) *replica {
	t.Helper()
	r := &replica{auth: &fakeAuth{}, pres: &presence{ch: make(chan int64, 16)}}
	hub, stop, err := agentchan.New(context.Background(), cfg, r.auth, bus, r.pres, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	t.Cleanup(func() { srv.Close(); stop() })
	r.hub, r.url = hub, "ws"+strings.TrimPrefix(srv.URL, "http")
	return r
}

func dial(t *testing.T, r *replica, token string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, r.url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func next(t *testing.T, c *websocket.Conn) wire.AgentEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("reading the channel: %v", err)
	}
	var ev wire.AgentEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("not an event: %s", b)
	}
	return ev
}

func waitConnected(t *testing.T, r *replica, id int64, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); r.hub.Connected(id) != n; {
		if time.Now().After(deadline) {
			t.Fatalf("student %d: %d channels, want %d", id, r.hub.Connected(id), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHelloEventsAndCleanClose(t *testing.T) {
	r := start(t, agentchan.Config{}, agentchan.NewMemoryBus())
	c, _, err := dial(t, r, "student:7")
	if err != nil {
		t.Fatal(err)
	}
	if ev := next(t, c); ev.Type != wire.AgentHello || ev.Version != wire.AgentChannelVersion || ev.LeaseMS != 10000 {
		t.Fatalf("hello = %+v", ev)
	}
	waitConnected(t, r, 7, 1)
	r.hub.Notify(context.Background(), 3, 7, 8) // 8 has no channel: nothing to do
	if ev := next(t, c); ev.Type != wire.AgentLecturesChanged || ev.LectureID != 3 {
		t.Fatalf("event = %+v", ev)
	}
	// A clean close is offline at once.
	_ = c.Close(websocket.StatusNormalClosure, "bye")
	select {
	case id := <-r.pres.ch:
		if id != 7 {
			t.Fatalf("offline %d", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no offline after a clean close")
	}
}

func TestRefusals(t *testing.T) {
	r := start(t, agentchan.Config{MaxPerUser: 2}, agentchan.NewMemoryBus())
	for token, want := range map[string]int{"": 401, "nonsense": 401, "professor:1": 403} {
		if _, resp, err := dial(t, r, token); err == nil || resp == nil || resp.StatusCode != want {
			t.Errorf("token %q: %v %v, want %d", token, err, resp, want)
		}
	}
	for range 2 {
		if _, _, err := dial(t, r, "student:5"); err != nil {
			t.Fatal(err)
		}
	}
	if _, resp, err := dial(t, r, "student:5"); err == nil || resp == nil || resp.StatusCode != 429 {
		t.Errorf("third channel: %v %v, want 429", err, resp)
	}
}

// TestSilentAgentDroppedWithinLease: an agent that stops answering pings
// (its PC died) is offline after about a lease, not the frame TTL.
func TestSilentAgentDroppedWithinLease(t *testing.T) {
	r := start(t, agentchan.Config{Lease: 400 * time.Millisecond}, agentchan.NewMemoryBus())
	c, _, err := dial(t, r, "student:9")
	if err != nil {
		t.Fatal(err)
	}
	// Nobody reads c: its pongs are never sent (a reader answers pings).
	_ = c
	waitConnected(t, r, 9, 1)
	select {
	case <-r.pres.ch:
	case <-time.After(10 * time.Second):
		t.Fatal("a silent agent stayed online")
	}
}

func TestSignedOutClosed(t *testing.T) {
	r := start(t, agentchan.Config{SignedInEvery: 50 * time.Millisecond}, agentchan.NewMemoryBus())
	c, _, err := dial(t, r, "student:4")
	if err != nil {
		t.Fatal(err)
	}
	next(t, c) // hello
	r.auth.signedOut.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err = c.Read(ctx)
	if websocket.CloseStatus(err) != agentchan.CloseSignedOut {
		t.Fatalf("read after sign-out: %v", err)
	}
}

// TestRedisAcrossReplicas: a change published on one replica reaches the
// agent connected to the other.
func TestRedisAcrossReplicas(t *testing.T) {
	rs := testenv.StartRedis(t)
	newBus := func() agentchan.Bus {
		rdb := redis.NewClient(&redis.Options{Addr: rs.Addr})
		t.Cleanup(func() { _ = rdb.Close() })
		return agentchan.NewRedisBus(rdb, "t:"+t.Name()+":", nil)
	}
	a := start(t, agentchan.Config{}, newBus())
	b := start(t, agentchan.Config{}, newBus())
	c, _, err := dial(t, b, "student:11")
	if err != nil {
		t.Fatal(err)
	}
	next(t, c) // hello
	waitConnected(t, b, 11, 1)
	a.hub.Notify(context.Background(), 21, 11)
	if ev := next(t, c); ev.Type != wire.AgentLecturesChanged || ev.LectureID != 21 {
		t.Fatalf("event from the other replica = %+v", ev)
	}
}

// TestCloseEndsChannels: a replica shutting down ends its channels with
// "service restart" (the agents reconnect elsewhere), and that is not
// news of the student going offline.
func TestCloseEndsChannels(t *testing.T) {
	r := start(t, agentchan.Config{}, agentchan.NewMemoryBus())
	c, _, err := dial(t, r, "student:3")
	if err != nil {
		t.Fatal(err)
	}
	next(t, c) // hello
	waitConnected(t, r, 3, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- r.hub.Close(ctx) }()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusServiceRestart {
		t.Fatalf("read during shutdown: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	select {
	case id := <-r.pres.ch:
		t.Fatalf("student %d marked offline by a shutdown", id)
	case <-time.After(200 * time.Millisecond):
	}
	if _, resp, err := dial(t, r, "student:3"); err == nil || resp == nil || resp.StatusCode != 503 {
		t.Errorf("dial after shutdown: %v %v, want 503", err, resp)
	}
}
