// Package classroom owns the server's classroom controls: a lecture's owner
// locks or blanks students' screens, sends them a message or opens a web
// page on their PCs (all members or a selection); students raise hands and
// answer messages. Commands are stored with each student's result, pushed
// over the agent channel, acknowledged by the agents and streamed to the
// console. A lock is the lecture's state, kept here: an agent that
// reconnects or restarts is told it again, and a sweep ends every lock
// whose lecture was switched off, whose professor signed out, or whose
// time ran out, so no PC stays locked forever.
package classroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/didacto/didacto/server/api"
	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/feed"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Store is what the classroom needs from persistence.
type Store interface {
	store.Classroom
	store.Lectures
	store.Audit
}

// Pusher delivers an event to a student's agents on every replica
// (*agentchan.Hub is one).
type Pusher interface {
	Push(ctx context.Context, studentID int64, ev wire.AgentEvent) error
}

// Config tunes a Service; zero fields take the defaults.
type Config struct {
	// LockLimit is the longest a lock holds without a new command (3 h: a
	// long class).
	LockLimit time.Duration
	// SweepEvery is how often locks are checked against their lecture,
	// the professor's sign-in and their time (1 s).
	SweepEvery time.Duration
	Replica    string
}

// Service serves the classroom endpoints and answers agents' replies.
type Service struct {
	cfg   Config
	store Store
	auth  *auth.Service
	push  Pusher
	feed  feed.Bus
	// streams counts open classroom streams per professor.
	streams *limit.Conns
	now     func() time.Time
	log     *slog.Logger
}

