package app_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// memStore keeps tokens in memory (the keyring store is tested in agent/tokens).
type memStore struct {
	mu sync.Mutex
	t  client.Tokens
}

func (m *memStore) Load(context.Context) (client.Tokens, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.t == (client.Tokens{}) {
		return client.Tokens{}, client.ErrNoTokens
	}
	return m.t, nil
}
func (m *memStore) Save(_ context.Context, t client.Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.t = t
	return nil
}
func (m *memStore) Clear(context.Context) error { return m.Save(context.Background(), client.Tokens{}) }
func (m *memStore) Current() client.Tokens {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t
}

// screen is a changing test picture.
type screen struct {
	mu sync.Mutex
	n  int
}

func (s *screen) CaptureInto(dst *image.RGBA) (*image.RGBA, error) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if dst == nil || dst.Bounds().Dx() != 640 {
		dst = image.NewRGBA(image.Rect(0, 0, 640, 360))
	}
	for y := 0; y < 360; y++ {
		for x := 0; x < 640; x++ {
			dst.SetRGBA(x, y, color.RGBA{uint8(x + n*40), uint8(y), uint8(n * 70), 255})
		}
	}
	return dst, nil
}

// watcher records statuses and waits for one that matches.
type watcher struct {
	mu   sync.Mutex
	last app.Status
	ch   chan struct{}
}

func newWatcher() *watcher { return &watcher{ch: make(chan struct{}, 1)} }

func (w *watcher) on(s app.Status) {
	w.mu.Lock()
	w.last = s
	w.mu.Unlock()
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

func (w *watcher) wait(t testing.TB, what string, ok func(app.Status) bool) app.Status {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		w.mu.Lock()
		s := w.last
		w.mu.Unlock()
		if ok(s) {
			return s
		}
		select {
		case <-w.ch:
		case <-deadline:
			t.Fatalf("waiting for %s; last status %+v", what, s)
		}
	}
}

type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	addr   string
}

// newProxy forwards a loopback port to target so the test can cut the
// network and bring it back on the same address.
func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{target: target, addr: ln.Addr().String()}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			target := p.target
			p.mu.Unlock()
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
}

// retarget sends new connections elsewhere (a load balancer's other replica).
func (p *proxy) retarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) up(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.serve(ln)
}

type liveHook struct{ report chan func(app.Live) }

func (h liveHook) RunLive(ctx context.Context, lec wire.Lecture, u wire.User, report func(app.Live)) error {
	select {
	case h.report <- report:
	case <-ctx.Done():
	}
	<-ctx.Done()
	return nil
}

