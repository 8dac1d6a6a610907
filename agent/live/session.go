package live

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"

	"github.com/didacto/didacto/capture"
	"github.com/didacto/didacto/input"
	"github.com/didacto/didacto/rtc"
	"github.com/didacto/didacto/rtc/audio"
	"github.com/didacto/didacto/wire"
)

// session is one professor session: a peer connection streaming one screen,
// and remote control while it is on.
type session struct {
	r         *Runner
	log       *slog.Logger
	epoch     int64
	professor string
	ctx       context.Context
	cancel    context.CancelFunc
	peer      *rtc.Peer
	prep      *prepared // the screen, its capturer and streamer
	loopDone  chan struct{}
	started   time.Time // the offer arrived
	// answeredAt is set once, before the first frame can be sent.
	answeredAt time.Time

	// Sound, opened at the start (nil where missing) and closed by close.
	sound   *audio.System
	mic     *audio.Microphone
	speaker *audio.Speaker
	playout *audio.Playout
	voice   atomic.Pointer[rtc.VoiceSender]
	tracks  sync.WaitGroup // readers of the professor's tracks

	mu      sync.Mutex // guards the rest
	mode    Mode
	media   Media
	camSeen bool   // camera pictures have arrived
	profCam string // the console's word on its camera (wire.Media*), "" before it spoke
	heard   *rtc.VoiceReceiver
	seen    *rtc.CameraReceiver
	screens []capture.Screen
	current int
	ctrl    *input.Controller
	// askCancel withdraws the pending control question (ConsentAsk).
	askCancel context.CancelFunc
	sessCh    *rtc.Channel
	closed    bool
	// Local candidates wait until the answer is sent: the console cannot
	// add a candidate before it has the answer.
	answered bool
	pending  []json.RawMessage
}

func (r *Runner) startSession(ctx context.Context, offer wire.SignalMessage) error {
	offered := time.Now()
	r.mu.Lock()
	name := ""
	if r.profEpoch == offer.Epoch {
		name = r.profName
	}
	ice := r.iceSrv
	prep := r.warm
	r.warm = nil
	r.mu.Unlock()
	if prep != nil && prep.epoch != offer.Epoch {
		prep.close()
		prep = nil
	}
	if prep == nil {
		var err error
		if prep, err = r.prepare(offer.Epoch); err != nil {
			return err
		}
	}
	s := &session{r: r, log: r.log.With("epoch", offer.Epoch), epoch: offer.Epoch, professor: name, loopDone: make(chan struct{}),
		started: offered, prep: prep, screens: prep.screens, current: prep.current}
	s.ctx, s.cancel = context.WithCancel(ctx)
	first := s.firstFrame
	prep.onFirst.Store(&first)
	s.openSound()
	defer func() { // on an error return, nothing of the session stays open
		if s.peer == nil {
			s.closeSound()
			prep.close()
		}
	}()

	// The answer does not wait for the streamer: it gets ready while ICE
	// and DTLS run. The estimate starts where the native size at the full
	// frame rate fits, and may climb to what sharpens it.
	w, h := prep.size()
	fps := r.cfg.Stream.FPS
	if fps <= 0 {
		fps = 30
	}
	maxWidth := r.cfg.Stream.MaxWidth
	if maxWidth <= 0 {
		maxWidth = 1920
	}
	if w > maxWidth {
		w, h = maxWidth, h*maxWidth/w
	}
	peer, err := rtc.NewPeer(rtc.PeerConfig{
		ICEServers:    ice,
		LoopbackOnly:  r.cfg.LoopbackOnly,
		StartKbps:     rtc.StartKbps(w, h, fps),
		MaxKbps:       rtc.SharpKbps(w, h, fps),
		Voice:         s.mic != nil,
		OnCandidate:   s.localCandidate,
		OnDataChannel: s.dataChannel,
		OnTrack:       s.remoteTrack,
		OnState:       s.peerState,
		Logger:        s.log,
	})
	if err != nil {
		return err
	}
	if s.mic != nil {
		v, err := rtc.NewVoiceSender(peer)
		if err != nil {
			_ = peer.Close()
			return err
		}
		v.SetMuted(r.muted.Load())
		s.mu.Lock() // what the student is told follows their own choice
		s.media.Microphone = DeviceOn
		if r.muted.Load() {
			s.media.Microphone = DeviceMuted
		}
		s.mu.Unlock()
		s.voice.Store(v)
	}
	s.peer = peer
	r.mu.Lock()
	r.cur = s
	r.mu.Unlock()
	go func() {
		defer close(s.loopDone)
		if err := prep.wait(s.ctx); err != nil {
			if s.ctx.Err() == nil {
				s.log.Warn("screen capture", "err", err)
				r.endLater(s, "screen capture failed") // endSession waits for this goroutine
			}
			return
		}
		if err := prep.streamer.Run(s.ctx, s.peer); err != nil {
			s.log.Warn("video loop", "err", err)
			r.endLater(s, "video failed") // endSession waits for this goroutine
		}
	}()
	answer, err := s.peer.Answer(offer.SDP)
	if err != nil {
		r.endSession(s, "bad offer")
		return err
	}
	if err := r.send(ctx, wire.SignalMessage{Type: wire.SignalAnswer, SDP: answer}); err != nil {
		r.endSession(s, "answer not sent")
		return err
	}
	s.answeredAt = time.Now()
	s.mu.Lock()
	s.answered = true
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, c := range pending {
		s.localCandidate(c)
	}
	s.setMode(Viewed)
	return nil
}