// New returns the service; push may be set later with SetPusher (the agent
// channel needs the service for its hello, the service the channel to push).
func New(cfg Config, st Store, a *auth.Service, fb feed.Bus, now func() time.Time, log *slog.Logger) *Service {
	if cfg.LockLimit <= 0 {
		cfg.LockLimit = 3 * time.Hour
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Second
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if fb == nil {
		fb = feed.NewLocal()
	}
	return &Service{cfg: cfg, store: st, auth: a, feed: fb, streams: limit.NewConns(), now: now, log: log}
}

// SetPusher sets where commands go.
func (s *Service) SetPusher(p Pusher) { s.push = p }

// Register mounts the routes.
func (s *Service) Register(mux httpx.Mux) {
	req := s.auth.Require
	prof, stud := wire.RoleProfessor, wire.RoleStudent
	mux.Handle("POST /api/v1/lectures/{id}/commands", req(s.send, prof))
	mux.Handle("GET /api/v1/lectures/{id}/commands/{commandId}", req(s.command, prof))
	mux.Handle("GET /api/v1/lectures/{id}/classroom", req(s.state, prof))
	mux.Handle("GET /api/v1/lectures/{id}/classroom/stream", req(s.stream, prof))
	mux.Handle("DELETE /api/v1/lectures/{id}/hands/{studentId}", req(s.lowerFor, prof))
	mux.Handle("PUT /api/v1/lectures/{id}/hand", req(s.raise, stud))
	mux.Handle("DELETE /api/v1/lectures/{id}/hand", req(s.lowerOwn, stud))
	mux.Handle("POST /api/v1/lectures/{id}/commands/{commandId}/reply", req(s.reply, stud))
}

func topic(lectureID int64) string { return "classroom:" + strconv.FormatInt(lectureID, 10) }

// publish tells the lecture's consoles, on every replica.
func (s *Service) publish(ctx context.Context, lectureID int64, ev wire.ClassroomEvent) {
	b, err := json.Marshal(ev)
	if err == nil {
		err = s.feed.Publish(ctx, topic(lectureID), b)
	}
	if err != nil {
		s.log.Warn("classroom: telling the consoles", "lecture_id", lectureID, "err", err)
	}
}

// ---- commands ----

// validate checks a command request against the rules of its kind and
// returns it normalised.
func validate(body wire.CommandRequest) (wire.CommandRequest, error) {
	body.Text = strings.TrimSpace(body.Text)
	body.URL = strings.TrimSpace(body.URL)
	var problems []wire.FieldError
	switch body.Kind {
	case wire.CommandLock, wire.CommandBlank, wire.CommandUnlock:
	case wire.CommandMessage:
		if body.Text == "" {
			problems = append(problems, wire.FieldError{Field: "text", Message: "a message needs a text"})
		}
	case wire.CommandOpenURL:
		if err := checkURL(body.URL); err != nil {
			problems = append(problems, wire.FieldError{Field: "url", Message: err.Error()})
		}
	default:
		return body, httpx.Invalid(wire.FieldError{Field: "kind",
			Message: fmt.Sprintf("unknown command %q; one of lock, blank, unlock, message, open_url", body.Kind)})
	}
	if n := utf8.RuneCountInString(body.Text); n > wire.MaxCommandText || !utf8.ValidString(body.Text) {
		problems = append(problems, wire.FieldError{Field: "text",
			Message: fmt.Sprintf("must be valid text of at most %d characters (this one has %d)", wire.MaxCommandText, n)})
	}
	if body.Kind != wire.CommandOpenURL && body.URL != "" {
		problems = append(problems, wire.FieldError{Field: "url", Message: "only open_url takes a url"})
	}
	if len(body.StudentIDs) > wire.MaxCommandStuds {
		problems = append(problems, wire.FieldError{Field: "student_ids", Message: fmt.Sprintf("at most %d students", wire.MaxCommandStuds)})
	}
	if len(problems) > 0 {
		return body, httpx.Invalid(problems...)
	}
	return body, nil
}

// checkURL admits absolute http and https URLs with a host: nothing that a
// browser would run as a program, a file or a script.
func checkURL(raw string) error {
	if raw == "" {
		return errors.New("an http(s) URL is required")
	}
	if len(raw) > wire.MaxCommandURL {
		return fmt.Errorf("at most %d bytes", wire.MaxCommandURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("only http and https URLs can be opened (this one is %q)", u.Scheme)
	}
	if u.Host == "" || u.User != nil {
		return errors.New("the URL needs a host and no user name or password")
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return errors.New("the URL has control characters")
		}
	}
	return nil
}

// targets resolves the students of a command: the given ones (each must be
// a member) or every member.
func (s *Service) targets(ctx context.Context, lectureID int64, ids []int64) ([]int64, error) {
	members, err := api.MemberIDs(ctx, s.store, lectureID)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		if len(members) == 0 {
			return nil, httpx.Errorf(http.StatusConflict, wire.CodeInvalidState, "the lecture has no students yet")
		}
		return members, nil
	}
	isMember := make(map[int64]bool, len(members))
	for _, m := range members {
		isMember[m] = true
	}
	seen := map[int64]bool{}
	var out []int64
	var bad []string
	for _, id := range ids {
		switch {
		case !isMember[id]:
			bad = append(bad, strconv.FormatInt(id, 10))
		case !seen[id]:
			seen[id] = true
			out = append(out, id)
		}
	}
	if len(bad) > 0 {
		return nil, httpx.Invalid(wire.FieldError{Field: "student_ids", Message: "not members of this lecture: " + strings.Join(bad, ", ")})
	}
	return out, nil
}

