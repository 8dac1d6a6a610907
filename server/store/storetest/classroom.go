package storetest

import (
	"testing"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// testClassroom: commands and their results, locks that follow the
// commands (a newer replaces an older, unlock removes), what the sweep and
// hello read, hands.
func testClassroom(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	prof := mkUser(t, s, wire.RoleProfessor, "classprof")
	l := mkLecture(t, s, prof, "CLAS01")
	a, b := mkUser(t, s, wire.RoleStudent, "ca"), mkUser(t, s, wire.RoleStudent, "cb")
	_, err := s.AddMembers(ctx, l.ID, []store.RosterEntry{{Email: a.Email}, {Email: b.Email}})
	noErr(t, "AddMembers", err)
	_, err = s.SetLectureActive(ctx, l.ID, true, 0)
	noErr(t, "SetLectureActive", err)
	now := time.Now()
	until := now.Add(time.Hour)

	lock, err := s.CreateCommand(ctx, store.Command{LectureID: l.ID, Kind: wire.CommandLock, Text: "Eyes on me", ActorID: prof.ID},
		[]int64{a.ID, b.ID}, store.ScreenLock{ActorFamily: "fam1", Until: until})
	noErr(t, "CreateCommand lock", err)
	c, results, err := s.CommandByID(ctx, lock.ID)
	noErr(t, "CommandByID", err)
	if c.Kind != wire.CommandLock || c.Text != "Eyes on me" || len(results) != 2 || results[0].State != wire.ResultPending {
		t.Fatalf("command = %+v %+v", c, results)
	}
	ks, err := s.LocksByStudent(ctx, a.ID, now)
	noErr(t, "LocksByStudent", err)
	if len(ks) != 1 || ks[0].Mode != wire.CommandLock || ks[0].Message != "Eyes on me" || ks[0].LectureTitle != l.Title ||
		ks[0].ActorName != prof.Name || ks[0].ActorFamily != "fam1" || ks[0].CommandID != lock.ID || !ks[0].Until.Equal(ts(until)) {
		t.Fatalf("locks of a = %+v", ks)
	}
	if ks, _ := s.LocksByStudent(ctx, a.ID, until.Add(time.Second)); len(ks) != 0 {
		t.Fatalf("an expired lock is live: %+v", ks)
	}

	// Results only go forward; an unknown pair is NotFound.
	r, err := s.SetCommandResult(ctx, store.CommandResult{CommandID: lock.ID, StudentID: a.ID, State: wire.ResultApplied}, l.ID)
	noErr(t, "SetCommandResult applied", err)
	if r.State != wire.ResultApplied || r.Kind != wire.CommandLock {
		t.Fatalf("result = %+v", r)
	}
	r, err = s.SetCommandResult(ctx, store.CommandResult{CommandID: lock.ID, StudentID: a.ID, State: wire.ResultDelivered}, l.ID)
	noErr(t, "SetCommandResult delivered late", err)
	if r.State != wire.ResultApplied {
		t.Fatalf("a late delivered replaced applied: %+v", r)
	}
	_, err = s.SetCommandResult(ctx, store.CommandResult{CommandID: lock.ID, StudentID: prof.ID, State: wire.ResultApplied}, l.ID)
	wantErr(t, "SetCommandResult for someone not sent to", err, store.ErrNotFound)
	_, err = s.SetCommandResult(ctx, store.CommandResult{CommandID: lock.ID, StudentID: a.ID, State: wire.ResultApplied}, l.ID+1)
	wantErr(t, "SetCommandResult in another lecture", err, store.ErrNotFound)

	// Blank for b replaces b's lock; unlock a removes a's only.
	blank, err := s.CreateCommand(ctx, store.Command{LectureID: l.ID, Kind: wire.CommandBlank, ActorID: prof.ID},
		[]int64{b.ID}, store.ScreenLock{ActorFamily: "fam1", Until: until})
	noErr(t, "CreateCommand blank", err)
	unlock, err := s.CreateCommand(ctx, store.Command{LectureID: l.ID, Kind: wire.CommandUnlock, ActorID: prof.ID}, []int64{a.ID}, store.ScreenLock{})
	noErr(t, "CreateCommand unlock", err)
	ks, err = s.LocksByLecture(ctx, l.ID, now)
	noErr(t, "LocksByLecture", err)
	if len(ks) != 1 || ks[0].StudentID != b.ID || ks[0].Mode != wire.CommandBlank || ks[0].CommandID != blank.ID {
		t.Fatalf("locks after blank b, unlock a = %+v", ks)
	}
	latest, err := s.LatestResults(ctx, l.ID)
	noErr(t, "LatestResults", err)
	if len(latest) != 2 || latest[0].StudentID != a.ID || latest[0].CommandID != unlock.ID || latest[1].CommandID != blank.ID {
		t.Fatalf("latest = %+v", latest)
	}

	// A message and its answer.
	msg, err := s.CreateCommand(ctx, store.Command{LectureID: l.ID, Kind: wire.CommandMessage, Text: "Done?", ActorID: prof.ID}, []int64{a.ID}, store.ScreenLock{})
	noErr(t, "CreateCommand message", err)
	r, err = s.SetCommandResult(ctx, store.CommandResult{CommandID: msg.ID, StudentID: a.ID, Reply: "almost"}, l.ID)
	noErr(t, "reply", err)
	if r.Reply != "almost" || r.State != wire.ResultPending {
		t.Fatalf("reply = %+v", r)
	}

	// The sweep sees the lecture switched off; a release of a replaced lock
	// does nothing.
	_, err = s.SetLectureActive(ctx, l.ID, false, 0)
	noErr(t, "deactivate", err)
	if ks, _ := s.LocksByStudent(ctx, b.ID, now); len(ks) != 0 {
		t.Fatalf("a lock of a switched-off lecture is live for hello: %+v", ks)
	}
	all, err := s.AllLocks(ctx)
	noErr(t, "AllLocks", err)
	if len(all) != 1 || all[0].LectureActive || !all[0].Member || all[0].StudentID != b.ID {
		t.Fatalf("all locks = %+v", all)
	}
	gone, err := s.ReleaseLocks(ctx, []store.ScreenLock{{LectureID: l.ID, StudentID: b.ID, CommandID: lock.ID}})
	noErr(t, "ReleaseLocks stale", err)
	if len(gone) != 0 {
		t.Fatalf("released a lock by an older command: %+v", gone)
	}
	gone, err = s.ReleaseLocks(ctx, []store.ScreenLock{all[0].ScreenLock})
	noErr(t, "ReleaseLocks", err)
	if len(gone) != 1 {
		t.Fatalf("released = %+v", gone)
	}
	if all, _ := s.AllLocks(ctx); len(all) != 0 {
		t.Fatalf("locks after release = %+v", all)
	}

	// Hands.
	up, err := s.RaiseHand(ctx, l.ID, a.ID, now)
	noErr(t, "RaiseHand", err)
	again, err := s.RaiseHand(ctx, l.ID, a.ID, now.Add(time.Second))
	noErr(t, "RaiseHand again", err)
	hs, err := s.HandsByLecture(ctx, l.ID)
	noErr(t, "HandsByLecture", err)
	if !up || again || len(hs) != 1 || hs[0].StudentID != a.ID || !hs[0].RaisedAt.Equal(ts(now)) {
		t.Fatalf("hands = %v %v %+v", up, again, hs)
	}
	down, err := s.LowerHand(ctx, l.ID, a.ID)
	noErr(t, "LowerHand", err)
	downAgain, _ := s.LowerHand(ctx, l.ID, a.ID)
	if !down || downAgain {
		t.Fatalf("lower = %v %v", down, downAgain)
	}
	_, _, err = s.CommandByID(ctx, msg.ID+100)
	wantErr(t, "CommandByID unknown", err, store.ErrNotFound)
}

func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
