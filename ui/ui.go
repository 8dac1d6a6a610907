// Package ui is the student's desktop app drawn with fyne: the tray icon
// and menu that show the agent's state, a small status window where no tray
// host exists, the sign-in/register, "My lectures", settings and about
// windows, and the always-on-top-of-mind banner while a professor views or
// controls the screen. It draws app.Status snapshots and calls app.Agent;
// it owns no network or capture logic.
package ui

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/assets"
	"github.com/didacto/didacto/wire"
)

// Agent is what the UI drives; *app.Agent is one.
type Agent interface {
	Status() app.Status
	Login(ctx context.Context, email, password string) error
	Register(ctx context.Context, name, email, password string) error
	Logout(ctx context.Context) error
	Join(ctx context.Context, code string) (wire.Enrollment, error)
	Leave(ctx context.Context, lectureID int64) error
	Cancel(ctx context.Context, enrollmentID int64) error
	Select(lectureID int64)
	SetServer(ctx context.Context, server string) error
	RestartMonitor()
	SetMuted(muted bool)
	// EndLive and EndControl are the student's stop buttons.
	EndLive(ctx context.Context)
	EndControl(ctx context.Context)
}

// Settings is where the settings window reads and saves; *config.Config is one.
type Settings interface {
	String(key string) string
	Int(key string) int
	Bool(key string) bool
	Locked(key string) bool
	Set(key string, value any) error
}

// Autostart turns the login entry on and off; app.Autostart is one.
type Autostart interface {
	Enabled() (bool, error)
	Set(on bool) error
}

// Options configures the UI.
type Options struct {
	Agent     Agent
	Settings  Settings
	Autostart Autostart
	// Screens lists the monitors for the settings window ("1: 1920x1080").
	Screens func() []string
	// Monitors lists the desktop's monitors for placing the live panel
	// (nil: the window system places it).
	Monitors func() []Monitor
	// TrayHost reports whether a tray (StatusNotifier) host is running;
	// nil checks the session bus on Linux.
	TrayHost func() bool
	Version  string
	Logger   *slog.Logger
	// Quit ends the app (the caller cancels the agent and waits for it).
	Quit func()
	// Do runs f on the UI thread; nil is fyne.Do. (fyne's test driver runs
	// fyne.Do inline on the calling goroutine, so widget tests pass a
	// queue they drain on the test goroutine.)
	Do func(f func())
}

// UI is the running desktop app.
type UI struct {
	fa   fyne.App
	o    Options
	tr   *Catalog
	log  *slog.Logger
	tray bool // a tray host shows our icon

	mu   sync.Mutex // guards st (written from agent goroutines)
	st   app.Status
	last app.Live

	// Windows, created on first use and kept; rebuilt on a language switch.
	status, signin, lectures, settings, about *window
	messages                                  *window
	seenMessages                              []int64 // notified already
	banner                                    fyne.Window
	bannerText                                *bannerView

	signInForm   *signInForm
	lecturesView *lecturesView
	settingsView *settingsView

	trayMenu *fyne.Menu
	icons    map[string]fyne.Resource
	stopped  atomic.Bool // Stop was called: the tray's bus connection is going away

	camLatest  atomic.Pointer[image.Image] // the professor's latest camera picture
	camPending atomic.Bool                 // a redraw of it is queued

	// The live panel's own state (UI thread only).
	question   *question        // the consent question waiting for the student
	askSeq     atomic.Uint64    // numbers questions (Ask runs on any goroutine)
	collapsed  bool             // the student folded the panel to its strip
	placedFor  *image.Rectangle // the streamed monitor the panel was placed for
	panelShown bool             // the panel's window is shown
}

