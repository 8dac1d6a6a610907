// Package api serves the core REST API under /api/v1: accounts, lectures,
// enrollment and membership, with authorization checked on every endpoint
// (another professor's lecture answers 404, never data).
package api

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/feed"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/plan"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// MaxTitleLen bounds lecture titles.
const MaxTitleLen = 200

// API holds the core handlers.
type API struct {
	store  store.Store
	auth   *auth.Service
	limits limit.Store // join-code and join-request throttles
	// RejectCooldown is how long a rejected student waits before asking to
	// join the same lecture again (0: no wait).
	RejectCooldown time.Duration
	// Replica names this server in the audit rows it writes.
	Replica string
	// Feed carries join-request changes to the consoles (in memory unless
	// the server sets a Redis bus, so every replica hears them).
	Feed feed.Bus
	// Agents, when set, is told whose lectures changed, so their agents
	// re-read them at once instead of at their next poll.
	Agents  AgentNotifier
	streams *limit.Conns // open join-request streams per professor
	now     func() time.Time
	logger  *slog.Logger
}

// AgentNotifier pushes "your lectures changed" to students' agents
// (*agentchan.Hub is one).
type AgentNotifier interface {
	Notify(ctx context.Context, lectureID int64, students ...int64)
}

// tell notifies the students' agents, if there is a channel to them.
func (a *API) tell(ctx context.Context, lectureID int64, students ...int64) {
	if a.Agents != nil && len(students) > 0 {
		a.Agents.Notify(ctx, lectureID, students...)
	}
}

// memberIDs lists a lecture's members, for telling their agents.
func (a *API) memberIDs(ctx context.Context, lectureID int64) []int64 {
	ids, err := MemberIDs(ctx, a.store, lectureID)
	if err != nil {
		a.logger.Warn("listing members to notify their agents", "lecture_id", lectureID, "err", err)
	}
	return ids // on an error, the agents' own re-check covers the rest
}

// MemberIDs lists every member of a lecture, page by page (what it read
// before an error comes with the error).
func MemberIDs(ctx context.Context, st store.Lectures, lectureID int64) ([]int64, error) {
	var ids []int64
	for page := 1; page <= 1000; page++ {
		ms, total, err := st.Members(ctx, lectureID, store.PageRequest{Page: page, Size: wire.MaxPageSize})
		if err != nil {
			return ids, fmt.Errorf("members of lecture %d: %w", lectureID, err)
		}
		for _, m := range ms {
			ids = append(ids, m.StudentID)
		}
		if len(ms) == 0 || len(ids) >= total {
			break
		}
	}
	return ids, nil
}

// New returns the core API; limits keeps its throttles (in memory when nil).
func New(st store.Store, a *auth.Service, limits limit.Store, now func() time.Time, logger *slog.Logger) *API {
	if now == nil {
		now = time.Now
	}
	if limits == nil {
		limits = limit.NewMemory(now)
	}
	return &API{store: st, auth: a, limits: limits, now: now, logger: logger, RejectCooldown: 10 * time.Minute,
		Feed: feed.NewLocal(), streams: limit.NewConns()}
}

// Register mounts the routes on mux.
func (a *API) Register(mux httpx.Mux) {
	h := func(pattern string, fn httpx.HandlerFunc) { mux.Handle(pattern, fn) }
	req := a.auth.Require
	prof, stud := wire.RoleProfessor, wire.RoleStudent

	h("POST /api/v1/auth/register", a.register)
	h("POST /api/v1/auth/login", a.login)
	h("POST /api/v1/auth/refresh", a.refresh)
	h("POST /api/v1/auth/logout", a.logout)
	h("POST /api/v1/auth/reset-password", a.resetPassword)
	mux.Handle("GET /api/v1/me", req(a.me))
	mux.Handle("POST /api/v1/me/password", req(a.changePassword))
	mux.Handle("POST /api/v1/signal/ticket", req(a.ticket))

	mux.Handle("POST /api/v1/lectures", req(a.createLecture, prof))
	mux.Handle("GET /api/v1/lectures", req(a.listLectures))
	mux.Handle("POST /api/v1/lectures/join", req(a.join, stud))
	mux.Handle("GET /api/v1/lectures/{id}", req(a.getLecture))
	mux.Handle("PATCH /api/v1/lectures/{id}", req(a.updateLecture, prof))
	mux.Handle("DELETE /api/v1/lectures/{id}", req(a.deleteLecture, prof))
	mux.Handle("POST /api/v1/lectures/{id}/activate", req(a.activate, prof))
	mux.Handle("POST /api/v1/lectures/{id}/deactivate", req(a.deactivate, prof))
	mux.Handle("GET /api/v1/lectures/{id}/enrollments", req(a.lectureEnrollments, prof))
	mux.Handle("GET /api/v1/lectures/{id}/enrollments/stream", req(a.enrollmentStream, prof))
	mux.Handle("POST /api/v1/lectures/{id}/enrollments/accept", req(a.bulkAccept, prof))
	mux.Handle("POST /api/v1/lectures/{id}/enrollments/reject", req(a.bulkReject, prof))
	mux.Handle("GET /api/v1/lectures/{id}/students", req(a.members, prof))
	mux.Handle("POST /api/v1/lectures/{id}/students", req(a.addStudent, prof))
	mux.Handle("DELETE /api/v1/lectures/{id}/students/{studentId}", req(a.removeMember, prof))
	mux.Handle("POST /api/v1/lectures/{id}/students/{studentId}/reset-code", req(a.resetCode, prof))
	mux.Handle("POST /api/v1/lectures/{id}/roster", req(a.importRoster, prof))
	mux.Handle("DELETE /api/v1/lectures/{id}/membership", req(a.leave, stud))
	mux.Handle("GET /api/v1/lectures/{id}/audit", req(a.audit, prof))
	mux.Handle("GET /api/v1/enrollments", req(a.myEnrollments, stud))
	mux.Handle("POST /api/v1/enrollments/{id}/accept", req(a.accept, prof))
	mux.Handle("POST /api/v1/enrollments/{id}/reject", req(a.reject, prof))
	mux.Handle("DELETE /api/v1/enrollments/{id}", req(a.cancel, stud))
}

