// Package agentchan owns the server's side of the agent channel: one
// websocket per running agent (GET /api/v1/agent/channel, the student's
// bearer token) over which the server pushes what concerns that student —
// a join request decided, a membership ended, a lecture switched on or off —
// on every replica (Redis pub/sub, or in memory on one machine). The channel
// also tells presence: open is online; closed (the agent quit or died) or
// silent to the server's pings for a lease is offline at once.
package agentchan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/wire"
)

// Close codes the agent acts on (4000-4999 are the application's).
const (
	CloseSignedOut = 4401 // the session ended: sign in again
	CloseTooMany   = 4029 // too many channels for this student
)

// Authenticator identifies a caller and tells whether its sign-in still
// holds (*auth.Service is one).
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Identity, error)
	Live(ctx context.Context, id auth.Identity) error
}

// Presence hears when a student's last channel on this replica closed.
type Presence interface {
	Offline(ctx context.Context, studentID int64, name string)
}

// Config tunes a Hub; zero fields take the defaults.
type Config struct {
	// Lease is how long an agent that stops answering stays online: the
	// hub pings every Lease/2 and drops a channel whose pong is late.
	Lease time.Duration // 10 s
	// SignedInEvery is how often the hub checks the sign-in still holds.
	SignedInEvery  time.Duration // 30 s
	MaxPerUser     int           // channels per student on one replica (4)
	OriginPatterns []string
	// Locks, when set, gives the student's screen locks for hello (an
	// agent that reconnects or restarts while locked comes back locked).
	Locks LockSource
	// Replies, when set, hears the agents' acknowledgements of commands.
	Replies ReplyHandler
}

// LockSource lists a student's live screen locks (*classroom.Service is one).
type LockSource interface {
	LocksFor(ctx context.Context, studentID int64) ([]wire.ScreenLock, error)
}

// ReplyHandler records what an agent answered (*classroom.Service is one).
type ReplyHandler interface {
	AgentReply(ctx context.Context, studentID int64, r wire.AgentReply) error
}

// Hub serves agent channels and delivers published events to them.
type Hub struct {
	cfg      Config
	auth     Authenticator
	bus      Bus
	presence Presence
	log      *slog.Logger

	mu    sync.Mutex
	conns map[int64]map[*agentConn]struct{}
	// closing ends every channel when the replica shuts down; open counts
	// the channels being served, so Close can wait for them.
	closing chan struct{}
	closed  bool
	open    sync.WaitGroup
}

// New returns a hub delivering what bus carries; Close (the returned stop)
// ends its subscription. presence may be nil.
func New(ctx context.Context, cfg Config, a Authenticator, bus Bus, presence Presence, log *slog.Logger) (*Hub, func(), error) {
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
	}
	if cfg.SignedInEvery <= 0 {
		cfg.SignedInEvery = 30 * time.Second
	}
	if cfg.MaxPerUser <= 0 {
		cfg.MaxPerUser = 4
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{cfg: cfg, auth: a, bus: bus, presence: presence, log: log, conns: map[int64]map[*agentConn]struct{}{},
		closing: make(chan struct{})}
	stop, err := bus.Subscribe(ctx, h.deliver)
	if err != nil {
		return nil, nil, err
	}
	return h, stop, nil
}

// Notify tells every agent of the given students, on every replica, that
// their lectures changed (lectureID: the one concerned, 0 if several).
func (h *Hub) Notify(ctx context.Context, lectureID int64, students ...int64) {
	ev := wire.AgentEvent{Type: wire.AgentLecturesChanged, LectureID: lectureID}
	for _, s := range students {
		if err := h.bus.Publish(ctx, s, ev); err != nil {
			// The agent's periodic re-check still finds the change.
			h.log.Warn("agent channel: publish failed", "student_id", s, "err", err)
		}
	}
}

// Push delivers an event to the student's agents on every replica.
func (h *Hub) Push(ctx context.Context, studentID int64, ev wire.AgentEvent) error {
	return h.bus.Publish(ctx, studentID, ev)
}

// Connected reports how many channels the student holds on this replica.
func (h *Hub) Connected(studentID int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns[studentID])
}

// agentConn is one served channel: the events to write, and a way to end
// it when an event that must not be lost finds its buffer full.
type agentConn struct {
	events   chan wire.AgentEvent
	overflow chan struct{}
	once     sync.Once
}

// deliver hands an event to this replica's channels of the student. A
// "lectures_changed" that finds the buffer full already has a re-read
// pending: dropping it is coalescing. A command or lock change is never
// dropped silently: the channel is ended instead, and the agent's
// reconnection re-reads its locks with hello.
func (h *Hub) deliver(studentID int64, ev wire.AgentEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns[studentID] {
		select {
		case c.events <- ev:
		default:
			if ev.Type != wire.AgentLecturesChanged {
				c.once.Do(func() { close(c.overflow) })
			}
		}
	}
}

