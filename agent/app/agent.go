// Package app is the agent's one supervisor, without any UI: the session
// (sign in, register, sign out, signing in again when it is lost), the
// student's lectures and pending requests, joining and leaving, which
// lecture is monitored (chosen or automatic), the monitor loop, the live
// runner beside it, and reconnection with backoff while offline. Both faces
// are views of it: the tray app (package ui) calls its methods from any
// goroutine and redraws from the Status snapshots passed to OnChange; the
// headless mode (package headless) signs in with configured credentials and
// logs the same snapshots. It also holds the desktop chores that are not
// drawing: single instance and autostart.
package app

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/wire"
)

// Phase is what the tray icon shows.
type Phase int

const (
	SignedOut Phase = iota // no session
	Starting               // checking a stored session
	Offline                // the server does not answer; retrying with backoff
	Idle                   // signed in, nothing monitored
	Monitored              // uploading thumbnails for Status.Lecture
)

func (p Phase) String() string {
	return [...]string{"signed_out", "starting", "offline", "idle", "monitored"}[p]
}

// LiveMode is the live session's state as the student must see it.
type LiveMode int

const (
	LiveNone       LiveMode = iota // no live session
	LiveViewed                     // a professor watches the screen
	LiveControlled                 // a professor controls mouse and keyboard
)

// Live is the live session state: who, how, and what of the session's
// sound and camera works on this machine.
type Live struct {
	Mode      LiveMode
	Professor string
	// Screen is the streamed monitor in desktop pixels (zero: unknown):
	// the live panel stays off it where it can.
	Screen image.Rectangle
	// The student's devices while a session runs.
	Microphone, Speaker Device
	// Camera: the professor's camera is arriving (pictures go to the
	// LiveRunner's camera sink); ProfessorMuted: they muted themselves.
	Camera, ProfessorMuted bool
}

// Device is the state of one of the student's sound devices in a session.
type Device int

const (
	DeviceNone    Device = iota // no session
	DeviceOn                    // working
	DeviceMuted                 // the microphone, muted by the student
	DeviceMissing               // none on this machine, or it failed
)

// Muter is a LiveRunner that can mute the student's microphone.
type Muter interface {
	SetMuted(muted bool)
}

// Ender is a LiveRunner whose student can end the live session, or only
// its remote control (the professor is told why).
type Ender interface {
	EndSession(ctx context.Context)
	EndControl(ctx context.Context)
}

// Question is a consent question put to the student (the lab's consent
// policy is ask): may the professor view the screen, or control it.
type Question struct {
	Control   bool
	Professor string
	Deadline  time.Time // no answer by then is a no
}

// LiveRunner runs the live-session side (signaling, streaming, control) for
// one monitored lecture until ctx ends, calling report on every change.
// Ending ctx must end any session and release held input.
type LiveRunner interface {
	RunLive(ctx context.Context, lecture wire.Lecture, student wire.User, report func(Live)) error
}

// Status is a snapshot for the UI.
type Status struct {
	Phase    Phase
	User     wire.User
	Lecture  wire.Lecture // the monitored one (also kept while Offline)
	Lectures []wire.Lecture
	Pending  []wire.Enrollment
	Selected int64 // 0: automatic
	Live     Live
	Reason   string // why Idle or Offline
	Muted    bool   // the student muted their microphone (kept across sessions)
	// Channel: the agent channel is up, so the server's changes arrive at
	// once (down: they arrive at the next poll).
	Channel bool
	// Lock is the screen lock shown now (nil: none).
	Lock *wire.ScreenLock
	// Messages are the professor's messages not yet dismissed.
	Messages []Message
	// Hand: the student's hand is raised in the monitored lecture.
	Hand bool
}

// clearer is a token store that can remove what it keeps (the keyring
// store); others are cleared by saving no tokens.
type clearer interface {
	Clear(ctx context.Context) error
}

// Credentials sign an unattended agent in by itself.
type Credentials struct {
	Email, Password string
}

