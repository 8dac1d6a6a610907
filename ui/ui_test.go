package ui

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/assets"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// memStore keeps tokens in memory (the keyring store has its own tests).
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
func (m *memStore) Clear(ctx context.Context) error { return m.Save(ctx, client.Tokens{}) }
func (m *memStore) Current() client.Tokens {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t
}

// picture is a screen source drawing a changing gradient.
type picture struct {
	mu sync.Mutex
	n  int
}

func (p *picture) CaptureInto(*image.RGBA) (*image.RGBA, error) {
	p.mu.Lock()
	p.n++
	n := p.n
	p.mu.Unlock()
	dst := image.NewRGBA(image.Rect(0, 0, 320, 180))
	for y := 0; y < 180; y++ {
		for x := 0; x < 320; x++ {
			dst.SetRGBA(x, y, color.RGBA{uint8(x + n*30), uint8(y), 90, 255})
		}
	}
	return dst, nil
}

// liveHook hands the test the report function of the running lecture, and
// records the mute button's effect.
type liveHook struct {
	report chan func(app.Live)
	muted  *atomic.Bool
}

func (h liveHook) SetMuted(m bool) { h.muted.Store(m) }

func (h liveHook) RunLive(ctx context.Context, _ wire.Lecture, _ wire.User, report func(app.Live)) error {
	select {
	case h.report <- report:
	case <-ctx.Done():
	}
	<-ctx.Done()
	return nil
}

// uiQueue is the test's "UI thread": work queued from any goroutine runs
// on the test goroutine when the test drains it.
type uiQueue struct {
	mu sync.Mutex
	fs []func()
}

func (q *uiQueue) do(f func()) {
	q.mu.Lock()
	q.fs = append(q.fs, f)
	q.mu.Unlock()
}

func (q *uiQueue) drain() {
	for {
		q.mu.Lock()
		fs := q.fs
		q.fs = nil
		q.mu.Unlock()
		if len(fs) == 0 {
			return
		}
		for _, f := range fs {
			f()
		}
	}
}

type fixture struct {
	q     *uiQueue
	t     *testing.T
	ui    *UI
	agent *app.Agent
	srv   *servertest.Instance
	cfg   *config.Config
	live  liveHook
	shots string
}

