package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// testAddMembers: a roster is applied whole or not at all.
func testAddMembers(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	prof := mkUser(t, s, wire.RoleProfessor, "rosterprof")
	l := mkLecture(t, s, prof, "ROST01")
	a, b, c := mkUser(t, s, wire.RoleStudent, "ra"), mkUser(t, s, wire.RoleStudent, "rb"), mkUser(t, s, wire.RoleStudent, "rc")
	waiting, err := s.RequestJoin(ctx, l.ID, c.ID)
	noErr(t, "RequestJoin", err)

	// One unknown e-mail and one professor: refused, nothing applied.
	_, err = s.AddMembers(ctx, l.ID, []store.RosterEntry{{Email: "RA@example.org", StudentNumber: "2026001"},
		{Email: "nobody@example.org"}, {Email: a.Email}, {Email: prof.Email}})
	var re *store.RosterError
	if !errors.As(err, &re) || len(re.Problems) != 2 || re.Problems[0].Index != 1 || !errors.Is(re.Problems[0].Err, store.ErrNotFound) ||
		re.Problems[1].Index != 3 || !errors.Is(re.Problems[1].Err, store.ErrNotStudent) {
		t.Fatalf("AddMembers with bad entries = %v %+v", err, re)
	}
	if ok, _ := s.IsMember(ctx, l.ID, a.ID); ok {
		t.Fatal("a refused roster applied a good row")
	}

	out, err := s.AddMembers(ctx, l.ID, []store.RosterEntry{{Email: "RA@example.org", StudentNumber: "2026001"}, {Email: b.Email}, {Email: c.Email, StudentNumber: "2026003"}})
	noErr(t, "AddMembers", err)
	if len(out.Added) != 3 || out.Added[0] != a.ID || out.Already != 0 {
		t.Fatalf("outcome = %+v", out)
	}
	// Again: all already members; a new number replaces, "" keeps.
	out, err = s.AddMembers(ctx, l.ID, []store.RosterEntry{{Email: a.Email, StudentNumber: "2026999"}, {Email: c.Email}})
	noErr(t, "AddMembers again", err)
	if len(out.Added) != 0 || out.Already != 2 {
		t.Fatalf("second outcome = %+v", out)
	}
	ms, total, err := s.Members(ctx, l.ID, store.PageRequest{Page: 1, Size: 10})
	noErr(t, "Members", err)
	nums := map[int64]string{}
	for _, m := range ms {
		nums[m.StudentID] = m.StudentNumber
	}
	if total != 3 || nums[a.ID] != "2026999" || nums[b.ID] != "" || nums[c.ID] != "2026003" {
		t.Fatalf("members = %+v", ms)
	}
	e, err := s.EnrollmentByID(ctx, waiting.ID)
	noErr(t, "EnrollmentByID", err)
	if e.Status != wire.EnrollmentAccepted {
		t.Fatalf("waiting request of an added student is %s", e.Status)
	}
	_, err = s.AddMembers(ctx, l.ID+1000, []store.RosterEntry{{Email: a.Email}})
	wantErr(t, "AddMembers to a missing lecture", err, store.ErrNotFound)
}

// testAddMembersLarge: a 5,000-row class list in one transaction.
func testAddMembersLarge(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	prof := mkUser(t, s, wire.RoleProfessor, "bigprof")
	l := mkLecture(t, s, prof, "ROST02")
	const n = 5000
	entries := make([]store.RosterEntry, n)
	for i := range n {
		u, err := s.CreateUser(ctx, store.User{Email: fmt.Sprintf("s%04d@big.example", i), Name: fmt.Sprintf("Student %04d", i),
			Role: wire.RoleStudent, PasswordHash: "x"})
		noErr(t, "CreateUser", err)
		entries[i] = store.RosterEntry{Email: u.Email, StudentNumber: fmt.Sprintf("N%05d", i)}
	}
	bad := append([]store.RosterEntry{}, entries...)
	bad[n-1].Email = "missing@big.example"
	var re *store.RosterError
	if _, err := s.AddMembers(ctx, l.ID, bad); !errors.As(err, &re) || len(re.Problems) != 1 || re.Problems[0].Index != n-1 {
		t.Fatalf("AddMembers with the last row bad = %v", err)
	}
	if _, total, _ := s.Members(ctx, l.ID, store.PageRequest{Page: 1, Size: 1}); total != 0 {
		t.Fatalf("%d members after a refused import", total)
	}
	start := time.Now()
	out, err := s.AddMembers(ctx, l.ID, entries)
	noErr(t, "AddMembers 5000", err)
	t.Logf("AddMembers of %d rows: %v", n, time.Since(start))
	if len(out.Added) != n {
		t.Fatalf("added %d", len(out.Added))
	}
	if _, total, _ := s.Members(ctx, l.ID, store.PageRequest{Page: 1, Size: 1}); total != n {
		t.Fatalf("%d members, want %d", total, n)
	}
}

// testPasswordResets: single use, expiring, voided after too many tries.
func testPasswordResets(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	prof := mkUser(t, s, wire.RoleProfessor, "resetprof")
	stu := mkUser(t, s, wire.RoleStudent, "resetstu")
	now := time.Now()
	put := func(code string, exp time.Time) {
		t.Helper()
		noErr(t, "PutPasswordReset", s.PutPasswordReset(ctx, store.PasswordReset{UserID: stu.ID, CreatedBy: prof.ID, LectureID: 1,
			CodeHash: []byte(code), ExpiresAt: exp}))
	}
	redeem := func(code string, at time.Time) error {
		return s.RedeemPasswordReset(ctx, stu.ID, []byte(code), "new-hash-"+code, at, 3)
	}
	wantErr(t, "no code", redeem("x", now), store.ErrResetInvalid)
	put("old", now.Add(time.Minute))
	put("code1", now.Add(time.Minute)) // replaces "old"
	wantErr(t, "replaced code", redeem("old", now), store.ErrResetInvalid)
	noErr(t, "redeem", redeem("code1", now))
	u, _ := s.UserByID(ctx, stu.ID)
	if u.PasswordHash != "new-hash-code1" {
		t.Fatalf("password hash %q", u.PasswordHash)
	}
	wantErr(t, "second use", redeem("code1", now), store.ErrResetInvalid)

	put("code2", now.Add(time.Minute))
	wantErr(t, "expired", redeem("code2", now.Add(2*time.Minute)), store.ErrResetInvalid)
	wantErr(t, "expired code is gone", redeem("code2", now), store.ErrResetInvalid)

	put("code3", now.Add(time.Minute))
	wantErr(t, "wrong 1", redeem("nope", now), store.ErrResetInvalid)
	wantErr(t, "wrong 2", redeem("nope", now), store.ErrResetInvalid)
	wantErr(t, "wrong 3", redeem("nope", now), store.ErrResetInvalid)
	wantErr(t, "right code after 3 wrong", redeem("code3", now), store.ErrResetInvalid)
	u, _ = s.UserByID(ctx, stu.ID)
	if u.PasswordHash != "new-hash-code1" {
		t.Fatalf("password changed by a voided code: %q", u.PasswordHash)
	}
	wantErr(t, "code for nobody", s.PutPasswordReset(ctx, store.PasswordReset{UserID: stu.ID + 999, CreatedBy: prof.ID,
		CodeHash: []byte("x"), ExpiresAt: now.Add(time.Minute)}), store.ErrNotFound)
}
