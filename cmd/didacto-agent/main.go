// Command didacto-agent is the student agent. Without flags it is the tray
// app students launch; with --headless it runs without a UI. Both faces run
// the same supervisor (agent/app) with the same settings: the admin's
// system file (whose locked keys hold in both), the user's file, DIDACTO_*
// environment variables, then flags (DIDACTO_SERVER, DIDACTO_LECTURE,
// DIDACTO_INTERVAL, DIDACTO_WIDTH, DIDACTO_QUALITY, DIDACTO_EMAIL,
// DIDACTO_PASSWORD — prefer the environment for the password: flags show in
// the process list —, DIDACTO_TOKEN_FILE, DIDACTO_CONSENT, …).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/didacto/didacto/agent/app"
	"github.com/didacto/didacto/agent/browser"
	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/agent/headless"
	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/agent/monitor"
	"github.com/didacto/didacto/capture"
	_ "github.com/didacto/didacto/internal/clocale" // before fyne reads the locale
	"github.com/didacto/didacto/internal/version"
	"github.com/didacto/didacto/lockscreen"
	"github.com/didacto/didacto/rtc/audio"
	"github.com/didacto/didacto/wire"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runAgent(ctx, args, stdout, stderr, "")
}

// runAgent is run with the admin's system config file given by the caller
// (the end-to-end tests run their own test binary as the agent with their
// own file). The shipped binary reads the OS's path, or a --system-config
// that passes config.CheckAdminFile.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer, systemConfig string) int {
	fs := pflag.NewFlagSet("didacto-agent", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("server", "http://127.0.0.1:8080", "DIDACTO server URL")
	fs.Bool("allow-http", false, "allow a plain http:// server on another host (passwords, tokens and screens cross the network in clear)")
	fs.Bool("headless", false, "run without a UI (servers, tests, load)")
	fs.Int64("lecture", 0, "headless: lecture id to monitor while it is active (0, or when it is not: the only active lecture)")
	fs.Duration("interval", monitor.DefaultInterval, "capture interval")
	fs.Int("width", monitor.DefaultWidth, fmt.Sprintf("upload width in pixels (max %d)", capture.MaxWidth))
	fs.Int("quality", capture.DefaultQuality, "JPEG quality (1-100)")
	fs.String("join", "", "headless: ask to join the lecture with this code once signed in (the professor accepts it in the console)")
	fs.Int("screen", capture.AllScreens, "monitor index to capture (-1: all)")
	fs.String("email", "", "account email")
	fs.String("password", "", "account password (prefer DIDACTO_PASSWORD)")
	fs.String("token-file", "", "keep the session in this file across restarts (headless)")
	fs.String("log-level", "info", "debug, info, warn or error")
	fs.String("language", "auto", "tray UI language: auto, en or ko")
	fs.String("system-config", "", "admin settings file (default: the OS's system path)")
	fs.Bool("live", true, "headless: accept 1:1 live sessions (screen stream, remote control) from the lecture's professor")
	fs.String("audio", "auto", "live-session sound: auto, off, or a sound system (pulseaudio, alsa, wasapi, coreaudio, …)")
	fs.String("consent", "notify", "live sessions: notify (the student is shown who views or controls) or ask (the student accepts viewing and control, each within 20 s; headless: refused); the admin file may lock it")
	fs.Bool("ice-loopback", false, "live sessions over loopback only (tests and benchmarks with the professor on this machine)")
	fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return 0
		}
		return 2
	}
	v := viper.New()
	v.SetEnvPrefix("DIDACTO")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(fs); err != nil {
		fmt.Fprintln(stderr, "didacto-agent:", err)
		return 2
	}
	if v.GetBool("version") {
		fmt.Fprintf(stdout, "didacto-agent %s (%s/%s)\n", version.Version, runtime.GOOS, runtime.GOARCH)
		return 0
	}
	if !v.GetBool("headless") {
		return runTray(ctx, fs, stderr, systemConfig)
	}
	return runHeadless(ctx, fs, stderr, systemConfig)
}

