package app

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/didacto/didacto/lockscreen"
	"github.com/didacto/didacto/wire"
)

// Locker covers the monitors with spec, or lifts the cover (nil)
// (*lockscreen.Lazy is one).
type Locker interface {
	Show(spec *lockscreen.Spec) error
}

// Message is a professor's message waiting for the student to read it.
type Message struct {
	ID           int64 // the command's id
	LectureID    int64
	LectureTitle string
	Professor    string
	Text         string
	At           time.Time
}

// errNoLocker: the agent was built without a screen locker.
var errNoLocker = errors.New("this agent cannot lock the screen here (no desktop it can cover)")

// ack queues an acknowledgement for the agent channel (it waits there
// while the channel is down; a full outbox drops the oldest news).
func (a *Agent) ack(commandID, lectureID int64, state string, err error) {
	if commandID == 0 {
		return
	}
	rep := wire.AgentReply{Type: wire.AgentAck, CommandID: commandID, LectureID: lectureID, State: state}
	if err != nil {
		rep.Reason = err.Error()
	}
	select {
	case a.outbox <- rep:
	default:
		a.log.Warn("acknowledgement dropped: the outbox is full", "command_id", commandID)
	}
}

// setLocks takes the server's whole lock list (hello, locks) and shows
// what it says; commandID, when not 0, is acknowledged.
func (a *Agent) setLocks(locks []wire.ScreenLock, commandID, lectureID int64) {
	a.ack(commandID, lectureID, wire.ResultDelivered, nil)
	a.lockMu.Lock()
	a.locks = slices.Clone(locks)
	err := a.applyLocksLocked()
	a.lockMu.Unlock()
	state := wire.ResultApplied
	if err != nil {
		a.log.Warn("screen lock failed", "err", err)
		state = wire.ResultFailed
	}
	if commandID == 0 {
		// hello: a lock sent while this agent was away is carried out now;
		// its command learns so (a result never goes back, so repeating
		// this at every reconnection is harmless).
		for _, k := range locks {
			a.ack(k.CommandID, k.LectureID, state, err)
		}
		return
	}
	a.ack(commandID, lectureID, state, err)
}

// applyLocksLocked shows the newest live lock, or lifts it, and arms a
// timer for the next lock's end: a PC that cannot reach the server still
// unlocks at the time the server gave. Callers hold lockMu.
func (a *Agent) applyLocksLocked() error {
	now := time.Now()
	var shown *wire.ScreenLock
	next := time.Time{}
	for i := range a.locks {
		k := &a.locks[i]
		if !now.Before(k.Until) {
			continue
		}
		if shown == nil || k.Since.After(shown.Since) {
			shown = k
		}
		if next.IsZero() || k.Until.Before(next) {
			next = k.Until
		}
	}
	if a.lockTimer != nil {
		a.lockTimer.Stop()
		a.lockTimer = nil
	}
	if !next.IsZero() {
		a.lockTimer = time.AfterFunc(time.Until(next)+10*time.Millisecond, func() {
			a.lockMu.Lock()
			defer a.lockMu.Unlock()
			if err := a.applyLocksLocked(); err != nil {
				a.log.Warn("screen lock update failed", "err", err)
			}
		})
	}
	var err error
	var spec *lockscreen.Spec
	if shown != nil {
		spec = &lockscreen.Spec{Blank: shown.Mode == wire.CommandBlank, Title: shown.LectureTitle, Message: shown.Message,
			Professor: shown.Professor, Lang: a.lang()}
	}
	switch {
	case a.cfg.Locker != nil:
		err = a.cfg.Locker.Show(spec)
	case spec != nil:
		err = errNoLocker
	}
	var st *wire.ScreenLock
	if shown != nil && err == nil {
		c := *shown
		st = &c
	}
	if (a.Status().Lock == nil) != (st == nil) || (st != nil && *a.Status().Lock != *st) {
		if st != nil {
			a.log.Info("screen locked", "lecture", st.LectureTitle, "mode", st.Mode, "by", st.Professor, "until", st.Until)
		} else {
			a.log.Info("screen unlocked")
		}
		a.update(func(s *Status) { s.Lock = st })
	}
	return err
}

