// Package storetest is the behaviour suite every store.Store implementation
// must pass: the same rules, races included, for SQLite and PostgreSQL.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Run runs every rule as a subtest; open must return a fresh, empty store
// (closed by the caller's cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Users", testUsers},
		{"Times", testTimes},
		{"LectureCode", testLectureCode},
		{"LectureCRUD", testLectureCRUD},
		{"SoftDelete", testSoftDelete},
		{"ActiveLimitRace", testActiveLimitRace},
		{"ActiveNoop", testActiveNoop},
		{"RequestJoin", testRequestJoin},
		{"RequestJoinRace", testRequestJoinRace},
		{"DecideEnrollment", testDecide},
		{"DecideRace", testDecideRace},
		{"CancelEnrollment", testCancel},
		{"RemoveMember", testRemoveMember},
		{"LecturesByMember", testLecturesByMember},
		{"Pagination", testPagination},
		{"RefreshTokens", testRefreshTokens},
		{"RotationRace", testRotationRace},
		{"Secret", testSecret},
		{"Presence", testPresence},
		{"PresenceRace", testPresenceRace},
		{"AttendanceByLecture", testAttendance},
		{"Audit", testAudit},
		{"AuditRetention", testAuditRetention},
		{"AddMembers", testAddMembers},
		{"AddMembersLarge", testAddMembersLarge},
		{"PasswordResets", testPasswordResets},
		{"Classroom", testClassroom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mkUser(t *testing.T, s store.Store, role wire.Role, name string) store.User {
	t.Helper()
	u, err := s.CreateUser(ctxT(t), store.User{
		Email: name + "@Example.org", Name: name, Role: role, PasswordHash: "hash-" + name,
	})
	if err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	return u
}

func mkLecture(t *testing.T, s store.Store, owner store.User, code string) store.Lecture {
	t.Helper()
	l, err := s.CreateLecture(ctxT(t), store.Lecture{OwnerID: owner.ID, Title: "Lecture " + code, Code: code})
	if err != nil {
		t.Fatalf("CreateLecture %s: %v", code, err)
	}
	return l
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// parallel runs fn(i) for i in [0, n) at once and returns the errors.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// tally counts nil errors and errors matching want; anything else fails.
func tally(t *testing.T, errs []error, want error) (ok, matched int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			matched++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok, matched
}

func testUsers(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u, err := s.CreateUser(ctx, store.User{Email: "Ada@Example.ORG", Name: "Ada", Role: wire.RoleProfessor, PasswordHash: "h"})
	noErr(t, "CreateUser", err)
	if u.ID == 0 || u.Email != "ada@example.org" || u.CreatedAt.IsZero() {
		t.Fatalf("created user = %+v", u)
	}
	_, err = s.CreateUser(ctx, store.User{Email: "ADA@example.org", Name: "Other", Role: wire.RoleStudent, PasswordHash: "h"})
	wantErr(t, "duplicate e-mail in another case", err, store.ErrEmailTaken)

	for _, email := range []string{"ada@example.org", "ADA@EXAMPLE.ORG"} {
		got, err := s.UserByEmail(ctx, email)
		noErr(t, "UserByEmail "+email, err)
		if got.ID != u.ID || got.Name != "Ada" || got.Role != wire.RoleProfessor || got.PasswordHash != "h" {
			t.Fatalf("UserByEmail(%s) = %+v", email, got)
		}
	}
	got, err := s.UserByID(ctx, u.ID)
	noErr(t, "UserByID", err)
	if got.Email != u.Email || !got.CreatedAt.Equal(u.CreatedAt) || !got.PremiumUntil.IsZero() {
		t.Fatalf("UserByID = %+v, created %+v", got, u)
	}
	_, err = s.UserByID(ctx, u.ID+1000)
	wantErr(t, "UserByID unknown", err, store.ErrNotFound)
	_, err = s.UserByEmail(ctx, "nobody@example.org")
	wantErr(t, "UserByEmail unknown", err, store.ErrNotFound)

	until := time.Date(2031, 3, 4, 5, 6, 7, 891234000, time.UTC)
	noErr(t, "SetPremiumUntil", s.SetPremiumUntil(ctx, u.ID, until))
	got, _ = s.UserByID(ctx, u.ID)
	if !got.PremiumUntil.Equal(until) {
		t.Fatalf("PremiumUntil = %v, want %v", got.PremiumUntil, until)
	}
	noErr(t, "clear premium", s.SetPremiumUntil(ctx, u.ID, time.Time{}))
	got, _ = s.UserByID(ctx, u.ID)
	if !got.PremiumUntil.IsZero() {
		t.Fatalf("PremiumUntil after clearing = %v", got.PremiumUntil)
	}
	wantErr(t, "SetPremiumUntil unknown", s.SetPremiumUntil(ctx, u.ID+1000, until), store.ErrNotFound)
}

func testTimes(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	zone := time.FixedZone("KST", 9*3600)
	until := time.Date(2030, 1, 2, 3, 4, 5, 123456789, zone)
	u, err := s.CreateUser(ctx, store.User{Email: "t@example.org", Name: "T", Role: wire.RoleStudent, PasswordHash: "h", PremiumUntil: until})
	noErr(t, "CreateUser", err)
	got, err := s.UserByID(ctx, u.ID)
	noErr(t, "UserByID", err)
	want := until.Truncate(time.Microsecond)
	if !got.PremiumUntil.Equal(want) || got.PremiumUntil.Location() != time.UTC {
		t.Fatalf("PremiumUntil = %v (%v), want %v in UTC", got.PremiumUntil, got.PremiumUntil.Location(), want)
	}
	if got.CreatedAt.Location() != time.UTC || time.Since(got.CreatedAt) > time.Hour || time.Since(got.CreatedAt) < -time.Hour {
		t.Fatalf("CreatedAt = %v", got.CreatedAt)
	}
	l := mkLecture(t, s, u, "TIMES1")
	if l.CreatedAt.Location() != time.UTC || l.UpdatedAt.Location() != time.UTC {
		t.Fatalf("lecture times not UTC: %+v", l)
	}
	at := time.Date(2026, 5, 6, 7, 8, 9, 987654321, zone)
	noErr(t, "AppendAudit", s.AppendAudit(ctx, store.AuditEntry{LectureID: l.ID, Action: "join", At: at}))
	es, _, err := s.AuditByLecture(ctx, l.ID, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "AuditByLecture", err)
	if len(es) != 1 || !es[0].At.Equal(at.Truncate(time.Microsecond)) || es[0].At.Location() != time.UTC {
		t.Fatalf("audit time = %+v, want %v", es, at.Truncate(time.Microsecond))
	}
}

func testLectureCode(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	q := mkUser(t, s, wire.RoleProfessor, "prof2")
	l := mkLecture(t, s, p, "ABC123")
	_, err := s.CreateLecture(ctx, store.Lecture{OwnerID: q.ID, Title: "Other", Code: "ABC123"})
	wantErr(t, "duplicate code", err, store.ErrCodeTaken)
	noErr(t, "DeleteLecture", s.DeleteLecture(ctx, l.ID))
	l2, err := s.CreateLecture(ctx, store.Lecture{OwnerID: q.ID, Title: "Reuse", Code: "ABC123"})
	noErr(t, "code of a deleted lecture is free again", err)
	got, err := s.LectureByCode(ctx, "ABC123")
	noErr(t, "LectureByCode", err)
	if got.ID != l2.ID {
		t.Fatalf("LectureByCode = %d, want the live one %d", got.ID, l2.ID)
	}
	_, err = s.CreateLecture(ctx, store.Lecture{OwnerID: p.ID + 1000, Title: "Orphan", Code: "ORPHAN"})
	wantErr(t, "unknown owner", err, store.ErrNotFound)
}

func testLectureCRUD(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "Grace")
	l := mkLecture(t, s, p, "CRUD01")
	if l.ID == 0 || l.OwnerID != p.ID || l.OwnerName != "Grace" || l.Active || l.Title != "Lecture CRUD01" || l.CreatedAt.IsZero() {
		t.Fatalf("created lecture = %+v", l)
	}
	got, err := s.LectureByID(ctx, l.ID)
	noErr(t, "LectureByID", err)
	if got != l {
		t.Fatalf("LectureByID = %+v, want %+v", got, l)
	}
	up, err := s.UpdateLectureTitle(ctx, l.ID, "Compilers")
	noErr(t, "UpdateLectureTitle", err)
	if up.Title != "Compilers" || up.UpdatedAt.Before(l.UpdatedAt) || up.OwnerName != "Grace" {
		t.Fatalf("renamed = %+v", up)
	}
	got, _ = s.LectureByCode(ctx, "CRUD01")
	if got.Title != "Compilers" {
		t.Fatalf("LectureByCode after rename = %+v", got)
	}
	_, err = s.LectureByCode(ctx, "NOPE")
	wantErr(t, "unknown code", err, store.ErrNotFound)
	_, err = s.LectureByID(ctx, l.ID+1000)
	wantErr(t, "unknown id", err, store.ErrNotFound)
	on, err := s.SetLectureActive(ctx, l.ID, true, 0)
	noErr(t, "activate without limit", err)
	if !on.Active {
		t.Fatalf("not active: %+v", on)
	}
	off, err := s.SetLectureActive(ctx, l.ID, false, 1)
	noErr(t, "deactivate", err)
	if off.Active {
		t.Fatalf("still active: %+v", off)
	}
}

func testSoftDelete(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	st2 := mkUser(t, s, wire.RoleStudent, "stud2")
	l := mkLecture(t, s, p, "DEL001")
	keep := mkLecture(t, s, p, "KEEP01")
	e, err := s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "RequestJoin", err)
	_, err = s.DecideEnrollment(ctx, e.ID, true)
	noErr(t, "accept", err)
	w, err := s.RequestJoin(ctx, l.ID, st2.ID)
	noErr(t, "RequestJoin 2", err)
	_, err = s.SetLectureActive(ctx, l.ID, true, 1)
	noErr(t, "activate", err)

	noErr(t, "DeleteLecture", s.DeleteLecture(ctx, l.ID))
	wantErr(t, "delete twice", s.DeleteLecture(ctx, l.ID), store.ErrNotFound)
	_, err = s.LectureByID(ctx, l.ID)
	wantErr(t, "LectureByID", err, store.ErrNotFound)
	_, err = s.LectureByCode(ctx, "DEL001")
	wantErr(t, "LectureByCode", err, store.ErrNotFound)
	_, err = s.UpdateLectureTitle(ctx, l.ID, "x")
	wantErr(t, "UpdateLectureTitle", err, store.ErrNotFound)
	_, err = s.SetLectureActive(ctx, l.ID, true, 0)
	wantErr(t, "SetLectureActive", err, store.ErrNotFound)
	_, err = s.RequestJoin(ctx, l.ID, st2.ID)
	wantErr(t, "RequestJoin", err, store.ErrNotFound)
	_, err = s.EnrollmentByID(ctx, w.ID)
	wantErr(t, "EnrollmentByID", err, store.ErrNotFound)
	_, err = s.DecideEnrollment(ctx, w.ID, true)
	wantErr(t, "DecideEnrollment", err, store.ErrNotFound)
	wantErr(t, "RemoveMember", s.RemoveMember(ctx, l.ID, st.ID), store.ErrNotFound)
	if ok, err := s.IsMember(ctx, l.ID, st.ID); err != nil || ok {
		t.Fatalf("IsMember on deleted lecture = %v, %v", ok, err)
	}
	ls, n, err := s.LecturesByOwner(ctx, p.ID, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "LecturesByOwner", err)
	if n != 1 || len(ls) != 1 || ls[0].ID != keep.ID {
		t.Fatalf("LecturesByOwner = %d %+v, want only %d", n, ls, keep.ID)
	}
	ls, n, err = s.LecturesByMember(ctx, st.ID, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "LecturesByMember", err)
	if n != 0 || len(ls) != 0 {
		t.Fatalf("LecturesByMember = %d %+v", n, ls)
	}
	es, n, err := s.EnrollmentsByStudent(ctx, st2.ID, "", store.PageRequest{Page: 1, Size: 10})
	noErr(t, "EnrollmentsByStudent", err)
	if n != 0 || len(es) != 0 {
		t.Fatalf("EnrollmentsByStudent = %d %+v", n, es)
	}
	ms, n, err := s.Members(ctx, l.ID, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "Members", err)
	if n != 0 || len(ms) != 0 {
		t.Fatalf("Members = %d %+v", n, ms)
	}
	// The deleted lecture was active; it must not hold the owner's only slot.
	_, err = s.SetLectureActive(ctx, keep.ID, true, 1)
	noErr(t, "activate the other lecture with limit 1", err)
}

func testActiveLimitRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	other := mkUser(t, s, wire.RoleProfessor, "other")
	const n, limit = 100, 3
	ls := make([]store.Lecture, n)
	for i := range ls {
		ls[i] = mkLecture(t, s, p, fmt.Sprintf("R%05d", i))
	}
	ol := mkLecture(t, s, other, "OTHER1")
	errs := parallel(n, func(i int) error {
		_, err := s.SetLectureActive(ctx, ls[i].ID, true, limit)
		return err
	})
	ok, limited := tally(t, errs, store.ErrLimitReached)
	if ok != limit || limited != n-limit {
		t.Fatalf("%d activations succeeded and %d hit the limit, want %d and %d", ok, limited, limit, n-limit)
	}
	all, total, err := s.LecturesByOwner(ctx, p.ID, store.PageRequest{Page: 1, Size: n})
	noErr(t, "LecturesByOwner", err)
	active := []int64{}
	for _, l := range all {
		if l.Active {
			active = append(active, l.ID)
		}
	}
	if total != n || len(active) != limit {
		t.Fatalf("total %d, active %v; want %d and %d active", total, active, n, limit)
	}
	// Another owner's limit is separate.
	_, err = s.SetLectureActive(ctx, ol.ID, true, 1)
	noErr(t, "other owner activates", err)
	// Deactivating always works, and frees a slot.
	_, err = s.SetLectureActive(ctx, active[0], false, limit)
	noErr(t, "deactivate", err)
	var free int64
	for _, l := range all {
		if !l.Active {
			free = l.ID
			break
		}
	}
	_, err = s.SetLectureActive(ctx, free, true, limit)
	noErr(t, "activate into the freed slot", err)
	_, err = s.SetLectureActive(ctx, active[0], true, limit)
	wantErr(t, "activate over the limit", err, store.ErrLimitReached)
}

