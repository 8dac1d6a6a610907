package live

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/didacto/didacto/wire"
)

// Consent is the lab's policy for live sessions (the admin's consent
// setting).
type Consent int

const (
	// ConsentNotify starts sessions at once; the student is shown who is
	// viewing or controlling.
	ConsentNotify Consent = iota
	// ConsentAsk asks the student before the screen is sent and again
	// before control; no answer in time is a no.
	ConsentAsk
)

func (c Consent) String() string {
	if c == ConsentAsk {
		return "ask"
	}
	return "notify"
}

// ParseConsent reads the setting's words: notify or ask.
func ParseConsent(s string) (Consent, error) {
	switch s {
	case "notify":
		return ConsentNotify, nil
	case "ask":
		return ConsentAsk, nil
	}
	return 0, fmt.Errorf("consent %q: want notify or ask", s)
}

// DefaultAskTimeout is how long the student has to answer a question.
const DefaultAskTimeout = 20 * time.Second

// Question is what the student is asked under ConsentAsk.
type Question struct {
	Control   bool   // false: may the professor view the screen; true: control it
	Professor string // display name
	// Deadline: no answer by then is a no.
	Deadline time.Time
}

// asking is a view question waiting for the student: the offer it answers
// and the professor's candidates that arrive meanwhile.
type asking struct {
	epoch      int64
	cancel     context.CancelFunc
	candidates []json.RawMessage
}

// ask puts q to the student; the answer is false when ctx ends first, the
// deadline passes or nobody can be asked (why says which).
func (r *Runner) ask(ctx context.Context, q Question) (yes bool, why string) {
	if r.cfg.Ask == nil {
		return false, wire.CodeConsentUnavailable
	}
	actx, cancel := context.WithDeadline(ctx, q.Deadline)
	defer cancel()
	ok := r.cfg.Ask(actx, q)
	if ok && actx.Err() == nil {
		return true, ""
	}
	// The deadline passed (an answer after it is too late too); a
	// withdrawn question is the caller's to notice.
	if ctx.Err() == nil && actx.Err() != nil {
		return false, wire.CodeConsentTimeout
	}
	return false, wire.CodeConsentRefused
}

// askView asks whether the professor of offer may view the screen, off the
// read loop (pings must go on being answered), and starts the session on a
// yes. A new offer, the professor leaving or the connection ending cancels
// the question.
func (r *Runner) askView(ctx context.Context, offer wire.SignalMessage) {
	actx, cancel := context.WithCancel(ctx)
	r.mu.Lock()
	if r.pending != nil {
		r.pending.cancel()
	}
	a := &asking{epoch: offer.Epoch, cancel: cancel}
	r.pending = a
	name := ""
	if r.profEpoch == offer.Epoch {
		name = r.profName
	}
	r.mu.Unlock()
	go func() {
		defer cancel()
		yes, why := r.ask(actx, Question{Professor: name, Deadline: time.Now().Add(r.askTimeout())})
		r.mu.Lock()
		mine := r.pending == a
		if mine && !yes {
			r.pending = nil
		}
		r.mu.Unlock()
		if !mine || actx.Err() != nil {
			return // withdrawn: another offer, the professor left, or we disconnected
		}
		if !yes {
			if why == wire.CodeConsentUnavailable {
				r.log.Warn("live session refused: consent is ask, and this agent has no window to ask the student in", "professor", name)
			} else {
				r.log.Info("live session refused by the student", "why", why, "professor", name)
			}
			r.rejoin(ctx, why)
			return
		}
		// The question stays pending while the session starts, so that
		// candidates arriving meanwhile are held, not lost.
		err := r.startSession(ctx, offer)
		r.mu.Lock()
		held := a.candidates
		if r.pending == a {
			r.pending = nil
		}
		r.mu.Unlock()
		if err != nil {
			r.log.Warn("starting live session", "err", err)
			return
		}
		s := r.session(offer.Epoch)
		if s != nil && actx.Err() != nil {
			// Withdrawn while it started (the professor left, another
			// offer came): its endSession found nothing to end yet.
			r.endSession(s, "withdrawn while starting")
			return
		}
		if s != nil {
			for _, c := range held {
				if err := s.peer.AddCandidate(c); err != nil {
					r.log.Debug("remote candidate", "err", err)
				}
			}
		}
	}()
}

