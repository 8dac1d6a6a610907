package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/input"
	"github.com/didacto/didacto/rtc"
	"github.com/didacto/didacto/rtc/audio"
	"github.com/didacto/didacto/wire"
)

// Mode is what the professor is doing with the student's screen.
type Mode int

const (
	Idle       Mode = iota // no live session
	Viewed                 // the professor watches the screen
	Controlled             // the professor controls mouse and keyboard
)

func (m Mode) String() string {
	switch m {
	case Viewed:
		return "viewed"
	case Controlled:
		return "controlled"
	}
	return "idle"
}

// State is what the student is told (the tray banner: "Professor X is
// viewing/controlling your screen", and what of the session's sound and
// camera works).
type State struct {
	Mode      Mode
	Professor string // display name; "" when idle
	Media     Media  // zero when idle
	// Screen is the streamed monitor in desktop pixels (zero when idle):
	// the panel stays off it where it can.
	Screen image.Rectangle
}

// Device is the state of one of the student's devices in a session.
type Device int

const (
	DeviceNone    Device = iota // no session
	DeviceOn                    // working
	DeviceMuted                 // the microphone, muted by the student
	DeviceMissing               // this machine has none, or it failed
)

func (d Device) String() string {
	return [...]string{"none", "on", "muted", "missing"}[d]
}

// Media is the sound and camera of a session.
type Media struct {
	Microphone, Speaker Device
	// Camera: the professor's camera is arriving (and not switched off);
	// its pictures go to Config.OnCamera.
	Camera bool
	// ProfessorMuted: the professor muted their microphone.
	ProfessorMuted bool
}

// TokenSource hands out the bearer token for the websocket and renews it
// when the server refuses it.
type TokenSource interface {
	AccessToken(ctx context.Context) (string, error)
	Refresh(ctx context.Context) error
}

// Config configures a Runner.
type Config struct {
	Server    string // base URL, http(s)://host[:port]
	AllowHTTP bool   // plain http:// to another host (an admin's choice)
	Tokens    TokenSource
	LectureID int64
	StudentID int64

	// Display is the X display to capture and control (default $DISPLAY).
	Display string
	// LoopbackOnly restricts ICE to loopback host candidates (tests,
	// benchmarks); the default gathers LAN host candidates plus whatever
	// ICE servers the server hands out.
	LoopbackOnly bool
	Stream       rtc.StreamConfig
	// MinBackoff and MaxBackoff bound the reconnect delay (default 1 s, 30 s).
	MinBackoff, MaxBackoff time.Duration

	// Audio selects the sound system for the session's voice; NoAudio
	// leaves microphone and speakers alone (servers, load tests). Without
	// a microphone or speakers the session goes on and State says so.
	Audio   audio.Options
	NoAudio bool
	// OnCamera receives each decoded picture of the professor's camera, on
	// the receiving goroutine; it must not block (keep the latest, draw it
	// later). The picture is the callee's.
	OnCamera func(*image.YCbCr)

	// Consent is the lab's policy. Under ConsentAsk, Ask puts each
	// question to the student and returns their answer; it must return
	// once ctx ends (the deadline, AskTimeout, default 20 s, passed or the
	// question was withdrawn). A nil Ask refuses every session: there is
	// nobody to ask.
	Consent    Consent
	Ask        func(ctx context.Context, q Question) bool
	AskTimeout time.Duration

	// OnState receives every state change, in order. It must not block
	// for long nor call into the Runner.
	OnState func(State)
	// OnControl, when set, is told about every control event after it was
	// handled (err nil: injected), for latency measurement.
	OnControl func(ev []byte, err error)
	Logger    *slog.Logger
}