// SourceOpener opens the screen source when monitoring starts (so a change
// of screen takes effect) and returns how to close it.
type SourceOpener func() (monitor.Source, func(), error)

// Config configures an Agent.
type Config struct {
	Server string
	// AllowHTTP lets a plain http:// server on another host through.
	AllowHTTP bool
	UserAgent string
	Store     client.TokenStore // nil: tokens live in memory only
	Source    SourceOpener
	Monitor   monitor.Config // LectureID and Observe are set by the agent
	Live      LiveRunner     // nil: no live sessions
	Recheck   time.Duration  // lecture list poll; DefaultRecheck
	// Lecture is the lecture to monitor at start (0: the only active one);
	// Select changes it.
	Lecture int64
	// Login, when set, signs the agent in whenever it has no valid session
	// (at start, and after the server ended the session).
	Login *Credentials
	// Unattended: nobody can answer a sign-in screen (the headless mode).
	// When signing in is impossible (no stored session and no Login, or
	// Login refused), Run returns the error instead of waiting.
	Unattended bool
	// Join, when set, is a lecture code to ask to join once signed in
	// (nothing happens when the student already asked or is a member).
	Join string
	// MaxBackoff bounds the wait between reconnection attempts (1 min).
	MaxBackoff time.Duration
	Logger     *slog.Logger
	// OnChange receives every new Status, from the agent's goroutines.
	OnChange func(Status)
	// Locker shows the professor's screen locks (nil: a lock fails, and
	// the professor is told why).
	Locker Locker
	// OpenURL opens a page in the default browser (nil: open_url fails).
	OpenURL func(url string) error
	// Lang is the language of the lock screen ("ko" or "en"; nil: en).
	Lang func() string
}

// Agent is the tray agent's core.
type Agent struct {
	cfg  Config
	log  *slog.Logger
	wake chan struct{}

	mu     sync.Mutex
	api    *client.Client
	st     Status
	online bool // last upload or list call worked
	mon    *running
	// dropChan drops the agent channel (sign-out); whether it is up is
	// st.Channel.
	dropChan context.CancelFunc
	joined   bool // Config.Join was asked (or cannot be)
	// outbox holds command acknowledgements for the agent channel.
	outbox chan wire.AgentReply

	// lockMu serialises showing locks; locks is the server's list.
	lockMu    sync.Mutex
	locks     []wire.ScreenLock
	lockTimer *time.Timer
}

// running is the monitor (and live runner) of one lecture.
type running struct {
	lecture wire.Lecture
	cancel  context.CancelFunc
	done    chan error // monitor result
	wg      sync.WaitGroup
}

// New checks the configuration; it does not touch the network.
func New(cfg Config) (*Agent, error) {
	if cfg.Source == nil {
		return nil, errors.New("app: Source is required")
	}
	if cfg.Store == nil {
		cfg.Store = &client.MemoryStore{}
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), online: true, outbox: make(chan wire.AgentReply, 256)}
	a.st.Selected = cfg.Lecture
	if err := a.connect(cfg.Server); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Agent) connect(server string) error {
	api, err := client.New(client.Config{Server: server, Store: a.cfg.Store, UserAgent: a.cfg.UserAgent, AllowHTTP: a.cfg.AllowHTTP})
	if err != nil {
		return fmt.Errorf("app: %w", err)
	}
	a.mu.Lock()
	a.api, a.cfg.Server = api, server
	a.mu.Unlock()
	return nil
}

func (a *Agent) client() *client.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.api
}

// Status returns the current snapshot.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.st
}

// update changes the status under the lock and publishes it.
func (a *Agent) update(f func(*Status)) {
	a.mu.Lock()
	f(&a.st)
	st := a.st
	a.mu.Unlock()
	if a.cfg.OnChange != nil {
		a.cfg.OnChange(st)
	}
}

