package classroom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/didacto/didacto/server/api"
	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// MaxStreams is how many classroom streams one professor may hold open on
// one replica.
const MaxStreams = 8

// stream sends the lecture's classroom changes as Server-Sent Events.
func (s *Service) stream(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := api.OwnedLecture(r.Context(), s.store, r, id)
	if err != nil {
		return err
	}
	fs := api.FeedStream{Auth: s.auth, Feed: s.feed, Conns: s.streams, Max: MaxStreams, What: "classroom"}
	return fs.Serve(w, r, id, topic(l.ID), "classroom", map[string]any{"lecture_id": l.ID, "server_now": s.now().UTC()})
}

// Run sweeps locks every SweepEvery until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("classroom: sweeping locks", "err", err)
			}
		}
	}
}

// Sweep ends the locks that must not hold any more: their lecture was
// switched off or deleted, the student left, the time ran out, or the
// professor who locked signed out. The agents concerned are told at once.
func (s *Service) Sweep(ctx context.Context) error {
	all, err := s.store.AllLocks(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	signedIn := map[string]bool{}
	var ended []store.ScreenLock
	why := map[[2]int64]string{}
	for _, k := range all {
		reason := s.lockEnds(ctx, k, now, signedIn)
		if reason != "" {
			ended = append(ended, k.ScreenLock)
			why[[2]int64{k.LectureID, k.StudentID}] = reason
		}
	}
	if len(ended) == 0 {
		return nil
	}
	gone, err := s.store.ReleaseLocks(ctx, ended)
	if err != nil {
		return err
	}
	lectures := map[int64]bool{}
	for _, k := range gone {
		lectures[k.LectureID] = true
		s.log.Info("screen lock ended", "lecture_id", k.LectureID, "student_id", k.StudentID, "why", why[[2]int64{k.LectureID, k.StudentID}])
		s.pushLocks(ctx, k.LectureID, k.StudentID, 0)
	}
	for lid := range lectures {
		if err := s.store.AppendAudit(ctx, store.AuditEntry{LectureID: lid, Action: "lock_ended",
			Detail: fmt.Sprintf("%d screens released by the server", countLecture(gone, lid)), Replica: s.cfg.Replica, At: now}); err != nil {
			s.log.Warn("classroom: audit", "err", err)
		}
		s.publishLocks(ctx, lid)
	}
	return nil
}

func countLecture(ks []store.ScreenLock, lectureID int64) int {
	n := 0
	for _, k := range ks {
		if k.LectureID == lectureID {
			n++
		}
	}
	return n
}

// lockEnds says why a lock must end now ("" if it holds); signedIn caches
// the professors' sign-ins for one sweep.
func (s *Service) lockEnds(ctx context.Context, k store.LockStatus, now time.Time, signedIn map[string]bool) string {
	switch {
	case !k.LectureActive:
		return "lecture switched off"
	case !k.Member:
		return "no longer a member"
	case !now.Before(k.Until):
		return "time limit"
	}
	if k.ActorFamily == "" || s.auth == nil {
		return ""
	}
	live, ok := signedIn[k.ActorFamily]
	if !ok {
		err := s.auth.Live(ctx, auth.Identity{UserID: k.ActorID, Family: k.ActorFamily})
		var he *httpx.Error
		live = !errors.As(err, &he) // a database hiccup is not a sign-out
		signedIn[k.ActorFamily] = live
	}
	if !live {
		return "the professor signed out"
	}
	return ""
}

// pushLocks sends a student's current lock list to their agents.
func (s *Service) pushLocks(ctx context.Context, lectureID, studentID, commandID int64) {
	if s.push == nil {
		return
	}
	locks, err := s.LocksFor(ctx, studentID)
	if err != nil {
		s.log.Warn("classroom: reading locks to push", "student_id", studentID, "err", err)
		return
	}
	if err := s.push.Push(ctx, studentID, wire.AgentEvent{Type: wire.AgentLocks, LectureID: lectureID, Locks: locks, CommandID: commandID}); err != nil {
		s.log.Warn("classroom: pushing locks", "student_id", studentID, "err", err)
	}
}