// New builds the UI (no window is shown until Start).
func New(fa fyne.App, tr *Catalog, o Options) (*UI, error) {
	if o.Agent == nil || o.Settings == nil {
		return nil, errors.New("ui: Agent and Settings are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Do == nil {
		o.Do = fyne.Do
	}
	u := &UI{fa: fa, o: o, tr: tr, log: o.Logger, icons: map[string]fyne.Resource{}}
	for _, n := range []string{assets.App, assets.SignedOut, assets.Idle, assets.Monitored, assets.Live, assets.Controlled, assets.Offline} {
		b, err := assets.PNG(n)
		if err != nil {
			return nil, err
		}
		u.icons[n] = fyne.NewStaticResource(n, b)
	}
	fa.SetIcon(u.icons[assets.App])
	u.st = o.Agent.Status()
	return u, nil
}

// Start installs the tray icon (or the fallback window) and shows the
// sign-in window when nobody is signed in.
func (u *UI) Start() {
	host := u.o.TrayHost
	if host == nil {
		host = trayHostRunning
	}
	u.tray = host()
	// Only with a host: a tray with nothing to show it is invisible anyway,
	// and fyne's systray crashes on quit when it never reached a bus.
	if desk, ok := u.fa.(desktop.App); ok && u.tray {
		u.trayMenu = fyne.NewMenu("DIDACTO")
		u.fillTrayMenu()
		desk.SetSystemTrayMenu(u.trayMenu)
		desk.SetSystemTrayIcon(u.icons[assets.SignedOut])
	}
	if !u.tray {
		u.log.Warn("no system tray on this desktop; showing the status window instead")
		u.ShowStatus()
	}
	u.apply(u.snapshot())
	if u.snapshot().Phase == app.SignedOut {
		u.ShowSignIn()
	}
}

// OnStatus takes a new agent status from any goroutine.
func (u *UI) OnStatus(s app.Status) {
	u.mu.Lock()
	same := reflect.DeepEqual(u.st, s)
	u.st = s
	u.mu.Unlock()
	if same {
		return // the periodic lecture re-check usually changes nothing: no redraw
	}
	if u.stopped.Load() {
		return // after quitting, fyne.Do would run this on the caller's goroutine
	}
	u.do(func() { u.apply(s) })
}

func (u *UI) snapshot() app.Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.st
}

func (u *UI) do(f func()) { u.o.Do(f) }

// Show brings up the main window (a second launch asks for this).
func (u *UI) Show() {
	u.do(func() {
		if u.snapshot().Phase == app.SignedOut {
			u.ShowSignIn()
		} else {
			u.ShowStatus()
		}
	})
}

// Stop freezes the UI before the app quits: updates that arrive while the
// agent shuts down must not touch the tray (its D-Bus connection closes
// with the app). UI thread only.
// Safe from any goroutine.
func (u *UI) Stop() { u.stopped.Store(true) }

// apply redraws everything that depends on the status. UI thread only.
func (u *UI) apply(s app.Status) {
	if u.stopped.Load() {
		return
	}
	u.updateTray(s)
	for _, w := range []*window{u.status, u.lectures, u.signin} {
		if w != nil {
			w.refresh()
		}
	}
	u.liveChanged(s.Live)
	if u.classroom() != nil {
		u.messagesChanged(s)
	}
}

// updateTray sets the tray icon and menu. fyne closes the tray's D-Bus
// connection when it quits (it also does so by itself on SIGTERM), after
// which systray panics on every call: treat that as the end of the UI.
func (u *UI) updateTray(s app.Status) {
	desk, ok := u.fa.(desktop.App)
	if !ok || u.trayMenu == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			u.Stop()
			u.log.Debug("tray gone; the app is quitting", "panic", r)
		}
	}()
	desk.SetSystemTrayIcon(u.icons[iconFor(s)])
	u.fillTrayMenu()
	u.trayMenu.Refresh()
}

// iconFor picks the tray icon for a status.
func iconFor(s app.Status) string {
	switch {
	case s.Live.Mode == app.LiveControlled:
		return assets.Controlled
	case s.Live.Mode == app.LiveViewed:
		return assets.Live
	}
	switch s.Phase {
	case app.Monitored:
		return assets.Monitored
	case app.Offline:
		return assets.Offline
	case app.Idle, app.Starting:
		return assets.Idle
	}
	return assets.SignedOut
}