// firstFrame logs how the session's start was spent: the parts of the
// time from the offer to the first frame on the wire.
func (s *session) firstFrame(at time.Time, bytes int) {
	ms := func(a, b time.Time) int64 {
		if a.IsZero() || b.IsZero() {
			return -1
		}
		return b.Sub(a).Milliseconds()
	}
	ice, dtls := s.peer.ConnectedAt()
	s.log.Info("live session start", "answer_ms", ms(s.started, s.answeredAt), "ice_ms", ms(s.answeredAt, ice),
		"dtls_ms", ms(ice, dtls), "first_frame_ms", ms(dtls, at), "total_ms", ms(s.started, at),
		"streamer_ready_ms", ms(s.prep.made, s.prep.ready), "prepared_early_ms", ms(s.prep.made, s.started), "keyframe_bytes", bytes)
}

// openSound opens the microphone and speakers; what is missing is only
// noted: the session goes on without it.
func (s *session) openSound() {
	s.media.Microphone, s.media.Speaker = DeviceMissing, DeviceMissing
	if s.r.cfg.NoAudio {
		return
	}
	opts := s.r.cfg.Audio
	if opts.Logger == nil {
		opts.Logger = s.log
	}
	sys, err := audio.Open(opts)
	if err != nil {
		s.log.Warn("no sound system: the session goes on without voice", "err", err)
		return
	}
	s.sound = sys
	mic, err := sys.OpenMicrophone(rtc.FrameSamples, func(pcm []int16) {
		if v := s.voice.Load(); v != nil {
			v.Frame(pcm)
		}
	})
	if err != nil {
		s.log.Warn("no microphone: the professor cannot hear the student", "err", err)
	} else {
		s.mic = mic
		s.media.Microphone = DeviceOn // muted or not: set with the voice sender
	}
	// A LAN's jitter is a few ms; 40 ms of buffer hides it, and more than
	// 200 ms is dropped rather than let the conversation lag.
	s.playout = audio.NewPlayout(40*time.Millisecond, 200*time.Millisecond)
	sp, err := sys.OpenSpeaker(s.playout)
	if err != nil {
		s.log.Warn("no speakers: the student cannot hear the professor", "err", err)
	} else {
		s.speaker = sp
		s.media.Speaker = DeviceOn
	}
	s.log.Info("live sound", "microphone", deviceName(s.mic != nil, func() string { return mic.Device.Name }),
		"speaker", deviceName(s.speaker != nil, func() string { return sp.Device.Name }))
}

