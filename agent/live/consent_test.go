package live_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/wire"
)

// student answers the agent's consent questions from a script: "yes",
// "no", or "wait" (no answer until the question is withdrawn or times out).
type student struct {
	answers chan string
	mu      sync.Mutex
	asked   []live.Question
	ended   int // questions whose ctx ended (withdrawn or timed out)
}

func (s *student) ask(ctx context.Context, q live.Question) bool {
	s.mu.Lock()
	s.asked = append(s.asked, q)
	s.mu.Unlock()
	var a string
	select {
	case a = <-s.answers:
	case <-ctx.Done():
	}
	if a == "wait" {
		<-ctx.Done()
	}
	if ctx.Err() != nil {
		s.mu.Lock()
		s.ended++
		s.mu.Unlock()
	}
	return a == "yes"
}

func (s *student) questions() []live.Question {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]live.Question(nil), s.asked...)
}

// controlLog records each control event the agent handled and whether it
// was injected.
type controlLog struct {
	mu  sync.Mutex
	evs []struct {
		code     string
		injected bool
	}
}

func (c *controlLog) add(b []byte, err error) {
	var ev struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(b, &ev)
	c.mu.Lock()
	c.evs = append(c.evs, struct {
		code     string
		injected bool
	}{ev.Code, err == nil})
	c.mu.Unlock()
}

// seen reports whether an event with code arrived, and whether it was injected.
func (c *controlLog) seen(code string) (arrived, injected bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.evs {
		if e.code == code {
			arrived = true
			injected = injected || e.injected
		}
	}
	return arrived, injected
}