func setup(t *testing.T, language string) *fixture {
	t.Helper()
	fa := test.NewTempApp(t)
	//lint:ignore SA1019 the screenshots are compared in the light variant on purpose
	fa.Settings().SetTheme(theme.LightTheme())
	srv := servertest.Start(t)
	dir := t.TempDir()
	sys := filepath.Join(dir, "etc", "agent.yaml")
	if err := os.MkdirAll(filepath.Dir(sys), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sys, []byte("server: "+srv.URL+"\nlocked: [server]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(config.Options{SystemFile: sys, UserFile: filepath.Join(dir, "user", "agent.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Set(config.KeyLanguage, language); err != nil {
		t.Fatal(err)
	}
	f := &fixture{q: &uiQueue{}, t: t, srv: srv, cfg: cfg, live: liveHook{report: make(chan func(app.Live), 1), muted: &atomic.Bool{}}, shots: os.Getenv("DIDACTO_SCREENSHOTS")}
	log := slog.New(slog.NewTextHandler(testLog{t}, nil))
	var u *UI
	var umu sync.Mutex
	f.agent, err = app.New(app.Config{
		Server: cfg.String(config.KeyServer), Store: &memStore{},
		Source:  func() (monitor.Source, func(), error) { return &picture{}, func() {}, nil },
		Monitor: monitor.Config{Interval: 50 * time.Millisecond},
		Live:    f.live, Recheck: 200 * time.Millisecond, Logger: log,
		OnChange: func(s app.Status) {
			umu.Lock()
			defer umu.Unlock()
			if u != nil {
				u.OnStatus(s)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewCatalog(language)
	if err != nil {
		t.Fatal(err)
	}
	auto := app.Autostart{Path: filepath.Join(dir, "autostart", "didacto-agent.desktop"), Exec: "/usr/bin/didacto-agent", GOOS: "linux"}
	umu.Lock()
	u, err = New(fa, tr, Options{Agent: f.agent, Settings: cfg, Autostart: auto, Version: "1.0.0-test",
		Screens:  func() []string { return []string{"1: Virtual-1 1920x1080"} },
		TrayHost: func() bool { return false }, Logger: log, Quit: func() {}, Do: f.q.do})
	umu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	f.ui = u
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.agent.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	u.Start()
	return f
}

// eventually polls cond (UI state is updated from the agent's goroutines).
func (f *fixture) eventually(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for f.q.drain(); !cond(); f.q.drain() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s; status %+v", what, f.agent.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shot saves a window's picture when DIDACTO_SCREENSHOTS names a folder.
func (f *fixture) shot(w fyne.Window, name string) {
	if f.shots == "" {
		return
	}
	img := w.Canvas().Capture()
	out, err := os.Create(filepath.Join(f.shots, name+".png"))
	if err != nil {
		f.t.Fatal(err)
	}
	defer out.Close()
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(out, img); err != nil {
		f.t.Fatal(err)
	}
}

// walk visits o and everything drawn inside it.
func walk(t *testing.T, o fyne.CanvasObject, visit func(fyne.CanvasObject)) {
	if o == nil {
		return
	}
	visit(o)
	switch w := o.(type) {
	case *fyne.Container:
		for _, x := range w.Objects {
			walk(t, x, visit)
		}
	case fyne.Widget:
		for _, x := range test.TempWidgetRenderer(t, w).Objects() {
			walk(t, x, visit)
		}
	}
}

// textsOf is every label, button and text drawn under o.
func textsOf(t *testing.T, o fyne.CanvasObject) string {
	var b strings.Builder
	walk(t, o, func(o fyne.CanvasObject) {
		switch w := o.(type) {
		case *widget.Label:
			b.WriteString(w.Text + "\n")
		case *widget.Button:
			b.WriteString(w.Text + "\n")
		case *canvas.Text:
			b.WriteString(w.Text + "\n")
		}
	})
	return b.String()
}

// button finds a visible button under root by text, or (text "") the
// high-importance one (a dialog's confirm button).
func button(t *testing.T, root fyne.CanvasObject, text string) *widget.Button {
	t.Helper()
	var found *widget.Button
	walk(t, root, func(o fyne.CanvasObject) {
		b, ok := o.(*widget.Button)
		if !ok || found != nil || !b.Visible() {
			return
		}
		if (text != "" && b.Text == text) || (text == "" && b.Importance == widget.HighImportance) {
			found = b
		}
	})
	if found == nil {
		t.Fatalf("no button %q", text)
	}
	return found
}

func TestStudentFlowThroughTheWindows(t *testing.T) {
	for _, language := range []string{"en", "ko"} {
		t.Run(language, func(t *testing.T) { studentFlow(t, language) })
	}
}

func studentFlow(t *testing.T, language string) {
	f := setup(t, language)
	u := f.ui
	tr := u.tr
	// No tray host: the status window is shown, never nothing.
	if u.status == nil || !u.status.w.Content().Visible() {
		t.Fatal("no status window without a tray host")
	}
	f.eventually("signed out", func() bool { return f.agent.Status().Phase == app.SignedOut })
	if u.signin == nil {
		t.Fatal("sign-in window not shown while signed out")
	}
	f.shot(u.status.w, "agent-status-"+language)
	f.shot(u.signin.w, "agent-signin-"+language)

	// Register (the second tab).
	form := u.signInForm
	form.tabs.SelectIndex(1)
	test.Type(form.regName, "Lee Student")
	email := fmt.Sprintf("lee.%s%d@school.example", language, time.Now().UnixNano()%1000)
	test.Type(form.regEmail, email)
	test.Type(form.regPw, "Passw0rd!")
	test.Type(form.regPw2, "Passw0rd?")
	test.Tap(form.register)
	if form.message.Text != tr.T("register.mismatch") {
		t.Fatalf("mismatched passwords: %q", form.message.Text)
	}
	form.regPw2.SetText("")
	test.Type(form.regPw2, "Passw0rd!")
	form.message.SetText("")
	f.shot(u.signin.w, "agent-register-"+language)
	test.Tap(form.register)
	f.eventually("signed in and idle", func() bool {
		s := f.agent.Status()
		return s.Phase == app.Idle && s.User.Email == email
	})
	f.eventually("lectures window", func() bool { return u.lectures != nil })

	// Sign out and back in through the form.
	test.Tap(button(t, u.status.w.Content(), tr.T("menu.signout")))
	f.eventually("signed out", func() bool { return f.agent.Status().Phase == app.SignedOut })
	form = u.signInForm
	form.tabs.SelectIndex(0)
	test.Type(form.email, email)
	test.Type(form.password, "wrong")
	test.Tap(form.signIn)
	f.eventually("wrong password message", func() bool { return form.message.Text == tr.T("err.invalid_login") })
	form.password.SetText("")
	test.Type(form.password, "Passw0rd!")
	test.Tap(form.signIn)
	f.eventually("signed in", func() bool { return f.agent.Status().Phase == app.Idle })

	// Join a lecture by code; the professor accepts and starts it.
	prof := f.srv.Register(t, wire.RoleProfessor, "Prof Kim")
	var lec wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Go 101"}, &lec)
	v := u.lecturesView
	test.Type(v.code, strings.ToLower(lec.Code))
	test.Tap(v.join)
	f.eventually("request sent", func() bool { return strings.Contains(v.message.Text, "Go 101") })
	f.eventually("pending shown", func() bool { return len(f.agent.Status().Pending) == 1 })
	f.shot(u.lectures.w, "agent-lectures-pending-"+language)
	var e wire.Enrollment
	e.ID = f.agent.Status().Pending[0].ID
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", lec.ID), nil, nil)
	f.eventually("monitored", func() bool {
		s := f.agent.Status()
		return s.Phase == app.Monitored && s.Lecture.ID == lec.ID
	})
	want := tr.T("status.monitored", "lecture", "Go 101")
	f.eventually("status line", func() bool { return strings.Contains(textsOf(t, u.status.w.Content()), want) })
	if iconFor(f.agent.Status()) != assets.Monitored {
		t.Fatal("tray icon is not the monitored one")
	}
	f.eventually("lecture listed as shared", func() bool {
		return strings.Contains(textsOf(t, u.lectures.w.Content()), tr.T("lectures.monitoring_now"))
	})
	f.shot(u.lectures.w, "agent-lectures-"+language)
	f.shot(u.status.w, "agent-status-monitored-"+language)

	// A live session: the banner names the professor and stays until it
	// ends; the professor's camera shows in it with their name.
	report := <-f.live.report
	on := app.Live{Mode: app.LiveViewed, Professor: "Prof Kim", Microphone: app.DeviceOn, Speaker: app.DeviceOn, Camera: true}
	report(on)
	f.eventually("viewing banner", func() bool { return u.BannerText() == tr.T("live.viewing", "name", "Prof Kim") })
	u.CameraFrame(cameraPicture())
	f.eventually("camera shown", func() bool {
		return u.bannerText.camBox.Visible() && u.bannerText.camera.Image != nil && u.bannerText.camera.Image.Bounds().Dx() == 320
	})
	if got := u.bannerText.caption.Text; got != "Prof Kim" {
		t.Fatalf("camera caption %q", got)
	}
	if u.bannerText.notes.Visible() || !u.bannerText.mute.Visible() {
		t.Fatalf("notes %q shown or mute hidden with every device working", u.bannerText.notes.Text)
	}
	f.shot(u.banner, "agent-banner-viewing-"+language)
	// The mute button reaches the live runner.
	test.Tap(u.bannerText.mute)
	f.eventually("muted", func() bool { return f.live.muted.Load() && f.agent.Status().Muted })
	on.Microphone = app.DeviceMuted
	report(on)
	f.eventually("unmute offered", func() bool { return u.bannerText.mute.Text == tr.T("live.unmute") })
	test.Tap(u.bannerText.mute)
	f.eventually("unmuted", func() bool { return !f.live.muted.Load() })
	// A PC with no microphone and no speakers, a professor with the camera
	// off and the microphone muted: the panel says all of it.
	report(app.Live{Mode: app.LiveViewed, Professor: "Prof Kim", Microphone: app.DeviceMissing, Speaker: app.DeviceMissing, ProfessorMuted: true})
	f.eventually("missing devices explained", func() bool {
		n := u.bannerText.notes.Text
		return strings.Contains(n, tr.T("live.no_microphone", "name", "Prof Kim")) &&
			strings.Contains(n, tr.T("live.no_speaker", "name", "Prof Kim")) &&
			strings.Contains(n, tr.T("live.professor_muted", "name", "Prof Kim")) &&
			strings.Contains(n, tr.T("live.camera_off", "name", "Prof Kim"))
	})
	if u.bannerText.camBox.Visible() || u.bannerText.mute.Visible() {
		t.Fatal("camera or mute button shown without camera and microphone")
	}
	f.shot(u.banner, "agent-banner-missing-"+language)
	report(app.Live{Mode: app.LiveControlled, Professor: "Prof Kim", Microphone: app.DeviceOn, Speaker: app.DeviceOn, Camera: true})
	f.eventually("controlling banner", func() bool { return u.BannerText() == tr.T("live.controlling", "name", "Prof Kim") })
	f.shot(u.banner, "agent-banner-controlling-"+language)
	if iconFor(f.agent.Status()) != assets.Controlled {
		t.Fatal("tray icon does not show control")
	}
	report(app.Live{})
	f.eventually("banner gone", func() bool { return u.BannerText() == "" })

	// Settings: the locked server cannot be edited; the other fields save.
	u.ShowSettings()
	sv := u.settingsView
	if !sv.server.Disabled() {
		t.Fatal("locked server is editable")
	}
	f.shot(u.settings.w, "agent-settings-"+language)
	u.ShowAbout()
	f.shot(u.about.w, "agent-about-"+language)
	other := map[string]int{"en": 2, "ko": 1}[language] // switch to the other language
	sv.language.SetSelectedIndex(other)
	sv.autostart.SetChecked(true)
	test.Tap(sv.save)
	f.eventually("language switched", func() bool { return u.tr.Lang() != language })
	if on, _ := u.o.Autostart.Enabled(); !on {
		t.Fatal("autostart entry not written")
	}
	if got := u.lectures.w.Title(); got != u.tr.T("lectures.title") {
		t.Fatalf("lectures window title after switch: %q", got)
	}

	// Leave the lecture: confirm in the dialog.
	u.confirmLeave(lec)
	test.Tap(button(t, u.lectures.w.Canvas().Overlays().Top(), ""))
	f.eventually("left", func() bool { return len(f.agent.Status().Lectures) == 0 })
}

// cameraPicture stands in for a decoded camera frame: a face-like blob on
// a gradient, 320x240, in the decoder's own format.
func cameraPicture() *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio420)
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			dx, dy := x-160, y-110
			v := uint8(60 + y/3)
			if dx*dx+dy*dy < 60*60 {
				v = 200
			}
			img.Y[y*img.YStride+x] = v
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 110, 150
	}
	return img
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
