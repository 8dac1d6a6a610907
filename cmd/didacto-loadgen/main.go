// Command didacto-loadgen simulates a lab of agents and watching consoles
// against a running server and prints ingest and staleness percentiles.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/didacto/didacto/internal/loadgen"
)

func main() {
	cfg := loadgen.Config{}
	flag.StringVar(&cfg.Server, "server", "http://127.0.0.1:8080", "server base URL")
	flag.IntVar(&cfg.Agents, "agents", 100, "simulated agents")
	flag.IntVar(&cfg.Consoles, "consoles", 1, "simulated consoles on the SSE stream")
	flag.DurationVar(&cfg.Interval, "interval", 2*time.Second, "upload interval per agent")
	flag.DurationVar(&cfg.Duration, "duration", 30*time.Second, "measured time")
	flag.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "warm-up before measuring")
	flag.IntVar(&cfg.Width, "width", 320, "thumbnail width")
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "server PID to sample CPU and RSS from /proc")
	flag.IntVar(&cfg.Setup, "setup-parallel", 8, "parallel requests while creating accounts")
	flag.Parse()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "didacto-loadgen:", err)
		os.Exit(1)
	}
	fmt.Println(res)
}