func deviceName(ok bool, name func() string) string {
	if !ok {
		return "missing"
	}
	return name()
}

// closeSound stops the microphone first (no more frames to encode), then
// the speakers.
func (s *session) closeSound() {
	if s.mic != nil {
		_ = s.mic.Close()
	}
	if v := s.voice.Load(); v != nil {
		_ = v.Close()
	}
	if s.speaker != nil {
		_ = s.speaker.Close()
	}
	if s.sound != nil {
		_ = s.sound.Close()
	}
}

// discard is the voice's sink on a machine without speakers: the voice is
// still decoded, so the stats say what arrived.
type discard struct{}

func (discard) Push([]int16) {}

// remoteTrack reads one of the professor's tracks until it ends (pion
// calls it on a goroutine of its own).
func (s *session) remoteTrack(t *rtc.RemoteTrack) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.tracks.Add(1)
	s.mu.Unlock()
	defer s.tracks.Done()
	switch {
	case t.Kind() == "audio":
		var sink rtc.PCMSink = discard{}
		if s.speaker != nil {
			sink = s.playout
		}
		v, err := rtc.NewVoiceReceiver(sink)
		if err != nil {
			s.log.Warn("professor's voice", "err", err)
			return
		}
		s.mu.Lock()
		s.heard = v
		s.mu.Unlock()
		_ = v.Run(s.ctx, t)
	case t.Kind() == "video" && t.Codec() == "video/VP8":
		c, err := rtc.NewCameraReceiver(s.cameraFrame, func() {
			if err := s.peer.RequestKeyframe(t); err != nil {
				s.log.Debug("camera keyframe request", "err", err)
			}
		})
		if err != nil {
			s.log.Warn("professor's camera", "err", err)
			return
		}
		s.mu.Lock()
		s.seen = c
		s.mu.Unlock()
		_ = c.Run(s.ctx, t)
		s.mu.Lock()
		s.camSeen = false
		s.publishLocked()
		s.mu.Unlock()
	default:
		s.log.Debug("ignoring a track", "kind", t.Kind(), "codec", t.Codec())
	}
}

// cameraFrame passes a camera picture on unless the professor switched
// the camera off (a disabled browser track still sends black frames).
func (s *session) cameraFrame(img *image.YCbCr) {
	s.mu.Lock()
	if !s.camSeen {
		s.camSeen = true
		s.publishLocked()
	}
	off := s.profCam == wire.MediaOff || s.closed
	s.mu.Unlock()
	if !off && s.r.cfg.OnCamera != nil {
		s.r.cfg.OnCamera(img)
	}
}

// setMode publishes the session's new mode.
func (s *session) setMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
	s.publishLocked()
}

// publishLocked reports the session's state (s.mu held, so that it cannot
// land after the Idle that endSession reports once close returned).
func (s *session) publishLocked() {
	if s.closed || s.mode == Idle {
		return
	}
	m := s.media
	m.Camera = s.camSeen && s.profCam != wire.MediaOff && s.profCam != wire.MediaMissing
	s.r.setState(State{Mode: s.mode, Professor: s.professor, Media: m, Screen: s.screens[s.current].Rect})
}

func (s *session) setMuted(m bool) {
	v := s.voice.Load()
	if v == nil {
		return // no microphone: nothing to mute
	}
	s.mu.Lock()
	v.SetMuted(m || s.media.ProfessorMuted)
	s.media.Microphone = DeviceOn
	if m {
		s.media.Microphone = DeviceMuted
	}
	s.publishLocked()
	s.mu.Unlock()
	s.sendMedia()
}

