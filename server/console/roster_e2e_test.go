package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/didacto/didacto/server/servertest"
)

// TestConsoleRosterFlows drives the start of class in Chromium against a
// real server: join requests appear without a reload, a multi-select
// reject and Accept all, add by e-mail, a class-list import with refused
// lines, a reset code the student redeems on the sign-in page, the
// password screen, and the small fixes (one primary button, full tile
// names, the Korean Remove button, what Premium adds).
func TestConsoleRosterFlows(t *testing.T) {
	e := needE2E(t)
	in := servertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	e.run(t, ctx, "roster.mjs", append(screenshotEnv(), "BASE_URL="+in.URL, "FRAMES_DIR="+writeFrames(t, 1))...)
}