func testActiveNoop(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	a := mkLecture(t, s, p, "NOOP01")
	b := mkLecture(t, s, p, "NOOP02")
	_, err := s.SetLectureActive(ctx, a.ID, true, 1)
	noErr(t, "activate", err)
	got, err := s.SetLectureActive(ctx, a.ID, true, 1)
	noErr(t, "activating an active lecture at the limit is a no-op", err)
	if !got.Active {
		t.Fatalf("not active: %+v", got)
	}
	_, err = s.SetLectureActive(ctx, b.ID, true, 1)
	wantErr(t, "second lecture", err, store.ErrLimitReached)
	// Concurrent re-activations of the same lecture count once.
	errs := parallel(10, func(int) error { _, err := s.SetLectureActive(ctx, a.ID, true, 2); return err })
	if ok, _ := tally(t, errs, store.ErrLimitReached); ok != 10 {
		t.Fatalf("%d of 10 no-op activations succeeded", ok)
	}
	_, err = s.SetLectureActive(ctx, b.ID, true, 2)
	noErr(t, "second lecture with limit 2", err)
	off, err := s.SetLectureActive(ctx, b.ID, false, 0)
	noErr(t, "deactivate", err)
	off, err = s.SetLectureActive(ctx, b.ID, false, 0)
	noErr(t, "deactivate twice", err)
	if off.Active {
		t.Fatalf("still active: %+v", off)
	}
}

func testRequestJoin(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "Sam")
	l := mkLecture(t, s, p, "JOIN01")
	e, err := s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "RequestJoin", err)
	if e.Status != wire.EnrollmentWaiting || e.LectureID != l.ID || e.StudentID != st.ID ||
		e.StudentName != "Sam" || e.StudentEmail != "sam@example.org" || e.LectureTitle != l.Title {
		t.Fatalf("enrollment = %+v", e)
	}
	_, err = s.RequestJoin(ctx, l.ID, st.ID)
	wantErr(t, "second waiting request", err, store.ErrAlreadyWaiting)
	_, err = s.CancelEnrollment(ctx, e.ID, st.ID)
	noErr(t, "cancel", err)
	e2, err := s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "request after cancel", err)
	_, err = s.DecideEnrollment(ctx, e2.ID, false)
	noErr(t, "reject", err)
	e3, err := s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "request after reject", err)
	if e3.ID == e.ID || e3.ID == e2.ID {
		t.Fatalf("re-request reused row %d", e3.ID)
	}
	_, err = s.DecideEnrollment(ctx, e3.ID, true)
	noErr(t, "accept", err)
	_, err = s.RequestJoin(ctx, l.ID, st.ID)
	wantErr(t, "member requests", err, store.ErrAlreadyMember)
	_, err = s.RequestJoin(ctx, l.ID+1000, st.ID)
	wantErr(t, "unknown lecture", err, store.ErrNotFound)

	// History is kept.
	es, n, err := s.EnrollmentsByLecture(ctx, l.ID, "", store.PageRequest{Page: 1, Size: 10})
	noErr(t, "EnrollmentsByLecture", err)
	if n != 3 || len(es) != 3 {
		t.Fatalf("history = %d %+v", n, es)
	}
	counts := map[wire.EnrollmentStatus]int{}
	for _, e := range es {
		counts[e.Status]++
	}
	if counts[wire.EnrollmentCancelled] != 1 || counts[wire.EnrollmentRejected] != 1 || counts[wire.EnrollmentAccepted] != 1 {
		t.Fatalf("statuses = %v", counts)
	}
	es, n, err = s.EnrollmentsByStudent(ctx, st.ID, wire.EnrollmentRejected, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "EnrollmentsByStudent rejected", err)
	if n != 1 || len(es) != 1 || es[0].ID != e2.ID {
		t.Fatalf("rejected = %d %+v", n, es)
	}
}

func testRequestJoinRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	l := mkLecture(t, s, p, "RACE01")
	errs := parallel(20, func(int) error { _, err := s.RequestJoin(ctx, l.ID, st.ID); return err })
	ok, dup := tally(t, errs, store.ErrAlreadyWaiting)
	if ok != 1 || dup != 19 {
		t.Fatalf("%d requests succeeded, %d already waiting; want 1 and 19", ok, dup)
	}
	_, n, err := s.EnrollmentsByLecture(ctx, l.ID, wire.EnrollmentWaiting, store.PageRequest{Page: 1, Size: 50})
	noErr(t, "EnrollmentsByLecture", err)
	if n != 1 {
		t.Fatalf("%d waiting rows", n)
	}
}

func testDecide(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	l := mkLecture(t, s, p, "DEC001")
	e, err := s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "RequestJoin", err)
	if ok, _ := s.IsMember(ctx, l.ID, st.ID); ok {
		t.Fatal("member before acceptance")
	}
	got, err := s.DecideEnrollment(ctx, e.ID, true)
	noErr(t, "accept", err)
	if got.Status != wire.EnrollmentAccepted || got.UpdatedAt.Before(e.UpdatedAt) {
		t.Fatalf("accepted = %+v", got)
	}
	if ok, err := s.IsMember(ctx, l.ID, st.ID); err != nil || !ok {
		t.Fatalf("IsMember after accept = %v, %v", ok, err)
	}
	_, err = s.DecideEnrollment(ctx, e.ID, false)
	wantErr(t, "reject an accepted request", err, store.ErrInvalidState)
	_, err = s.DecideEnrollment(ctx, e.ID, true)
	wantErr(t, "accept twice", err, store.ErrInvalidState)
	_, err = s.CancelEnrollment(ctx, e.ID, st.ID)
	wantErr(t, "cancel an accepted request", err, store.ErrInvalidState)
	_, err = s.DecideEnrollment(ctx, e.ID+1000, true)
	wantErr(t, "unknown request", err, store.ErrNotFound)
	got, err = s.EnrollmentByID(ctx, e.ID)
	noErr(t, "EnrollmentByID", err)
	if got.Status != wire.EnrollmentAccepted {
		t.Fatalf("status = %s", got.Status)
	}
	ms, n, err := s.Members(ctx, l.ID, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "Members", err)
	if n != 1 || len(ms) != 1 || ms[0].StudentID != st.ID || ms[0].Name != "stud" || ms[0].Email != "stud@example.org" || ms[0].JoinedAt.IsZero() {
		t.Fatalf("Members = %d %+v", n, ms)
	}
}

func testDecideRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	l := mkLecture(t, s, p, "DRACE1")
	e, err := s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "RequestJoin", err)
	// Accepts, rejects and the student's cancel race: exactly one decides.
	errs := parallel(12, func(i int) error {
		var err error
		switch i % 3 {
		case 0:
			_, err = s.DecideEnrollment(ctx, e.ID, true)
		case 1:
			_, err = s.DecideEnrollment(ctx, e.ID, false)
		default:
			_, err = s.CancelEnrollment(ctx, e.ID, st.ID)
		}
		return err
	})
	if ok, bad := tally(t, errs, store.ErrInvalidState); ok != 1 || bad != 11 {
		t.Fatalf("%d decisions succeeded, %d invalid; want 1 and 11", ok, bad)
	}
	got, err := s.EnrollmentByID(ctx, e.ID)
	noErr(t, "EnrollmentByID", err)
	member, err := s.IsMember(ctx, l.ID, st.ID)
	noErr(t, "IsMember", err)
	if member != (got.Status == wire.EnrollmentAccepted) {
		t.Fatalf("status %s but member=%v", got.Status, member)
	}
}

func testCancel(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	other := mkUser(t, s, wire.RoleStudent, "other")
	l := mkLecture(t, s, p, "CAN001")
	e, err := s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "RequestJoin", err)
	_, err = s.CancelEnrollment(ctx, e.ID, other.ID)
	wantErr(t, "another student cancels", err, store.ErrNotFound)
	got, err := s.CancelEnrollment(ctx, e.ID, st.ID)
	noErr(t, "cancel", err)
	if got.Status != wire.EnrollmentCancelled {
		t.Fatalf("status = %s", got.Status)
	}
	_, err = s.CancelEnrollment(ctx, e.ID, st.ID)
	wantErr(t, "cancel twice", err, store.ErrInvalidState)
	_, err = s.DecideEnrollment(ctx, e.ID, true)
	wantErr(t, "accept a cancelled request", err, store.ErrInvalidState)
	if ok, _ := s.IsMember(ctx, l.ID, st.ID); ok {
		t.Fatal("member after a cancelled request")
	}
}

func testRemoveMember(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	l := mkLecture(t, s, p, "REM001")
	wantErr(t, "remove a non-member", s.RemoveMember(ctx, l.ID, st.ID), store.ErrNotFound)
	e, err := s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "RequestJoin", err)
	wantErr(t, "remove a waiting student", s.RemoveMember(ctx, l.ID, st.ID), store.ErrNotFound)
	_, err = s.DecideEnrollment(ctx, e.ID, true)
	noErr(t, "accept", err)
	noErr(t, "RemoveMember", s.RemoveMember(ctx, l.ID, st.ID))
	if ok, _ := s.IsMember(ctx, l.ID, st.ID); ok {
		t.Fatal("still a member")
	}
	wantErr(t, "remove twice", s.RemoveMember(ctx, l.ID, st.ID), store.ErrNotFound)
	_, err = s.RequestJoin(ctx, l.ID, st.ID)
	noErr(t, "request again after leaving", err)
}

