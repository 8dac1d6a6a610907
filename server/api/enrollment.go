package api

import (
	"errors"
	"net/http"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
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
	l, err := a.store.LectureByCode(r.Context(), code)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no lecture has the code %s", code)
	}
	if err != nil {
		return err
	}
	e, err := a.store.RequestJoin(r.Context(), l.ID, id.UserID)
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
	httpx.WriteJSON(w, http.StatusCreated, EnrollmentView(e))
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
	e, err = a.store.DecideEnrollment(r.Context(), e.ID, accept)
	if errors.Is(err, store.ErrInvalidState) {
		return httpx.Errorf(http.StatusConflict, wire.CodeInvalidState, "only a waiting request can be accepted or rejected")
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, EnrollmentView(e))
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
	httpx.WriteJSON(w, http.StatusOK, EnrollmentView(e))
	return nil
}

func (a *API) members(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	list := func(p store.PageRequest) ([]store.Member, int, error) { return a.store.Members(r.Context(), l.ID, p) }
	return writePage(w, r, list, func(m store.Member) wire.Member {
		return wire.Member{StudentID: m.StudentID, Name: m.Name, Email: m.Email, JoinedAt: m.JoinedAt.UTC()}
	})
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