// Refresh makes the loop re-read the lecture list now.
func (a *Agent) Refresh() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// Login signs in with a password.
func (a *Agent) Login(ctx context.Context, email, password string) error {
	api := a.client()
	u, err := api.Login(ctx, strings.TrimSpace(email), password)
	if err != nil {
		return err
	}
	a.log.Info("signed in", "user", u.Email)
	a.update(func(s *Status) { s.User, s.Phase, s.Reason = u, Starting, "" })
	a.Refresh()
	return nil
}

// Register creates a student account and signs in with it.
func (a *Agent) Register(ctx context.Context, name, email, password string) error {
	if _, err := a.client().Register(ctx, wire.RegisterRequest{Email: strings.TrimSpace(email), Password: password,
		Name: strings.TrimSpace(name), Role: wire.RoleStudent}); err != nil {
		return err
	}
	return a.Login(ctx, email, password)
}

// Logout stops monitoring, revokes the session on the server (best effort)
// and removes the tokens from this machine.
func (a *Agent) Logout(ctx context.Context) error {
	a.stopMonitor()
	a.closeChannel()
	api := a.client()
	err := api.Logout(ctx)
	if cerr := a.clearTokens(ctx); cerr != nil && err == nil {
		err = cerr
	}
	a.update(func(s *Status) { *s = Status{Phase: SignedOut, Channel: s.Channel} })
	a.Refresh()
	if err != nil {
		a.log.Warn("sign out was not confirmed by the server; the tokens are removed here", "err", err)
	}
	return nil
}

// Join asks to join a lecture by code.
func (a *Agent) Join(ctx context.Context, code string) (wire.Enrollment, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return wire.Enrollment{}, errNoCode
	}
	api := a.client()
	e, err := api.Join(ctx, code)
	if err != nil {
		return wire.Enrollment{}, err
	}
	a.Refresh()
	return e, nil
}

// Leave leaves a lecture.
func (a *Agent) Leave(ctx context.Context, lectureID int64) error {
	if err := a.client().Leave(ctx, lectureID); err != nil {
		return err
	}
	a.Refresh()
	return nil
}

// Cancel withdraws a waiting join request.
func (a *Agent) Cancel(ctx context.Context, enrollmentID int64) error {
	if err := a.client().CancelRequest(ctx, enrollmentID); err != nil {
		return err
	}
	a.Refresh()
	return nil
}

// Select chooses the lecture to monitor (0: the only active one).
func (a *Agent) Select(lectureID int64) {
	a.update(func(s *Status) { s.Selected = lectureID })
	a.Refresh()
}

// SetServer points the agent at another server. The session belongs to the
// old one, so it signs out first.
func (a *Agent) SetServer(ctx context.Context, server string) error {
	if _, err := client.New(client.Config{Server: server, AllowHTTP: a.cfg.AllowHTTP}); err != nil {
		return err
	}
	_ = a.Logout(ctx)
	return a.connect(server)
}

// RestartMonitor restarts monitoring (after the screen setting changed).
func (a *Agent) RestartMonitor() {
	a.stopMonitor()
	a.Refresh()
}