func testLecturesByMember(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	other := mkUser(t, s, wire.RoleStudent, "other")
	var member []int64
	for i := range 5 {
		l := mkLecture(t, s, p, fmt.Sprintf("MEM%03d", i))
		e, err := s.RequestJoin(ctx, l.ID, st.ID)
		noErr(t, "RequestJoin", err)
		switch i {
		case 0, 1, 2:
			_, err = s.DecideEnrollment(ctx, e.ID, true)
			member = append(member, l.ID)
		case 3:
			_, err = s.DecideEnrollment(ctx, e.ID, false)
		}
		noErr(t, "decide", err)
		oe, err := s.RequestJoin(ctx, l.ID, other.ID)
		noErr(t, "RequestJoin other", err)
		_, err = s.DecideEnrollment(ctx, oe.ID, true)
		noErr(t, "accept other", err)
	}
	noErr(t, "DeleteLecture", s.DeleteLecture(ctx, member[1]))
	ls, n, err := s.LecturesByMember(ctx, st.ID, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "LecturesByMember", err)
	// Newest first: lecture 2 then lecture 0 (1 is deleted, 3 rejected, 4 waiting).
	if n != 2 || len(ls) != 2 || ls[0].ID != member[2] || ls[1].ID != member[0] {
		t.Fatalf("LecturesByMember = %d %+v, want [%d %d]", n, ls, member[2], member[0])
	}
	if ls[0].OwnerName != "prof" {
		t.Fatalf("owner name not filled: %+v", ls[0])
	}
	ls, n, err = s.LecturesByMember(ctx, st.ID, store.PageRequest{Page: 2, Size: 1})
	noErr(t, "LecturesByMember page 2", err)
	if n != 2 || len(ls) != 1 || ls[0].ID != member[0] {
		t.Fatalf("page 2 = %d %+v", n, ls)
	}
}

func testPagination(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	const nl = 23
	ids := map[int64]bool{}
	var first store.Lecture
	for i := range nl {
		l := mkLecture(t, s, p, fmt.Sprintf("PAG%03d", i))
		ids[l.ID] = true
		if i == 0 {
			first = l
		}
	}
	// Lectures: created_at desc, id desc; pages partition the set.
	var all []store.Lecture
	for pg := 1; pg <= 3; pg++ {
		ls, n, err := s.LecturesByOwner(ctx, p.ID, store.PageRequest{Page: pg, Size: 10})
		noErr(t, "LecturesByOwner", err)
		if n != nl {
			t.Fatalf("page %d total = %d, want %d", pg, n, nl)
		}
		if want := min(10, nl-(pg-1)*10); len(ls) != want {
			t.Fatalf("page %d has %d items, want %d", pg, len(ls), want)
		}
		all = append(all, ls...)
	}
	seen := map[int64]bool{}
	for i, l := range all {
		if seen[l.ID] || !ids[l.ID] {
			t.Fatalf("lecture %d repeated or foreign", l.ID)
		}
		seen[l.ID] = true
		if i > 0 {
			prev := all[i-1]
			if prev.CreatedAt.Before(l.CreatedAt) || (prev.CreatedAt.Equal(l.CreatedAt) && prev.ID < l.ID) {
				t.Fatalf("lectures out of order at %d: %+v then %+v", i, prev, l)
			}
		}
	}
	if all[len(all)-1].ID != first.ID {
		t.Fatalf("oldest lecture last: got %d, want %d", all[len(all)-1].ID, first.ID)
	}
	ls, n, err := s.LecturesByOwner(ctx, p.ID, store.PageRequest{Page: 9, Size: 10})
	noErr(t, "page past the end", err)
	if n != nl || len(ls) != 0 {
		t.Fatalf("page past the end = %d %d", n, len(ls))
	}

	// Members: by name, then id (equal names too); enrollments: created_at
	// desc, id desc.
	l := first
	names := []string{"mia", "ben", "zoe", "ben", "ada", "wai", "wai"}
	var ids2 []int64
	for i, name := range names {
		st, err := s.CreateUser(ctx, store.User{Email: fmt.Sprintf("s%d@example.org", i), Name: name, Role: wire.RoleStudent, PasswordHash: "h"})
		noErr(t, "CreateUser", err)
		ids2 = append(ids2, st.ID)
		e, err := s.RequestJoin(ctx, l.ID, st.ID)
		noErr(t, "RequestJoin", err)
		if name != "wai" {
			_, err = s.DecideEnrollment(ctx, e.ID, true)
			noErr(t, "accept", err)
		}
	}
	wantOrder := []int64{ids2[4], ids2[1], ids2[3], ids2[0], ids2[2]} // ada, ben, ben, mia, zoe
	var ms []store.Member
	for pg := 1; pg <= 3; pg++ {
		page, n, err := s.Members(ctx, l.ID, store.PageRequest{Page: pg, Size: 2})
		noErr(t, "Members", err)
		if n != 5 {
			t.Fatalf("Members total = %d, want 5", n)
		}
		ms = append(ms, page...)
	}
	if len(ms) != len(wantOrder) {
		t.Fatalf("%d members over three pages", len(ms))
	}
	for i, m := range ms {
		if m.StudentID != wantOrder[i] {
			t.Fatalf("member %d = %+v, want id %d (order name, id)", i, m, wantOrder[i])
		}
	}
	es, n, err := s.EnrollmentsByLecture(ctx, l.ID, "", store.PageRequest{Page: 1, Size: 3})
	noErr(t, "EnrollmentsByLecture", err)
	if n != 7 || len(es) != 3 {
		t.Fatalf("EnrollmentsByLecture = %d %d", n, len(es))
	}
	for pg := 2; pg <= 3; pg++ {
		more, _, err := s.EnrollmentsByLecture(ctx, l.ID, "", store.PageRequest{Page: pg, Size: 3})
		noErr(t, "EnrollmentsByLecture next page", err)
		es = append(es, more...)
	}
	if len(es) != 7 {
		t.Fatalf("%d enrollments over two pages", len(es))
	}
	for i := 1; i < len(es); i++ {
		prev, e := es[i-1], es[i]
		if prev.CreatedAt.Before(e.CreatedAt) || (prev.CreatedAt.Equal(e.CreatedAt) && prev.ID < e.ID) {
			t.Fatalf("enrollments out of order: %+v then %+v", prev, e)
		}
	}
	_, n, err = s.EnrollmentsByLecture(ctx, l.ID, wire.EnrollmentWaiting, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "EnrollmentsByLecture waiting", err)
	if n != 2 {
		t.Fatalf("waiting total = %d, want 2", n)
	}
}