// Runner keeps the agent in its room and serves live sessions.
type Runner struct {
	cfg   Config
	log   *slog.Logger
	wsURL string

	injMu sync.Mutex
	inj   input.SystemInjector // opened on the first control_start, kept

	mu        sync.Mutex // guards cur, pending, warm, profEpoch, profName, conn, iceSrv
	cur       *session
	pending   *asking   // a view question waiting for the student (ConsentAsk)
	warm      *prepared // made for the professor who joined, until their offer
	profEpoch int64     // the latest professor session (peer_joined)
	profName  string    // its display name
	conn      *websocket.Conn
	iceSrv    []wire.ICEServer
	stateMu   sync.Mutex
	state     State
	stateSet  bool
	muted     atomic.Bool // the student's choice, kept across sessions
	// ending owns the sessions ended from their own goroutines (a failed
	// peer, a broken video loop); Run waits for them before it closes the
	// injector, so no release races the close.
	endMu    sync.Mutex
	ending   sync.WaitGroup
	stopping bool // Run is over: nothing more to end
}

// New checks the configuration; it does not touch the network.
func New(cfg Config) (*Runner, error) {
	u, err := client.CheckServer(cfg.Server, cfg.AllowHTTP)
	if err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	if cfg.Tokens == nil {
		return nil, errors.New("live: no token source")
	}
	if cfg.LectureID <= 0 || cfg.StudentID <= 0 {
		return nil, errors.New("live: lecture and student ids are required")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	u.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
	u.Path += "/api/v1/signal"
	return &Runner{cfg: cfg, log: cfg.Logger, wsURL: u.String()}, nil
}

// State is the current state.
func (r *Runner) State() State {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	return r.state
}

func (r *Runner) setState(s State) {
	r.stateMu.Lock()
	defer r.stateMu.Unlock()
	if r.stateSet && s == r.state {
		return
	}
	r.state, r.stateSet = s, true
	r.log.Info("live session state", "mode", s.Mode.String(), "professor", s.Professor,
		"microphone", s.Media.Microphone.String(), "speaker", s.Media.Speaker.String(),
		"camera", s.Media.Camera, "professor_muted", s.Media.ProfessorMuted, "screen", s.Screen.String())
	if r.cfg.OnState != nil {
		r.cfg.OnState(s)
	}
}

// SetMuted mutes or unmutes the student's microphone, now and in later
// sessions.
func (r *Runner) SetMuted(m bool) {
	r.muted.Store(m)
	r.mu.Lock()
	s := r.cur
	r.mu.Unlock()
	if s != nil {
		s.setMuted(m)
	}
}

// Muted reports the student's mute choice.
func (r *Runner) Muted() bool { return r.muted.Load() }

// errRetryLater: the server refused the room (lecture off, membership
// ended) or another agent took the seat: wait the longest backoff.
var errRetryLater = errors.New("live: room refused")

// Run stays joined until ctx ends, reconnecting with exponential backoff
// and jitter. It always returns nil after ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	r.endMu.Lock()
	r.stopping = false
	r.endMu.Unlock()
	defer r.closeInjector()
	defer r.waitEnding() // runs first: every session is closed before the injector
	delay := r.cfg.MinBackoff
	for {
		start := time.Now()
		err := r.connect(ctx)
		r.withdraw()
		r.endSession(nil, "disconnected")
		r.dropWarm(nil)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > 2*r.cfg.MaxBackoff {
			delay = r.cfg.MinBackoff // it ran fine for a while: start over
		}
		wait := delay
		if errors.Is(err, errRetryLater) {
			wait = r.cfg.MaxBackoff
		}
		wait = wait/2 + rand.N(wait/2+1)
		r.log.Warn("signaling connection ended; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		delay = min(delay*2, r.cfg.MaxBackoff)
	}
}

// connect runs one websocket connection.
func (r *Runner) connect(ctx context.Context) error {
	tok, err := r.cfg.Tokens.AccessToken(ctx)
	if err != nil {
		return fmt.Errorf("getting access token: %w", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	c, resp, err := websocket.Dial(dctx, r.wsURL, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok}},
	})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			if rerr := r.cfg.Tokens.Refresh(ctx); rerr != nil {
				return fmt.Errorf("signaling refused the token, refresh failed: %w", rerr)
			}
		}
		return fmt.Errorf("dialing signaling: %w", err)
	}
	defer c.CloseNow()
	c.SetReadLimit(wire.MaxSignalBytes + 1024)
	r.mu.Lock()
	r.conn = c
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.conn = nil
		r.mu.Unlock()
	}()

	if err := r.send(ctx, wire.SignalMessage{Type: wire.SignalJoin, LectureID: r.cfg.LectureID, StudentID: r.cfg.StudentID, Role: wire.RoleStudent}); err != nil {
		return err
	}
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			switch websocket.CloseStatus(err) {
			case 4001:
				return fmt.Errorf("%w: taken over by another agent", errRetryLater)
			case 4029: // over the server's socket cap for this account or address
				return fmt.Errorf("%w: the server refused another socket", errRetryLater)
			}
			return fmt.Errorf("reading signaling: %w", err)
		}
		m, err := wire.DecodeSignal(b)
		if err != nil {
			r.log.Warn("bad signaling message", "err", err)
			continue
		}
		if err := r.handle(ctx, m); err != nil {
			c.Close(websocket.StatusNormalClosure, "")
			return err
		}
	}
}