// Run drives the agent until ctx ends (then it stops monitoring and any
// live session and returns nil), or, Unattended, until signing in proves
// impossible (then it returns why).
func (a *Agent) Run(ctx context.Context) error {
	defer a.releaseLocks()
	defer a.stopMonitor()
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // before wg.Wait: the channel goroutine ends with ctx
	wg.Add(1)
	go func() { defer wg.Done(); a.runChannel(ctx) }()
	api := a.client()
	a.update(func(s *Status) { s.Phase = Starting })
	if err := api.Resume(ctx); err != nil && !errors.Is(err, client.ErrNoTokens) {
		a.log.Warn("stored session unreadable", "err", err)
	}
	// An agent starts at boot, often before the network or the server is
	// up: retry what may heal (with backoff), stop on what will not.
	backoff := time.Second
	offline := func(err error) {
		a.log.Warn("server unreachable; retrying", "err", err, "in", backoff)
		a.setOnline(false, err.Error())
		a.sleep(ctx, backoff, nil)
		backoff = min(2*backoff, a.cfg.MaxBackoff)
	}
	for ctx.Err() == nil {
		api := a.client()
		if !api.LoggedIn() {
			a.stopMonitor()
			err := a.signIn(ctx, api)
			switch {
			case ctx.Err() != nil:
				return nil
			case err != nil && transient(err):
				offline(err)
				continue
			case err != nil:
				return err
			case !api.LoggedIn(): // the UI signs in
				a.update(func(s *Status) { *s = Status{Phase: SignedOut, Selected: s.Selected, Channel: s.Channel} })
				a.sleep(ctx, 0, nil)
				continue
			}
		}
		err := a.poll(ctx, api)
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil:
			backoff = time.Second
		case isAuth(err):
			a.sessionLost(ctx, err)
			continue
		default:
			offline(err)
			continue
		}
		var done chan error
		if m := a.monitor(); m != nil {
			done = m.done
		}
		if merr := a.sleep(ctx, a.recheck(), done); merr != nil && ctx.Err() == nil {
			a.monitorEnded(ctx, merr)
		}
	}
	return nil
}

// signIn signs in with the configured credentials. Without them it returns
// nil for the UI to sign in, or, Unattended, an error saying what to give.
func (a *Agent) signIn(ctx context.Context, api *client.Client) error {
	if a.cfg.Login == nil || a.cfg.Login.Email == "" || a.cfg.Login.Password == "" {
		if a.cfg.Unattended {
			return errNoCredentials
		}
		return nil
	}
	u, err := api.Login(ctx, a.cfg.Login.Email, a.cfg.Login.Password)
	if err != nil {
		return err
	}
	a.log.Info("signed in", "user", u.Email)
	a.update(func(s *Status) { s.User, s.Phase, s.Reason = u, Starting, "" })
	return nil
}

// sessionLost forgets a session the server no longer accepts: the next
// round signs in again (Login) or shows the sign-in screen.
func (a *Agent) sessionLost(ctx context.Context, cause error) {
	a.log.Warn("session no longer valid; signing in again", "err", cause)
	a.stopMonitor()
	a.closeChannel()
	api := a.client()
	_ = a.clearTokens(ctx)
	_ = api.Logout(ctx)
	a.update(func(s *Status) { s.User = wire.User{} })
}

func (a *Agent) clearTokens(ctx context.Context) error {
	if c, ok := a.cfg.Store.(clearer); ok {
		return c.Clear(ctx)
	}
	return a.cfg.Store.Save(ctx, client.Tokens{})
}

// errNoCredentials: an unattended agent with nothing to sign in with.
var errNoCredentials = errors.New("not signed in: give --email and --password (or DIDACTO_EMAIL/DIDACTO_PASSWORD)")

// transient reports whether err may go away by itself: no answer at all
// (network), a server-side failure, or rate limiting.
func transient(err error) bool {
	if errors.Is(err, errNoCredentials) {
		return false
	}
	st := client.Status(err)
	return st == 0 || st >= 500 || st == 429 || st == 408
}

func isAuth(err error) bool {
	return errors.Is(err, monitor.ErrAuth) || errors.Is(err, client.ErrNotLoggedIn) || client.Status(err) == 401
}

// sleep waits d (0: until woken), a wake-up, or a monitor result (returned).
func (a *Agent) sleep(ctx context.Context, d time.Duration, done <-chan error) error {
	var tc <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	}
	select {
	case <-ctx.Done():
	case <-a.wake:
	case <-tc:
	case err := <-done:
		if err == nil {
			err = errors.New("monitor stopped")
		}
		return err
	}
	return nil
}