func token(hash string, family string, userID int64, exp time.Time) store.RefreshToken {
	return store.RefreshToken{TokenHash: []byte(hash), FamilyID: family, UserID: userID, Kind: "bearer", ExpiresAt: exp}
}

func testRefreshTokens(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := mkUser(t, s, wire.RoleStudent, "stud")
	now := time.Now().UTC()
	exp := now.Add(time.Hour)
	noErr(t, "CreateRefreshToken", s.CreateRefreshToken(ctx, token("h1", "fam1", u.ID, exp)))
	got, err := s.LookupRefreshToken(ctx, []byte("h1"), now)
	noErr(t, "LookupRefreshToken", err)
	if got.FamilyID != "fam1" || got.UserID != u.ID || got.Kind != "bearer" || !got.ExpiresAt.Equal(exp.Truncate(time.Microsecond)) {
		t.Fatalf("looked up %+v", got)
	}
	_, err = s.LookupRefreshToken(ctx, []byte("h1"), exp)
	wantErr(t, "lookup at expiry", err, store.ErrTokenExpired)
	_, err = s.LookupRefreshToken(ctx, []byte("nope"), now)
	wantErr(t, "lookup unknown", err, store.ErrTokenExpired)

	old, err := s.RotateRefreshToken(ctx, []byte("h1"), token("h2", "", 0, exp), now)
	noErr(t, "rotate", err)
	if string(old.TokenHash) != "h1" || old.FamilyID != "fam1" {
		t.Fatalf("retired = %+v", old)
	}
	got, err = s.LookupRefreshToken(ctx, []byte("h2"), now)
	noErr(t, "lookup the new token", err)
	if got.FamilyID != "fam1" || got.UserID != u.ID {
		t.Fatalf("new token = %+v", got)
	}
	_, err = s.LookupRefreshToken(ctx, []byte("h1"), now)
	wantErr(t, "lookup the rotated token", err, store.ErrTokenExpired)

	// Reusing the rotated token kills the family, the live token included.
	_, err = s.RotateRefreshToken(ctx, []byte("h1"), token("h3", "", 0, exp), now)
	wantErr(t, "reuse", err, store.ErrTokenReused)
	_, err = s.LookupRefreshToken(ctx, []byte("h2"), now)
	wantErr(t, "family revoked", err, store.ErrTokenExpired)
	_, err = s.LookupRefreshToken(ctx, []byte("h3"), now)
	wantErr(t, "the reuser's token was not stored", err, store.ErrTokenExpired)
	_, err = s.RotateRefreshToken(ctx, []byte("h2"), token("h4", "", 0, exp), now)
	wantErr(t, "rotate a revoked token", err, store.ErrTokenExpired)

	// Expired and unknown tokens do not rotate.
	noErr(t, "create", s.CreateRefreshToken(ctx, token("e1", "fam2", u.ID, now.Add(-time.Second))))
	_, err = s.RotateRefreshToken(ctx, []byte("e1"), token("e2", "", 0, exp), now)
	wantErr(t, "rotate expired", err, store.ErrTokenExpired)
	_, err = s.RotateRefreshToken(ctx, []byte("unknown"), token("u2", "", 0, exp), now)
	wantErr(t, "rotate unknown", err, store.ErrTokenExpired)

	// RevokeFamily (logout) touches only that family.
	noErr(t, "create", s.CreateRefreshToken(ctx, token("f3a", "fam3", u.ID, exp)))
	noErr(t, "create", s.CreateRefreshToken(ctx, token("f4a", "fam4", u.ID, exp)))
	noErr(t, "RevokeFamily", s.RevokeFamily(ctx, "fam3"))
	_, err = s.LookupRefreshToken(ctx, []byte("f3a"), now)
	wantErr(t, "revoked family", err, store.ErrTokenExpired)
	_, err = s.LookupRefreshToken(ctx, []byte("f4a"), now)
	noErr(t, "other family still live", err)

	// RevokeUserTokens (password change) keeps one family of the user and
	// leaves other users alone.
	other := mkUser(t, s, wire.RoleStudent, "other-revoke")
	noErr(t, "create", s.CreateRefreshToken(ctx, token("f5a", "fam5", u.ID, exp)))
	noErr(t, "create", s.CreateRefreshToken(ctx, token("o1a", "famO", other.ID, exp)))
	fams, err := s.RevokeUserTokens(ctx, u.ID, "fam5")
	noErr(t, "RevokeUserTokens", err)
	if j := "," + strings.Join(fams, ",") + ","; !strings.Contains(j, ",fam4,") || strings.Contains(j, ",fam3,") || strings.Contains(j, ",fam5,") {
		t.Fatalf("RevokeUserTokens revoked %v: want fam4, not fam3 (revoked already) nor fam5 (kept)", fams)
	}
	_, err = s.LookupRefreshToken(ctx, []byte("f4a"), now)
	wantErr(t, "another family of the user", err, store.ErrTokenExpired)
	_, err = s.LookupRefreshToken(ctx, []byte("f5a"), now)
	noErr(t, "the kept family", err)
	_, err = s.LookupRefreshToken(ctx, []byte("o1a"), now)
	noErr(t, "another user's family", err)

	noErr(t, "SetPasswordHash", s.SetPasswordHash(ctx, u.ID, "new-hash"))
	gotU, err := s.UserByID(ctx, u.ID)
	if err != nil || gotU.PasswordHash != "new-hash" {
		t.Fatalf("after SetPasswordHash: %+v %v", gotU, err)
	}
	wantErr(t, "SetPasswordHash of nobody", s.SetPasswordHash(ctx, u.ID+other.ID+1000, "x"), store.ErrNotFound)
}

func testRotationRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	u := mkUser(t, s, wire.RoleStudent, "stud")
	now := time.Now().UTC()
	exp := now.Add(time.Hour)
	for round := range 5 {
		fam := fmt.Sprintf("race%d", round)
		noErr(t, "create", s.CreateRefreshToken(ctx, token(fam+"-0", fam, u.ID, exp)))
		errs := parallel(2, func(i int) error {
			_, err := s.RotateRefreshToken(ctx, []byte(fam+"-0"), token(fmt.Sprintf("%s-next%d", fam, i), "", 0, exp), now)
			return err
		})
		ok, reused := tally(t, errs, store.ErrTokenReused)
		if ok != 1 || reused != 1 {
			t.Fatalf("round %d: %d rotations won and %d saw reuse (%v); want 1 and 1", round, ok, reused, errs)
		}
		for i := range 2 {
			_, err := s.LookupRefreshToken(ctx, []byte(fmt.Sprintf("%s-next%d", fam, i)), now)
			wantErr(t, "after a rotation race every token of the family is dead", err, store.ErrTokenExpired)
		}
	}
}