// sendMedia tells the console what of the student's sound works.
func (s *session) sendMedia() {
	s.mu.Lock()
	mic, spk := s.media.Microphone, s.media.Speaker
	s.mu.Unlock()
	word := map[Device]string{DeviceOn: wire.MediaOn, DeviceMuted: wire.MediaMuted, DeviceMissing: wire.MediaMissing}
	s.sendSession(wire.SessionMessage{Type: wire.SessionMedia, Microphone: word[mic], Speaker: word[spk]})
}

func (s *session) localCandidate(c json.RawMessage) {
	s.mu.Lock()
	if !s.answered {
		s.pending = append(s.pending, c)
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	if err := s.r.send(s.ctx, wire.SignalMessage{Type: wire.SignalCandidate, Candidate: c}); err != nil {
		s.log.Debug("sending candidate", "err", err)
	}
}

func (s *session) peerState(st webrtc.PeerConnectionState) {
	switch st {
	case webrtc.PeerConnectionStateDisconnected:
		s.releaseAll() // maybe back soon; nothing stays pressed meanwhile
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		s.r.endLater(s, "peer connection "+st.String())
	}
}

func (s *session) dataChannel(ch *rtc.Channel) {
	switch ch.Label() {
	case wire.ControlChannelMoves, wire.ControlChannelKeys:
		ch.OnMessage(s.control)
		ch.OnClose(s.releaseAll)
	case wire.SessionChannel:
		s.mu.Lock()
		s.sessCh = ch
		s.mu.Unlock()
		ch.OnOpen(func() {
			s.sendScreens()
			s.sendMedia()
		})
		ch.OnMessage(s.sessionMessage)
		ch.OnClose(s.releaseAll)
	default:
		s.log.Debug("ignoring data channel", "label", ch.Label())
	}
}

// control applies one event if control is on; otherwise it is dropped.
func (s *session) control(b []byte) {
	s.mu.Lock()
	ctrl := s.ctrl
	s.mu.Unlock()
	var err error
	if ctrl == nil {
		err = errNotControlling
	} else {
		err = ctrl.HandleMessage(b)
	}
	if s.r.cfg.OnControl != nil {
		s.r.cfg.OnControl(b, err)
	}
}

var errNotControlling = fmt.Errorf("live: control is not on")

func (s *session) startControl() {
	s.mu.Lock()
	if s.closed || s.ctrl != nil {
		s.mu.Unlock()
		return
	}
	scr := s.screenRect()
	s.mu.Unlock()
	inj, err := s.r.injector()
	var ctrl *input.Controller
	if err == nil {
		ctrl, err = input.NewController(s.ctx, inj, input.Options{Screen: scr, Logger: s.log})
	}
	if err != nil {
		s.log.Warn("remote control unavailable", "err", err)
		s.sendSession(wire.SessionMessage{Type: wire.SessionControlState, Accepted: ptr(false), Reason: "input unavailable"})
		_ = s.r.send(s.ctx, wire.SignalMessage{Type: wire.SignalControlEnd})
		return
	}
	s.mu.Lock()
	if s.closed || s.ctrl != nil {
		s.mu.Unlock()
		_ = ctrl.Close()
		return
	}
	s.ctrl = ctrl
	s.mu.Unlock()
	s.setMode(Controlled)
	s.sendSession(wire.SessionMessage{Type: wire.SessionControlState, Accepted: ptr(true)})
}

// stopControl ends control if it is on (and says whether it was).
func (s *session) stopControl(reason string) bool {
	s.mu.Lock()
	ctrl := s.ctrl
	s.ctrl = nil
	closed := s.closed
	s.mu.Unlock()
	if ctrl == nil {
		return false
	}
	if err := ctrl.Close(); err != nil {
		s.log.Warn("releasing input", "err", err)
	}
	if !closed {
		s.setMode(Viewed)
		s.sendSession(wire.SessionMessage{Type: wire.SessionControlState, Accepted: ptr(false), Reason: reason})
	}
	return true
}

func (s *session) releaseAll() {
	s.mu.Lock()
	ctrl := s.ctrl
	s.mu.Unlock()
	if ctrl != nil {
		if err := ctrl.ReleaseAll(); err != nil {
			s.log.Warn("releasing input", "err", err)
		}
	}
}

// screenRect is the current screen in injector coordinates (s.mu held).
func (s *session) screenRect() input.Screen {
	r := s.screens[s.current].Rect
	return input.Screen{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy()}
}

func (s *session) sendScreens() {
	s.mu.Lock()
	m := wire.SessionMessage{Type: wire.SessionScreens, Current: ptr(s.current)}
	for i, sc := range s.screens {
		if i >= wire.MaxSessionScreens {
			break
		}
		m.Screens = append(m.Screens, sessionScreen(i, sc.Name, sc.Rect, sc.Primary))
	}
	s.mu.Unlock()
	s.sendSession(m)
}

func sessionScreen(i int, name string, r image.Rectangle, primary bool) wire.SessionScreen {
	if len(name) > wire.MaxSessionText || !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "?")
		for len(name) > wire.MaxSessionText { // cut whole runes only
			_, n := utf8.DecodeLastRuneInString(name)
			name = name[:len(name)-n]
		}
	}
	return wire.SessionScreen{Index: i, Name: name, X: r.Min.X, Y: r.Min.Y, Width: r.Dx(), Height: r.Dy(), Primary: primary}
}