// poll refreshes the account, lectures and requests and starts or stops
// monitoring accordingly.
func (a *Agent) poll(ctx context.Context, api *client.Client) error {
	st := a.Status()
	if st.User.ID == 0 {
		u, err := api.Me(ctx)
		if err != nil {
			return err
		}
		if u.Role != wire.RoleStudent {
			a.log.Warn("this account is not a student; it has no lectures to be monitored in", "role", u.Role)
		}
		a.update(func(s *Status) { s.User = u })
	}
	if err := a.joinConfigured(ctx, api); err != nil {
		return err
	}
	ls, err := api.Lectures(ctx)
	if err != nil {
		return err
	}
	pend, err := api.Waiting(ctx)
	if err != nil {
		return err
	}
	a.setOnline(true, "")
	lec, cerr := Choose(ls, st.Selected)
	if cerr != nil && st.Selected != 0 {
		lec, cerr = Choose(ls, 0) // the chosen one is not running: fall back to automatic
	}
	if cerr != nil {
		a.stopMonitor()
	} else if m := a.monitor(); m == nil || m.lecture.ID != lec.ID {
		a.stopMonitor()
		if err := a.startMonitor(ctx, lec); err != nil {
			cerr = err
		}
	}
	a.update(func(s *Status) {
		s.Lectures, s.Pending = ls, pend
		if cerr != nil {
			s.Phase, s.Lecture, s.Reason = Idle, wire.Lecture{}, cerr.Error()
		} else {
			s.Phase, s.Lecture, s.Reason = Monitored, lec, ""
		}
	})
	return nil
}

// joinConfigured asks to join Config.Join once. A request or membership
// that exists is fine; an unknown code is logged and not retried; other
// errors are returned (the next poll tries again).
func (a *Agent) joinConfigured(ctx context.Context, api *client.Client) error {
	a.mu.Lock()
	code, done := strings.TrimSpace(a.cfg.Join), a.joined
	a.mu.Unlock()
	if code == "" || done {
		return nil
	}
	e, err := api.Join(ctx, code)
	switch c := client.Code(err); {
	case err == nil:
		a.log.Info("asked to join", "code", code, "lecture", e.LectureID)
	case c == wire.CodeAlreadyWaiting || c == wire.CodeAlreadyMember:
		a.log.Info("already asked to join, or a member", "code", code)
	case client.Status(err) == 404 || client.Status(err) == 400 || client.Status(err) == 422:
		a.log.Error("cannot join: no lecture has that code", "code", code, "err", err)
	default:
		return err
	}
	a.mu.Lock()
	a.joined = true
	a.mu.Unlock()
	return nil
}

func (a *Agent) setOnline(on bool, reason string) {
	a.mu.Lock()
	changed := a.online != on
	a.online = on
	a.mu.Unlock()
	if !changed {
		return
	}
	a.update(func(s *Status) {
		if on {
			if s.Lecture.ID != 0 {
				s.Phase = Monitored
			} else {
				s.Phase = Idle
			}
			s.Reason = ""
		} else if s.Phase != SignedOut {
			s.Phase, s.Reason = Offline, reason
		}
	})
}

func (a *Agent) monitor() *running {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mon
}

func (a *Agent) startMonitor(ctx context.Context, lec wire.Lecture) error {
	src, closeSrc, err := a.cfg.Source()
	if err != nil {
		return fmt.Errorf("screen capture unavailable: %w", err)
	}
	mctx, cancel := context.WithCancel(ctx)
	r := &running{lecture: lec, cancel: cancel, done: make(chan error, 1)}
	mc := a.cfg.Monitor
	mc.LectureID = lec.ID
	if mc.Logger == nil {
		mc.Logger = a.log
	}
	mc.Observe = func(ev monitor.Event) {
		switch ev.Kind {
		case monitor.EventFrame, monitor.EventKeepAlive:
			a.setOnline(true, "")
		case monitor.EventUploadError:
			a.setOnline(false, ev.Err.Error())
		}
	}
	api := a.client()
	m := monitor.New(src, api, mc)
	a.log.Info("monitoring", "lecture", lec.ID, "title", lec.Title)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		err := m.Run(mctx)
		closeSrc()
		r.done <- err
	}()
	a.mu.Lock()
	lr := a.cfg.Live
	a.mu.Unlock()
	if lr != nil {
		user := a.Status().User
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := lr.RunLive(mctx, lec, user, a.setLive); err != nil && mctx.Err() == nil {
				a.log.Warn("live session runner stopped", "err", err)
			}
			a.setLive(Live{})
		}()
	}
	a.mu.Lock()
	a.mon = r
	a.mu.Unlock()
	return nil
}

