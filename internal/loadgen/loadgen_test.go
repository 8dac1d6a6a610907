package loadgen_test

import (
	"bytes"
	"context"
	"image/jpeg"
	"os"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/loadgen"
	"github.com/didacto/didacto/server/servertest"
)

func TestRunAgainstRealServer(t *testing.T) {
	in := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := loadgen.Run(ctx, loadgen.Config{Server: in.URL, Agents: 5, Consoles: 2, Interval: 300 * time.Millisecond,
		Duration: 2 * time.Second, Warmup: 500 * time.Millisecond, Width: 320, ServerPID: os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Errors != 0 || res.Uploads < 5 || res.Events < res.Uploads || res.IngestP50 <= 0 || res.StaleP50 <= 0 || res.ServerRSSMiB <= 0 {
		t.Fatalf("implausible result: %+v", res)
	}
}

func TestScreenJPEGLooksLikeAScreen(t *testing.T) {
	b := loadgen.ScreenJPEG(320, 180, 1)
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 320 || cfg.Height != 180 {
		t.Fatalf("%v %+v", err, cfg)
	}
	// A flat picture compresses to ~1 KB; desktop-like content is larger.
	if len(b) < 4000 || bytes.Equal(b, loadgen.ScreenJPEG(320, 180, 2)) {
		t.Fatalf("frame of %d bytes, or not varied by seed", len(b))
	}
}
