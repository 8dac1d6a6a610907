package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// EnrollmentView is the wire view of an enrollment.
func EnrollmentView(e store.Enrollment) wire.Enrollment {
	return wire.Enrollment{ID: e.ID, LectureID: e.LectureID, LectureTitle: e.LectureTitle, StudentID: e.StudentID,
		StudentName: e.StudentName, StudentEmail: e.StudentEmail, Status: e.Status,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
}

func (a *API) join(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	var body wire.JoinLectureRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	code := NormalizeCode(body.Code)
	if len(code) != CodeLen {
		return httpx.Invalid(wire.FieldError{Field: "code", Message: "must be the 6-character code shown by the professor"})
	}
	ctx := r.Context()
	userKey := "join:user:" + strconv.FormatInt(id.UserID, 10)
	addrKey := "join:addr:" + httpx.AddrKey(httpx.ClientAddr(r))
	if err := a.codeWait(ctx, userKey, addrKey); err != nil {
		return err
	}
	l, err := a.store.LectureByCode(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		now := a.now()
		if _, err := a.limits.Fail(ctx, userKey, now, userCodeBackoff.Keep); err != nil {
			return fmt.Errorf("join throttle: %w", err)
		}
		if _, err := a.limits.Fail(ctx, addrKey, now, addrCodeBackoff.Keep); err != nil {
			return fmt.Errorf("join throttle: %w", err)
		}
		return httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no lecture has the code %s", code)
	}
	if err != nil {
		return err
	}
	if err := a.requestAllowed(ctx, l, id.UserID); err != nil {
		return err
	}
	e, err := a.store.RequestJoin(ctx, l.ID, id.UserID)
	switch {
	case errors.Is(err, store.ErrAlreadyWaiting):
		return httpx.Errorf(http.StatusConflict, wire.CodeAlreadyWaiting, "your request to join %q is already waiting for the professor", l.Title)
	case errors.Is(err, store.ErrAlreadyMember):
		return httpx.Errorf(http.StatusConflict, wire.CodeAlreadyMember, "you are already a member of %q", l.Title)
	case errors.Is(err, store.ErrNotFound):
		return httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no lecture has the code %s", code)
	case err != nil:
		return err
	}
	if err := a.spendRequest(ctx, l.ID, id.UserID); err != nil {
		return err
	}
	a.publishEnrollment(ctx, e)
	httpx.WriteJSON(w, http.StatusCreated, EnrollmentView(e))
	return nil
}

// Join-code guessing is slowed per student and per client address: after
// a few wrong codes each further one waits longer (a class typing codes
// behind one NAT gets a larger allowance).
var (
	userCodeBackoff = limit.Backoff{Free: 10, Base: time.Second, Max: 5 * time.Minute, Keep: 30 * time.Minute}
	addrCodeBackoff = limit.Backoff{Free: 50, Base: time.Second, Max: time.Minute, Keep: 15 * time.Minute}
)

// Join requests are bounded so a student cannot fill a professor's queue:
// a rejected request can be repeated after RejectCooldown, and a student
// files at most requestsPerHour requests (requestsPerLecture to one lecture)
// until an hour has passed since the latest.
const (
	requestsPerHour    = 30
	requestsPerLecture = 5
)

func (a *API) codeWait(ctx context.Context, keys ...string) error {
	now := a.now()
	for i, k := range keys {
		b := userCodeBackoff
		if i > 0 {
			b = addrCodeBackoff
		}
		f, err := a.limits.Failures(ctx, k)
		if err != nil {
			return fmt.Errorf("join throttle: %w", err)
		}
		if w := b.Wait(f, now); w > 0 {
			e := httpx.Errorf(http.StatusTooManyRequests, wire.CodeRateLimited, "too many wrong join codes; try again in %d seconds", int(w.Seconds())+1)
			e.RetryAfter = w
			return e
		}
	}
	return nil
}

// requestAllowed applies the rejection cooldown and the request budget.
func (a *API) requestAllowed(ctx context.Context, l store.Lecture, studentID int64) error {
	var rejected []store.Enrollment
	if a.RejectCooldown > 0 {
		var err error
		rejected, _, err = a.store.EnrollmentsByStudent(ctx, studentID, wire.EnrollmentRejected, store.PageRequest{Page: 1, Size: wire.MaxPageSize})
		if err != nil {
			return fmt.Errorf("checking earlier requests: %w", err)
		}
	}
	for _, e := range rejected { // newest first (none when there is no cooldown)
		if e.LectureID != l.ID {
			continue
		}
		if wait := e.UpdatedAt.Add(a.RejectCooldown).Sub(a.now()); wait > 0 {
			he := httpx.Errorf(http.StatusTooManyRequests, wire.CodeRateLimited,
				"the professor declined your request to join %q; you can ask again in %s", l.Title, wait.Round(time.Second))
			he.RetryAfter = wait
			return he
		}
		break
	}
	for _, b := range requestBudgets(l.ID, studentID) {
		f, err := a.limits.Failures(ctx, b.key)
		if err != nil {
			return fmt.Errorf("join request budget: %w", err)
		}
		if f.N >= b.max {
			he := httpx.Errorf(http.StatusTooManyRequests, wire.CodeRateLimited, "too many join requests; try again in an hour")
			he.RetryAfter = time.Hour
			return he
		}
	}
	return nil
}

type budget struct {
	key string
	max int64
}

// requestBudgets are the counters a filed request spends; each is
// forgotten an hour after its latest request.
func requestBudgets(lectureID, studentID int64) []budget {
	sid := strconv.FormatInt(studentID, 10)
	return []budget{{"joinreq:" + sid, requestsPerHour}, {"joinreq:" + sid + ":" + strconv.FormatInt(lectureID, 10), requestsPerLecture}}
}

func (a *API) spendRequest(ctx context.Context, lectureID, studentID int64) error {
	for _, b := range requestBudgets(lectureID, studentID) {
		if _, err := a.limits.Fail(ctx, b.key, a.now(), time.Hour); err != nil {
			return fmt.Errorf("join request budget: %w", err)
		}
	}
	return nil
}

func (a *API) lectureEnrollments(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	status, err := statusFilter(r)
	if err != nil {
		return err
	}
	list := func(p store.PageRequest) ([]store.Enrollment, int, error) {
		return a.store.EnrollmentsByLecture(r.Context(), l.ID, status, p)
	}
	return writePage(w, r, list, EnrollmentView)
}

func (a *API) myEnrollments(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	status, err := statusFilter(r)
	if err != nil {
		return err
	}
	list := func(p store.PageRequest) ([]store.Enrollment, int, error) {
		return a.store.EnrollmentsByStudent(r.Context(), id.UserID, status, p)
	}
	return writePage(w, r, list, EnrollmentView)
}

func statusFilter(r *http.Request) (wire.EnrollmentStatus, error) {
	s := wire.EnrollmentStatus(r.URL.Query().Get("status"))
	if s != "" && !s.Valid() {
		e := httpx.Errorf(http.StatusBadRequest, wire.CodeBadRequest, "unknown status %q", s)
		e.Problem.Errors = []wire.FieldError{{Field: "status", Message: "must be waiting, accepted, rejected or cancelled"}}
		return "", e
	}
	return s, nil
}

var errNoEnrollment = httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no such enrollment request")

// ownedEnrollment loads {id} and checks the caller owns its lecture.
func (a *API) ownedEnrollment(r *http.Request, id auth.Identity) (store.Enrollment, error) {
	eid, err := httpx.PathID(r, "id")
	if err != nil {
		return store.Enrollment{}, err
	}
	e, err := a.store.EnrollmentByID(r.Context(), eid)
	if errors.Is(err, store.ErrNotFound) {
		return e, errNoEnrollment
	}
	if err != nil {
		return e, err
	}
	l, err := a.store.LectureByID(r.Context(), e.LectureID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && l.OwnerID != id.UserID) {
		return e, errNoEnrollment
	}
	return e, err
}

func (a *API) accept(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	return a.decide(w, r, id, true)
}

func (a *API) reject(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	return a.decide(w, r, id, false)
}

func (a *API) decide(w http.ResponseWriter, r *http.Request, id auth.Identity, accept bool) error {
	e, err := a.ownedEnrollment(r, id)
	if err != nil {
		return err
	}
	e, err = a.decideOne(r.Context(), id, e, accept, "")
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, EnrollmentView(e))
	return nil
}

