package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/didacto/didacto/wire"
)

// inbound is one decoded client message, or why it was refused.
type inbound struct {
	msg wire.SignalMessage
	err error
}

// session is one socket. Its room state is owned by the run loop alone:
// client messages, bus envelopes and heartbeats are handled one at a time.
type session struct {
	h       *Hub
	id      string
	ident   Identity
	conn    *websocket.Conn
	in      chan inbound
	events  chan Envelope
	limiter *rate.Limiter

	stopOnce    sync.Once
	stopped     chan struct{}
	closeCode   websocket.StatusCode
	closeReason string
	sayGoodbye  bool // tell the client why before closing (server shutdown)

	// Loop-owned room state.
	joined      bool
	slot        Slot
	me          Holder
	peerEpoch   int64 // the peer session we know of (0: none)
	peerMisses  int
	controlling bool // professor: remote control started
	superseded  bool // taken over: the slot is no longer ours
}

// peerMissLimit: a peer absent from the lock this many heartbeats in a row
// has dropped. More than one, so that a lock store that just restarted has
// time to get its leases back from the replicas' heartbeats.
const peerMissLimit = 3

// maxRefused closes a socket that keeps sending refused messages.
const maxRefused = 50

func (s *session) stop(code websocket.StatusCode, reason string, goodbye bool) {
	s.stopOnce.Do(func() {
		s.closeCode, s.closeReason, s.sayGoodbye = code, reason, goodbye
		close(s.stopped)
	})
}

func (s *session) run() {
	go s.read()
	go s.ping()
	tick := time.NewTicker(s.h.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-s.stopped:
			s.end()
			return
		case it := <-s.in:
			s.handle(it)
		case env := <-s.events:
			s.onEvent(env)
		case <-tick.C:
			if s.signedOut() {
				continue // stopped; the next turn ends the session
			}
			s.heartbeat()
		}
	}
}

// read decodes client messages; it never writes (the loop does).
func (s *session) read() {
	refused := 0
	for {
		typ, b, err := s.conn.Read(context.Background())
		if err != nil {
			code := websocket.CloseStatus(err)
			if code == -1 {
				code = websocket.StatusNormalClosure
			}
			s.stop(code, "", false)
			return
		}
		var it inbound
		switch {
		case !s.limiter.Allow():
			it.err = &wire.SignalDecodeError{Code: wire.CodeRateLimited, Msg: "too many messages; slow down"}
		case typ != websocket.MessageText:
			it.err = &wire.SignalDecodeError{Code: wire.CodeBadRequest, Msg: "messages are JSON text"}
		default:
			it.msg, it.err = wire.DecodeSignal(b)
		}
		if it.err != nil {
			refused++
			if refused > maxRefused {
				s.stop(websocket.StatusPolicyViolation, "too many refused messages", false)
				return
			}
		} else {
			refused = 0
		}
		select {
		case s.in <- it:
		case <-s.stopped:
			return
		}
	}
}

// ping detects half-open sockets: no pong within a lease ends the session.
func (s *session) ping() {
	t := time.NewTicker(s.h.cfg.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-s.stopped:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), s.h.cfg.LockTTL)
			err := s.conn.Ping(ctx)
			cancel()
			if err != nil {
				s.stop(websocket.StatusGoingAway, "ping timeout", false)
				return
			}
		}
	}
}

func (s *session) write(m wire.SignalMessage) {
	m.V = wire.ProtocolVersion
	b, err := json.Marshal(m)
	if err != nil {
		s.h.log.Error("signal: encoding message", "type", m.Type, "err", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.h.cfg.WriteTimeout)
	defer cancel()
	if err := s.conn.Write(ctx, websocket.MessageText, b); err != nil {
		s.stop(websocket.StatusGoingAway, "write failed", false)
	}
}

func (s *session) fail(code, format string, args ...any) {
	s.write(wire.SignalMessage{Type: wire.SignalError, Code: code, Message: fmt.Sprintf(format, args...)})
}

func (s *session) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), cleanupTimeout)
}