func (s *Service) send(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	ctx := r.Context()
	l, err := api.OwnedLecture(ctx, s.store, r, id)
	if err != nil {
		return err
	}
	var body wire.CommandRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body, err = validate(body); err != nil {
		return err
	}
	if !l.Active {
		return httpx.Errorf(http.StatusConflict, wire.CodeLectureInactive, "switch monitoring on for this lecture first: commands reach only the students of an active lecture")
	}
	students, err := s.targets(ctx, l.ID, body.StudentIDs)
	if err != nil {
		return err
	}
	now := s.now()
	c, err := s.store.CreateCommand(ctx, store.Command{LectureID: l.ID, Kind: body.Kind, Text: body.Text, URL: body.URL,
		ActorID: id.UserID, CreatedAt: now}, students, store.ScreenLock{ActorFamily: id.Family, Until: now.Add(s.cfg.LockLimit)})
	if err != nil {
		return err
	}
	s.audit(ctx, c, students)
	s.deliver(context.WithoutCancel(ctx), l, id.Name, c, students)
	results := make([]wire.CommandResult, len(students))
	for i, sid := range students {
		results[i] = wire.CommandResult{CommandID: c.ID, StudentID: sid, Kind: c.Kind, State: wire.ResultPending, At: c.CreatedAt}
	}
	httpx.WriteJSON(w, http.StatusCreated, commandView(c, results))
	return nil
}

func (s *Service) audit(ctx context.Context, c store.Command, students []int64) {
	var subject int64
	if len(students) == 1 {
		subject = students[0]
	}
	detail := fmt.Sprintf("command %d to %d students", c.ID, len(students))
	if c.Text != "" {
		detail += fmt.Sprintf(" text=%q", c.Text)
	}
	if c.URL != "" {
		detail += " url=" + c.URL
	}
	err := s.store.AppendAudit(ctx, store.AuditEntry{LectureID: c.LectureID, ActorID: c.ActorID, SubjectID: subject,
		Action: "command_" + c.Kind, Detail: detail, Replica: s.cfg.Replica, At: c.CreatedAt})
	if err != nil {
		s.log.Warn("classroom: audit", "err", err)
	}
}

// deliver pushes the command to each student's agents: a lock change as
// the student's whole lock list (what the agent must show), anything else
// as a one-time command.
func (s *Service) deliver(ctx context.Context, l store.Lecture, professor string, c store.Command, students []int64) {
	if s.push == nil {
		return
	}
	isLock := c.Kind == wire.CommandLock || c.Kind == wire.CommandBlank || c.Kind == wire.CommandUnlock
	for _, sid := range students {
		if isLock {
			s.pushLocks(ctx, l.ID, sid, c.ID)
			continue
		}
		ev := wire.AgentEvent{Type: wire.AgentCommand, LectureID: l.ID, Command: &wire.AgentCommandBody{ID: c.ID, LectureID: l.ID,
			LectureTitle: l.Title, Kind: c.Kind, Text: c.Text, URL: c.URL, Professor: professor, At: c.CreatedAt.UTC()}}
		if err := s.push.Push(ctx, sid, ev); err != nil {
			s.log.Warn("classroom: pushing a command", "student_id", sid, "command_id", c.ID, "err", err)
		}
	}
	if isLock {
		s.publishLocks(ctx, l.ID)
	}
}

// LocksFor is the student's live locks, as the agent channel's hello and
// locks events carry them.
func (s *Service) LocksFor(ctx context.Context, studentID int64) ([]wire.ScreenLock, error) {
	ks, err := s.store.LocksByStudent(ctx, studentID, s.now())
	if err != nil {
		return nil, err
	}
	return lockViews(ks), nil
}

func lockViews(ks []store.ScreenLock) []wire.ScreenLock {
	out := make([]wire.ScreenLock, len(ks))
	for i, k := range ks {
		out[i] = wire.ScreenLock{LectureID: k.LectureID, LectureTitle: k.LectureTitle, StudentID: k.StudentID, Mode: k.Mode,
			Message: k.Message, Professor: k.ActorName, CommandID: k.CommandID, Since: k.Since.UTC(), Until: k.Until.UTC()}
	}
	return out
}

func (s *Service) publishLocks(ctx context.Context, lectureID int64) {
	ks, err := s.store.LocksByLecture(ctx, lectureID, s.now())
	if err != nil {
		s.log.Warn("classroom: reading a lecture's locks", "lecture_id", lectureID, "err", err)
		return
	}
	s.publish(ctx, lectureID, wire.ClassroomEvent{Locks: lockViews(ks), LocksChanged: true})
}