// runHeadless runs the agent without a UI. Its settings come from the same
// layers as the tray's (the admin's system file, whose locked keys hold
// here too, the user's file, DIDACTO_*, flags).
func runHeadless(ctx context.Context, fs *pflag.FlagSet, stderr io.Writer, systemConfig string) int {
	set, err := loadSettings(fs, stderr, systemConfig)
	if err != nil {
		fmt.Fprintln(stderr, "didacto-agent:", err)
		return 2
	}
	cfg, v, log, width, consent := set.cfg, set.cfg.Viper(), set.log, set.width, set.consent
	sound, soundOn, err := audio.FromSetting(v.GetString("audio"))
	if err != nil {
		fmt.Fprintln(stderr, "didacto-agent: --audio:", err)
		return 2
	}
	server, allowHTTP := cfg.String(config.KeyServer), cfg.Bool(config.KeyAllowHTTP)
	if _, err := client.CheckServer(server, allowHTTP); err != nil {
		fmt.Fprintln(stderr, "didacto-agent:", err)
		return 2
	}
	var store client.TokenStore
	if p := v.GetString("token-file"); p != "" {
		store = client.FileStore{Path: p}
	}
	src, err := capture.New(capture.Options{Screen: cfg.Int(config.KeyScreen)})
	if err != nil {
		log.Error("screen capture unavailable", "err", err)
		return 1
	}
	defer src.Close()
	log.Info("starting", "version", version.Version, "server", server, "shm", src.SHM())
	if consent == live.ConsentAsk && v.GetBool("live") {
		log.Warn("consent is ask and the headless agent has no window to ask the student in: every live session will be refused (consent_unavailable)")
	}
	var agent *app.Agent
	var liveHook func(context.Context, wire.Lecture, wire.User) error
	if v.GetBool("live") {
		liveHook = func(ctx context.Context, lec wire.Lecture, me wire.User) error {
			r, err := live.New(live.Config{Server: server, AllowHTTP: allowHTTP, Tokens: sessionTokens{agent}, LectureID: lec.ID, StudentID: me.ID,
				Audio: sound, NoAudio: !soundOn, LoopbackOnly: v.GetBool("ice-loopback"),
				Consent: consent, // Ask is nil: under ask, every session is refused, and the log says why
				Logger:  log.With("component", "live"),
				OnState: func(s live.State) {
					// Headless has no banner: the log is where a session shows.
					log.Info("live session", "state", s.Mode, "professor", s.Professor,
						"microphone", s.Media.Microphone, "speaker", s.Media.Speaker, "camera", s.Media.Camera)
				}})
			if err != nil {
				return err
			}
			return r.Run(ctx)
		}
	}
	locker := lockscreen.NewLazy("")
	defer locker.Close()
	err = headless.Run(ctx, src, headless.Config{
		Server: server, AllowHTTP: allowHTTP, UserAgent: "didacto-agent/" + version.Version, Store: store,
		Email:     v.GetString("email"),
		Password:  v.GetString("password"),
		LectureID: v.GetInt64("lecture"),
		JoinCode:  v.GetString("join"),
		Logger:    log,
		Live:      liveHook,
		Agent:     func(a *app.Agent) { agent = a },
		Locker:    locker,
		OpenURL:   browser.Open,
		Monitor: monitor.Config{
			Interval: v.GetDuration("interval"),
			Width:    width,
			Quality:  v.GetInt("quality"),
			Logger:   log,
		},
	})
	if err != nil {
		log.Error("stopped", "err", err)
		return 1
	}
	log.Info("stopped")
	return 0
}

// sessionTokens gives the live runner the supervisor's session.
type sessionTokens struct{ a *app.Agent }

func (s sessionTokens) AccessToken(ctx context.Context) (string, error) { return s.a.AccessToken(ctx) }
func (s sessionTokens) Refresh(ctx context.Context) error               { return s.a.RefreshSession(ctx) }

// systemOptions are the config layers for this run: the admin's system
// file (the caller's, the OS's, or a --system-config that passes
// config.CheckAdminFile), the user's file, DIDACTO_* and the flags.
func systemOptions(fs *pflag.FlagSet, systemConfig string) (config.Options, error) {
	opts := config.DefaultOptions(fs)
	if systemConfig != "" {
		opts.SystemFile = systemConfig
	} else if p, _ := fs.GetString("system-config"); p != "" {
		if err := config.CheckAdminFile(p, opts.SystemFile); err != nil {
			return opts, fmt.Errorf("--system-config: %w", err)
		}
		opts.SystemFile = p
	}
	return opts, nil
}

// settings are what both faces read before they start.
type settings struct {
	opts    config.Options
	cfg     *config.Config // the merged layers
	log     *slog.Logger
	width   int
	consent live.Consent
}

// loadSettings reads the config layers and checks the settings both faces
// share; an error is a usage error (exit 2).
func loadSettings(fs *pflag.FlagSet, stderr io.Writer, systemConfig string) (settings, error) {
	opts, err := systemOptions(fs, systemConfig)
	if err != nil {
		return settings{}, err
	}
	cfg, err := config.Load(opts)
	if err != nil {
		return settings{}, err
	}
	v := cfg.Viper()
	var level slog.Level
	if err := level.UnmarshalText([]byte(v.GetString("log-level"))); err != nil {
		return settings{}, fmt.Errorf("--log-level: %w", err)
	}
	width := v.GetInt("width")
	if width < 32 || width > capture.MaxWidth {
		return settings{}, fmt.Errorf("--width must be 32-%d", capture.MaxWidth)
	}
	consent, err := consentSetting(cfg)
	if err != nil {
		return settings{}, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	routeXGBLog(log.With("component", "xgb"))
	return settings{opts: opts, cfg: cfg, log: log, width: width, consent: consent}, nil
}

// consentSetting reads and checks the consent policy.
func consentSetting(cfg *config.Config) (live.Consent, error) {
	c, err := live.ParseConsent(cfg.String(config.KeyConsent))
	if err != nil {
		return 0, fmt.Errorf("--consent (DIDACTO_CONSENT, or consent in the admin file): %w", err)
	}
	return c, nil
}