// Close ends every channel with "service restart" (the agents reconnect,
// to another replica behind the same address if there is one) and waits
// for them until ctx ends.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		close(h.closing)
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.open.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hub) add(studentID int64) (*agentConn, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, httpx.Errorf(http.StatusServiceUnavailable, wire.CodeUnavailable, "this server is shutting down; try again")
	}
	if len(h.conns[studentID]) >= h.cfg.MaxPerUser {
		return nil, httpx.Errorf(http.StatusTooManyRequests, wire.CodeRateLimited,
			"this student already has %d agent channels open", h.cfg.MaxPerUser)
	}
	h.open.Add(1)
	if h.conns[studentID] == nil {
		h.conns[studentID] = map[*agentConn]struct{}{}
	}
	c := &agentConn{events: make(chan wire.AgentEvent, 32), overflow: make(chan struct{})}
	h.conns[studentID][c] = struct{}{}
	return c, nil
}

// remove reports whether that was the student's last channel here.
func (h *Hub) remove(studentID int64, ch *agentConn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.conns[studentID], ch)
	if len(h.conns[studentID]) == 0 {
		delete(h.conns, studentID)
		return true
	}
	return false
}

// ServeHTTP upgrades an authenticated student's request to the channel and
// serves it until either side ends it.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, err := h.auth.Authenticate(r)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	if id.Role != wire.RoleStudent {
		httpx.WriteProblem(w, r, httpx.Errorf(http.StatusForbidden, wire.CodeForbidden, "the agent channel is for student accounts"))
		return
	}
	ch, err := h.add(id.UserID)
	if err != nil {
		httpx.WriteProblem(w, r, err)
		return
	}
	// Close waits for this, so the presence report and the last replies
	// are written before the server closes its store.
	defer h.open.Done()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.OriginPatterns})
	if err != nil {
		h.remove(id.UserID, ch)
		h.log.Info("agent channel: upgrade refused", "user", id.UserID, "err", err)
		return
	}
	conn.SetReadLimit(wire.MaxAgentReplyBytes)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// The reader handles the agent's replies, its close and the pongs; it
	// ends ctx when the connection does. serve closes the connection when
	// it ends, which ends the reader; both are waited for.
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer cancel()
		h.read(ctx, conn, id)
	}()
	reason := h.serve(ctx, conn, id, ch)
	<-read
	// A replica shutting down is no news about the student: their agent
	// reconnects (to another replica, behind the same address).
	if h.remove(id.UserID, ch) && h.presence != nil && reason != reasonShutdown {
		h.presence.Offline(context.WithoutCancel(ctx), id.UserID, id.Name)
	}
	h.log.Debug("agent channel closed", "user", id.UserID, "reason", reason)
}

const reasonShutdown = "server shutting down"

// read hands every reply of the agent to the ReplyHandler until the
// connection ends. A message that is not a reply is logged and skipped:
// an agent of another version must not lose its channel over it.
func (h *Hub) read(ctx context.Context, conn *websocket.Conn, id auth.Identity) {
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		rep, err := ParseReply(b)
		if err == nil && h.cfg.Replies != nil {
			err = h.cfg.Replies.AgentReply(ctx, id.UserID, rep)
		}
		if err != nil {
			h.log.Info("agent channel: reply ignored", "user", id.UserID, "err", err)
		}
	}
}

// ParseReply decodes one message from an agent.
func ParseReply(b []byte) (wire.AgentReply, error) {
	var rep wire.AgentReply
	if len(b) > wire.MaxAgentReplyBytes {
		return rep, fmt.Errorf("reply of %d bytes: too large", len(b))
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return wire.AgentReply{}, fmt.Errorf("not a reply (%d bytes): %w", len(b), err)
	}
	if rep.Type == "" || rep.CommandID <= 0 || rep.LectureID <= 0 {
		return wire.AgentReply{}, fmt.Errorf("reply without a type, command or lecture (%d bytes)", len(b))
	}
	return rep, nil
}

// serve writes hello, then events and pings until the channel fails; it
// returns why it ended.
func (h *Hub) serve(ctx context.Context, conn *websocket.Conn, id auth.Identity, ch *agentConn) string {
	defer conn.CloseNow()
	write := func(ev wire.AgentEvent) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, h.cfg.Lease/2)
		defer cancel()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	hello := wire.AgentEvent{Type: wire.AgentHello, Version: wire.AgentChannelVersion, LeaseMS: int(h.cfg.Lease.Milliseconds())}
	if h.cfg.Locks != nil {
		locks, err := h.cfg.Locks.LocksFor(ctx, id.UserID)
		if err != nil {
			return "reading locks for hello: " + err.Error() // the agent reconnects and asks again
		}
		hello.Locks = locks
	}
	if err := write(hello); err != nil {
		return "hello: " + err.Error()
	}
	ping := time.NewTicker(h.cfg.Lease / 2)
	defer ping.Stop()
	signedIn := time.NewTicker(h.cfg.SignedInEvery)
	defer signedIn.Stop()
	for {
		select {
		case <-ctx.Done():
			return "closed by the agent"
		case <-h.closing:
			_ = conn.Close(websocket.StatusServiceRestart, "server shutting down")
			return reasonShutdown
		case ev := <-ch.events:
			if err := write(ev); err != nil {
				return "write: " + err.Error()
			}
		case <-ch.overflow:
			_ = conn.Close(websocket.StatusTryAgainLater, "too many events; reconnect")
			return "events overflowed"
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, h.cfg.Lease/2)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return "ping: " + err.Error()
			}
		case <-signedIn.C:
			err := h.auth.Live(ctx, id)
			var he *httpx.Error
			if errors.As(err, &he) {
				_ = conn.Close(CloseSignedOut, "signed out")
				return "signed out"
			}
		}
	}
}