func TestStudentJourney(t *testing.T) {
	srv := servertest.Start(t)
	prof := srv.Register(t, wire.RoleProfessor, "Prof Kim")
	var lec wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Go 101"}, &lec)
	px := newProxy(t, strings.TrimPrefix(srv.URL, "http://"))

	w := newWatcher()
	live := liveHook{report: make(chan func(app.Live), 1)}
	a, err := app.New(app.Config{
		Server: "http://" + px.addr, Store: &memStore{},
		Source:     func() (monitor.Source, func(), error) { return &screen{}, func() {}, nil },
		Monitor:    monitor.Config{Interval: 50 * time.Millisecond},
		Live:       live,
		Recheck:    200 * time.Millisecond,
		MaxBackoff: 300 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(testLog{t}, nil)),
		OnChange:   w.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	w.wait(t, "signed out", func(s app.Status) bool { return s.Phase == app.SignedOut })

	email := fmt.Sprintf("student-%d@school.example", time.Now().UnixNano())
	if err := a.Register(ctx, "Lee Student", email, "Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "idle after register", func(s app.Status) bool { return s.Phase == app.Idle && s.User.Email == email })
	if _, err := a.Join(ctx, "  "); err == nil {
		t.Fatal("empty code accepted")
	}
	wrong := "A"
	if lec.Code[0] == 'A' {
		wrong = "B"
	}
	if _, err := a.Join(ctx, wrong+lec.Code[1:]); client.Status(err) != 404 {
		t.Fatalf("unknown code: %v", err)
	}
	e, err := a.Join(ctx, lec.Code)
	if err != nil {
		t.Fatal(err)
	}
	w.wait(t, "pending request", func(s app.Status) bool { return len(s.Pending) == 1 && s.Pending[0].ID == e.ID })
	// Cancel, then ask again and get accepted.
	if err := a.Cancel(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "no pending request", func(s app.Status) bool { return len(s.Pending) == 0 })
	if e, err = a.Join(ctx, lec.Code); err != nil {
		t.Fatal(err)
	}
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	w.wait(t, "member", func(s app.Status) bool { return len(s.Lectures) == 1 && len(s.Pending) == 0 })
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", lec.ID), nil, nil)
	w.wait(t, "monitored", func(s app.Status) bool { return s.Phase == app.Monitored && s.Lecture.ID == lec.ID })
	// The professor's grid has the frame.
	waitFrame(t, prof, lec.ID)

	// A live session: the UI learns who and how.
	report := <-live.report
	report(app.Live{Mode: app.LiveControlled, Professor: "Prof Kim"})
	w.wait(t, "controlled", func(s app.Status) bool { return s.Live.Mode == app.LiveControlled && s.Live.Professor == "Prof Kim" })
	report(app.Live{})

	// The network drops: offline, then monitoring resumes by itself.
	px.down()
	w.wait(t, "offline", func(s app.Status) bool { return s.Phase == app.Offline })
	px.up(t)
	w.wait(t, "monitored again", func(s app.Status) bool { return s.Phase == app.Monitored && s.Lecture.ID == lec.ID })

	// The lecture ends, then the student leaves it.
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/deactivate", lec.ID), nil, nil)
	w.wait(t, "idle", func(s app.Status) bool { return s.Phase == app.Idle && s.Live.Mode == app.LiveNone })
	if err := a.Leave(ctx, lec.ID); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "no lectures", func(s app.Status) bool { return len(s.Lectures) == 0 })
	if err := a.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	w.wait(t, "signed out", func(s app.Status) bool { return s.Phase == app.SignedOut && s.User.ID == 0 })
	// A wrong password is refused and leaves it signed out.
	if err := a.Login(ctx, email, "wrong"); client.Status(err) != 401 {
		t.Fatalf("wrong password: %v", err)
	}
}

func waitFrame(t *testing.T, prof *servertest.Client, lectureID int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var m wire.MonitorSnapshot
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/monitor", lectureID), nil, &m)
		for _, tile := range m.Tiles {
			if tile.FrameURL != "" {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no frame on the professor's grid: %+v", m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestChoose(t *testing.T) {
	ls := []wire.Lecture{{ID: 1, Title: "A"}, {ID: 2, Title: "B", Active: true}, {ID: 3, Title: "C"}}
	if l, err := app.Choose(ls, 0); err != nil || l.ID != 2 {
		t.Errorf("auto: %v %v", l.ID, err)
	}
	if _, err := app.Choose(ls, 1); !errors.Is(err, app.ErrNoActiveLecture) {
		t.Errorf("inactive chosen: %v", err)
	}
	if l, err := app.Choose(ls, 2); err != nil || l.ID != 2 {
		t.Errorf("explicit: %v %v", l.ID, err)
	}
	if _, err := app.Choose(ls, 9); !errors.Is(err, app.ErrNotEnrolled) {
		t.Errorf("unknown: %v", err)
	}
	ls[2].Active = true
	if _, err := app.Choose(ls, 0); !errors.Is(err, app.ErrSeveralActive) {
		t.Errorf("several: %v", err)
	}
	if _, err := app.Choose(nil, 0); !errors.Is(err, app.ErrNoActiveLecture) {
		t.Errorf("none: %v", err)
	}
}

// TestPushedChangesAndPresence: with the lecture poll an hour apart, only
// the agent channel can make Accept, activation and the end of a lecture
// take effect; and an agent that stops is offline on the grid at once,
// not after the frame's TTL.
func TestPushedChangesAndPresence(t *testing.T) {
	srv := servertest.Start(t)
	prof := srv.Register(t, wire.RoleProfessor, "Prof Push")
	stud := srv.Register(t, wire.RoleStudent, "Stu Push")
	var lec wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Pushed"}, &lec)

	px := newProxy(t, strings.TrimPrefix(srv.URL, "http://"))
	w := newWatcher()
	a, err := app.New(app.Config{
		Server: "http://" + px.addr, Store: &memStore{},
		Source:     func() (monitor.Source, func(), error) { return &screen{}, func() {}, nil },
		Monitor:    monitor.Config{Interval: 50 * time.Millisecond},
		Recheck:    time.Hour,
		MaxBackoff: 300 * time.Millisecond,
		Login:      &app.Credentials{Email: stud.User.Email, Password: servertest.Password},
		Join:       "  " + lec.Code + " ", // --join: asked once signed in
		Logger:     slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnChange:   w.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	w.wait(t, "idle", func(s app.Status) bool { return s.Phase == app.Idle && s.User.ID == stud.User.ID })

	w.wait(t, "own request pending", func(s app.Status) bool { return len(s.Pending) == 1 })
	var reqs wire.Page[wire.Enrollment]
	prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/enrollments?status=waiting", lec.ID), nil, &reqs)
	if len(reqs.Items) != 1 || reqs.Items[0].StudentID != stud.User.ID {
		t.Fatalf("the professor sees %+v", reqs.Items)
	}
	e := reqs.Items[0]
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", lec.ID), nil, nil)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	w.wait(t, "monitored after Accept", func(s app.Status) bool { return s.Phase == app.Monitored && s.Lecture.ID == lec.ID })
	waitFrame(t, prof, lec.ID)

	// The network drops and comes back (as after a server restart): the
	// channel reconnects by itself and pushes again. Only a push can show
	// the second lecture's Accept here: uploads do not see it, and the
	// poll is an hour apart.
	px.down()
	time.Sleep(300 * time.Millisecond)
	px.up(t)
	var lec2 wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Second"}, &lec2)
	e2, err := a.Join(ctx, lec2.Code)
	if err != nil {
		t.Fatal(err)
	}
	w.wait(t, "second request pending", func(s app.Status) bool { return len(s.Pending) == 1 })
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e2.ID), nil, nil)
	w.wait(t, "second lecture after Accept", func(s app.Status) bool { return len(s.Lectures) == 2 && len(s.Pending) == 0 })

	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/deactivate", lec.ID), nil, nil)
	w.wait(t, "idle after deactivate", func(s app.Status) bool { return s.Phase == app.Idle })
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", lec.ID), nil, nil)
	w.wait(t, "monitored after activate", func(s app.Status) bool { return s.Phase == app.Monitored })
	waitFrame(t, prof, lec.ID)

	// The agent stops: its channel closes and the tile is offline at once
	// (the frame TTL is a minute).
	cancel()
	<-done
	done <- nil
	deadline := time.Now().Add(10 * time.Second)
	for {
		var m wire.MonitorSnapshot
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/monitor", lec.ID), nil, &m)
		if len(m.Tiles) == 1 && !m.Tiles[0].Online {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped agent is still online: %+v", m.Tiles)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestChannelSurvivesAReplicaGoingAway: two replicas share PostgreSQL and
// Redis behind one address; the one holding the agent's channel shuts down;
// the agent reconnects (to the other) and a change made there still
// reaches it by push (the poll is an hour apart).
func TestChannelSurvivesAReplicaGoingAway(t *testing.T) {
	rd := testenv.StartRedis(t)
	db := testenv.PostgresURL(t)
	a := servertest.Start(t, servertest.WithDatabase(db), servertest.WithRedis(rd.URL()))
	b := servertest.Start(t, servertest.WithDatabase(db), servertest.WithRedis(rd.URL()))
	prof := b.Register(t, wire.RoleProfessor, "Prof Replica")
	stud := b.Register(t, wire.RoleStudent, "Stu Replica")
	var lec wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Replicas"}, &lec)
	px := newProxy(t, strings.TrimPrefix(a.URL, "http://"))

	w := newWatcher()
	ag, err := app.New(app.Config{
		Server: "http://" + px.addr, Store: &memStore{},
		Source:     func() (monitor.Source, func(), error) { return &screen{}, func() {}, nil },
		Recheck:    time.Hour,
		MaxBackoff: 300 * time.Millisecond,
		Login:      &app.Credentials{Email: stud.User.Email, Password: servertest.Password},
		Join:       lec.Code,
		Logger:     slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnChange:   w.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx) }()
	defer func() { cancel(); <-done }()
	w.wait(t, "request pending, channel up (to A)", func(s app.Status) bool { return len(s.Pending) == 1 && s.Channel })

	px.retarget(strings.TrimPrefix(b.URL, "http://"))
	a.Stop() // its channel closes with "service restart"; the agent reconnects through the proxy to B
	w.wait(t, "channel down", func(s app.Status) bool { return !s.Channel })
	w.wait(t, "channel up again (to B)", func(s app.Status) bool { return s.Channel })
	var reqs wire.Page[wire.Enrollment]
	prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/enrollments?status=waiting", lec.ID), nil, &reqs)
	if len(reqs.Items) != 1 {
		t.Fatalf("waiting requests %+v", reqs.Items)
	}
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", reqs.Items[0].ID), nil, nil)
	w.wait(t, "member after Accept on the other replica", func(s app.Status) bool { return len(s.Lectures) == 1 && len(s.Pending) == 0 })
}