var errNotWaiting = httpx.Errorf(http.StatusConflict, wire.CodeInvalidState, "only a waiting request can be accepted or rejected")

// decideOne accepts or rejects one request the caller owns, records it in
// the lecture's audit log and tells the watching consoles.
func (a *API) decideOne(ctx context.Context, id auth.Identity, e store.Enrollment, accept bool, detail string) (store.Enrollment, error) {
	e, err := a.store.DecideEnrollment(ctx, e.ID, accept)
	if errors.Is(err, store.ErrInvalidState) {
		return e, errNotWaiting
	}
	if errors.Is(err, store.ErrNotFound) {
		return e, errNoEnrollment
	}
	if err != nil {
		return e, err
	}
	action := "enrollment_reject"
	if accept {
		action = "enrollment_accept"
	}
	if err := a.store.AppendAudit(ctx, store.AuditEntry{LectureID: e.LectureID, ActorID: id.UserID, SubjectID: e.StudentID,
		Action: action, Detail: detail, Replica: a.Replica}); err != nil {
		// The decision stands (it is committed); the gap is logged loudly.
		a.logger.Error("auditing enrollment decision", "enrollment_id", e.ID, "action", action, "err", err)
	}
	a.publishEnrollment(ctx, e)
	a.tell(ctx, e.LectureID, e.StudentID)
	return e, nil
}