func testSecret(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	vals := parallel(16, func(i int) error {
		v, err := s.Secret(ctx, "jwt", func() ([]byte, error) { return []byte(fmt.Sprintf("value-%d", i)), nil })
		if err != nil {
			return err
		}
		return errors.New(string(v)) // carry the value out
	})
	first := vals[0].Error()
	for _, v := range vals {
		if v.Error() != first {
			t.Fatalf("callers got different secrets: %q and %q", first, v.Error())
		}
	}
	called := false
	v, err := s.Secret(ctx, "jwt", func() ([]byte, error) { called = true; return []byte("late"), nil })
	noErr(t, "Secret again", err)
	if string(v) != first || called {
		t.Fatalf("Secret again = %q (gen called: %v), want %q", v, called, first)
	}
	other, err := s.Secret(ctx, "cookie", func() ([]byte, error) { return []byte{0, 1, 2, 255}, nil })
	noErr(t, "another secret", err)
	if string(other) != "\x00\x01\x02\xff" {
		t.Fatalf("binary secret = %x", other)
	}
	_, err = s.Secret(ctx, "broken", func() ([]byte, error) { return nil, errors.New("no entropy") })
	if err == nil {
		t.Fatal("a failing generator must fail Secret")
	}
}

func testPresence(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	l := mkLecture(t, s, p, "PRES01")
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	gap := 30 * time.Second
	seen := func(d time.Duration) {
		t.Helper()
		noErr(t, "RecordPresence", s.RecordPresence(ctx, store.Presence{
			LectureID: l.ID, StudentID: st.ID, Day: "2026-03-02", SeenAt: t0.Add(d), MaxGap: gap,
		}))
	}
	check := func(first, last time.Duration, secs int64) {
		t.Helper()
		rows, err := s.AttendanceByLecture(ctx, l.ID, "", "")
		noErr(t, "AttendanceByLecture", err)
		if len(rows) != 1 {
			t.Fatalf("%d rows", len(rows))
		}
		r := rows[0]
		if !r.FirstSeen.Equal(t0.Add(first)) || !r.LastSeen.Equal(t0.Add(last)) || r.ConnectedSeconds != secs {
			t.Fatalf("row = first %v last %v connected %d; want %v %v %d",
				r.FirstSeen.Sub(t0), r.LastSeen.Sub(t0), r.ConnectedSeconds, first, last, secs)
		}
	}
	seen(0)
	check(0, 0, 0)
	seen(10 * time.Second)
	check(0, 10*time.Second, 10)
	seen(10 * time.Second) // duplicate
	check(0, 10*time.Second, 10)
	seen(5 * time.Second) // out of order: nothing added
	check(0, 10*time.Second, 10)
	seen(40 * time.Second) // exactly MaxGap: counts
	check(0, 40*time.Second, 40)
	seen(2 * time.Minute) // longer gap: offline
	check(0, 2*time.Minute, 40)
	seen(-time.Minute) // earlier than first: moves first_seen only
	check(-time.Minute, 2*time.Minute, 40)
	// Sub-second steps add up exactly.
	for i := 1; i <= 4; i++ {
		seen(2*time.Minute + time.Duration(i)*500*time.Millisecond)
	}
	check(-time.Minute, 2*time.Minute+2*time.Second, 42)
}

func testPresenceRace(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	st := mkUser(t, s, wire.RoleStudent, "stud")
	l := mkLecture(t, s, p, "PRACE1")
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	rec := func(d time.Duration) error {
		return s.RecordPresence(ctx, store.Presence{LectureID: l.ID, StudentID: st.ID, Day: "2026-03-02", SeenAt: t0.Add(d), MaxGap: time.Minute})
	}
	noErr(t, "first sighting", rec(0))
	// Twenty replicas report the same sighting at once: it counts once.
	for _, err := range parallel(20, func(int) error { return rec(20 * time.Second) }) {
		noErr(t, "concurrent sighting", err)
	}
	// Concurrent distinct sightings: whatever the order, the total never
	// exceeds the span and first/last are the extremes.
	for _, err := range parallel(20, func(i int) error { return rec(20*time.Second + time.Duration(i+1)*time.Second) }) {
		noErr(t, "concurrent sighting", err)
	}
	rows, err := s.AttendanceByLecture(ctx, l.ID, "", "")
	noErr(t, "AttendanceByLecture", err)
	if len(rows) != 1 {
		t.Fatalf("%d rows for one student and day", len(rows))
	}
	r := rows[0]
	if !r.FirstSeen.Equal(t0) || !r.LastSeen.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("first/last = %v/%v", r.FirstSeen, r.LastSeen)
	}
	if r.ConnectedSeconds < 21 || r.ConnectedSeconds > 40 {
		t.Fatalf("connected %d s, want between 21 and 40", r.ConnectedSeconds)
	}
}

