// Command didacto-floodgen is the abuse load test: slow clients, idle
// connections and websockets past the caps from one address, while a second
// address probes /healthz; it prints the probe's percentiles.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/didacto/didacto/internal/floodgen"
)

func main() {
	cfg := floodgen.Config{}
	flag.StringVar(&cfg.Server, "server", "http://127.0.0.1:8080", "server base URL")
	flag.StringVar(&cfg.From, "from", "127.0.0.1", "the flood's source address")
	flag.StringVar(&cfg.ProbeFrom, "probe-from", "127.0.0.2", "the probing client's source address")
	flag.IntVar(&cfg.Slow, "slow", 500, "slow clients trickling a request body")
	flag.DurationVar(&cfg.Trickle, "trickle", 5*time.Second, "pause between a slow client's bytes")
	flag.IntVar(&cfg.Idle, "idle", 3000, "connections that never send a request")
	flag.IntVar(&cfg.Sockets, "sockets", 3000, "signaling websockets attempted")
	flag.IntVar(&cfg.Accounts, "accounts", 40, "student accounts the websockets are spread over")
	flag.DurationVar(&cfg.Duration, "duration", 30*time.Second, "measured time")
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "server PID to sample CPU and RSS from /proc")
	flag.BoolVar(&cfg.NoProbe, "no-probe", false, "flood only; probe from another process (didacto-floodgen --slow 0 --idle 0 --sockets 0)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := floodgen.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "didacto-floodgen:", err)
		os.Exit(1)
	}
	fmt.Println(res)
}
