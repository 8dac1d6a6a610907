package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// BenchmarkClassStart measures what a professor waits for at the start of a
// class, with the agent on its shipped poll period (30 s): Accept → the
// student's first frame on the grid, and the agent quitting → the tile
// offline. Before the agent channel these were the poll period and the
// frame TTL.
func BenchmarkClassStart(b *testing.B) {
	srv := servertest.Start(b)
	var acceptToTile, quitToOffline time.Duration
	for i := range b.N {
		prof := srv.Register(b, wire.RoleProfessor, fmt.Sprintf("Prof %d", i))
		stud := srv.Register(b, wire.RoleStudent, fmt.Sprintf("Stud %d", i))
		var lec wire.Lecture
		prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Bench"}, &lec)
		prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", lec.ID), nil, nil)
		var e wire.Enrollment
		stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: lec.Code}, &e)
		w := newWatcher()
		a, err := app.New(app.Config{
			Server: srv.URL, Store: &memStore{},
			Source:   func() (monitor.Source, func(), error) { return &screen{}, func() {}, nil },
			Login:    &app.Credentials{Email: stud.User.Email, Password: servertest.Password},
			Logger:   slog.New(slog.DiscardHandler),
			OnChange: w.on,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		w.wait(b, "idle", func(s app.Status) bool { return s.Phase == app.Idle && s.User.ID != 0 })
		time.Sleep(300 * time.Millisecond) // the channel is up

		t0 := time.Now()
		prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
		waitTile(b, prof, lec.ID, true)
		acceptToTile += time.Since(t0)

		t0 = time.Now()
		cancel()
		<-done
		waitTile(b, prof, lec.ID, false)
		quitToOffline += time.Since(t0)
	}
	b.ReportMetric(float64(acceptToTile.Milliseconds())/float64(b.N), "ms-accept-to-tile")
	b.ReportMetric(float64(quitToOffline.Milliseconds())/float64(b.N), "ms-quit-to-offline")
}

// waitTile polls the grid (every 10 ms) until the only tile has a frame
// and is online, or is offline.
func waitTile(tb testing.TB, prof *servertest.Client, lectureID int64, online bool) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var m wire.MonitorSnapshot
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/monitor", lectureID), nil, &m)
		if len(m.Tiles) == 1 && m.Tiles[0].Online == online && (!online || m.Tiles[0].FrameURL != "") {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("tile never became online=%v: %+v", online, m.Tiles)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
