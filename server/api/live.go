package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/feed"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// enrollmentTopic is the feed topic of a lecture's join requests.
func enrollmentTopic(lectureID int64) string {
	return "lecture:" + strconv.FormatInt(lectureID, 10) + ":enrollments"
}

// publishEnrollment tells the consoles watching the lecture that one of its
// join requests changed. A lost event costs only freshness (the console
// re-reads the list on reconnect), so a failure is logged, not returned.
func (a *API) publishEnrollment(ctx context.Context, e store.Enrollment) {
	b, err := json.Marshal(wire.EnrollmentEvent{Enrollment: EnrollmentView(e)})
	if err == nil {
		err = a.Feed.Publish(context.WithoutCancel(ctx), enrollmentTopic(e.LectureID), b)
	}
	if err != nil {
		a.logger.Warn("publishing enrollment change", "lecture_id", e.LectureID, "enrollment_id", e.ID, "err", err)
	}
}

// Stream timings, as for the monitoring stream.
const (
	streamHeartbeat    = 15 * time.Second
	streamRecheck      = 5 * time.Second
	streamWriteTimeout = 2 * streamHeartbeat
	// MaxEnrollmentStreams is how many join-request streams one professor
	// may hold open on one replica (one per open lecture tab).
	MaxEnrollmentStreams = 8
)

// enrollmentStream sends the lecture's join-request changes as Server-Sent
// Events: "hello" first, then one "enrollment" event per change.
func (a *API) enrollmentStream(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	fs := FeedStream{Auth: a.auth, Feed: a.Feed, Conns: a.streams, Max: MaxEnrollmentStreams, What: "join-request"}
	return fs.Serve(w, r, id, enrollmentTopic(l.ID), "enrollment", map[string]any{"lecture_id": l.ID, "server_now": a.now().UTC()})
}

// FeedStream serves a feed topic to a console as Server-Sent Events:
// "hello" first, then one event per payload published, keep-alives, and
// the end of the stream when the caller's sign-in ends.
type FeedStream struct {
	Auth  *auth.Service
	Feed  feed.Bus
	Conns *limit.Conns // open streams per user on this replica
	Max   int
	What  string // names the stream in the "too many" error
}

// Serve streams topic until the client goes or its sign-in ends.
func (f FeedStream) Serve(w http.ResponseWriter, r *http.Request, id auth.Identity, topic, event string, hello any) error {
	release, _, ok := f.Conns.Acquire(limit.Cap{Key: "user:" + strconv.FormatInt(id.UserID, 10), Max: f.Max})
	if !ok {
		e := httpx.Errorf(http.StatusTooManyRequests, wire.CodeRateLimited, "too many open %s streams for this account; close another tab", f.What)
		e.RetryAfter = 5 * time.Second
		return e
	}
	defer release()
	ctx := r.Context()
	changes := f.Feed.Subscribe(ctx, topic)
	rc, ok := httpx.StartEventStream(w, streamWriteTimeout, hello)
	if !ok {
		return nil
	}
	beat := time.NewTicker(streamHeartbeat)
	defer beat.Stop()
	recheck := time.NewTicker(streamRecheck)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-recheck.C:
			var he *httpx.Error
			if err := f.Auth.Live(ctx, id); errors.As(err, &he) {
				return nil // signed out: the reconnect gets 401
			}
			continue
		case <-beat.C:
			fmt.Fprintf(w, ": keep-alive\n\n")
		case b, ok := <-changes:
			if !ok {
				return nil // fell behind and missed events: the browser reconnects and re-reads
			}
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
			// A burst (100 students acknowledging a lock) goes out in one
			// write.
			for more := true; more; {
				select {
				case b, ok := <-changes:
					if !ok {
						return nil
					}
					fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
				default:
					more = false
				}
			}
		}
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}