func testAttendance(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	bo := mkUser(t, s, wire.RoleStudent, "bo")
	al := mkUser(t, s, wire.RoleStudent, "al")
	l := mkLecture(t, s, p, "ATT001")
	l2 := mkLecture(t, s, p, "ATT002")
	days := []string{"2026-03-01", "2026-03-02", "2026-03-03"}
	for _, day := range days {
		at, _ := time.Parse(time.DateOnly, day)
		for _, u := range []store.User{bo, al} {
			noErr(t, "RecordPresence", s.RecordPresence(ctx, store.Presence{LectureID: l.ID, StudentID: u.ID, Day: day, SeenAt: at.Add(9 * time.Hour), MaxGap: time.Minute}))
		}
	}
	noErr(t, "other lecture", s.RecordPresence(ctx, store.Presence{LectureID: l2.ID, StudentID: bo.ID, Day: days[1], SeenAt: time.Now(), MaxGap: time.Minute}))
	rows, err := s.AttendanceByLecture(ctx, l.ID, "2026-03-02", "2026-03-03")
	noErr(t, "AttendanceByLecture", err)
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (inclusive bounds)", len(rows))
	}
	want := []struct{ day, name string }{{days[1], "al"}, {days[1], "bo"}, {days[2], "al"}, {days[2], "bo"}}
	for i, w := range want {
		r := rows[i]
		if r.Day != w.day || r.StudentName != w.name || r.StudentEmail != w.name+"@example.org" || r.LectureID != l.ID {
			t.Fatalf("row %d = %+v, want %s %s", i, r, w.day, w.name)
		}
	}
	rows, _ = s.AttendanceByLecture(ctx, l.ID, "", "2026-03-01")
	if len(rows) != 2 || rows[0].Day != days[0] {
		t.Fatalf("to-only = %+v", rows)
	}
	rows, _ = s.AttendanceByLecture(ctx, l.ID, "2026-03-03", "")
	if len(rows) != 2 || rows[0].Day != days[2] {
		t.Fatalf("from-only = %+v", rows)
	}
	rows, _ = s.AttendanceByLecture(ctx, l.ID, "", "")
	if len(rows) != 6 {
		t.Fatalf("unbounded = %d rows", len(rows))
	}
	rows, err = s.AttendanceByLecture(ctx, l.ID+1000, "", "")
	noErr(t, "unknown lecture", err)
	if len(rows) != 0 {
		t.Fatalf("unknown lecture has %d rows", len(rows))
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	l := mkLecture(t, s, p, "AUD001")
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	actions := []string{"join", "takeover", "control_start", "control_end", "kick"}
	for i, a := range actions {
		noErr(t, "AppendAudit", s.AppendAudit(ctx, store.AuditEntry{
			LectureID: l.ID, ActorID: p.ID, SubjectID: int64(i), Action: a, Detail: "d" + a, Replica: "r1", At: t0.Add(time.Duration(i) * time.Second),
		}))
	}
	noErr(t, "AppendAudit other lecture", s.AppendAudit(ctx, store.AuditEntry{LectureID: l.ID + 1, Action: "join", At: t0}))
	es, n, err := s.AuditByLecture(ctx, l.ID, store.PageRequest{Page: 1, Size: 2})
	noErr(t, "AuditByLecture", err)
	if n != 5 || len(es) != 2 || es[0].Action != "kick" || es[1].Action != "control_end" {
		t.Fatalf("page 1 = %d %+v", n, es)
	}
	e := es[0]
	if e.ID == 0 || e.LectureID != l.ID || e.ActorID != p.ID || e.SubjectID != 4 || e.Detail != "dkick" || e.Replica != "r1" || !e.At.Equal(t0.Add(4*time.Second)) {
		t.Fatalf("entry = %+v", e)
	}
	es, _, err = s.AuditByLecture(ctx, l.ID, store.PageRequest{Page: 3, Size: 2})
	noErr(t, "AuditByLecture page 3", err)
	if len(es) != 1 || es[0].Action != "join" || es[0].ActorID != p.ID {
		t.Fatalf("page 3 = %+v", es)
	}
	// A system entry (no actor) at the same instant as another orders by id.
	noErr(t, "system entry", s.AppendAudit(ctx, store.AuditEntry{LectureID: l.ID, Action: "leave", At: t0.Add(4 * time.Second)}))
	es, n, _ = s.AuditByLecture(ctx, l.ID, store.PageRequest{Page: 1, Size: 1})
	if n != 6 || es[0].Action != "leave" || es[0].ActorID != 0 {
		t.Fatalf("newest = %d %+v", n, es)
	}
	// Retention: entries before the cut go, in every lecture; later ones stay.
	gone, err := s.DeleteAuditBefore(ctx, t0.Add(2*time.Second))
	noErr(t, "DeleteAuditBefore", err)
	if gone != 3 { // join and takeover of l, join of the other lecture
		t.Fatalf("DeleteAuditBefore removed %d, want 3", gone)
	}
	es, n, _ = s.AuditByLecture(ctx, l.ID, store.PageRequest{Page: 1, Size: 10})
	if n != 4 || es[len(es)-1].Action != "control_start" {
		t.Fatalf("after pruning = %d %+v", n, es)
	}
}

func testAuditRetention(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, s, wire.RoleProfessor, "prof")
	l1, l2 := mkLecture(t, s, p, "RET001"), mkLecture(t, s, p, "RET002")
	cut := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	// More old entries than one deletion batch, in both lectures.
	const old = 1500
	for i := range old {
		noErr(t, "AppendAudit old", s.AppendAudit(ctx, store.AuditEntry{
			LectureID: []int64{l1.ID, l2.ID}[i%2], Action: "join", At: cut.Add(-time.Duration(i+1) * time.Second)}))
	}
	noErr(t, "AppendAudit at cut", s.AppendAudit(ctx, store.AuditEntry{LectureID: l1.ID, Action: "kick", At: cut}))
	noErr(t, "AppendAudit after", s.AppendAudit(ctx, store.AuditEntry{LectureID: l2.ID, Action: "leave", At: cut.Add(time.Hour)}))

	n, err := s.DeleteAuditBefore(ctx, cut)
	noErr(t, "DeleteAuditBefore", err)
	if n != old {
		t.Fatalf("deleted %d, want %d", n, old)
	}
	for _, want := range []struct {
		lecture int64
		action  string
	}{{l1.ID, "kick"}, {l2.ID, "leave"}} {
		es, total, err := s.AuditByLecture(ctx, want.lecture, store.PageRequest{Page: 1, Size: 10})
		noErr(t, "AuditByLecture", err)
		if total != 1 || len(es) != 1 || es[0].Action != want.action {
			t.Errorf("lecture %d keeps %d %+v, want only %q", want.lecture, total, es, want.action)
		}
	}
	if n, err := s.DeleteAuditBefore(ctx, cut); err != nil || n != 0 {
		t.Errorf("second DeleteAuditBefore = %d, %v; want 0", n, err)
	}
}
