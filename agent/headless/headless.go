// Package headless is the agent's face without a UI (servers, tests, load
// generation). It runs the one supervisor, package app, unattended: signing
// in with the configured credentials (again whenever the server ends the
// session), following the chosen or the only active lecture, and logging
// what the tray app would show. It stops only when ctx ends or signing in
// proves impossible.
package headless

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/wire"
)

// Config configures Run.
type Config struct {
	Server    string
	AllowHTTP bool
	UserAgent string
	// Store keeps the session across restarts (nil: memory only, so every
	// start signs in with the password).
	Store           client.TokenStore
	Email, Password string         // used when no stored session works
	LectureID       int64          // 0: the only active lecture
	JoinCode        string         // a lecture code to ask to join once signed in
	Monitor         monitor.Config // LectureID is filled in by the agent
	Recheck         time.Duration  // app.DefaultRecheck when zero
	MaxBackoff      time.Duration  // between reconnection attempts (1 min)
	Logger          *slog.Logger
	// Live, when set, runs beside the monitor loop for the chosen lecture
	// (the 1:1 live session: signaling room, WebRTC, remote control) and is
	// cancelled with it. Its error is logged; monitoring goes on.
	Live func(ctx context.Context, lecture wire.Lecture, me wire.User) error
	// Agent, when set, receives the running supervisor (for the live
	// hook's tokens, and tests).
	Agent func(*app.Agent)
	// Locker shows the professor's screen locks; OpenURL opens their
	// pages (nil: those commands fail with the reason).
	Locker  app.Locker
	OpenURL func(string) error
}

// Run monitors until ctx ends (then it returns nil) or signing in is
// impossible (no credentials, or refused).
func Run(ctx context.Context, src monitor.Source, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &view{log: log}
	ac := app.Config{
		Server: cfg.Server, AllowHTTP: cfg.AllowHTTP, UserAgent: cfg.UserAgent, Store: cfg.Store,
		Source:  func() (monitor.Source, func(), error) { return src, func() {}, nil },
		Monitor: cfg.Monitor, Recheck: cfg.Recheck, MaxBackoff: cfg.MaxBackoff, Lecture: cfg.LectureID,
		Login:      &app.Credentials{Email: cfg.Email, Password: cfg.Password},
		Unattended: true, Join: cfg.JoinCode, Logger: log, OnChange: v.show,
		Locker: cfg.Locker, OpenURL: cfg.OpenURL, Lang: headlessLang,
	}
	if cfg.Live != nil {
		ac.Live = hook(cfg.Live)
	}
	a, err := app.New(ac)
	if err != nil {
		return err
	}
	if cfg.Agent != nil {
		cfg.Agent(a)
	}
	return a.Run(ctx)
}

// hook adapts a live function to app.LiveRunner; headless has no banner,
// so the states it reports are not needed.
type hook func(ctx context.Context, lecture wire.Lecture, me wire.User) error

func (h hook) RunLive(ctx context.Context, lecture wire.Lecture, me wire.User, _ func(app.Live)) error {
	return h(ctx, lecture, me)
}

// view logs the supervisor's state when what a student would see changes:
// once per change, not once per poll.
type view struct {
	log  *slog.Logger
	mu   sync.Mutex
	last app.Status
}

// show is called from the agent's goroutines.
func (v *view) show(s app.Status) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if s.Phase == v.last.Phase && s.Lecture.ID == v.last.Lecture.ID && s.Reason == v.last.Reason {
		return
	}
	v.last = s
	switch s.Phase {
	case app.Idle:
		v.log.Info("waiting for a lecture", "reason", s.Reason)
	case app.Offline:
		v.log.Info("offline", "reason", s.Reason)
	case app.Monitored:
		v.log.Info("monitored", "lecture", s.Lecture.ID, "title", s.Lecture.Title)
	}
}

// headlessLang is the lock screen's language from the environment.
func headlessLang() string {
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if v := os.Getenv(k); v != "" {
			if strings.HasPrefix(v, "ko") {
				return "ko"
			}
			return "en"
		}
	}
	return "en"
}
