package ui

import (
	"context"
	"image"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/wire"
)

// panelAgent is an agent whose status the test sets, counting the
// student's stops.
type panelAgent struct {
	st                   atomic.Pointer[app.Status]
	endLive, endControls atomic.Int32
}

func (a *panelAgent) Status() app.Status                          { return *a.st.Load() }
func (a *panelAgent) Login(context.Context, string, string) error { return nil }
func (a *panelAgent) Register(context.Context, string, string, string) error {
	return nil
}
func (a *panelAgent) Logout(context.Context) error { return nil }
func (a *panelAgent) Join(context.Context, string) (wire.Enrollment, error) {
	return wire.Enrollment{}, nil
}
func (a *panelAgent) Leave(context.Context, int64) error      { return nil }
func (a *panelAgent) Cancel(context.Context, int64) error     { return nil }
func (a *panelAgent) Select(int64)                            {}
func (a *panelAgent) SetServer(context.Context, string) error { return nil }
func (a *panelAgent) RestartMonitor()                         {}
func (a *panelAgent) SetMuted(bool)                           {}
func (a *panelAgent) EndLive(context.Context)                 { a.endLive.Add(1) }
func (a *panelAgent) EndControl(context.Context)              { a.endControls.Add(1) }

type panelFixture struct {
	t     *testing.T
	q     *uiQueue
	u     *UI
	agent *panelAgent
	shots *fixture // for shot()
}

