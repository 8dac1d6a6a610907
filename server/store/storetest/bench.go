package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Bench measures the hot paths of s (a fresh store): a login lookup, the
// professor's first lecture page, an agent's presence heartbeat and a
// refresh-token check.
func Bench(b *testing.B, s store.Store) {
	ctx := context.Background()
	prof, err := s.CreateUser(ctx, store.User{Email: "prof@example.org", Name: "Prof", Role: wire.RoleProfessor, PasswordHash: "h"})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		_, err := s.CreateUser(ctx, store.User{Email: fmt.Sprintf("s%d@example.org", i), Name: fmt.Sprintf("s%d", i), Role: wire.RoleStudent, PasswordHash: "h"})
		if err != nil {
			b.Fatal(err)
		}
	}
	var lec store.Lecture
	for i := range 100 {
		lec, err = s.CreateLecture(ctx, store.Lecture{OwnerID: prof.ID, Title: fmt.Sprintf("L%d", i), Code: fmt.Sprintf("B%05d", i)})
		if err != nil {
			b.Fatal(err)
		}
	}
	now := time.Now()
	for i := range 1000 {
		if err := s.CreateRefreshToken(ctx, store.RefreshToken{TokenHash: fmt.Appendf(nil, "hash-%d", i), FamilyID: fmt.Sprint(i), UserID: prof.ID, Kind: "cookie", ExpiresAt: now.Add(time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("UserByEmail", func(b *testing.B) {
		defer reportCPU(b)()
		for i := 0; b.Loop(); i++ {
			if _, err := s.UserByEmail(ctx, fmt.Sprintf("S%d@example.org", i%200)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LecturesByOwnerPage", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			ls, total, err := s.LecturesByOwner(ctx, prof.ID, store.PageRequest{Page: 1, Size: 20})
			if err != nil || len(ls) != 20 || total != 100 {
				b.Fatal(len(ls), total, err)
			}
		}
	})
	b.Run("RecordPresence", func(b *testing.B) {
		defer reportCPU(b)()
		t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
		for i := 0; b.Loop(); i++ {
			// 200 students each heartbeating every 10 s.
			err := s.RecordPresence(ctx, store.Presence{LectureID: lec.ID, StudentID: int64(2 + i%200), Day: "2026-03-02",
				SeenAt: t0.Add(time.Duration(i/200) * 10 * time.Second), MaxGap: 30 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LookupRefreshToken", func(b *testing.B) {
		defer reportCPU(b)()
		for i := 0; b.Loop(); i++ {
			if _, err := s.LookupRefreshToken(ctx, fmt.Appendf(nil, "hash-%d", i%1000), now); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("LookupRefreshTokenParallel", func(b *testing.B) {
		defer reportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.LookupRefreshToken(ctx, fmt.Appendf(nil, "hash-%d", i%1000), now); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	})
}

// reportCPU starts counting the CPU time (user + system, all threads) this
// process spends and returns the function that reports it per operation as
// cpu-ns/op. On a shared machine wall time mostly measures the neighbours;
// the store's own CPU per call is what a change to the store moves. (For
// PostgreSQL the server's share is not in it: it runs the same SQL either
// way.)
func reportCPU(b *testing.B) func() {
	start, ok := cpuTime()
	return func() {
		if end, _ := cpuTime(); ok && b.N > 0 {
			b.ReportMetric(float64(end-start)/float64(b.N), "cpu-ns/op")
		}
	}
}