func (s *session) sendSession(m wire.SessionMessage) {
	s.mu.Lock()
	ch := s.sessCh
	s.mu.Unlock()
	if ch == nil {
		return
	}
	b, err := json.Marshal(m)
	if err != nil {
		s.log.Warn("encoding session message", "err", err)
		return
	}
	if err := ch.Send(b); err != nil {
		s.log.Debug("session channel", "err", err)
	}
}

func (s *session) sessionMessage(b []byte) {
	m, err := wire.DecodeSession(b)
	if err != nil {
		s.log.Debug("bad session message", "err", err)
		return
	}
	switch m.Type {
	case wire.SessionSelectScreen:
		if err := s.selectScreen(*m.Index); err != nil {
			s.log.Warn("selecting screen", "err", err)
		}
		s.sendScreens()
	case wire.SessionMedia:
		s.mu.Lock()
		if m.Camera != "" {
			s.profCam = m.Camera
		}
		if m.Microphone != "" {
			s.media.ProfessorMuted = m.Microphone != wire.MediaOn
			// The student's microphone is sent only while the professor's
			// is on: a professor who only looks hears nothing of the room,
			// and one who turns their microphone on has asked to talk.
			if v := s.voice.Load(); v != nil {
				v.SetMuted(s.r.muted.Load() || s.media.ProfessorMuted)
			}
		}
		s.publishLocked()
		s.mu.Unlock()
	}
}