func newPanel(t *testing.T, language string, monitors []Monitor) *panelFixture {
	t.Helper()
	fa := test.NewTempApp(t)
	//lint:ignore SA1019 the screenshots are compared in the light variant on purpose
	fa.Settings().SetTheme(theme.LightTheme())
	cfg, err := config.Load(config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewCatalog(language)
	if err != nil {
		t.Fatal(err)
	}
	p := &panelFixture{t: t, q: &uiQueue{}, agent: &panelAgent{}}
	p.agent.st.Store(&app.Status{Phase: app.Monitored, Lecture: wire.Lecture{Title: "Go 101"}})
	p.u, err = New(fa, tr, Options{Agent: p.agent, Settings: cfg, TrayHost: func() bool { return false },
		Monitors: func() []Monitor { return monitors }, Do: p.q.do})
	if err != nil {
		t.Fatal(err)
	}
	p.u.trayMenu = fyne.NewMenu("DIDACTO") // the menu's items, without a tray host
	p.u.Start()
	p.shots = &fixture{t: t, q: p.q, shots: os.Getenv("DIDACTO_SCREENSHOTS")}
	return p
}

// live sets the agent's live state as the runner would report it.
func (p *panelFixture) live(l app.Live) {
	s := p.agent.Status()
	s.Live = l
	p.agent.st.Store(&s)
	p.u.OnStatus(s)
	p.q.drain()
}

func (p *panelFixture) eventually(what string, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for p.q.drain(); !cond(); p.q.drain() {
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ask runs UI.Ask as the live runner does (off the UI thread).
func (p *panelFixture) ask(ctx context.Context, q app.Question) chan bool {
	out := make(chan bool, 1)
	go func() { out <- p.u.Ask(ctx, q) }()
	p.eventually("the question on the panel", func() bool { return p.u.question != nil && p.u.bannerText.askBox.Visible() })
	return out
}

func (p *panelFixture) menu() []string {
	p.u.fillTrayMenu()
	var out []string
	for _, it := range p.u.trayMenu.Items {
		out = append(out, it.Label)
	}
	return out
}

// TestConsentQuestionOnThePanel: under consent ask, the panel asks; Allow
// and Refuse answer, a withdrawn or expired question goes away and counts
// as no, and nothing else (camera, stop buttons) shows before a session.
func TestConsentQuestionOnThePanel(t *testing.T) {
	for _, lang := range []string{"en", "ko"} {
		t.Run(lang, func(t *testing.T) {
			p := newPanel(t, lang, nil)
			u, tr := p.u, p.u.tr
			q := app.Question{Professor: "Prof Kim", Deadline: time.Now().Add(20 * time.Second)}
			ans := p.ask(context.Background(), q)
			b := u.bannerText
			if u.BannerText() == "" {
				t.Fatal("no panel for the question")
			}
			if got := b.question.Text; got != tr.T("live.ask_view", "name", "Prof Kim") {
				t.Fatalf("panel asks %q", got)
			}
			if b.actions.Visible() || b.body.Visible() {
				t.Fatal("stop buttons or camera shown before there is a session")
			}
			if !strings.Contains(b.hint.Text, "20") {
				t.Fatalf("hint %q does not say how long", b.hint.Text)
			}
			p.shots.shot(u.banner, "agent-panel-ask-view-"+lang)
			test.Tap(b.allow)
			if !<-ans {
				t.Fatal("Allow answered no")
			}
			p.eventually("the panel gone after the answer", func() bool { return u.BannerText() == "" })

			ans = p.ask(context.Background(), q)
			test.Tap(b.refuse)
			if <-ans {
				t.Fatal("Refuse answered yes")
			}

			// The deadline passes (or the professor gives up): no, and the
			// question leaves the panel.
			ctx, cancel := context.WithCancel(context.Background())
			ans = p.ask(ctx, q)
			cancel()
			if <-ans {
				t.Fatal("a withdrawn question answered yes")
			}
			p.eventually("the withdrawn question gone", func() bool { return u.question == nil && u.BannerText() == "" })

			// A control question during a session: the session's panel
			// shows it above the stop buttons.
			p.live(app.Live{Mode: app.LiveViewed, Professor: "Prof Kim", Microphone: app.DeviceOn, Speaker: app.DeviceOn})
			ans = p.ask(context.Background(), app.Question{Control: true, Professor: "Prof Kim", Deadline: time.Now().Add(20 * time.Second)})
			if got := b.question.Text; got != tr.T("live.ask_control", "name", "Prof Kim") {
				t.Fatalf("control question %q", got)
			}
			if !b.actions.Visible() || !b.endSession.Visible() {
				t.Fatal("End session hidden during a session")
			}
			p.shots.shot(u.banner, "agent-panel-ask-control-"+lang)
			test.Tap(b.allow)
			if !<-ans {
				t.Fatal("Allow control answered no")
			}
		})
	}
}

// TestStudentStopsAndCollapse: in every mode the panel and the tray menu
// end control and the session; the panel folds to its strip and back.
func TestStudentStopsAndCollapse(t *testing.T) {
	p := newPanel(t, "en", []Monitor{{Rect: image.Rect(0, 0, 1280, 720), Primary: true}})
	u, tr := p.u, p.u.tr
	p.live(app.Live{Mode: app.LiveViewed, Professor: "Prof Kim", Microphone: app.DeviceOn, Speaker: app.DeviceOn,
		Screen: image.Rect(0, 0, 1280, 720)})
	b := u.bannerText
	if b.endControl.Visible() || !b.endSession.Visible() {
		t.Fatal("viewed: want End session and no Take back control")
	}
	if m := p.menu(); slices.Contains(m, tr.T("live.end_control")) || !slices.Contains(m, tr.T("live.end_session")) {
		t.Fatalf("viewed tray menu %q", m)
	}
	p.live(app.Live{Mode: app.LiveControlled, Professor: "Prof Kim", Microphone: app.DeviceOn, Speaker: app.DeviceOn,
		Screen: image.Rect(0, 0, 1280, 720)})
	if !b.endControl.Visible() {
		t.Fatal("controlled: no Take back control")
	}
	m := p.menu()
	if !slices.Contains(m, tr.T("live.end_control")) || !slices.Contains(m, tr.T("live.end_session")) {
		t.Fatalf("controlled tray menu %q", m)
	}
	p.shots.shot(u.banner, "agent-panel-controlling-en")
	test.Tap(b.endControl)
	p.eventually("control ended from the panel", func() bool { return p.agent.endControls.Load() == 1 })
	for _, it := range u.trayMenu.Items {
		if it.Label == tr.T("live.end_control") {
			it.Action()
		}
	}
	p.eventually("control ended from the tray", func() bool { return p.agent.endControls.Load() == 2 })

	// Collapse: the camera and notes fold away, the stops stay.
	full := b.root.MinSize().Height
	test.Tap(b.collapse)
	p.q.drain()
	if b.body.Visible() || !b.endSession.Visible() || b.root.MinSize().Height >= full {
		t.Fatalf("collapsed: body %v, end %v, height %v of %v", b.body.Visible(), b.endSession.Visible(), b.root.MinSize().Height, full)
	}
	p.shots.shot(u.banner, "agent-panel-collapsed-en")
	// The window's close button folds too, never hides the panel mid-session.
	test.Tap(b.collapse)
	p.q.drain()
	if !b.body.Visible() {
		t.Fatal("not unfolded")
	}

	test.Tap(b.endSession)
	p.eventually("session ended from the panel", func() bool { return p.agent.endLive.Load() == 1 })
	for _, it := range u.trayMenu.Items {
		if it.Label == tr.T("live.end_session") {
			it.Action()
		}
	}
	p.eventually("session ended from the tray", func() bool { return p.agent.endLive.Load() == 2 })
}

// TestPanelSpot: the panel goes to the right side, never across the centre
// of the monitor it is on, and onto a monitor that is not streamed when
// there is one.
func TestPanelSpot(t *testing.T) {
	size := image.Pt(344, 420)
	left := Monitor{Rect: image.Rect(0, 0, 1920, 1080), Primary: true}
	right := Monitor{Rect: image.Rect(1920, 0, 3200, 1024)}
	for _, tc := range []struct {
		name     string
		monitors []Monitor
		streamed image.Rectangle
		on       image.Rectangle
	}{
		{"one monitor", []Monitor{left}, left.Rect, left.Rect},
		{"stream not known yet: off the primary", []Monitor{left, right}, image.Rectangle{}, right.Rect},
		{"the left one streamed", []Monitor{left, right}, left.Rect, right.Rect},
		{"the right one streamed", []Monitor{left, right}, right.Rect, left.Rect},
		{"everything streamed", []Monitor{left, right}, left.Rect.Union(right.Rect), left.Rect},
	} {
		at, ok := panelSpot(tc.monitors, tc.streamed, size)
		if !ok {
			t.Fatalf("%s: no spot", tc.name)
		}
		panel := image.Rectangle{Min: at, Max: at.Add(size)}
		centre := image.Pt(tc.on.Min.X+tc.on.Dx()/2, tc.on.Min.Y+tc.on.Dy()/2)
		if !panel.In(tc.on) || centre.In(panel) || panel.Min.X <= centre.X {
			t.Errorf("%s: panel %v, want the right half of %v", tc.name, panel, tc.on)
		}
	}
	if _, ok := panelSpot(nil, image.Rectangle{}, size); ok {
		t.Error("a spot without monitors")
	}
}