func commandView(c store.Command, results []wire.CommandResult) wire.Command {
	return wire.Command{ID: c.ID, LectureID: c.LectureID, Kind: c.Kind, Text: c.Text, URL: c.URL, ActorID: c.ActorID,
		CreatedAt: c.CreatedAt.UTC(), Results: results}
}

func resultView(r store.CommandResult) wire.CommandResult {
	return wire.CommandResult{CommandID: r.CommandID, StudentID: r.StudentID, Kind: r.Kind, State: r.State, Reason: r.Reason,
		Reply: r.Reply, At: r.At.UTC()}
}

func resultViews(rs []store.CommandResult) []wire.CommandResult {
	out := make([]wire.CommandResult, len(rs))
	for i, r := range rs {
		out[i] = resultView(r)
	}
	return out
}

// ownedCommand loads {commandId} of the caller's lecture {id}.
func (s *Service) ownedCommand(r *http.Request, id auth.Identity) (store.Command, []store.CommandResult, error) {
	l, err := api.OwnedLecture(r.Context(), s.store, r, id)
	if err != nil {
		return store.Command{}, nil, err
	}
	cid, err := httpx.PathID(r, "commandId")
	if err != nil {
		return store.Command{}, nil, err
	}
	c, results, err := s.store.CommandByID(r.Context(), cid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.LectureID != l.ID) {
		return store.Command{}, nil, httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no such command in this lecture")
	}
	return c, results, err
}

func (s *Service) command(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	c, results, err := s.ownedCommand(r, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, commandView(c, resultViews(results)))
	return nil
}

