package live_test

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/live"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/rtc/audio"
	"github.com/didacto/didacto/server/config"
)

// cameraSink keeps the count and the latest picture of the professor's camera.
type cameraSink struct {
	frames atomic.Int64
	mu     sync.Mutex
	last   *image.YCbCr
}

func (c *cameraSink) frame(img *image.YCbCr) {
	c.frames.Add(1)
	c.mu.Lock()
	c.last = img
	c.mu.Unlock()
}

// loudWindows counts the 20 ms windows of pcm louder than level (RMS).
func loudWindows(pcm []int16, level float64) int {
	n := 0
	for i := 0; i+960 <= len(pcm); i += 960 {
		if audio.Measure(pcm[i:i+960]).RMS >= level {
			n++
		}
	}
	return n
}

// TestLiveVoiceAndCameraWithChromium is a whole session's media with
// headless Chromium as the professor (its fake camera and microphone) and
// the agent on a real sound server (PulseAudio): the professor's camera
// decodes in the agent at 320x240, the professor's beeps come out of the
// student's speakers (recorded from the sink), the student's microphone
// (a 440 Hz tone) is heard in the page at 440 Hz, muting silences it and
// tells the console, and the console's "camera off" reaches the student.
func TestLiveVoiceAndCameraWithChromium(t *testing.T) {
	d := testenv.StartXvfb(t, "1280x720x24")
	pa := testenv.StartPulse(t, 440)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	page := servePage(t)
	r := newRoom(t, func(c *config.Config) { c.PublicURL = page.URL })
	st := &states{}
	cam := &cameraSink{}
	run := startAgent(ctx, t, r, d.Name, st, nil, func(c *live.Config) { c.OnCamera = cam.frame })
	st.wait(t, live.State{Mode: live.Idle})

	b := startBrowser(ctx, t, r, page, "media=1")
	b.call(`await page.waitForFunction(() => S.firstFrame > 0, null, {timeout: 30000});`)
	got := st.waitFor(t, "microphone and speaker on, camera arriving", func(s live.State) bool {
		return s.Mode == live.Viewed && s.Media.Microphone == live.DeviceOn && s.Media.Speaker == live.DeviceOn && s.Media.Camera
	})
	if got.Professor != "Prof Lee" {
		t.Errorf("state %+v", got)
	}

	// The professor's camera, decoded by the agent.
	eventually(t, "20 camera frames", func() bool { return cam.frames.Load() >= 20 })
	cam.mu.Lock()
	last := cam.last
	cam.mu.Unlock()
	if sz := last.Rect.Size(); sz != (image.Point{320, 240}) {
		t.Errorf("camera picture %v, want 320x240", sz)
	}
	if dir := os.Getenv("DIDACTO_SHOTS"); dir != "" { // for a person to look at
		f, err := os.Create(filepath.Join(dir, "agent-received-camera.png"))
		if err == nil {
			_ = png.Encode(f, last)
			f.Close()
		}
	}

	// The professor's voice: Chrome's fake microphone beeps about once a
	// second; the beeps reach the student's speakers.
	rec := pa.RecordSpeaker(t, 3*time.Second)
	if len(rec) < 2*audio.Rate {
		t.Fatalf("recorded %d samples of the speakers in 3 s", len(rec))
	}
	if n := loudWindows(rec, 0.01); n < 2 {
		t.Errorf("%d loud 20 ms windows on the speakers in 3 s, want the beeps (peak %+v)", n, audio.Measure(rec))
	}

	// The student's voice: the page hears 440 Hz (the analyser's bins are
	// 11.7 Hz wide) and the page's stats count the packets.
	var heard struct {
		Hz, Level float64
		Ctx       string
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		b.eval(`({hz: S.voiceHz || 0, level: S.voiceLevel || -200, ctx: S.audioCtx || ''})`, &heard)
		if heard.Hz > 420 && heard.Hz < 460 && heard.Level > -60 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page does not hear the student's 440 Hz: %+v", heard)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var inbound struct {
		Packets int
		Energy  float64
	}
	b.eval(`pc.getStats().then(s => { let r = {packets: 0, energy: 0}; s.forEach(x => { if (x.type === 'inbound-rtp' && x.kind === 'audio') { r.packets = x.packetsReceived; r.energy = x.totalAudioEnergy || 0; } }); return r; })`, &inbound)
	if inbound.Packets < 50 {
		t.Errorf("page stats: %+v audio packets from the student", inbound)
	}

	// Mute: the console is told, and the page's analyser goes quiet.
	run.SetMuted(true)
	st.waitFor(t, "microphone muted", func(s live.State) bool { return s.Media.Microphone == live.DeviceMuted })
	b.call(`await page.waitForFunction(() => S.media && S.media.microphone === 'muted' && S.media.speaker === 'on', null, {timeout: 10000});`)
	deadline = time.Now().Add(10 * time.Second)
	for {
		b.eval(`({hz: S.voiceHz || 0, level: S.voiceLevel || -200})`, &heard)
		if heard.Level < -90 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still hearing the student after muting: %+v", heard)
		}
		time.Sleep(100 * time.Millisecond)
	}
	run.SetMuted(false)
	b.call(`await page.waitForFunction(() => S.media && S.media.microphone === 'on', null, {timeout: 10000});`)

	// The professor switches the camera off, and on.
	b.call(`await page.evaluate(() => sendMedia({camera: 'off', microphone: 'muted'}));`)
	st.waitFor(t, "camera off, professor muted", func(s live.State) bool { return !s.Media.Camera && s.Media.ProfessorMuted })
	b.call(`await page.evaluate(() => sendMedia({camera: 'on', microphone: 'on'}));`)
	st.waitFor(t, "camera on again", func(s live.State) bool { return s.Media.Camera && !s.Media.ProfessorMuted })

	b.call(`await page.close();`)
	st.wait(t, live.State{Mode: live.Idle})
}