// withdraw cancels a pending view question (nil: whichever).
func (r *Runner) withdraw() {
	r.mu.Lock()
	a := r.pending
	r.pending = nil
	r.mu.Unlock()
	if a != nil {
		a.cancel()
	}
}

// heldCandidate keeps a candidate of the professor that arrived while the
// student is being asked; false when there is no such question.
func (r *Runner) heldCandidate(epoch int64, c json.RawMessage) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil || r.pending.epoch != epoch {
		return false
	}
	if len(r.pending.candidates) < 64 { // a browser gathers a handful
		r.pending.candidates = append(r.pending.candidates, c)
	}
	return true
}

func (r *Runner) askTimeout() time.Duration {
	if r.cfg.AskTimeout > 0 {
		return r.cfg.AskTimeout
	}
	return DefaultAskTimeout
}

// rejoin leaves the room saying why and joins again: the professor's
// session ends with that reason (peer_left), and the student stays
// reachable for the next attempt.
func (r *Runner) rejoin(ctx context.Context, why string) {
	if err := r.send(ctx, wire.SignalMessage{Type: wire.SignalLeave, Code: why}); err != nil {
		r.log.Warn("telling the professor the session ended", "why", why, "err", err)
		return
	}
	if err := r.send(ctx, wire.SignalMessage{Type: wire.SignalJoin, LectureID: r.cfg.LectureID, StudentID: r.cfg.StudentID, Role: wire.RoleStudent}); err != nil {
		r.log.Warn("joining the room again", "err", err)
	}
}

// EndSession ends the live session (or refuses the one being asked about)
// for the student: the professor is told student_ended. Safe from any
// goroutine.
func (r *Runner) EndSession(ctx context.Context) {
	r.mu.Lock()
	s, a := r.cur, r.pending
	r.mu.Unlock()
	if s == nil && a == nil {
		return
	}
	r.withdraw()
	// The professor hears it first: closing the peer first would show them
	// a failed connection instead of the reason.
	r.rejoin(ctx, wire.CodeStudentEnded)
	if s != nil {
		r.endSession(s, "ended by the student")
	}
}

// EndControl takes control back for the student; the view goes on. Safe
// from any goroutine.
func (r *Runner) EndControl(ctx context.Context) {
	r.mu.Lock()
	s := r.cur
	r.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	on := s.ctrl != nil
	s.mu.Unlock()
	if on { // otherwise there is nothing to take back (and nothing to audit)
		s.endControl(ctx, wire.CodeStudentEnded)
	}
}

// askControl asks about control_start under ConsentAsk, off the read loop;
// control starts on a yes. control_end or the session's end cancels it.
func (s *session) askControl() {
	s.mu.Lock()
	if s.closed || s.ctrl != nil || s.askCancel != nil {
		s.mu.Unlock()
		return
	}
	actx, cancel := context.WithCancel(s.ctx)
	s.askCancel = cancel
	s.mu.Unlock()
	go func() {
		defer cancel()
		yes, why := s.r.ask(actx, Question{Control: true, Professor: s.professor, Deadline: time.Now().Add(s.r.askTimeout())})
		s.mu.Lock()
		withdrawn := actx.Err() != nil // control_end or the session's end
		if !withdrawn {
			s.askCancel = nil // still ours: a new question waits for this one
		}
		s.mu.Unlock()
		switch {
		case withdrawn:
		case yes:
			s.startControl()
		default:
			s.log.Info("remote control refused by the student", "why", why)
			s.endControl(s.ctx, why)
		}
	}()
}

// withdrawControl cancels a pending control question.
func (s *session) withdrawControl() {
	s.mu.Lock()
	c := s.askCancel
	s.askCancel = nil
	s.mu.Unlock()
	if c != nil {
		c()
	}
}

// endControl ends or refuses control on the student's side: nothing more
// is injected, the console is told why (control_state) and the server
// stops relaying control and audits it (control_end).
func (s *session) endControl(ctx context.Context, why string) {
	s.withdrawControl()
	if !s.stopControl(why) {
		// Not on (refused before it began): the console still waits for
		// an answer.
		s.sendSession(wire.SessionMessage{Type: wire.SessionControlState, Accepted: ptr(false), Reason: why})
	}
	if err := s.r.send(ctx, wire.SignalMessage{Type: wire.SignalControlEnd}); err != nil {
		s.log.Debug("sending control_end", "err", err)
	}
}