// stopMonitor ends monitoring and the live runner and waits for both, so
// no session outlives it and held input is released.
func (a *Agent) stopMonitor() {
	a.mu.Lock()
	r := a.mon
	a.mon = nil
	a.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	a.log.Info("stopped monitoring", "lecture", r.lecture.ID)
	a.update(func(s *Status) {
		if s.Phase == Monitored {
			s.Phase = Idle
		}
		s.Lecture, s.Live = wire.Lecture{}, Live{}
	})
}

// monitorEnded handles the monitor loop stopping by itself.
func (a *Agent) monitorEnded(ctx context.Context, err error) {
	a.mu.Lock()
	r := a.mon
	a.mon = nil
	a.mu.Unlock()
	if r != nil {
		r.cancel()
		r.wg.Wait()
	}
	switch {
	case errors.Is(err, monitor.ErrAuth):
		a.sessionLost(ctx, err)
	case errors.Is(err, monitor.ErrLectureInactive), errors.Is(err, monitor.ErrNotMember):
		a.log.Info("lecture stopped", "reason", err)
	default:
		a.log.Error("monitoring stopped", "err", err)
		a.update(func(s *Status) { s.Reason = err.Error() })
	}
	a.update(func(s *Status) {
		s.Lecture, s.Live = wire.Lecture{}, Live{}
		if s.Phase == Monitored {
			s.Phase = Idle
		}
	})
	if !errors.Is(err, monitor.ErrAuth) && !errors.Is(err, monitor.ErrLectureInactive) && !errors.Is(err, monitor.ErrNotMember) {
		return // e.g. capture broke: try again at the next re-check, not in a tight loop
	}
	a.Refresh()
}

func (a *Agent) setLive(l Live) {
	a.update(func(s *Status) { s.Live = l })
}

// SetMuted mutes or unmutes the student's microphone for the session
// running now and the ones after.
func (a *Agent) SetMuted(m bool) {
	a.mu.Lock()
	lr := a.cfg.Live
	a.mu.Unlock()
	if mu, ok := lr.(Muter); ok {
		mu.SetMuted(m)
	}
	a.update(func(s *Status) { s.Muted = m })
}

// EndLive ends the live session for the student.
func (a *Agent) EndLive(ctx context.Context) {
	if e, ok := a.liveRunner().(Ender); ok {
		e.EndSession(ctx)
	}
}

// EndControl takes remote control back for the student; the view goes on.
func (a *Agent) EndControl(ctx context.Context) {
	if e, ok := a.liveRunner().(Ender); ok {
		e.EndControl(ctx)
	}
}

func (a *Agent) liveRunner() LiveRunner {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg.Live
}

// UseLive sets the live-session runner; call it before Run (the runner
// usually needs the agent for its tokens).
func (a *Agent) UseLive(r LiveRunner) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg.Live = r
}

// Server is the server URL in use.
func (a *Agent) Server() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg.Server
}

// AccessToken hands the session's bearer token to the agent's other
// connections (the signaling websocket), refreshing it when none is held.
func (a *Agent) AccessToken(ctx context.Context) (string, error) {
	return a.client().AccessToken(ctx)
}

// RefreshSession rotates the tokens (a connection was refused with 401).
func (a *Agent) RefreshSession(ctx context.Context) error {
	api := a.client()
	return api.Refresh(ctx)
}