// statusLine is the one-line state shown in the tray and status window.
func (u *UI) statusLine(s app.Status) string {
	switch s.Live.Mode {
	case app.LiveViewed:
		return u.tr.T("live.viewing", "name", u.professor(s.Live))
	case app.LiveControlled:
		return u.tr.T("live.controlling", "name", u.professor(s.Live))
	}
	switch s.Phase {
	case app.Starting:
		return u.tr.T("status.starting")
	case app.Offline:
		return u.tr.T("status.offline")
	case app.Idle:
		return u.tr.T("status.idle")
	case app.Monitored:
		return u.tr.T("status.monitored", "lecture", s.Lecture.Title)
	}
	return u.tr.T("status.signed_out")
}

func (u *UI) professor(l app.Live) string {
	if l.Professor == "" {
		return u.tr.T("live.a_professor")
	}
	return l.Professor
}

// fillTrayMenu rebuilds the tray menu's items for the current status.
func (u *UI) fillTrayMenu() {
	s := u.snapshot()
	head := fyne.NewMenuItem(u.statusLine(s), nil)
	head.Disabled = true
	items := []*fyne.MenuItem{head, fyne.NewMenuItemSeparator()}
	if s.Live.Mode != app.LiveNone {
		// The student's stops, in every consent mode.
		if s.Live.Mode == app.LiveControlled {
			items = append(items, fyne.NewMenuItem(u.tr.T("live.end_control"), u.endControl))
		}
		items = append(items, fyne.NewMenuItem(u.tr.T("live.end_session"), u.endSession))
		if s.Live.Microphone == app.DeviceOn || s.Live.Microphone == app.DeviceMuted {
			label := u.tr.T("live.mute")
			if s.Live.Microphone == app.DeviceMuted {
				label = u.tr.T("live.unmute")
			}
			items = append(items, fyne.NewMenuItem(label, u.toggleMute))
		}
		items = append(items, fyne.NewMenuItemSeparator())
	}
	if hand := u.handItem(s); hand != nil {
		items = append(items, hand, fyne.NewMenuItemSeparator())
	}
	if s.Phase == app.SignedOut {
		items = append(items, fyne.NewMenuItem(u.tr.T("menu.signin"), u.ShowSignIn))
	} else {
		items = append(items,
			fyne.NewMenuItem(u.tr.T("menu.lectures"), u.ShowLectures),
			fyne.NewMenuItem(u.tr.T("menu.signout"), u.signOut))
	}
	items = append(items,
		fyne.NewMenuItem(u.tr.T("menu.status"), u.ShowStatus),
		fyne.NewMenuItem(u.tr.T("menu.settings"), u.ShowSettings),
		fyne.NewMenuItem(u.tr.T("menu.about"), u.ShowAbout),
		fyne.NewMenuItemSeparator(),
	)
	quit := fyne.NewMenuItem(u.tr.T("menu.quit"), u.quit)
	quit.IsQuit = true
	items = append(items, quit)
	u.trayMenu.Label = "DIDACTO"
	u.trayMenu.Items = items
}

// SetLanguage switches the UI language and redraws every window.
func (u *UI) SetLanguage(setting string) {
	u.tr.Set(setting)
	for _, w := range []*window{u.status, u.signin, u.lectures, u.settings, u.about} {
		if w != nil {
			w.rebuild()
		}
	}
	if u.banner != nil {
		u.drawPanel()
	}
	u.apply(u.snapshot())
}

func (u *UI) quit() {
	u.Stop()
	if u.o.Quit != nil {
		u.o.Quit()
		return
	}
	u.fa.Quit()
}

// background runs f off the UI thread with a timeout and hands its error to
// done on the UI thread.
func (u *UI) background(f func(ctx context.Context) error, done func(error)) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := f(ctx)
		u.do(func() { done(err) })
	}()
}

func (u *UI) signOut() {
	u.background(u.o.Agent.Logout, func(err error) {
		if err != nil {
			u.log.Warn("sign out", "err", err)
		}
		u.ShowSignIn()
	})
}

// errorText makes an error readable for a student.
func (u *UI) errorText(err error) string {
	if err == nil {
		return ""
	}
	if t := u.problemText(err); t != "" {
		return t
	}
	return fmt.Sprint(err)
}

var _ Settings = (*config.Config)(nil)