// TestConsentAskWithChromium runs the lab policy consent: ask against
// Chromium as the professor: a refused view and one nobody answers end the
// session before any answer or frame, with the reason on the page; an
// accepted one streams; refused control keeps the view and injects
// nothing; the student takes control back, then ends the session, and the
// page is told each time.
func TestConsentAskWithChromium(t *testing.T) {
	d := testenv.StartXvfb(t, "1280x720x24")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	page := servePage(t)
	r := newRoom(t, func(c *config.Config) { c.PublicURL = page.URL })
	st := &states{}
	stu := &student{answers: make(chan string, 8)}
	ctl := &controlLog{}
	run := startAgent(ctx, t, r, d.Name, st, ctl.add, func(c *live.Config) {
		c.Consent = live.ConsentAsk
		c.Ask = stu.ask
		c.AskTimeout = 2 * time.Second
	})
	st.wait(t, live.State{Mode: live.Idle})

	// Refused: the page is told why and never gets an answer or a frame.
	stu.answers <- "no"
	b := startBrowser(ctx, t, r, page)
	b.call(`await page.waitForFunction(() => S.peerLeft, null, {timeout: 30000});`)
	var ended struct {
		PeerLeft   string  `json:"peerLeft"`
		Answer     float64 `json:"answer"`
		Track      float64 `json:"track"`
		FirstFrame float64 `json:"firstFrame"`
	}
	b.eval(`({peerLeft: S.peerLeft, answer: S.tAnswer || 0, track: S.trackWall || 0, firstFrame: S.firstFrame})`, &ended)
	if ended.PeerLeft != wire.CodeConsentRefused || ended.Answer != 0 || ended.Track != 0 || ended.FirstFrame != 0 {
		t.Fatalf("refused view: page saw %+v; want peer_left %s and no answer, track or frame", ended, wire.CodeConsentRefused)
	}
	if q := stu.questions(); len(q) != 1 || q[0].Control || q[0].Professor != "Prof Lee" {
		t.Fatalf("questions %+v, want one about viewing, from Prof Lee", q)
	}
	b.call(`await page.close();`)

	// Nobody answers: the question times out, the same way.
	stu.answers <- "wait"
	b = startBrowser(ctx, t, r, page)
	b.call(`await page.waitForFunction(() => S.peerLeft, null, {timeout: 30000});`)
	b.eval(`({peerLeft: S.peerLeft, answer: S.tAnswer || 0, track: S.trackWall || 0, firstFrame: S.firstFrame})`, &ended)
	if ended.PeerLeft != wire.CodeConsentTimeout || ended.Answer != 0 || ended.Track != 0 || ended.FirstFrame != 0 {
		t.Fatalf("unanswered view: page saw %+v; want peer_left %s and no answer, track or frame", ended, wire.CodeConsentTimeout)
	}
	eventually(t, "the unanswered question withdrawn", func() bool { stu.mu.Lock(); defer stu.mu.Unlock(); return stu.ended == 1 })
	b.call(`await page.close();`)

	// Accepted: frames.
	stu.answers <- "yes"
	b = startBrowser(ctx, t, r, page)
	b.call(`await page.waitForFunction(() => S.firstFrame > 0 && document.getElementById('v').videoWidth > 0, null, {timeout: 30000});`)
	st.wait(t, live.State{Mode: live.Viewed, Professor: "Prof Lee"})

	// Control refused: the view goes on, nothing is injected, the page is
	// told (control_state and control_end).
	stu.answers <- "no"
	b.call(`await page.evaluate(() => startControl()); await page.waitForFunction(() => S.controlAccepted === false && S.controlEnded === 1, null, {timeout: 15000});`)
	var reason string
	b.eval(`S.controlReason`, &reason)
	if reason != wire.CodeConsentRefused {
		t.Fatalf("refused control: reason %q", reason)
	}
	if q := stu.questions(); len(q) != 4 || !q[3].Control {
		t.Fatalf("questions %+v, want the fourth about control", q)
	}
	b.call(`await page.evaluate(() => { control({type: 'keydown', code: 'KeyA', key: 'a', mods: 0}); control({type: 'keyup', code: 'KeyA', key: 'a', mods: 0}); });`)
	eventually(t, "the refused key to arrive", func() bool { a, _ := ctl.seen("KeyA"); return a })
	if _, inj := ctl.seen("KeyA"); inj {
		t.Fatal("a key was injected after control was refused")
	}
	if s := run.State(); s.Mode != live.Viewed {
		t.Fatalf("after refused control: %+v", s)
	}

	// Control accepted, then taken back by the student.
	stu.answers <- "yes"
	b.call(`await page.evaluate(() => startControl()); await page.waitForFunction(() => S.controlAccepted === true, null, {timeout: 15000});`)
	st.wait(t, live.State{Mode: live.Controlled, Professor: "Prof Lee"})
	b.call(`await page.evaluate(() => { control({type: 'keydown', code: 'KeyB', key: 'b', mods: 0}); control({type: 'keyup', code: 'KeyB', key: 'b', mods: 0}); });`)
	eventually(t, "the key injected while controlling", func() bool { _, inj := ctl.seen("KeyB"); return inj })
	run.EndControl(ctx)
	b.call(`await page.waitForFunction(() => S.controlAccepted === false && S.controlEnded === 2, null, {timeout: 15000});`)
	b.eval(`S.controlReason`, &reason)
	if reason != wire.CodeStudentEnded {
		t.Fatalf("student ended control: reason %q", reason)
	}
	st.wait(t, live.State{Mode: live.Viewed, Professor: "Prof Lee"})
	b.call(`await page.evaluate(() => { control({type: 'keydown', code: 'KeyC', key: 'c', mods: 0}); control({type: 'keyup', code: 'KeyC', key: 'c', mods: 0}); });`)
	eventually(t, "the key after control ended to arrive", func() bool { a, _ := ctl.seen("KeyC"); return a })
	if _, inj := ctl.seen("KeyC"); inj {
		t.Fatal("a key was injected after the student took control back")
	}

	// The student ends the session.
	run.EndSession(ctx)
	b.call(`await page.waitForFunction(() => S.peerLeft, null, {timeout: 15000});`)
	b.eval(`S.peerLeft`, &reason)
	if reason != wire.CodeStudentEnded {
		t.Fatalf("student ended the session: page got peer_left %q", reason)
	}
	st.wait(t, live.State{Mode: live.Idle})
}

// TestConsentAskWithoutAnyoneToAsk: consent ask without an Ask function
// (the headless agent) refuses, and says so.
func TestConsentAskWithoutAnyoneToAsk(t *testing.T) {
	d := testenv.StartXvfb(t, "640x480x24")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page := servePage(t)
	r := newRoom(t, func(c *config.Config) { c.PublicURL = page.URL })
	st := &states{}
	startAgent(ctx, t, r, d.Name, st, nil, func(c *live.Config) { c.Consent = live.ConsentAsk })
	st.wait(t, live.State{Mode: live.Idle})
	b := startBrowser(ctx, t, r, page)
	b.call(`await page.waitForFunction(() => S.peerLeft, null, {timeout: 30000});`)
	var code string
	b.eval(`S.peerLeft`, &code)
	if code != wire.CodeConsentUnavailable {
		t.Fatalf("peer_left %q, want %s", code, wire.CodeConsentUnavailable)
	}
}
