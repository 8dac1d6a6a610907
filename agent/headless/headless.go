// Package headless runs the agent without a UI (servers, tests, load
// generation): log in, pick the lecture to monitor (the one given, or the
// only active one), run the monitor loop for it, and go back to waiting when
// the lecture ends, re-checking the lecture list periodically.
package headless

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/wire"
)

// Choice errors (Choose); Run waits and re-checks on all of them.
var (
	ErrNoActiveLecture = errors.New("no active lecture")
	ErrSeveralActive   = errors.New("several lectures are active; choose one with --lecture")
	ErrNotEnrolled     = errors.New("not a member of that lecture")
)

// Choose picks the lecture to monitor from the student's lectures: want if
// non-zero (it must be active), else the only active one.
func Choose(lectures []wire.Lecture, want int64) (wire.Lecture, error) {
	if want != 0 {
		for _, l := range lectures {
			if l.ID == want {
				if !l.Active {
					return l, fmt.Errorf("lecture %d (%s): %w", l.ID, l.Title, ErrNoActiveLecture)
				}
				return l, nil
			}
		}
		return wire.Lecture{}, fmt.Errorf("lecture %d: %w", want, ErrNotEnrolled)
	}
	var active []wire.Lecture
	for _, l := range lectures {
		if l.Active {
			active = append(active, l)
		}
	}
	switch len(active) {
	case 1:
		return active[0], nil
	case 0:
		return wire.Lecture{}, ErrNoActiveLecture
	}
	names := make([]string, len(active))
	for i, l := range active {
		names[i] = fmt.Sprintf("%d (%s)", l.ID, l.Title)
	}
	return wire.Lecture{}, fmt.Errorf("%w: %s", ErrSeveralActive, strings.Join(names, ", "))
}

// API is what the runner needs from the server; *client.Client is one.
type API interface {
	monitor.Uploader
	LoggedIn() bool
	Resume(ctx context.Context) error
	Login(ctx context.Context, email, password string) (wire.User, error)
	Me(ctx context.Context) (wire.User, error)
	Lectures(ctx context.Context) ([]wire.Lecture, error)
}

// DefaultRecheck is how often the lecture list is polled while waiting for
// a lecture (and while monitoring, to notice it ended or changed).
const DefaultRecheck = 30 * time.Second

// Config configures Run.
type Config struct {
	Email, Password string         // used when no stored session works
	LectureID       int64          // 0: the only active lecture
	Monitor         monitor.Config // LectureID is filled in by Run
	Recheck         time.Duration
	Logger          *slog.Logger
	// Live, when set, runs beside the monitor loop for the chosen lecture
	// (the 1:1 live session: signaling room, WebRTC, remote control) and is
	// cancelled with it. Its error is logged; monitoring goes on.
	Live func(ctx context.Context, lecture wire.Lecture, me wire.User) error
}

