package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"github.com/spf13/pflag"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/agent/tokens"
	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/internal/version"
	"github.com/didacto/didacto/lockscreen"
	"github.com/didacto/didacto/rtc/audio"
	"github.com/didacto/didacto/ui"
	"github.com/didacto/didacto/wire"
)

// keyringService names the agent's entry in the OS keyring.
const keyringService = "didacto-agent"

// runTray runs the desktop app until the student quits or ctx ends.
func runTray(ctx context.Context, fs *pflag.FlagSet, stderr io.Writer, systemConfig string) int {
	if runtime.GOOS != "windows" && runtime.GOOS != "darwin" {
		if err := capture.CheckSession(nil); errors.Is(err, capture.ErrNoDisplay) {
			fmt.Fprintln(stderr, "didacto-agent: no graphical session (DISPLAY is not set); on servers use --headless")
			return 2
		}
	}
	set, err := loadSettings(fs, stderr, systemConfig)
	if err != nil {
		fmt.Fprintln(stderr, "didacto-agent:", err)
		return 2
	}
	opts, cfg, v, log, width, consent := set.opts, set.cfg, set.cfg.Viper(), set.log, set.width, set.consent

	// Single instance: a second launch shows the first one's window.
	var shown func()
	inst, err := app.Acquire(app.SocketPath(), func() {
		if shown != nil {
			shown()
		}
	}, log)
	if errors.Is(err, app.ErrRunning) {
		fmt.Fprintln(stderr, "didacto-agent: already running; its window was brought up")
		return 0
	}
	if err != nil {
		log.Warn("single-instance guard unavailable", "err", err)
	} else {
		defer inst.Release()
	}

	tokenFile := filepath.Join(filepath.Dir(opts.UserFile), "session.json")
	store := tokens.New(keyringService, "session", tokenFile, log)
	fa := fyneapp.NewWithID("org.didacto.agent")
	tr, err := ui.NewCatalog(cfg.String(config.KeyLanguage))
	if err != nil {
		log.Error("translations", "err", err)
		return 1
	}
	var u *ui.UI
	locker := lockscreen.NewLazy("")
	defer locker.Close()
	agent, err := app.New(app.Config{
		Server:    cfg.String(config.KeyServer),
		AllowHTTP: cfg.Bool(config.KeyAllowHTTP),
		UserAgent: "didacto-agent/" + version.Version,
		Store:     store,
		Source: func() (monitor.Source, func(), error) {
			src, err := capture.New(capture.Options{Screen: cfg.Int(config.KeyScreen)})
			if err != nil {
				return nil, nil, err
			}
			return src, func() { src.Close() }, nil
		},
		Monitor: monitor.Config{
			Interval: v.GetDuration("interval"),
			Width:    width,
			Quality:  v.GetInt("quality"),
			Logger:   log,
		},
		Logger: log,
		OnChange: func(s app.Status) {
			if u != nil {
				u.OnStatus(s)
			}
		},
		Locker: locker,
		OpenURL: func(raw string) error {
			pu, err := url.Parse(raw)
			if err != nil {
				return err
			}
			return fa.OpenURL(pu)
		},
		Lang: tr.Lang,
	})
	if err != nil {
		fmt.Fprintln(stderr, "didacto-agent:", err)
		return 2
	}
	sound, soundOn, err := audio.FromSetting(v.GetString("audio"))
	if err != nil {
		fmt.Fprintln(stderr, "didacto-agent: --audio:", err)
		return 2
	}
	agentLive := &liveRunner{agent: agent, allowHTTP: cfg.Bool(config.KeyAllowHTTP), log: log, sound: sound, noSound: !soundOn, loopback: v.GetBool("ice-loopback"),
		consent: consent,
		camera: func(img *image.YCbCr) {
			if u != nil {
				u.CameraFrame(img)
			}
		},
		ask: func(ctx context.Context, q app.Question) bool {
			if u == nil {
				return false
			}
			return u.Ask(ctx, q)
		}}
	agent.UseLive(agentLive)
	auto, autoErr := app.DefaultAutostart()
	var autostart ui.Autostart
	if autoErr == nil {
		autostart = auto
	}
	actx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	u, err = ui.New(fa, tr, ui.Options{
		Agent: agent, Settings: cfg, Autostart: autostart,
		Screens: listScreens, Monitors: listMonitors, Version: version.Version, Logger: log,
		Quit: fa.Quit,
	})
	if err != nil {
		log.Error("ui", "err", err)
		return 1
	}
	shown = u.Show
	agentDone := make(chan error, 1)
	go func() { agentDone <- agent.Run(actx) }()
	go func() {
		<-ctx.Done() // SIGTERM or logout of the desktop session
		fyne.Do(func() {
			u.Stop()
			fa.Quit()
		})
	}()
	log.Info("starting", "version", version.Version, "server", cfg.String(config.KeyServer), "ui", "tray")
	u.Start()
	fa.Run()
	u.Stop()
	// Clean shutdown: stop monitoring and any live session (which releases
	// held keys and buttons) before the process exits.
	stopAgent()
	select {
	case <-agentDone:
	case <-time.After(10 * time.Second):
		log.Warn("agent did not stop in time")
	}
	log.Info("stopped")
	return 0
}