func (s *session) handle(it inbound) {
	if it.err != nil {
		var de *wire.SignalDecodeError
		if errors.As(it.err, &de) {
			s.fail(de.Code, "%s", de.Msg)
		} else {
			s.fail(wire.CodeBadRequest, "%v", it.err)
		}
		return
	}
	m := it.msg
	switch m.Type {
	case wire.SignalPing:
		s.write(wire.SignalMessage{Type: wire.SignalPong})
	case wire.SignalJoin:
		s.join(m)
	case wire.SignalLeave:
		if !s.joined {
			s.fail(wire.CodeNotJoined, "not in a room")
			return
		}
		// A student may say why (refused, ended by them): the professor
		// is told that instead of a plain student_left, and the audit
		// log keeps it.
		if s.slot.Role == wire.RoleStudent && wire.StudentReason(m.Code) {
			s.leaveWith("left: "+m.Code, m.Code, true)
			return
		}
		s.leave("left", true)
	case wire.SignalOffer, wire.SignalAnswer, wire.SignalCandidate:
		s.relay(m)
	case wire.SignalControlStart:
		if !s.joined || s.slot.Role != wire.RoleProfessor {
			s.fail(wire.CodeForbidden, "only the professor in a room starts remote control")
			return
		}
		if s.relay(m) && !s.controlling {
			s.controlling = true
			ctx, cancel := s.opCtx()
			s.h.record(ctx, AuditControlStart, s.slot, s.ident.UserID, s.slot.StudentID, "")
			cancel()
		}
	case wire.SignalControlEnd:
		if !s.joined {
			s.fail(wire.CodeNotJoined, "not in a room")
			return
		}
		if s.slot.Role == wire.RoleProfessor && !s.controlling {
			s.fail(wire.CodeControlInactive, "remote control is not active")
			return
		}
		s.relay(m)
		s.controlling = false
		ctx, cancel := s.opCtx()
		s.h.record(ctx, AuditControlEnd, s.slot, s.ident.UserID, s.slot.StudentID, "by "+string(s.slot.Role))
		cancel()
	case wire.SignalControl:
		if !s.joined || s.slot.Role != wire.RoleProfessor || !s.controlling {
			s.fail(wire.CodeControlInactive, "control events need control_start by the room's professor")
			return
		}
		s.relay(m)
	default:
		s.fail(wire.CodeBadRequest, "%s is sent by the server only", m.Type)
	}
}

