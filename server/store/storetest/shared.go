package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// RunShared checks the rules hold across several stores opened on one
// database (server replicas, or two processes on one SQLite file). open must
// return at least two stores sharing a fresh, empty database.
func RunShared(t *testing.T, open func(t *testing.T) []store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, ss []store.Store)
	}{
		{"ActiveLimitAcrossStores", sharedActiveLimit},
		{"RequestJoinAcrossStores", sharedRequestJoin},
		{"RotationAcrossStores", sharedRotation},
		{"SecretAcrossStores", sharedSecret},
		{"PresenceAcrossStores", sharedPresence},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ss := open(t)
			if len(ss) < 2 {
				t.Fatalf("open returned %d stores, want at least 2", len(ss))
			}
			tc.fn(t, ss)
		})
	}
}

func sharedActiveLimit(t *testing.T, ss []store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, ss[0], wire.RoleProfessor, "prof")
	const n, limit = 40, 3
	ls := make([]store.Lecture, n)
	for i := range ls {
		ls[i] = mkLecture(t, ss[i%len(ss)], p, fmt.Sprintf("S%05d", i))
	}
	errs := parallel(n, func(i int) error {
		_, err := ss[i%len(ss)].SetLectureActive(ctx, ls[i].ID, true, limit)
		return err
	})
	ok, limited := tally(t, errs, store.ErrLimitReached)
	if ok != limit || limited != n-limit {
		t.Fatalf("%d activations succeeded and %d hit the limit across stores, want %d and %d", ok, limited, limit, n-limit)
	}
	all, _, err := ss[1].LecturesByOwner(ctx, p.ID, store.PageRequest{Page: 1, Size: n})
	noErr(t, "LecturesByOwner", err)
	active := 0
	for _, l := range all {
		if l.Active {
			active++
		}
	}
	if active != limit {
		t.Fatalf("%d lectures active, want %d", active, limit)
	}
}

func sharedRequestJoin(t *testing.T, ss []store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, ss[0], wire.RoleProfessor, "prof")
	st := mkUser(t, ss[0], wire.RoleStudent, "stud")
	l := mkLecture(t, ss[0], p, "SJOIN1")
	errs := parallel(10, func(i int) error { _, err := ss[i%len(ss)].RequestJoin(ctx, l.ID, st.ID); return err })
	if ok, dup := tally(t, errs, store.ErrAlreadyWaiting); ok != 1 || dup != 9 {
		t.Fatalf("%d requests succeeded, %d already waiting; want 1 and 9", ok, dup)
	}
}

func sharedRotation(t *testing.T, ss []store.Store) {
	ctx := ctxT(t)
	u := mkUser(t, ss[0], wire.RoleStudent, "stud")
	now := time.Now().UTC()
	exp := now.Add(time.Hour)
	for round := range 5 {
		fam := fmt.Sprintf("shared%d", round)
		noErr(t, "create", ss[0].CreateRefreshToken(ctx, token(fam+"-0", fam, u.ID, exp)))
		errs := parallel(2, func(i int) error {
			_, err := ss[i%len(ss)].RotateRefreshToken(ctx, []byte(fam+"-0"), token(fmt.Sprintf("%s-next%d", fam, i), "", 0, exp), now)
			return err
		})
		if ok, reused := tally(t, errs, store.ErrTokenReused); ok != 1 || reused != 1 {
			t.Fatalf("round %d: %d won and %d saw reuse; want 1 and 1", round, ok, reused)
		}
		for i := range 2 {
			_, err := ss[1].LookupRefreshToken(ctx, []byte(fmt.Sprintf("%s-next%d", fam, i)), now)
			wantErr(t, "family dead after the race", err, store.ErrTokenExpired)
		}
	}
}

func sharedSecret(t *testing.T, ss []store.Store) {
	ctx := ctxT(t)
	errs := parallel(12, func(i int) error {
		v, err := ss[i%len(ss)].Secret(ctx, "jwt", func() ([]byte, error) { return []byte(fmt.Sprintf("store-%d", i)), nil })
		if err != nil {
			return err
		}
		return errors.New(string(v))
	})
	for _, err := range errs {
		if err.Error() != errs[0].Error() {
			t.Fatalf("stores got different secrets: %q and %q", errs[0], err)
		}
	}
}

func sharedPresence(t *testing.T, ss []store.Store) {
	ctx := ctxT(t)
	p := mkUser(t, ss[0], wire.RoleProfessor, "prof")
	st := mkUser(t, ss[0], wire.RoleStudent, "stud")
	l := mkLecture(t, ss[0], p, "SPRES1")
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	rec := func(s store.Store, d time.Duration) error {
		return s.RecordPresence(ctx, store.Presence{LectureID: l.ID, StudentID: st.ID, Day: "2026-03-02", SeenAt: t0.Add(d), MaxGap: time.Minute})
	}
	noErr(t, "first", rec(ss[0], 0))
	for _, err := range parallel(10, func(i int) error { return rec(ss[i%len(ss)], 15*time.Second) }) {
		noErr(t, "sighting", err)
	}
	rows, err := ss[1].AttendanceByLecture(ctx, l.ID, "", "")
	noErr(t, "AttendanceByLecture", err)
	if len(rows) != 1 || rows[0].ConnectedSeconds != 15 {
		t.Fatalf("rows = %+v, want one with 15 s", rows)
	}
}
