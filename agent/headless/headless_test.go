package headless_test

import (
	"context"
	"image"
	"image/color"
	"image/draw"
	"log/slog"
	"os/exec"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/headless"
	"github.com/didacto/didacto/agent/internal/apitest"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// screen is a changing test picture (every capture differs slightly less
// often than the tolerance would hide: a counter in grey levels).
type screen struct {
	mu sync.Mutex
	n  uint8
}

func (s *screen) CaptureInto(dst *image.RGBA) (*image.RGBA, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n += 40
	if dst == nil {
		dst = image.NewRGBA(image.Rect(0, 0, 640, 360))
	}
	draw.Draw(dst, dst.Rect, image.NewUniform(color.RGBA{s.n, 0, 0, 255}), image.Point{}, draw.Src)
	return dst, nil
}

func logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func start(t *testing.T, srv *apitest.Server, src monitor.Source, cfg headless.Config) <-chan error {
	t.Helper()
	if cfg.Email == "" {
		cfg.Email, cfg.Password = apitest.Email, apitest.Password
	}
	if cfg.Server == "" {
		cfg.Server = srv.URL
	}
	if cfg.Recheck == 0 {
		cfg.Recheck = 50 * time.Millisecond
	}
	if cfg.Monitor.Interval == 0 {
		cfg.Monitor.Interval = 20 * time.Millisecond
	}
	cfg.Logger = logger(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- headless.Run(ctx, src, cfg); close(finished) }()
	t.Cleanup(func() { cancel(); <-finished })
	return done
}

func uploadsTo(id int64, n int) func([]apitest.Upload) bool {
	return func(us []apitest.Upload) bool {
		c := 0
		for _, u := range us {
			if u.LectureID == id && u.Status == 200 {
				c++
			}
		}
		return c >= n
	}
}

func TestAutoLectureWaitsFollowsAndResumes(t *testing.T) {
	srv := apitest.New(t, wire.Lecture{ID: 1, Title: "A"}, wire.Lecture{ID: 2, Title: "B"})
	start(t, srv, &screen{}, headless.Config{})
	time.Sleep(200 * time.Millisecond) // a few re-checks with nothing active
	if n := len(srv.Uploads()); n != 0 {
		t.Fatalf("%d uploads with no active lecture", n)
	}
	srv.SetActive(2, true)
	srv.WaitUploads(t, 15*time.Second, "uploads to lecture 2", uploadsTo(2, 2))
	// The lecture ends: the agent stops (after at most one 409, or sooner
	// when its re-check notices) and follows the next lecture that starts.
	srv.SetActive(2, false)
	srv.SetActive(1, true)
	srv.WaitUploads(t, 15*time.Second, "uploads to lecture 1", uploadsTo(1, 2))
	conflicts := 0
	for _, u := range srv.Uploads() {
		if u.Status == 409 {
			conflicts++
		}
	}
	if conflicts > 1 {
		t.Errorf("%d uploads to the ended lecture after its 409", conflicts-1)
	}
}

func TestExplicitLecture(t *testing.T) {
	srv := apitest.New(t, wire.Lecture{ID: 1, Active: true}, wire.Lecture{ID: 2, Active: true})
	start(t, srv, &screen{}, headless.Config{LectureID: 2})
	srv.WaitUploads(t, 15*time.Second, "uploads to lecture 2", uploadsTo(2, 3))
	for _, u := range srv.Uploads() {
		if u.LectureID != 2 {
			t.Errorf("upload to lecture %d", u.LectureID)
		}
	}
}

func TestBadPasswordIsFatal(t *testing.T) {
	srv := apitest.New(t, wire.Lecture{ID: 1, Active: true})
	done := start(t, srv, &screen{}, headless.Config{Email: apitest.Email, Password: "nope"})
	select {
	case err := <-done:
		if client.Code(err) != wire.CodeInvalidLogin {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Run kept going with a bad password")
	}
}

func TestLogsInAgainWhenSessionRevoked(t *testing.T) {
	srv := apitest.New(t, wire.Lecture{ID: 1, Active: true})
	store := &client.MemoryStore{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- headless.Run(ctx, &screen{}, headless.Config{Server: srv.URL, Store: store, Email: apitest.Email, Password: apitest.Password,
			Recheck: 50 * time.Millisecond, Monitor: monitor.Config{Interval: 20 * time.Millisecond}, Logger: logger(t)})
	}()
	srv.WaitUploads(t, 15*time.Second, "first uploads", uploadsTo(1, 1))
	// Revoke the session behind the agent's back (as a sign-out elsewhere
	// would): its access token stops working and its refresh fails too.
	other, err := client.New(client.Config{Server: srv.URL, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	srv.ExpireAccess()
	n := len(srv.Uploads())
	srv.WaitUploads(t, 15*time.Second, "uploads after a new login", func(us []apitest.Upload) bool {
		return uploadsTo(1, 1)(us[n:])
	})
	if logins, _, _ := srv.Counts(); logins < 2 {
		t.Errorf("logins = %d", logins)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel = %v", err)
	}
}

// TestHeadlessWithRealCapture runs the whole agent path: X11 capture under
// Xvfb, scaling, JPEG, upload.
func TestHeadlessWithRealCapture(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("X11 capture test")
	}
	d := testenv.StartXvfb(t, "1280x720x24")
	cmd := exec.Command(testenv.LookPath(t, "xsetroot"), "-solid", "#336699")
	cmd.Env = d.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("xsetroot: %v %s", err, out)
	}
	src, err := capture.New(capture.Options{Screen: capture.AllScreens, Display: d.Name, Getenv: func(k string) string {
		if k == "DISPLAY" {
			return d.Name
		}
		return "" // no Wayland variables: this is an X11 session
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	srv := apitest.New(t, wire.Lecture{ID: 5, Active: true})
	start(t, srv, src, headless.Config{Monitor: monitor.Config{Width: 320, Interval: 30 * time.Millisecond, KeepAliveEvery: 2}})
	us := srv.WaitUploads(t, 15*time.Second, "a frame and a keep-alive", func(us []apitest.Upload) bool {
		var f, k bool
		for _, u := range us {
			f = f || (!u.Unchanged && u.Status == 200)
			k = k || (u.Unchanged && u.Status == 200)
		}
		return f && k
	})
	if us[0].Unchanged || us[0].Width != 320 || us[0].Height != 180 || us[0].ContentType != "image/jpeg" {
		t.Errorf("first upload %+v", us[0])
	}
}

func TestWaitsForServerAtStart(t *testing.T) {
	// Nothing listens yet: the agent keeps retrying until the server is up.
	srv := apitest.New(t, wire.Lecture{ID: 1, Active: true})
	url := srv.URL
	srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := headless.Run(ctx, &screen{}, headless.Config{Server: url, Email: apitest.Email, Password: apitest.Password, Logger: logger(t)})
	if err != nil {
		t.Errorf("Run with an unreachable server = %v, want to keep retrying until cancelled", err)
	}
}

func TestNoCredentialsIsFatal(t *testing.T) {
	srv := apitest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := headless.Run(ctx, &screen{}, headless.Config{Server: srv.URL}); err == nil || ctx.Err() != nil {
		t.Errorf("Run without credentials = %v", err)
	}
}

// TestLiveHookRunsBesideMonitoring: the live-session hook gets the chosen
// lecture and the signed-in student, and is cancelled with monitoring.
func TestLiveHookRunsBesideMonitoring(t *testing.T) {
	srv := apitest.New(t, wire.Lecture{ID: 7, Title: "Live", Active: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type call struct {
		lecture int64
		me      wire.User
	}
	started := make(chan call, 1)
	stopped := make(chan struct{})
	cfg := headless.Config{Server: srv.URL, Email: apitest.Email, Password: apitest.Password, Logger: logger(t),
		Monitor: monitor.Config{Interval: 50 * time.Millisecond},
		Live: func(ctx context.Context, l wire.Lecture, me wire.User) error {
			started <- call{l.ID, me}
			<-ctx.Done()
			close(stopped)
			return ctx.Err()
		}}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- headless.Run(runCtx, &screen{}, cfg) }()
	select {
	case c := <-started:
		if c.lecture != 7 || c.me.ID == 0 || c.me.Email != apitest.Email {
			t.Fatalf("live hook got lecture %d, user %+v", c.lecture, c.me)
		}
	case <-ctx.Done():
		t.Fatal("live hook never started")
	}
	stop()
	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("live hook not cancelled when the agent stopped")
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
