package app_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/lockscreen"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// fakeLocker records what the agent shows; it can be made to fail.
type fakeLocker struct {
	mu    sync.Mutex
	shown []*lockscreen.Spec
	fail  error
}

func (f *fakeLocker) Show(s *lockscreen.Spec) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shown = append(f.shown, s)
	return f.fail
}

func (f *fakeLocker) last() *lockscreen.Spec {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.shown) == 0 {
		return nil
	}
	return f.shown[len(f.shown)-1]
}

// TestClassroomCommandsInTheAgent: the supervisor shows locks and lifts
// them, refuses what it cannot do with the reason, shows messages, opens
// pages, and every result reaches the professor.
func TestClassroomCommandsInTheAgent(t *testing.T) {
	srv := servertest.Start(t)
	c := srv.ActiveClass(t, "Prof Cmd", "Stu Cmd", "Commands")
	path := fmt.Sprintf("/api/v1/lectures/%d", c.Lecture.ID)
	lock := &fakeLocker{}
	var opened []string
	var omu sync.Mutex
	w := newWatcher()
	a, err := app.New(app.Config{
		Server: srv.URL, Store: &memStore{},
		Source:  func() (monitor.Source, func(), error) { return &screen{}, func() {}, nil },
		Monitor: monitor.Config{Interval: 50 * time.Millisecond}, Recheck: time.Hour,
		Login:  &app.Credentials{Email: c.Student.User.Email, Password: servertest.Password},
		Locker: lock, Lang: func() string { return "ko" },
		OpenURL: func(u string) error {
			omu.Lock()
			defer omu.Unlock()
			opened = append(opened, u)
			if u == "https://example.org/broken" {
				return errors.New("no browser answered")
			}
			return nil
		},
		Logger:   slog.New(slog.NewTextHandler(testLog{t}, nil)),
		OnChange: w.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	w.wait(t, "monitored, channel up", func(s app.Status) bool { return s.Phase == app.Monitored && s.Channel })

	send := func(req wire.CommandRequest) int64 {
		var cmd wire.Command
		c.Prof.Must(201, "POST", path+"/commands", req, &cmd)
		return cmd.ID
	}
	result := func(id int64, state string) wire.CommandResult {
		t.Helper()
		var got wire.Command
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			c.Prof.Must(200, "GET", fmt.Sprintf("%s/commands/%d", path, id), nil, &got)
			if got.Results[0].State == state {
				return got.Results[0]
			}
		}
		t.Fatalf("command %d: %+v, want %s", id, got.Results, state)
		return wire.CommandResult{}
	}

	id := send(wire.CommandRequest{Kind: wire.CommandLock, Text: "화면을 봐 주세요"})
	result(id, wire.ResultApplied)
	if s := lock.last(); s == nil || s.Blank || s.Title != "Commands" || s.Message != "화면을 봐 주세요" || s.Professor != "Prof Cmd" || s.Lang != "ko" {
		t.Fatalf("shown %+v", s)
	}
	w.wait(t, "status locked", func(s app.Status) bool { return s.Lock != nil && s.Lock.CommandID == id })
	id = send(wire.CommandRequest{Kind: wire.CommandBlank})
	result(id, wire.ResultApplied)
	if s := lock.last(); s == nil || !s.Blank {
		t.Fatalf("blank shown as %+v", s)
	}
	id = send(wire.CommandRequest{Kind: wire.CommandUnlock})
	result(id, wire.ResultApplied)
	if lock.last() != nil {
		t.Fatalf("unlock left %+v", lock.last())
	}
	w.wait(t, "status unlocked", func(s app.Status) bool { return s.Lock == nil })

	// A desktop that cannot be locked says why.
	lock.mu.Lock()
	lock.fail = errors.New("another program holds the keyboard")
	lock.mu.Unlock()
	id = send(wire.CommandRequest{Kind: wire.CommandLock})
	if r := result(id, wire.ResultFailed); r.Reason != "another program holds the keyboard" {
		t.Fatalf("failed lock = %+v", r)
	}
	lock.mu.Lock()
	lock.fail = nil
	lock.mu.Unlock()
	result(send(wire.CommandRequest{Kind: wire.CommandUnlock}), wire.ResultApplied)

	id = send(wire.CommandRequest{Kind: wire.CommandMessage, Text: "Save your work"})
	result(id, wire.ResultApplied)
	w.wait(t, "message shown", func(s app.Status) bool { return len(s.Messages) == 1 && s.Messages[0].Text == "Save your work" })
	if err := a.Reply(ctx, a.Status().Messages[0], "saved"); err != nil {
		t.Fatal(err)
	}
	if r := result(id, wire.ResultApplied); r.Reply != "saved" || len(a.Status().Messages) != 0 {
		t.Fatalf("after the answer: %+v, messages %+v", r, a.Status().Messages)
	}

	result(send(wire.CommandRequest{Kind: wire.CommandOpenURL, URL: "https://example.org/exercise"}), wire.ResultApplied)
	if r := result(send(wire.CommandRequest{Kind: wire.CommandOpenURL, URL: "https://example.org/broken"}), wire.ResultFailed); r.Reason != "no browser answered" {
		t.Fatalf("broken browser = %+v", r)
	}
	omu.Lock()
	defer omu.Unlock()
	if len(opened) != 2 || opened[0] != "https://example.org/exercise" {
		t.Fatalf("opened %v", opened)
	}
}
