package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/wire"
)

// channelMaxBackoff bounds the wait between channel reconnections; an
// older server without a channel is asked again after noChannelWait.
const (
	channelMaxBackoff = 30 * time.Second
	noChannelWait     = 5 * time.Minute
)

// runChannel keeps the agent channel open while signed in, until ctx ends:
// the server pushes what changed, so an accepted request or a lecture
// switched on takes effect in about a second instead of at the next poll.
// It reconnects with backoff and jitter (a lab of agents must not come
// back in one burst after a server restart); polling goes on underneath.
func (a *Agent) runChannel(ctx context.Context) {
	backoff := time.Second
	saidNoChannel := false
	for ctx.Err() == nil {
		api := a.client()
		if !api.LoggedIn() {
			sleepCtx(ctx, time.Second) // a local check, no network
			continue
		}
		sctx, cancel := context.WithCancel(ctx)
		a.mu.Lock()
		a.dropChan = cancel
		a.mu.Unlock()
		opened := time.Now()
		err := api.Channel(sctx, client.ChannelHandlers{
			Event:  a.onEvent,
			Bad:    func(err error) { a.log.Warn("agent channel: message ignored", "err", err) },
			Outbox: a.outbox,
		})
		cancel()
		a.setChannel(false)
		if ctx.Err() != nil {
			return
		}
		if time.Since(opened) > time.Minute {
			backoff = time.Second // it worked for a while: this is a new outage
		}
		wait := backoff
		switch {
		case err == nil: // dropped on purpose (sign-out): reconnect when signed in
			continue
		case errors.Is(err, client.ErrNoChannel):
			if !saidNoChannel {
				a.log.Info("the server has no agent channel; polling every recheck", "recheck", a.cfg.Recheck)
				saidNoChannel = true
			}
			wait = noChannelWait
		case isAuth(err):
			a.Refresh() // the main loop signs in again or shows the sign-in screen
		default:
			a.log.Info("agent channel down; reconnecting", "err", err, "in", backoff)
		}
		sleepCtx(ctx, time.Duration(float64(wait)*(0.8+0.4*rand.Float64())))
		backoff = min(2*backoff, channelMaxBackoff)
	}
}

// onEvent handles one pushed event; unknown types (a newer server) are
// ignored.
func (a *Agent) onEvent(ev wire.AgentEvent) {
	switch ev.Type {
	case wire.AgentHello:
		if ev.Version > wire.AgentChannelVersion {
			a.log.Info("the server's agent channel is newer than this agent; unknown events will be ignored", "version", ev.Version)
		}
		a.setChannel(true)
		a.setLocks(ev.Locks, 0, 0) // the locks that hold now (none: unlocked)
		a.Refresh()                // events may have been missed while it was down
	case wire.AgentLecturesChanged:
		a.log.Debug("lectures changed", "lecture", ev.LectureID)
		a.Refresh()
	case wire.AgentLocks:
		a.setLocks(ev.Locks, ev.CommandID, ev.LectureID)
	case wire.AgentCommand:
		a.command(ev.Command)
	case wire.AgentHandLowered:
		if a.Status().Lecture.ID == ev.LectureID {
			a.update(func(s *Status) { s.Hand = false })
		}
	default:
		a.log.Debug("agent channel: unknown event ignored", "type", ev.Type)
	}
}

func (a *Agent) setChannel(up bool) {
	if a.Status().Channel != up {
		a.update(func(s *Status) { s.Channel = up })
	}
}

// closeChannel drops the channel (sign-out); runChannel opens a new one
// once signed in again.
func (a *Agent) closeChannel() {
	a.mu.Lock()
	drop := a.dropChan
	a.dropChan = nil
	a.mu.Unlock()
	if drop != nil {
		drop()
	}
}

// recheck is how often the lecture list is polled: the configured period
// while the channel is down, four times slower while it pushes changes
// (the poll is then only a safety net).
func (a *Agent) recheck() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.st.Channel {
		return 4 * a.cfg.Recheck
	}
	return a.cfg.Recheck
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
