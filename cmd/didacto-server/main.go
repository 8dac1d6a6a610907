// Command didacto-server runs the DIDACTO server: the REST API, monitoring,
// signaling, payments and the professor console.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/didacto/didacto/internal/version"
	"github.com/didacto/didacto/server"
	"github.com/didacto/didacto/server/config"
)

func main() {
	if err := run(); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "didacto-server:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println("didacto-server", version.Version)
		return nil
	}
	cfg, err := config.Load(os.Args[1:])
	if err != nil {
		return err
	}
	logger := newLogger(cfg)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer srv.Close()
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	url := cfg.PublicURL
	if url == "" {
		scheme := "http"
		if cfg.TLSCert != "" {
			scheme = "https"
		}
		url = scheme + "://" + l.Addr().String()
	}
	if cfg.Demo {
		logins, err := srv.EnsureDemo(ctx)
		if err != nil {
			return fmt.Errorf("demo accounts: %w", err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "\nDIDACTO is running. Professor console: %s/\n", url)
		for _, d := range logins {
			fmt.Fprintf(&b, "  demo %-9s  e-mail %-24s  password %s\n", d.Role, d.Email, d.Password)
		}
		fmt.Fprintf(&b, "  demo lecture join code: DEMO42 (already active; the demo student is a member)\n")
		for _, d := range logins {
			if d.Role == "student" {
				fmt.Fprintf(&b, "  agent: go run ./cmd/didacto-agent --headless --server %s --email %s --password '%s'\n", url, d.Email, d.Password)
			}
		}
		fmt.Fprintln(&b)
		fmt.Fprint(os.Stderr, b.String())
	}
	logger.Info("listening", "addr", l.Addr().String(), "url", url, "version", version.Version, "replica", srv.Replica())
	if err := srv.Run(ctx, l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
