package floodgen_test

import (
	"context"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/floodgen"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/server/servertest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestFloodRuns checks the tool against a real server with short timeouts:
// the server cuts slow and idle clients, refuses sockets past the caps, and
// the probe from the other address is answered. Speed is for the benchmark.
func TestFloodRuns(t *testing.T) {
	in := servertest.Start(t, func(c *config.Config) {
		c.ReadTimeout, c.WriteTimeout, c.MaxSocketsPerUser = time.Second, time.Second, 2
	})
	res, err := floodgen.Run(context.Background(), floodgen.Config{Server: in.URL, From: "127.0.0.1", ProbeFrom: "127.0.0.2",
		Slow: 3, Trickle: 200 * time.Millisecond, Idle: 3, Sockets: 6, Accounts: 1, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.ProbeErrors != 0 || res.Probes == 0 || res.SlowCut == 0 || res.IdleCut == 0 || res.SocketsCapped == 0 {
		t.Fatalf("%s", res)
	}
}
