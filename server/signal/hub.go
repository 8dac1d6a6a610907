package signal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Identity is the authenticated user behind a socket.
type Identity struct {
	UserID int64
	Role   wire.Role
	Name   string
	Family string // the sign-in behind the socket (see Revalidator)
}

// Revalidator, when the Authenticator has it, is asked on every heartbeat
// whether a socket's sign-in still stands: a socket outlived logout and
// token expiry. A false answer closes it with CloseSignedOut; an error (the
// check is unavailable) changes nothing.
type Revalidator interface {
	StillSignedIn(ctx context.Context, id Identity) (bool, error)
}

// Authenticator authenticates the websocket upgrade request (bearer token,
// console cookie, or a short-lived ticket). An error refuses the upgrade
// with 401: there is never an unauthenticated socket.
type Authenticator interface {
	AuthenticateRequest(r *http.Request) (Identity, error)
}

// Directory answers the room rules' questions; store.Store satisfies it.
type Directory interface {
	LectureByID(ctx context.Context, id int64) (store.Lecture, error)
	IsMember(ctx context.Context, lectureID, studentID int64) (bool, error)
}

// Auditor records joins, takeovers, kicks, leaves and remote control;
// store.Store satisfies it.
type Auditor interface {
	AppendAudit(ctx context.Context, e store.AuditEntry) error
}

// Audit actions.
const (
	AuditJoin         = "join"
	AuditTakeover     = "takeover"
	AuditKick         = "kick"
	AuditLeave        = "leave"
	AuditControlStart = "control_start"
	AuditControlEnd   = "control_end"
	// AuditSuppressed says an actor's further rows are dropped for a while.
	AuditSuppressed = "audit_suppressed"
)

// CloseTakenOver is the websocket close code of a kicked session.
const CloseTakenOver websocket.StatusCode = 4001

// CloseTooManySockets closes a socket over the per-account or per-address
// cap (a browser sees close codes, not the handshake's status).
const CloseTooManySockets websocket.StatusCode = 4029

// CloseSignedOut closes a socket whose sign-in ended (logout, a password
// change on another device).
const CloseSignedOut websocket.StatusCode = 4401

// Hub serves the signaling websocket endpoint of one replica.
type Hub struct {
	cfg   Config
	lock  RoomLock
	bus   Bus
	dir   Directory
	auth  Authenticator
	audit Auditor
	log   *slog.Logger

	conns *limit.Conns // open sockets per user and address

	mu       sync.Mutex
	sessions map[string]*session
	closing  bool
	wg       sync.WaitGroup
	stopBus  func()
}

// NewHub subscribes to the bus for this replica and returns the hub; Close
// ends it.
func NewHub(ctx context.Context, cfg Config, lock RoomLock, bus Bus, dir Directory, auth Authenticator, audit Auditor, logger *slog.Logger) (*Hub, error) {
	h := &Hub{
		cfg: cfg.withDefaults(), lock: lock, bus: bus, dir: dir, auth: auth, audit: audit, log: logger,
		sessions: map[string]*session{}, conns: limit.NewConns(),
	}
	stop, err := bus.Subscribe(ctx, h.cfg.Replica, h.deliver)
	if err != nil {
		return nil, fmt.Errorf("signal hub: %w", err)
	}
	h.stopBus = stop
	return h, nil
}

// Online reports whether the student has a live signaling session in the
// lecture's room, on any replica.
func (h *Hub) Online(ctx context.Context, lectureID, studentID int64) (bool, error) {
	_, ok, err := h.lock.Get(ctx, Slot{LectureID: lectureID, StudentID: studentID, Role: wire.RoleStudent})
	return ok, err
}

// Close tells every session the server is going away, releases their room
// slots (peers on other replicas are told) and waits for them, or for ctx.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	all := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.stop(websocket.StatusGoingAway, "server shutting down", true)
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("signal hub close: %w", ctx.Err())
	}
	h.stopBus()
	return err
}