func (s *Service) state(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := api.OwnedLecture(r.Context(), s.store, r, id)
	if err != nil {
		return err
	}
	st, err := s.snapshot(r.Context(), l.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (s *Service) snapshot(ctx context.Context, lectureID int64) (wire.ClassroomState, error) {
	now := s.now()
	ks, err := s.store.LocksByLecture(ctx, lectureID, now)
	if err != nil {
		return wire.ClassroomState{}, err
	}
	hs, err := s.store.HandsByLecture(ctx, lectureID)
	if err != nil {
		return wire.ClassroomState{}, err
	}
	latest, err := s.store.LatestResults(ctx, lectureID)
	if err != nil {
		return wire.ClassroomState{}, err
	}
	hands := make([]wire.Hand, len(hs))
	for i, h := range hs {
		hands[i] = wire.Hand{StudentID: h.StudentID, RaisedAt: h.RaisedAt.UTC()}
	}
	return wire.ClassroomState{LectureID: lectureID, Locks: lockViews(ks), Hands: hands, Latest: resultViews(latest), ServerNow: now.UTC()}, nil
}

// ---- agents' answers ----

// AgentReply records an agent's acknowledgement of a command (the agent
// channel calls it for every reply it reads). A reply about a command that
// was not sent to this student is ignored.
func (s *Service) AgentReply(ctx context.Context, studentID int64, rep wire.AgentReply) error {
	if rep.Type != wire.AgentAck {
		return fmt.Errorf("unknown reply type %q", rep.Type)
	}
	switch rep.State {
	case wire.ResultDelivered, wire.ResultApplied, wire.ResultFailed:
	default:
		return fmt.Errorf("unknown result state %q", rep.State)
	}
	reason := strings.ToValidUTF8(rep.Reason, "?")
	if utf8.RuneCountInString(reason) > 300 {
		reason = string([]rune(reason)[:300])
	}
	res, err := s.store.SetCommandResult(ctx, store.CommandResult{CommandID: rep.CommandID, StudentID: studentID,
		State: rep.State, Reason: reason, At: s.now()}, rep.LectureID)
	if err != nil {
		return fmt.Errorf("command %d of lecture %d: %w", rep.CommandID, rep.LectureID, err)
	}
	v := resultView(res)
	s.publish(ctx, rep.LectureID, wire.ClassroomEvent{Result: &v})
	return nil
}

// memberLecture loads {id} and checks the calling student is a member.
func (s *Service) memberLecture(r *http.Request, id auth.Identity) (store.Lecture, error) {
	lid, err := httpx.PathID(r, "id")
	if err != nil {
		return store.Lecture{}, err
	}
	l, err := s.store.LectureByID(r.Context(), lid)
	if errors.Is(err, store.ErrNotFound) {
		return store.Lecture{}, httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no such lecture")
	}
	if err != nil {
		return store.Lecture{}, err
	}
	ok, err := s.store.IsMember(r.Context(), l.ID, id.UserID)
	if err != nil {
		return store.Lecture{}, err
	}
	if !ok {
		return store.Lecture{}, httpx.Errorf(http.StatusForbidden, wire.CodeNotMember, "you are not a member of this lecture")
	}
	return l, nil
}

func (s *Service) reply(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := s.memberLecture(r, id)
	if err != nil {
		return err
	}
	cid, err := httpx.PathID(r, "commandId")
	if err != nil {
		return err
	}
	var body wire.ReplyRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	text := strings.Join(strings.Fields(body.Text), " ") // one line
	if text == "" || utf8.RuneCountInString(text) > wire.MaxReplyText || !utf8.ValidString(text) {
		return httpx.Invalid(wire.FieldError{Field: "text", Message: fmt.Sprintf("must be 1 to %d characters", wire.MaxReplyText)})
	}
	c, _, err := s.store.CommandByID(r.Context(), cid)
	if err == nil && c.Kind != wire.CommandMessage {
		err = store.ErrNotFound
	}
	var res store.CommandResult
	if err == nil {
		res, err = s.store.SetCommandResult(r.Context(), store.CommandResult{CommandID: cid, StudentID: id.UserID, Reply: text, At: s.now()}, l.ID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no such message to you in this lecture")
	}
	if err != nil {
		return err
	}
	v := resultView(res)
	s.publish(r.Context(), l.ID, wire.ClassroomEvent{Result: &v})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ---- hands ----

func (s *Service) raise(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := s.memberLecture(r, id)
	if err != nil {
		return err
	}
	if !l.Active {
		return httpx.Errorf(http.StatusConflict, wire.CodeLectureInactive, "this lecture is not on now")
	}
	now := s.now()
	changed, err := s.store.RaiseHand(r.Context(), l.ID, id.UserID, now)
	if err != nil {
		return err
	}
	if changed {
		s.publish(r.Context(), l.ID, wire.ClassroomEvent{Hand: &wire.Hand{StudentID: id.UserID, RaisedAt: now.UTC()}, Raised: true})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) lowerOwn(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := s.memberLecture(r, id)
	if err != nil {
		return err
	}
	if err := s.LowerHand(r.Context(), l.ID, id.UserID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) lowerFor(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := api.OwnedLecture(r.Context(), s.store, r, id)
	if err != nil {
		return err
	}
	sid, err := httpx.PathID(r, "studentId")
	if err != nil {
		return err
	}
	if err := s.LowerHand(r.Context(), l.ID, sid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// LowerHand lowers a student's hand (the professor, the student, or a live
// session opening with them) and tells the consoles if it was up.
func (s *Service) LowerHand(ctx context.Context, lectureID, studentID int64) error {
	changed, err := s.store.LowerHand(ctx, lectureID, studentID)
	if err != nil {
		return err
	}
	if changed {
		s.publish(ctx, lectureID, wire.ClassroomEvent{Hand: &wire.Hand{StudentID: studentID}, Raised: false})
		if s.push != nil {
			if err := s.push.Push(ctx, studentID, wire.AgentEvent{Type: wire.AgentHandLowered, LectureID: lectureID}); err != nil {
				s.log.Warn("classroom: telling the agent its hand is down", "err", err)
			}
		}
	}
	return nil
}