func (a *Agent) lang() string {
	if a.cfg.Lang != nil {
		return a.cfg.Lang()
	}
	return "en"
}

// releaseLocks lifts the lock when the agent stops.
func (a *Agent) releaseLocks() {
	a.lockMu.Lock()
	defer a.lockMu.Unlock()
	if a.lockTimer != nil {
		a.lockTimer.Stop()
		a.lockTimer = nil
	}
	if a.cfg.Locker != nil && a.Status().Lock != nil {
		_ = a.cfg.Locker.Show(nil)
	}
}

// command carries out a one-time command.
func (a *Agent) command(c *wire.AgentCommandBody) {
	if c == nil || c.ID <= 0 {
		return
	}
	switch c.Kind {
	case wire.CommandMessage:
		a.ack(c.ID, c.LectureID, wire.ResultDelivered, nil)
		m := Message{ID: c.ID, LectureID: c.LectureID, LectureTitle: c.LectureTitle, Professor: c.Professor, Text: c.Text, At: c.At}
		a.log.Info("message from the professor", "lecture", c.LectureTitle, "from", c.Professor, "text", c.Text)
		a.update(func(s *Status) {
			if !slices.ContainsFunc(s.Messages, func(o Message) bool { return o.ID == m.ID }) {
				s.Messages = append(slices.Clone(s.Messages), m)
			}
		})
		a.ack(c.ID, c.LectureID, wire.ResultApplied, nil) // the views show Status.Messages
	case wire.CommandOpenURL:
		a.ack(c.ID, c.LectureID, wire.ResultDelivered, nil)
		err := a.openURL(c.URL)
		if err != nil {
			a.log.Warn("could not open the professor's page", "url", c.URL, "err", err)
			a.ack(c.ID, c.LectureID, wire.ResultFailed, err)
			return
		}
		a.log.Info("opened the professor's page", "url", c.URL)
		a.ack(c.ID, c.LectureID, wire.ResultApplied, nil)
	default:
		a.ack(c.ID, c.LectureID, wire.ResultFailed, errors.New("this agent does not know the command "+c.Kind))
	}
}

// openURL opens an http(s) page in the default browser; the agent checks
// the scheme again (it does not trust the server's check alone).
func (a *Agent) openURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("refused: only http(s) pages are opened")
	}
	if a.cfg.OpenURL == nil {
		return errors.New("no browser on this PC")
	}
	return a.cfg.OpenURL(u.String())
}

// DismissMessage removes a message the student read.
func (a *Agent) DismissMessage(id int64) {
	a.update(func(s *Status) {
		s.Messages = slices.DeleteFunc(slices.Clone(s.Messages), func(m Message) bool { return m.ID == id })
	})
}

// Reply answers a message in one line; the message is then dismissed.
func (a *Agent) Reply(ctx context.Context, m Message, text string) error {
	if err := a.client().Reply(ctx, m.LectureID, m.ID, text); err != nil {
		return err
	}
	a.DismissMessage(m.ID)
	return nil
}

// errNoLecture: a hand needs a monitored lecture.
var errNoLecture = errors.New("no lecture is on: a hand is raised in the monitored lecture")

// SetHand raises or lowers the student's hand in the monitored lecture.
func (a *Agent) SetHand(ctx context.Context, raised bool) error {
	l := a.Status().Lecture
	if l.ID == 0 || a.Status().Phase != Monitored {
		return errNoLecture
	}
	if err := a.client().SetHand(ctx, l.ID, raised); err != nil {
		return err
	}
	a.update(func(s *Status) { s.Hand = raised })
	return nil
}