// Run logs in and monitors until ctx ends (then it returns nil) or something
// cannot fix itself (bad credentials, no capture in this session).
func Run(ctx context.Context, api API, src monitor.Source, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Recheck <= 0 {
		cfg.Recheck = DefaultRecheck
	}
	r := &runner{api: api, src: src, cfg: cfg, log: log,
		rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	err := r.run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type runner struct {
	api  API
	src  monitor.Source
	cfg  Config
	log  *slog.Logger
	rnd  *rand.Rand
	said string    // last waiting message, logged once per change
	me   wire.User // the signed-in student
}

func (r *runner) run(ctx context.Context) error {
	// An agent starts at boot, often before the network or the server is up:
	// retry what may heal, stop on what will not (bad credentials).
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		err := r.login(ctx)
		if err == nil {
			break
		}
		if !transient(err) || ctx.Err() != nil {
			return err
		}
		r.log.Warn("server unreachable; retrying", "err", err, "in", wait)
		r.sleep(ctx, wait)
	}
	for ctx.Err() == nil {
		lec, err := r.choose(ctx)
		if err != nil {
			if errors.Is(err, monitor.ErrAuth) {
				if err := r.relogin(ctx, err); err != nil {
					return err
				}
				continue
			}
			r.waiting(err.Error())
			r.sleep(ctx, r.cfg.Recheck)
			continue
		}
		r.said = ""
		err = r.monitor(ctx, lec)
		switch {
		case ctx.Err() != nil:
			return nil
		case err == nil: // the re-check moved us on
		case errors.Is(err, monitor.ErrAuth):
			if err := r.relogin(ctx, err); err != nil {
				return err
			}
		case errors.Is(err, monitor.ErrLectureInactive), errors.Is(err, monitor.ErrNotMember):
			r.log.Info("stopped monitoring", "lecture", lec.ID, "reason", err)
			r.sleep(ctx, r.cfg.Recheck)
		default:
			return err
		}
	}
	return nil
}

func (r *runner) waiting(msg string) {
	if msg != r.said {
		r.log.Info("waiting for a lecture", "reason", msg, "recheck", r.cfg.Recheck)
		r.said = msg
	}
}

// sleep waits d ±20% (so a lab of agents does not poll together) or until ctx ends.
func (r *runner) sleep(ctx context.Context, d time.Duration) {
	d = time.Duration(float64(d) * (0.8 + 0.4*r.rnd.Float64()))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (r *runner) login(ctx context.Context) error {
	if !r.api.LoggedIn() {
		if err := r.api.Resume(ctx); err != nil && !errors.Is(err, client.ErrNoTokens) {
			r.log.Warn("stored session unreadable", "err", err)
		}
	}
	if r.api.LoggedIn() {
		u, err := r.api.Me(ctx)
		if err == nil {
			r.log.Info("session resumed", "user", u.Email)
			r.checkRole(u)
			r.me = u
			return nil
		}
		if client.Status(err) != 401 && !errors.Is(err, client.ErrNotLoggedIn) {
			return fmt.Errorf("checking the session: %w", err)
		}
	}
	if r.cfg.Email == "" || r.cfg.Password == "" {
		return &credentialsError{}
	}
	u, err := r.api.Login(ctx, r.cfg.Email, r.cfg.Password)
	if err != nil {
		return err
	}
	r.log.Info("logged in", "user", u.Email)
	r.checkRole(u)
	r.me = u
	return nil
}

func (r *runner) checkRole(u wire.User) {
	if u.Role != wire.RoleStudent {
		r.log.Warn("this account is not a student; it has no lectures to be monitored in", "role", u.Role)
	}
}

func (r *runner) relogin(ctx context.Context, cause error) error {
	r.log.Warn("session lost; logging in again", "err", cause)
	if r.cfg.Email == "" || r.cfg.Password == "" {
		return fmt.Errorf("session lost and no password to log in again: %w", cause)
	}
	u, err := r.api.Login(ctx, r.cfg.Email, r.cfg.Password)
	if err != nil {
		return err
	}
	r.me = u
	return nil
}

func (r *runner) choose(ctx context.Context) (wire.Lecture, error) {
	ls, err := r.api.Lectures(ctx)
	if err != nil {
		if client.Status(err) == 401 || errors.Is(err, client.ErrNotLoggedIn) {
			return wire.Lecture{}, fmt.Errorf("%w: %w", monitor.ErrAuth, err)
		}
		return wire.Lecture{}, fmt.Errorf("listing lectures: %w", err)
	}
	return Choose(ls, r.cfg.LectureID)
}

// monitor runs the loop for lec while re-checking the lecture list; it
// returns nil when the re-check says to move to another lecture.
func (r *runner) monitor(ctx context.Context, lec wire.Lecture) error {
	mctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mc := r.cfg.Monitor
	mc.LectureID = lec.ID
	if mc.Logger == nil {
		mc.Logger = r.log
	}
	m := monitor.New(r.src, r.api, mc)
	r.log.Info("monitoring", "lecture", lec.ID, "title", lec.Title)
	done := make(chan error, 1)
	go func() { done <- m.Run(mctx) }()
	if r.cfg.Live != nil {
		liveDone := make(chan struct{})
		defer func() { cancel(); <-liveDone }()
		go func() {
			defer close(liveDone)
			if err := r.cfg.Live(mctx, lec, r.me); err != nil && mctx.Err() == nil {
				r.log.Warn("live sessions unavailable; monitoring goes on", "lecture", lec.ID, "err", err)
			}
		}()
	}
	for {
		t := time.NewTimer(time.Duration(float64(r.cfg.Recheck) * (0.8 + 0.4*r.rnd.Float64())))
		select {
		case err := <-done:
			t.Stop()
			if errors.Is(err, context.Canceled) && ctx.Err() == nil {
				return nil
			}
			return err
		case <-t.C:
		}
		ls, err := r.api.Lectures(ctx)
		if err != nil || stillActive(ls, lec.ID) {
			continue // a failed re-check is no reason to stop a working loop
		}
		r.log.Info("lecture ended; stopping", "lecture", lec.ID)
		cancel()
		<-done
		return nil
	}
}

// stillActive reports whether lecture id is among ls and active. A running
// loop keeps its lecture even if another one starts meanwhile.
func stillActive(ls []wire.Lecture, id int64) bool {
	for _, l := range ls {
		if l.ID == id {
			return l.Active
		}
	}
	return false
}

// transient reports whether err may go away by itself: no answer at all
// (network), a server-side failure, or rate limiting.
func transient(err error) bool {
	var noCreds *credentialsError
	if errors.As(err, &noCreds) {
		return false
	}
	st := client.Status(err)
	return st == 0 || st >= 500 || st == 429 || st == 408
}

// credentialsError: nothing to log in with.
type credentialsError struct{}

func (*credentialsError) Error() string {
	return "not logged in: give --email and --password (or DIDACTO_EMAIL/DIDACTO_PASSWORD)"
}