// send writes one message on the current socket (safe from any goroutine).
func (r *Runner) send(ctx context.Context, m wire.SignalMessage) error {
	r.mu.Lock()
	c := r.conn
	r.mu.Unlock()
	if c == nil {
		return errors.New("live: not connected")
	}
	m.V = wire.ProtocolVersion
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", m.Type, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Write(wctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("sending %s: %w", m.Type, err)
	}
	return nil
}

func (r *Runner) handle(ctx context.Context, m wire.SignalMessage) error {
	switch m.Type {
	case wire.SignalJoined:
		r.mu.Lock()
		r.iceSrv = m.ICEServers
		r.mu.Unlock()
		r.setState(State{Mode: Idle})
	case wire.SignalPeerJoined:
		if m.Peer != nil {
			r.mu.Lock()
			r.profEpoch, r.profName = m.Epoch, m.Peer.Name
			if len(m.ICEServers) > 0 { // fresh TURN credentials for this session
				r.iceSrv = m.ICEServers
			}
			r.mu.Unlock()
		}
		r.withdraw()
		r.endSession(nil, "new professor session")
		// Under ConsentAsk nothing of the screen is touched before the
		// student says yes.
		if m.Peer != nil && r.cfg.Consent != ConsentAsk {
			r.warmUp(m.Epoch)
		}
	case wire.SignalOffer:
		if m.Role != wire.RoleProfessor {
			return nil
		}
		r.mu.Lock()
		stale := r.profEpoch != 0 && m.Epoch < r.profEpoch
		r.mu.Unlock()
		if stale { // from a professor session that was replaced meanwhile
			r.log.Debug("ignoring an offer of a replaced professor session", "epoch", m.Epoch)
			return nil
		}
		r.endSession(nil, "new offer")
		if r.cfg.Consent == ConsentAsk {
			r.askView(ctx, m) // no answer, so no frame, before a yes
			return nil
		}
		r.withdraw()
		if err := r.startSession(ctx, m); err != nil {
			r.log.Warn("starting live session", "err", err)
		}
	case wire.SignalCandidate:
		if s := r.session(m.Epoch); s != nil {
			if err := s.peer.AddCandidate(m.Candidate); err != nil {
				r.log.Debug("remote candidate", "err", err)
			}
		} else {
			r.heldCandidate(m.Epoch, m.Candidate)
		}
	case wire.SignalControlStart:
		if s := r.session(m.Epoch); s != nil {
			if r.cfg.Consent == ConsentAsk {
				s.askControl()
			} else {
				s.startControl()
			}
		}
	case wire.SignalControl:
		if s := r.session(m.Epoch); s != nil {
			s.control(m.Control)
		}
	case wire.SignalControlEnd:
		if s := r.session(m.Epoch); s != nil {
			s.withdrawControl()
			s.stopControl("control_end")
		}
	case wire.SignalPeerLeft:
		r.withdraw()
		r.endSession(nil, "professor left")
		r.dropWarm(nil)
	case wire.SignalKicked:
		return fmt.Errorf("%w: kicked (%s)", errRetryLater, m.Code)
	case wire.SignalError:
		r.log.Warn("signaling error", "code", m.Code, "message", m.Message)
		switch m.Code {
		case wire.CodeLectureInactive, wire.CodeNotMember, wire.CodeForbidden, wire.CodeNotFound:
			return fmt.Errorf("%w: %s", errRetryLater, m.Code)
		}
	}
	return nil
}