func listScreens() []string {
	ss := desktopScreens()
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%d: %s %dx%d", s.Index+1, s.Name, s.Rect.Dx(), s.Rect.Dy())
	}
	return out
}

// listMonitors is the desktop's monitors, for placing the live panel.
func listMonitors() []ui.Monitor {
	ss := desktopScreens()
	out := make([]ui.Monitor, len(ss))
	for i, s := range ss {
		out[i] = ui.Monitor{Rect: s.Rect, Primary: s.Primary}
	}
	return out
}

// desktopScreens lists the screens; none when the display cannot be read
// (the tray then offers no choice and places the panel by default).
func desktopScreens() []capture.Screen {
	src, err := capture.New(capture.Options{Screen: capture.AllScreens})
	if err != nil {
		return nil
	}
	defer src.Close()
	ss, err := src.Screens()
	if err != nil {
		return nil
	}
	return ss
}

// liveRunner runs agent/live's signaling runner for the monitored lecture,
// reports its state to the tray and hands the professor's camera to it.
type liveRunner struct {
	agent     *app.Agent
	allowHTTP bool
	log       *slog.Logger
	sound     audio.Options
	noSound   bool
	loopback  bool
	consent   live.Consent
	camera    func(*image.YCbCr)
	ask       func(context.Context, app.Question) bool // the live panel's question

	mu    sync.Mutex
	muted bool
	cur   *live.Runner
}

func (l *liveRunner) RunLive(ctx context.Context, lec wire.Lecture, student wire.User, report func(app.Live)) error {
	r, err := live.New(live.Config{
		Server: l.agent.Server(), AllowHTTP: l.allowHTTP, Tokens: liveTokens{l.agent},
		LectureID: lec.ID, StudentID: student.ID,
		Audio: l.sound, NoAudio: l.noSound, LoopbackOnly: l.loopback,
		OnCamera: l.camera,
		Consent:  l.consent,
		Ask: func(ctx context.Context, q live.Question) bool {
			return l.ask(ctx, app.Question{Control: q.Control, Professor: q.Professor, Deadline: q.Deadline})
		},
		Logger:  l.log.With("component", "live"),
		OnState: func(s live.State) { report(appLive(s)) },
	})
	if err != nil {
		return err
	}
	l.mu.Lock()
	r.SetMuted(l.muted)
	l.cur = r
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.cur = nil
		l.mu.Unlock()
	}()
	return r.Run(ctx)
}

// SetMuted mutes the microphone now and in the lectures after.
func (l *liveRunner) SetMuted(m bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.muted = m
	if l.cur != nil {
		l.cur.SetMuted(m)
	}
}

// EndSession ends the live session for the student (banner, tray menu).
func (l *liveRunner) EndSession(ctx context.Context) {
	if r := l.runner(); r != nil {
		r.EndSession(ctx)
	}
}

// EndControl takes remote control back for the student.
func (l *liveRunner) EndControl(ctx context.Context) {
	if r := l.runner(); r != nil {
		r.EndControl(ctx)
	}
}

func (l *liveRunner) runner() *live.Runner {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

func appLive(s live.State) app.Live {
	m := app.LiveNone
	switch s.Mode {
	case live.Viewed:
		m = app.LiveViewed
	case live.Controlled:
		m = app.LiveControlled
	}
	dev := func(d live.Device) app.Device {
		return map[live.Device]app.Device{live.DeviceOn: app.DeviceOn, live.DeviceMuted: app.DeviceMuted,
			live.DeviceMissing: app.DeviceMissing}[d]
	}
	return app.Live{Mode: m, Professor: s.Professor, Screen: s.Screen, Microphone: dev(s.Media.Microphone), Speaker: dev(s.Media.Speaker),
		Camera: s.Media.Camera, ProfessorMuted: s.Media.ProfessorMuted}
}

// liveTokens gives the signaling runner the agent's session.
type liveTokens struct{ a *app.Agent }

func (t liveTokens) AccessToken(ctx context.Context) (string, error) { return t.a.AccessToken(ctx) }
func (t liveTokens) Refresh(ctx context.Context) error               { return t.a.RefreshSession(ctx) }
