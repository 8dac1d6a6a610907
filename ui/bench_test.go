package ui

import (
	"fmt"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/wire"
)

// BenchmarkStatusRedraw is the UI-thread cost of one agent status change
// with every window open (tray menu, status, 20 lectures, banner).
func BenchmarkStatusRedraw(b *testing.B) {
	fa := test.NewTempApp(b)
	cfg, err := config.Load(config.Options{UserFile: filepath.Join(b.TempDir(), "agent.yaml")})
	if err != nil {
		b.Fatal(err)
	}
	// A real agent that never runs: the benchmark feeds statuses directly.
	agent, err := app.New(app.Config{Server: "http://127.0.0.1:1", Store: &memStore{},
		Source: func() (monitor.Source, func(), error) { return &picture{}, func() {}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewCatalog("en")
	if err != nil {
		b.Fatal(err)
	}
	st := app.Status{Phase: app.Monitored, User: wire.User{ID: 1, Name: "Lee", Email: "lee@school.example"}}
	for i := 0; i < 20; i++ {
		st.Lectures = append(st.Lectures, wire.Lecture{ID: int64(i + 1), Title: fmt.Sprintf("Lecture %d", i+1), OwnerName: "Prof Kim", Active: i%3 == 0})
	}
	st.Lecture = st.Lectures[0]
	u, err := New(fa, tr, Options{Agent: agent, Settings: cfg, TrayHost: func() bool { return false }, Do: func(f func()) { f() }})
	if err != nil {
		b.Fatal(err)
	}
	u.Start()
	u.ShowLectures()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s := st
		if i%2 == 0 {
			s.Live = app.Live{Mode: app.LiveViewed, Professor: "Prof Kim"}
		}
		u.OnStatus(s)
	}
}