// warmUpFor is how long a prepared screen waits for its offer.
const warmUpFor = 15 * time.Second

// warmUp prepares the screen for the professor who just joined (see
// prepared); unused, it is dropped after warmUpFor.
func (r *Runner) warmUp(epoch int64) {
	p, err := r.prepare(epoch)
	if err != nil {
		r.log.Debug("preparing the screen", "err", err)
		return
	}
	r.mu.Lock()
	old := r.warm
	r.warm = p
	r.mu.Unlock()
	if old != nil {
		old.close()
	}
	time.AfterFunc(warmUpFor, func() { r.dropWarm(p) })
}

// dropWarm frees the prepared screen if it is p (nil: whichever there is).
func (r *Runner) dropWarm(p *prepared) {
	r.mu.Lock()
	w := r.warm
	if w == nil || (p != nil && w != p) {
		r.mu.Unlock()
		return
	}
	r.warm = nil
	r.mu.Unlock()
	w.close()
}

// session returns the current session if it belongs to the professor
// session with this epoch (messages of an older one are ignored).
func (r *Runner) session(epoch int64) *session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil || r.cur.epoch != epoch {
		return nil
	}
	return r.cur
}

// endSession ends s (nil: whatever session is current).
// endLater ends s from a goroutine Run waits for: for callers that must not
// block (pion callbacks) or that the ending waits for (the video loop).
func (r *Runner) endLater(s *session, why string) {
	r.endMu.Lock()
	defer r.endMu.Unlock()
	if r.stopping {
		return // Run ended every session already
	}
	r.ending.Add(1)
	go func() {
		defer r.ending.Done()
		r.endSession(s, why)
	}()
}

// waitEnding waits for the sessions being ended and refuses new ones.
func (r *Runner) waitEnding() {
	r.endMu.Lock()
	r.stopping = true
	r.endMu.Unlock()
	r.ending.Wait()
}

func (r *Runner) endSession(s *session, why string) {
	r.mu.Lock()
	if r.cur == nil || (s != nil && r.cur != s) {
		r.mu.Unlock()
		return
	}
	s, r.cur = r.cur, nil
	r.mu.Unlock()
	r.log.Info("live session ended", "why", why)
	s.close()
	// Closing takes a while (tracks, sound devices); a new offer may have
	// started the next session meanwhile, which must keep its banner.
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cur == nil {
		r.setState(State{Mode: Idle})
	}
}

func (r *Runner) injector() (input.SystemInjector, error) {
	r.injMu.Lock()
	defer r.injMu.Unlock()
	if r.inj != nil {
		return r.inj, nil
	}
	inj, err := input.NewInjector(input.InjectorOptions{Display: r.cfg.Display, Logger: r.log})
	if err != nil {
		return nil, fmt.Errorf("opening input injector: %w", err)
	}
	r.inj = inj
	return inj, nil
}

func (r *Runner) closeInjector() {
	r.injMu.Lock()
	defer r.injMu.Unlock()
	if r.inj != nil {
		_ = r.inj.Close()
		r.inj = nil
	}
}
