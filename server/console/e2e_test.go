package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/didacto/didacto/server/servertest"
)

// TestConsoleFlows clicks through every console page in headless Chromium
// against a real server: register, lectures, join requests, monitoring over
// SSE, attendance CSV, audit, rename, deactivate, delete, and the forbidden
// paths (wrong password, a student account, another professor's lecture).
func TestConsoleFlows(t *testing.T) {
	e := needE2E(t)
	in := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	e.run(t, ctx, "console.mjs", append(screenshotEnv(),
		"BASE_URL="+in.URL, "FRAMES_DIR="+writeFrames(t, 3))...)
}