// selectScreen streams (and maps control to) another monitor.
func (s *session) selectScreen(i int) error {
	probe, err := capture.New(capture.Options{Screen: capture.AllScreens, Display: s.r.cfg.Display})
	if err != nil {
		return fmt.Errorf("opening capture: %w", err)
	}
	screens, err := probe.Screens()
	_ = probe.Close()
	if err != nil {
		return fmt.Errorf("listing screens: %w", err)
	}
	if i < 0 || i >= len(screens) {
		s.mu.Lock()
		s.screens = screens
		s.current = min(s.current, len(screens)-1)
		s.mu.Unlock()
		return fmt.Errorf("no screen %d (have %d)", i, len(screens))
	}
	if err := s.prep.wait(s.ctx); err != nil {
		return fmt.Errorf("screen capture: %w", err)
	}
	capt, err := capture.New(capture.Options{Screen: i, Display: s.r.cfg.Display})
	if err != nil {
		return fmt.Errorf("opening capture: %w", err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = capt.Close()
		return nil
	}
	s.screens, s.current = screens, i
	ctrl := s.ctrl
	scr := s.screenRect()
	s.publishLocked() // the panel moves off the newly streamed monitor
	s.mu.Unlock()
	old, ok := s.prep.setCapturer(capt)
	if !ok { // the session closed meanwhile
		_ = capt.Close()
		return nil
	}
	s.prep.streamer.SetSource(capt) // returns once the old capturer is out of use
	_ = old.Close()
	if ctrl != nil {
		if err := ctrl.SetScreen(scr); err != nil {
			return err
		}
	}
	return nil
}

// close ends everything: input is released before the connection goes.
func (s *session) close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	ctrl := s.ctrl
	s.ctrl = nil
	s.mu.Unlock()
	if ctrl != nil {
		if err := ctrl.Close(); err != nil {
			s.log.Warn("releasing input", "err", err)
		}
	}
	s.cancel()
	if err := s.peer.Close(); err != nil {
		s.log.Debug("closing peer", "err", err)
	}
	<-s.loopDone
	s.tracks.Wait() // the tracks end with the connection
	s.logMedia()
	s.closeSound()
	if s.prep.wait(context.Background()) == nil {
		s.logVideo(s.prep.streamer.Stats())
	}
	s.prep.close()
}

// logVideo writes what the screen stream did.
func (s *session) logVideo(st rtc.StreamStats) {
	if st.Frames == 0 {
		return
	}
	per := func(d time.Duration, n int64) string {
		return (d / time.Duration(max(n, 1))).Round(10 * time.Microsecond).String()
	}
	c := s.peer.Congestion()
	s.log.Info("live video", "frames", st.Frames, "keyframes", st.Keyframes, "bytes", st.Bytes,
		"fps", fmt.Sprintf("%.1f", float64(st.Frames)/time.Since(s.started).Seconds()), "still_ticks", st.Skipped, "pushback_ticks", st.Pushback,
		"capture", per(st.Capture, st.Captures), "convert", per(st.Convert, st.Frames), "encode", per(st.Encode, st.Frames),
		"size", fmt.Sprintf("%dx%d", st.Width, st.Height), "kbps", st.Kbps,
		"estimate_kbps", c.TargetBps/1000, "estimate_decreases", c.Decreases, "loss", fmt.Sprintf("%.3f", c.Loss))
}

// logMedia writes what the session's sound and camera did.
func (s *session) logMedia() {
	s.mu.Lock()
	heard, seen := s.heard, s.seen
	s.mu.Unlock()
	attrs := []any{}
	if v := s.voice.Load(); v != nil {
		st := v.Stats()
		attrs = append(attrs, "voice_sent_frames", st.Frames, "voice_sent_bytes", st.Bytes,
			"mic_dropped_ms", min(s.mic.Dropped()*1000/audio.Rate, time.Since(s.started).Milliseconds()))
	}
	if heard != nil {
		st := heard.Stats()
		attrs = append(attrs, "voice_heard_packets", st.Packets, "voice_lost", st.Lost, "voice_recovered", st.Recovered,
			"voice_concealed", st.Concealed, "voice_loud_packets", st.Loud, "voice_peak", fmt.Sprintf("%.3f", st.Peak))
	}
	if s.playout != nil && s.speaker != nil {
		st := s.playout.Stats()
		attrs = append(attrs, "played_ms", st.Played*1000/audio.Rate, "underruns", st.Underruns, "dropped_ms", st.Dropped*1000/audio.Rate)
	}
	if seen != nil {
		st := seen.Stats()
		attrs = append(attrs, "camera_frames", st.Frames, "camera_size", fmt.Sprintf("%dx%d", st.Width, st.Height),
			"camera_errors", st.Errors)
	}
	if len(attrs) > 0 {
		s.log.Info("live media", attrs...)
	}
}

func ptr[T any](v T) *T { return &v }