func (a *API) bulkAccept(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	return a.bulkDecide(w, r, id, true)
}

func (a *API) bulkReject(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	return a.bulkDecide(w, r, id, false)
}

// bulkDecide decides several requests of one lecture. Each is its own
// transaction: one that cannot be decided (another lecture's, no longer
// waiting) is reported with its reason and the rest go through.
func (a *API) bulkDecide(w http.ResponseWriter, r *http.Request, id auth.Identity, accept bool) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	var body wire.BulkDecisionRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	switch {
	case body.All && len(body.IDs) > 0:
		return httpx.Invalid(wire.FieldError{Field: "all", Message: "give either ids or all, not both"})
	case body.All && !accept:
		return httpx.Invalid(wire.FieldError{Field: "all", Message: "rejecting every request at once is not offered; list the ids"})
	case !body.All && len(body.IDs) == 0:
		return httpx.Invalid(wire.FieldError{Field: "ids", Message: "list at least one enrollment id, or set all to true"})
	case len(body.IDs) > wire.MaxBulkIDs:
		return httpx.Invalid(wire.FieldError{Field: "ids", Message: fmt.Sprintf("at most %d ids at once", wire.MaxBulkIDs)})
	}
	ctx := r.Context()
	var todo []store.Enrollment
	if body.All {
		for page := 1; ; page++ {
			es, total, err := a.store.EnrollmentsByLecture(ctx, l.ID, wire.EnrollmentWaiting, store.PageRequest{Page: page, Size: wire.MaxPageSize})
			if err != nil {
				return err
			}
			todo = append(todo, es...)
			if len(es) == 0 || len(todo) >= total || len(todo) >= wire.MaxBulkIDs {
				break
			}
		}
	} else {
		seen := map[int64]bool{}
		for _, eid := range body.IDs {
			if seen[eid] {
				continue
			}
			seen[eid] = true
			todo = append(todo, store.Enrollment{ID: eid})
		}
	}
	detail := "bulk"
	if body.All {
		detail = "accept all"
	}
	out := wire.BulkDecisionResult{Results: make([]wire.BulkDecisionItem, 0, len(todo))}
	for _, e := range todo {
		item := wire.BulkDecisionItem{ID: e.ID}
		if !body.All { // listed ids must belong to this lecture
			got, err := a.store.EnrollmentByID(ctx, e.ID)
			switch {
			case errors.Is(err, store.ErrNotFound) || (err == nil && got.LectureID != l.ID):
				err = errNoEnrollment
			case err != nil:
				return err
			}
			if err != nil {
				item.Code, item.Detail = wire.CodeNotFound, "no such join request in this lecture"
				out.Results, out.Failed = append(out.Results, item), out.Failed+1
				continue
			}
			e = got
		}
		decided, err := a.decideOne(ctx, id, e, accept, detail)
		var he *httpx.Error
		if errors.As(err, &he) {
			item.Code, item.Detail = he.Problem.Code, he.Problem.Detail
			out.Results, out.Failed = append(out.Results, item), out.Failed+1
			continue
		}
		if err != nil {
			return err
		}
		v := EnrollmentView(decided)
		item.OK, item.Enrollment = true, &v
		out.Results, out.Succeeded = append(out.Results, item), out.Succeeded+1
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) cancel(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	eid, err := httpx.PathID(r, "id")
	if err != nil {
		return err
	}
	e, err := a.store.CancelEnrollment(r.Context(), eid, id.UserID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return errNoEnrollment
	case errors.Is(err, store.ErrInvalidState):
		return httpx.Errorf(http.StatusConflict, wire.CodeInvalidState, "only a waiting request can be cancelled")
	case err != nil:
		return err
	}
	a.publishEnrollment(r.Context(), e)
	httpx.WriteJSON(w, http.StatusOK, EnrollmentView(e))
	return nil
}

func (a *API) members(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	list := func(p store.PageRequest) ([]store.Member, int, error) { return a.store.Members(r.Context(), l.ID, p) }
	return writePage(w, r, list, memberView)
}

var errNotMember = httpx.Errorf(http.StatusNotFound, wire.CodeNotMember, "that student is not a member of this lecture")

func (a *API) removeMember(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	sid, err := httpx.PathID(r, "studentId")
	if err != nil {
		return err
	}
	if err := a.store.RemoveMember(r.Context(), l.ID, sid); errors.Is(err, store.ErrNotFound) {
		return errNotMember
	} else if err != nil {
		return err
	}
	a.tell(r.Context(), l.ID, sid)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) leave(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	lid, err := httpx.PathID(r, "id")
	if err != nil {
		return err
	}
	if _, err := a.store.LectureByID(r.Context(), lid); errors.Is(err, store.ErrNotFound) {
		return errNoLecture
	} else if err != nil {
		return err
	}
	if err := a.store.RemoveMember(r.Context(), lid, id.UserID); errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, wire.CodeNotMember, "you are not a member of this lecture")
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