// ServeHTTP authenticates, checks the origin, upgrades and runs the session
// until the socket ends.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	closing := h.closing
	h.mu.Unlock()
	if closing {
		httpx.WriteProblem(w, r, httpx.Errorf(http.StatusServiceUnavailable, wire.CodeUnavailable, "the server is shutting down"))
		return
	}
	id, err := h.auth.AuthenticateRequest(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="didacto"`)
		httpx.WriteProblem(w, r, httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "authentication required"))
		return
	}
	if !id.Role.Valid() || id.UserID <= 0 {
		httpx.WriteProblem(w, r, httpx.Errorf(http.StatusForbidden, wire.CodeForbidden, "no signaling role"))
		return
	}
	release, full, ok := h.conns.Acquire(limit.Cap{Key: "user:" + strconv.FormatInt(id.UserID, 10), Max: h.cfg.MaxPerUser},
		limit.Cap{Key: "addr:" + httpx.AddrKey(httpx.ClientAddr(r)), Max: h.cfg.MaxPerAddress})
	var over string
	if !ok {
		who := "this account"
		if strings.HasPrefix(full, "addr:") {
			who = "your address"
		}
		over = "too many signaling sockets for " + who
		h.log.Info("signal: socket over the cap", "user", id.UserID, "cap", full)
		// A native client (no Origin) reads the handshake's status: refuse
		// before the upgrade, which costs the server least. A browser sees
		// only close codes, so it gets a socket that says why and closes.
		if r.Header.Get("Origin") == "" {
			e := httpx.Errorf(http.StatusTooManyRequests, wire.CodeRateLimited, "%s", over)
			e.RetryAfter = 5 * time.Second
			httpx.WriteProblem(w, r, e)
			return
		}
	}
	// Accept answers 403 itself when the Origin is neither the request's host
	// nor allowed by a pattern.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.OriginPatterns})
	if err != nil {
		if release != nil {
			release()
		}
		h.log.Info("signal: upgrade refused", "user", id.UserID, "err", err)
		return
	}
	conn.SetReadLimit(h.cfg.MaxMessageBytes)
	if over != "" {
		b, _ := json.Marshal(wire.SignalMessage{V: wire.ProtocolVersion, Type: wire.SignalError, Code: wire.CodeRateLimited, Message: over})
		wctx, cancel := context.WithTimeout(r.Context(), h.cfg.WriteTimeout)
		_ = conn.Write(wctx, websocket.MessageText, b)
		cancel()
		conn.Close(CloseTooManySockets, over)
		return
	}
	defer release()
	s := &session{
		h: h, id: newSessionID(), ident: id, conn: conn,
		in:      make(chan inbound, 16),
		events:  make(chan Envelope, 256),
		stopped: make(chan struct{}),
		limiter: rate.NewLimiter(rate.Limit(h.cfg.RatePerSecond), h.cfg.RateBurst),
	}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		conn.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	h.sessions[s.id] = s
	h.wg.Add(1)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.sessions, s.id)
		h.mu.Unlock()
		h.wg.Done()
	}()
	s.run()
}

// deliver hands a bus envelope to its local session; unknown sessions (gone
// meanwhile) are ignored.
func (h *Hub) deliver(env Envelope) {
	h.mu.Lock()
	s := h.sessions[env.ToSession]
	h.mu.Unlock()
	if s == nil {
		return
	}
	select {
	case s.events <- env:
	default:
		// The lease check on the next heartbeat recovers a lost kick; a lost
		// relay is renegotiated by the peers.
		h.log.Warn("signal: session queue full, dropping envelope", "session", s.id, "kind", env.Kind)
	}
}

// route sends env to the session described by to, locally when it lives on
// this replica.
func (h *Hub) route(ctx context.Context, to Holder, env Envelope) error {
	env.ToSession, env.ToEpoch = to.Session, to.Epoch
	if to.Replica == h.cfg.Replica {
		h.deliver(env)
		return nil
	}
	return h.bus.Publish(ctx, to.Replica, env)
}

func (h *Hub) record(ctx context.Context, action string, slot Slot, actor, subject int64, detail string) {
	// One student looping join/leave on many sockets wrote ~900 rows/s into
	// the professor's log. Rows are budgeted per actor and lecture; the
	// first row over the budget says so, the rest are dropped.
	if actor != 0 {
		key := "audit:" + strconv.FormatInt(slot.LectureID, 10) + ":" + strconv.FormatInt(actor, 10)
		n, err := h.cfg.Limits.Incr(ctx, key, time.Minute)
		switch {
		case err != nil:
			h.log.Warn("signal: audit budget unavailable; writing the row", "err", err)
		case n == int64(h.cfg.AuditPerMinute)+1:
			action, detail = AuditSuppressed, fmt.Sprintf("more than %d rows in a minute; further %s rows and others are dropped for up to a minute", h.cfg.AuditPerMinute, action)
		case n > int64(h.cfg.AuditPerMinute):
			return
		}
	}
	e := store.AuditEntry{
		LectureID: slot.LectureID, ActorID: actor, SubjectID: subject, Action: action,
		Detail: detail, Replica: h.cfg.Replica, At: h.cfg.Now().UTC(),
	}
	if err := h.audit.AppendAudit(ctx, e); err != nil {
		h.log.Error("signal: audit write failed", "action", action, "lecture", slot.LectureID, "err", err)
	}
}

func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// problemCode maps directory errors to signaling error codes.
func lookupCode(err error) string {
	if errors.Is(err, store.ErrNotFound) {
		return wire.CodeNotFound
	}
	if errors.Is(err, ErrLockUnavailable) {
		return wire.CodeUnavailable
	}
	return wire.CodeInternal
}

// cleanupTimeout bounds the lock and audit calls made while a session ends.
const cleanupTimeout = 5 * time.Second

// iceFor is the ICE server list handed to one user.
func (h *Hub) iceFor(userID int64) []wire.ICEServer {
	if h.cfg.ICEFor != nil {
		return h.cfg.ICEFor(userID)
	}
	return h.cfg.ICEServers
}