// ---- accounts ----

func (a *API) register(w http.ResponseWriter, r *http.Request) error {
	var body wire.RegisterRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	u, err := a.auth.Register(r.Context(), body)
	if err != nil {
		return err
	}
	a.logger.Info("account registered", "user_id", u.ID, "role", u.Role)
	httpx.WriteJSON(w, http.StatusCreated, auth.PublicUser(u, a.now()))
	return nil
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var body wire.LoginRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Session != "" && body.Session != "cookie" && body.Session != "bearer" {
		return httpx.Invalid(wire.FieldError{Field: "session", Message: `must be "cookie" or "bearer"`})
	}
	u, err := a.auth.Login(r.Context(), body.Email, body.Password, httpx.ClientAddr(r))
	if err != nil {
		return err
	}
	if body.Session == "cookie" {
		if err := a.auth.StartSession(r.Context(), w, u); err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, auth.PublicUser(u, a.now()))
		return nil
	}
	pair, err := a.auth.IssueTokens(r.Context(), u)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, pair)
	return nil
}

func (a *API) refresh(w http.ResponseWriter, r *http.Request) error {
	var body wire.RefreshRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	pair, err := a.auth.Refresh(r.Context(), body.RefreshToken)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, pair)
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	if _, err := r.Cookie(auth.SessionCookie); err == nil && r.Header.Get("Authorization") == "" {
		if _, err := a.auth.Authenticate(r); err != nil { // checks CSRF for the cookie session
			return err
		}
		if err := a.auth.EndSession(r.Context(), w, r); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	var body wire.RefreshRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := a.auth.Logout(r.Context(), body.RefreshToken); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	u, err := a.store.UserByID(r.Context(), id.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusUnauthorized, wire.CodeUnauthorized, "account no longer exists")
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, auth.PublicUser(u, a.now()))
	return nil
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	var body wire.ChangePasswordRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := a.auth.ChangePassword(r.Context(), id, body.CurrentPassword, body.NewPassword, httpx.ClientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) ticket(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	t, exp, err := a.auth.Ticket(id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"ticket": t, "expires_at": exp.UTC()})
	return nil
}

// ---- lectures ----

func validTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	if title == "" || utf8.RuneCountInString(title) > MaxTitleLen {
		return "", httpx.Invalid(wire.FieldError{Field: "title", Message: fmt.Sprintf("must be 1 to %d characters", MaxTitleLen)})
	}
	return title, nil
}

// codeAlphabet leaves out look-alikes (0/O, 1/I/L) so codes read well on a projector.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// CodeLen is the length of a join code.
const CodeLen = 6

func newCode() (string, error) {
	b := make([]byte, CodeLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("join code: %w", err)
	}
	for i := range b {
		b[i] = codeAlphabet[int(b[i])%len(codeAlphabet)]
	}
	return string(b), nil
}

// NormalizeCode accepts codes typed with spaces, dashes or lower case.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(code)))
}

func (a *API) createLecture(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	var body wire.CreateLectureRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	title, err := validTitle(body.Title)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		code, err := newCode()
		if err != nil {
			return err
		}
		l, err := a.store.CreateLecture(r.Context(), store.Lecture{OwnerID: id.UserID, Title: title, Code: code})
		if errors.Is(err, store.ErrCodeTaken) && attempt < 8 {
			continue
		}
		if err != nil {
			return fmt.Errorf("creating lecture: %w", err)
		}
		l.OwnerName = id.Name
		w.Header().Set("Location", fmt.Sprintf("/api/v1/lectures/%d", l.ID))
		httpx.WriteJSON(w, http.StatusCreated, LectureView(l))
		return nil
	}
}