// join applies the room rules and takes the slot (taking it over from an
// older session of the same seat).
func (s *session) join(m wire.SignalMessage) {
	if s.joined {
		s.fail(wire.CodeAlreadyJoined, "already in room %d:%d; leave first", s.slot.LectureID, s.slot.StudentID)
		return
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	slot := Slot{LectureID: m.LectureID, StudentID: m.StudentID, Role: m.Role}
	if m.Role != s.ident.Role {
		s.fail(wire.CodeForbidden, "a %s account cannot join as %s", s.ident.Role, m.Role)
		return
	}
	if code, msg := s.allowed(ctx, slot); code != "" {
		s.fail(code, "%s", msg)
		return
	}
	var student Holder
	if m.Role == wire.RoleProfessor {
		st, ok, err := s.h.lock.Get(ctx, slot.peer())
		if err != nil {
			s.fail(lookupCode(err), "room lock unavailable")
			return
		}
		if !ok {
			s.fail(wire.CodeStudentNotInRoom, "student %d is not connected", m.StudentID)
			return
		}
		student = st
	}

	// The professor seen before the student claim is bound to the previous
	// student session; one who joins after it sees this session. (One who
	// slips in between notices on its next heartbeat.)
	var (
		prof    Holder
		hadProf bool
		err     error
	)
	if m.Role == wire.RoleStudent {
		prof, hadProf, err = s.h.lock.Get(ctx, slot.peer())
		if err != nil {
			s.fail(lookupCode(err), "room lock unavailable")
			return
		}
	}

	me, prev, hadPrev, err := s.h.lock.Claim(ctx, slot, Holder{
		Session: s.id, Replica: s.h.cfg.Replica, UserID: s.ident.UserID, Name: s.ident.Name,
	}, s.h.cfg.LockTTL)
	if err != nil {
		s.h.log.Error("signal: claiming room", "slot", slot.String(), "err", err)
		s.fail(lookupCode(err), "room lock unavailable")
		return
	}
	if m.Role == wire.RoleProfessor {
		// The student may have left between the check and the claim; then its
		// leave saw no professor to tell, so check again now that we hold the slot.
		st, ok, err := s.h.lock.Get(ctx, slot.peer())
		if err != nil || !ok || st.Session != student.Session {
			_, _ = s.h.lock.Release(ctx, slot, me)
			s.fail(wire.CodeStudentNotInRoom, "student %d is not connected", m.StudentID)
			return
		}
	}
	s.joined, s.slot, s.me, s.superseded, s.peerMisses = true, slot, me, false, 0
	s.peerEpoch = 0

	if hadPrev && prev.Session != s.id {
		s.h.record(ctx, AuditTakeover, slot, s.ident.UserID, prev.UserID,
			fmt.Sprintf("%s epoch %d on %s replaced epoch %d on %s", slot.Role, me.Epoch, me.Replica, prev.Epoch, prev.Replica))
		kick := Envelope{Kind: kindKick, Actor: s.ident.UserID, Msg: wire.SignalMessage{
			Type: wire.SignalKicked, Code: wire.CodeRoomTakenOver, Epoch: me.Epoch,
			LectureID: slot.LectureID, StudentID: slot.StudentID, Role: slot.Role,
			Message: "another session of this account took over the room",
		}}
		if err := s.h.route(ctx, prev, kick); err != nil {
			// The old session finds out on its next lease renewal.
			s.h.log.Warn("signal: kick not delivered", "slot", slot.String(), "err", err)
		}
	}
	s.h.record(ctx, AuditJoin, slot, s.ident.UserID, slot.StudentID, fmt.Sprintf("%s epoch %d", slot.Role, me.Epoch))

	joined := wire.SignalMessage{
		Type: wire.SignalJoined, LectureID: slot.LectureID, StudentID: slot.StudentID, Role: slot.Role,
		Epoch: me.Epoch, ICEServers: s.h.iceFor(s.ident.UserID),
	}
	self := &wire.SignalPeer{UserID: s.ident.UserID, Name: s.ident.Name, Role: slot.Role}
	switch slot.Role {
	case wire.RoleProfessor:
		s.peerEpoch = student.Epoch
		joined.Peer = &wire.SignalPeer{UserID: student.UserID, Name: student.Name, Role: wire.RoleStudent}
		s.write(joined)
		msg := wire.SignalMessage{Type: wire.SignalPeerJoined, LectureID: slot.LectureID, StudentID: slot.StudentID,
			Epoch: me.Epoch, Peer: self}
		if err := s.h.route(ctx, student, Envelope{Kind: kindPeerJoined, Msg: msg}); err != nil {
			s.h.log.Warn("signal: peer_joined not delivered", "slot", slot.String(), "err", err)
		}
	case wire.RoleStudent:
		s.write(joined)
		// A professor session belongs to the student session it joined: a new
		// student session (takeover, or after a drop) ends it.
		if hadProf {
			left := wire.SignalMessage{Type: wire.SignalPeerLeft, Code: wire.CodeStudentLeft, Epoch: me.Epoch,
				LectureID: slot.LectureID, StudentID: slot.StudentID, Peer: self,
				Message: "the student reconnected; join again"}
			if err := s.h.route(ctx, prof, Envelope{Kind: kindPeerLeft, Msg: left}); err != nil {
				s.h.log.Warn("signal: peer_left not delivered", "slot", slot.String(), "err", err)
			}
		}
	}
}

// allowed checks the room rules that depend on the directory (owner, own
// room, active lecture, membership); code is "" when the seat is allowed.
func (s *session) allowed(ctx context.Context, slot Slot) (code, msg string) {
	lec, err := s.h.dir.LectureByID(ctx, slot.LectureID)
	if err != nil {
		if code := lookupCode(err); code != wire.CodeNotFound {
			s.h.log.Error("signal: lecture lookup", "lecture", slot.LectureID, "err", err)
			return code, "lecture lookup failed"
		}
		return wire.CodeNotFound, fmt.Sprintf("no lecture %d", slot.LectureID)
	}
	switch slot.Role {
	case wire.RoleProfessor:
		if lec.OwnerID != s.ident.UserID {
			return wire.CodeForbidden, "only the lecture's owner may join as professor"
		}
	case wire.RoleStudent:
		if slot.StudentID != s.ident.UserID {
			return wire.CodeForbidden, "a student may only join their own room"
		}
	}
	if !lec.Active {
		return wire.CodeLectureInactive, fmt.Sprintf("lecture %d is not active", slot.LectureID)
	}
	if slot.Role == wire.RoleStudent {
		ok, err := s.h.dir.IsMember(ctx, slot.LectureID, slot.StudentID)
		if err != nil {
			s.h.log.Error("signal: membership lookup", "lecture", slot.LectureID, "err", err)
			return wire.CodeInternal, "membership lookup failed"
		}
		if !ok {
			return wire.CodeNotMember, fmt.Sprintf("not an accepted member of lecture %d", slot.LectureID)
		}
	}
	return "", ""
}

// relay forwards m to the peer seat's current session.
func (s *session) relay(m wire.SignalMessage) bool {
	if !s.joined {
		s.fail(wire.CodeNotJoined, "join a room first")
		return false
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	peer, ok, err := s.h.lock.Get(ctx, s.slot.peer())
	if err != nil {
		s.fail(lookupCode(err), "room lock unavailable")
		return false
	}
	if !ok {
		code := wire.CodePeerNotInRoom
		if s.slot.Role == wire.RoleProfessor {
			code = wire.CodeStudentNotInRoom
		}
		s.fail(code, "the other side is not in the room")
		return false
	}
	out := wire.SignalMessage{
		Type: m.Type, SDP: m.SDP, Candidate: m.Candidate, Control: m.Control,
		LectureID: s.slot.LectureID, StudentID: s.slot.StudentID, Role: s.slot.Role, Epoch: s.me.Epoch,
	}
	if err := s.h.route(ctx, peer, Envelope{Kind: kindRelay, Msg: out}); err != nil {
		s.h.log.Warn("signal: relay failed", "slot", s.slot.String(), "err", err)
		s.fail(wire.CodeUnavailable, "relay failed")
		return false
	}
	return true
}

// onEvent handles an envelope from the bus or a local session.
func (s *session) onEvent(env Envelope) {
	if !s.joined || env.ToEpoch != s.me.Epoch {
		return // meant for an older or newer session of this seat
	}
	switch env.Kind {
	case kindRelay:
		if env.Msg.Type == wire.SignalControlEnd {
			s.controlling = false
		}
		s.write(env.Msg)
	case kindKick:
		s.superseded = true
		s.write(env.Msg)
		ctx, cancel := s.opCtx()
		s.h.record(ctx, AuditKick, s.slot, env.Actor, s.ident.UserID,
			fmt.Sprintf("%s epoch %d replaced by epoch %d", s.slot.Role, s.me.Epoch, env.Msg.Epoch))
		cancel()
		s.stop(CloseTakenOver, "taken over by a newer session", false)
	case kindPeerJoined:
		s.peerEpoch, s.peerMisses = env.Msg.Epoch, 0
		// Fresh ICE servers for the session that follows: an agent's
		// socket outlives short-lived TURN credentials.
		m := env.Msg
		m.ICEServers = s.h.iceFor(s.ident.UserID)
		s.write(m)
	case kindPeerLeft:
		s.peerLeft(env.Msg)
	}
}

// peerLeft tells the client; a professor whose student is gone leaves too.
func (s *session) peerLeft(m wire.SignalMessage) {
	s.write(m)
	s.peerEpoch, s.peerMisses = 0, 0
	if s.slot.Role == wire.RoleProfessor {
		// The student seat has moved on: nobody to tell.
		s.leave("student gone: "+m.Code, false)
	}
}

// leave releases the slot (only if still ours) and, with notify, tells the peer.
func (s *session) leave(reason string, notify bool) { s.leaveWith(reason, "", notify) }

// leaveWith is leave whose peer_left carries code (empty: student_left
// or professor_left, by the seat).
func (s *session) leaveWith(reason, code string, notify bool) {
	if !s.joined {
		return
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	slot, me := s.slot, s.me
	s.joined = false
	if s.controlling {
		s.controlling = false
		s.h.record(ctx, AuditControlEnd, slot, s.ident.UserID, slot.StudentID, "session ended: "+reason)
	}
	if s.superseded {
		return
	}
	released, err := s.h.lock.Release(ctx, slot, me)
	if err != nil {
		s.h.log.Warn("signal: release failed; the lease expires by itself", "slot", slot.String(), "err", err)
	}
	if !released {
		return // a newer session holds the seat: nothing to announce
	}
	s.h.record(ctx, AuditLeave, slot, s.ident.UserID, slot.StudentID, reason)
	if !notify {
		return
	}
	peer, ok, err := s.h.lock.Get(ctx, slot.peer())
	if err != nil || !ok {
		return
	}
	if code == "" {
		code = wire.CodeStudentLeft
		if slot.Role == wire.RoleProfessor {
			code = wire.CodeProfessorLeft
		}
	}
	msg := wire.SignalMessage{Type: wire.SignalPeerLeft, Code: code, Epoch: me.Epoch, Message: reason,
		LectureID: slot.LectureID, StudentID: slot.StudentID,
		Peer: &wire.SignalPeer{UserID: s.ident.UserID, Name: s.ident.Name, Role: slot.Role}}
	if err := s.h.route(ctx, peer, Envelope{Kind: kindPeerLeft, Msg: msg}); err != nil {
		s.h.log.Warn("signal: peer_left not delivered", "slot", slot.String(), "err", err)
	}
}

// signedOut closes the socket when its sign-in has ended.
func (s *session) signedOut() bool {
	rv, ok := s.h.auth.(Revalidator)
	if !ok {
		return false
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	live, err := rv.StillSignedIn(ctx, s.ident)
	if err != nil || live {
		return false
	}
	s.fail(wire.CodeUnauthorized, "signed out")
	s.stop(CloseSignedOut, "signed out", false)
	return true
}

// heartbeat renews the lease and watches the peer seat.
func (s *session) heartbeat() {
	if !s.joined {
		return
	}
	ctx, cancel := s.opCtx()
	defer cancel()
	res, err := s.h.lock.Extend(ctx, s.slot, s.me, s.h.cfg.LockTTL)
	if err != nil {
		s.h.log.Warn("signal: lease renewal failed", "slot", s.slot.String(), "err", err)
		return
	}
	switch res {
	case Lost:
		s.superseded = true
		s.write(wire.SignalMessage{Type: wire.SignalKicked, Code: wire.CodeRoomTakenOver,
			LectureID: s.slot.LectureID, StudentID: s.slot.StudentID, Role: s.slot.Role,
			Message: "another session holds the room"})
		ctx2, cancel2 := s.opCtx()
		s.h.record(ctx2, AuditKick, s.slot, 0, s.ident.UserID, fmt.Sprintf("%s epoch %d lost its lease", s.slot.Role, s.me.Epoch))
		cancel2()
		s.stop(CloseTakenOver, "taken over by a newer session", false)
		return
	case Reclaimed:
		s.h.log.Info("signal: lease reclaimed", "slot", s.slot.String(), "epoch", s.me.Epoch)
	}
	// The rules hold for the whole stay, not only at join: a lecture switched
	// off, deleted or a membership ended removes the session from the room.
	// Lookup failures (internal, unavailable) are transient and change nothing.
	switch code, msg := s.allowed(ctx, s.slot); code {
	case wire.CodeForbidden, wire.CodeNotFound, wire.CodeLectureInactive, wire.CodeNotMember:
		s.fail(code, "removed from the room: %s", msg)
		s.leave("removed: "+code, true)
		return
	}
	peer, ok, err := s.h.lock.Get(ctx, s.slot.peer())
	if err != nil {
		return
	}
	switch {
	case ok && (s.peerEpoch == 0 || peer.Epoch == s.peerEpoch):
		if s.slot.Role == wire.RoleStudent && s.peerEpoch == 0 {
			// A professor arrived and its peer_joined was lost.
			s.peerEpoch = peer.Epoch
			s.write(wire.SignalMessage{Type: wire.SignalPeerJoined, LectureID: s.slot.LectureID, StudentID: s.slot.StudentID,
				Epoch: peer.Epoch, Peer: &wire.SignalPeer{UserID: peer.UserID, Name: peer.Name, Role: wire.RoleProfessor},
				ICEServers: s.h.iceFor(s.ident.UserID)})
		}
		s.peerMisses = 0
	case ok: // a different session holds the peer seat now
		code := wire.CodeStudentLeft
		if s.slot.Role == wire.RoleStudent {
			code = wire.CodeProfessorLeft
		}
		s.peerLeft(wire.SignalMessage{Type: wire.SignalPeerLeft, Code: code, LectureID: s.slot.LectureID,
			StudentID: s.slot.StudentID, Message: "the peer session was replaced"})
	case s.peerEpoch != 0 || s.slot.Role == wire.RoleProfessor:
		s.peerMisses++
		if s.peerMisses >= peerMissLimit {
			code := wire.CodeStudentLeft
			if s.slot.Role == wire.RoleStudent {
				code = wire.CodeProfessorLeft
			}
			s.peerLeft(wire.SignalMessage{Type: wire.SignalPeerLeft, Code: code, LectureID: s.slot.LectureID,
				StudentID: s.slot.StudentID, Message: "the peer dropped"})
		}
	}
}

// end runs once when the socket is done: leave the room, close the socket.
func (s *session) end() {
	if s.sayGoodbye {
		s.fail(wire.CodeUnavailable, "%s", s.closeReason)
	}
	s.leave("disconnected: "+s.closeReason, true)
	if err := s.conn.Close(s.closeCode, s.closeReason); err != nil {
		_ = s.conn.CloseNow()
	}
}