// TestLiveWithoutSoundDevices: a lab PC with no sound server and no sound
// card. The session goes on with what exists: the screen streams, the
// camera arrives, the agent says microphone and speakers are missing, the
// console is told, and the answer does not pretend to send a voice.
func TestLiveWithoutSoundDevices(t *testing.T) {
	d := testenv.StartXvfb(t, "1280x720x24")
	t.Setenv("PULSE_SERVER", "unix:"+t.TempDir()+"/none") // nothing listens there
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	page := servePage(t)
	r := newRoom(t, func(c *config.Config) { c.PublicURL = page.URL })
	st := &states{}
	cam := &cameraSink{}
	startAgent(ctx, t, r, d.Name, st, nil, func(c *live.Config) {
		c.OnCamera = cam.frame
		c.Audio.Backend = "pulseaudio" // no ALSA fallback to whatever this machine has
	})
	st.wait(t, live.State{Mode: live.Idle})
	b := startBrowser(ctx, t, r, page, "media=1")
	b.call(`await page.waitForFunction(() => S.firstFrame > 0 && document.getElementById('v').videoWidth === 1280, null, {timeout: 30000});`)
	st.waitFor(t, "microphone and speakers missing, camera arriving", func(s live.State) bool {
		return s.Mode == live.Viewed && s.Media.Microphone == live.DeviceMissing && s.Media.Speaker == live.DeviceMissing && s.Media.Camera
	})
	eventually(t, "camera frames", func() bool { return cam.frames.Load() >= 5 })
	b.call(`await page.waitForFunction(() => S.media && S.media.microphone === 'missing' && S.media.speaker === 'missing', null, {timeout: 10000});`)
	var dir string
	b.eval(`pc.getTransceivers().find(t => t.receiver.track.kind === 'audio').currentDirection`, &dir)
	if dir != "sendonly" {
		t.Errorf("the page's audio transceiver is %q, want sendonly (the student has no microphone)", dir)
	}
	b.call(`await page.close();`)
	st.wait(t, live.State{Mode: live.Idle})
}