func (a *API) listLectures(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	list := func(p store.PageRequest) ([]store.Lecture, int, error) {
		if id.Role == wire.RoleProfessor {
			return a.store.LecturesByOwner(r.Context(), id.UserID, p)
		}
		return a.store.LecturesByMember(r.Context(), id.UserID, p)
	}
	return writePage(w, r, list, LectureView)
}

// LectureView is the wire view of a lecture.
func LectureView(l store.Lecture) wire.Lecture {
	return wire.Lecture{ID: l.ID, Title: l.Title, Code: l.Code, OwnerID: l.OwnerID, OwnerName: l.OwnerName,
		Active: l.Active, CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}
}

var errNoLecture = httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no such lecture")

// OwnedLecture loads the lecture in {id} and checks the caller owns it.
// Someone else's lecture is indistinguishable from a missing one.
func OwnedLecture(ctx context.Context, st store.Lectures, r *http.Request, id auth.Identity) (store.Lecture, error) {
	lid, err := httpx.PathID(r, "id")
	if err != nil {
		return store.Lecture{}, err
	}
	l, err := st.LectureByID(ctx, lid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && l.OwnerID != id.UserID) {
		return store.Lecture{}, errNoLecture
	}
	return l, err
}

func (a *API) getLecture(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	lid, err := httpx.PathID(r, "id")
	if err != nil {
		return err
	}
	l, err := a.store.LectureByID(r.Context(), lid)
	if errors.Is(err, store.ErrNotFound) {
		return errNoLecture
	}
	if err != nil {
		return err
	}
	allowed := l.OwnerID == id.UserID
	if !allowed && id.Role == wire.RoleStudent {
		if allowed, err = a.store.IsMember(r.Context(), l.ID, id.UserID); err != nil {
			return err
		}
	}
	if !allowed {
		return errNoLecture
	}
	httpx.WriteJSON(w, http.StatusOK, LectureView(l))
	return nil
}

func (a *API) updateLecture(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	var body wire.UpdateLectureRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if body.Title != nil {
		title, err := validTitle(*body.Title)
		if err != nil {
			return err
		}
		if l, err = a.store.UpdateLectureTitle(r.Context(), l.ID, title); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, LectureView(l))
	return nil
}

func (a *API) deleteLecture(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	members := a.memberIDs(r.Context(), l.ID)
	if err := a.store.DeleteLecture(r.Context(), l.ID); err != nil {
		return err
	}
	a.tell(r.Context(), l.ID, members...)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) activate(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	return a.setActive(w, r, id, true)
}

func (a *API) deactivate(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	return a.setActive(w, r, id, false)
}

func (a *API) setActive(w http.ResponseWriter, r *http.Request, id auth.Identity, active bool) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	owner, err := a.store.UserByID(r.Context(), id.UserID)
	if err != nil {
		return err
	}
	limits := plan.For(owner.PremiumUntil, a.now())
	l, err = a.store.SetLectureActive(r.Context(), l.ID, active, limits.MaxActiveLectures)
	if errors.Is(err, store.ErrLimitReached) {
		return httpx.Errorf(http.StatusConflict, wire.CodePlanLimit,
			"the free plan allows %d active lectures at once; deactivate one or upgrade to Premium", limits.MaxActiveLectures)
	}
	if err != nil {
		return err
	}
	l.OwnerName = id.Name
	a.tell(r.Context(), l.ID, a.memberIDs(r.Context(), l.ID)...)
	httpx.WriteJSON(w, http.StatusOK, LectureView(l))
	return nil
}

func (a *API) audit(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	list := func(p store.PageRequest) ([]store.AuditEntry, int, error) {
		return a.store.AuditByLecture(r.Context(), l.ID, p)
	}
	return writePage(w, r, list, func(e store.AuditEntry) wire.AuditRecord {
		return wire.AuditRecord{ID: e.ID, ActorID: e.ActorID, SubjectID: e.SubjectID, Action: e.Action,
			Detail: e.Detail, Replica: e.Replica, At: e.At.UTC()}
	})
}

// writePage answers one page of a list: it reads ?page= and ?size=, asks
// list for that page and converts each item to its wire view.
func writePage[S, W any](w http.ResponseWriter, r *http.Request, list func(store.PageRequest) ([]S, int, error), view func(S) W) error {
	page, size, err := httpx.Paging(r)
	if err != nil {
		return err
	}
	items, total, err := list(store.PageRequest{Page: page, Size: size})
	if err != nil {
		return err
	}
	out := wire.Page[W]{Items: make([]W, 0, len(items)), Page: page, Size: size, Total: total}
	for _, it := range items {
		out.Items = append(out.Items, view(it))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
