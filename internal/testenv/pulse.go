package testenv

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Pulse is a throwaway PulseAudio server with a sound card a test can
// check from outside: its default source "mic" records a steady sine (a
// student speaking) that the test writes into it in real time, and its
// default sink "speaker" plays to nowhere while its monitor records what
// reached it.
type Pulse struct {
	Server string // PULSE_SERVER value, unix:/…/native
	Freq   int    // the mic's tone in Hz
	dir    string
	parec  string
	pactl  string

	speaking atomic.Bool
	spoke    chan time.Time
}

// StartPulse starts PulseAudio in a temp dir (no D-Bus, no autospawn, no
// user config) and stops it when the test ends. It sets PULSE_SERVER and
// friends in the test's environment so that in-process clients (miniaudio)
// and child processes find it.
func StartPulse(tb testing.TB, micFreq int) *Pulse {
	tb.Helper()
	bin := LookPath(tb, "pulseaudio")
	p := &Pulse{Freq: micFreq, parec: LookPath(tb, "parec"), pactl: LookPath(tb, "pactl"), spoke: make(chan time.Time)}
	// A short path: unix socket paths are limited to 108 bytes.
	dir, err := os.MkdirTemp("", "pa")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	p.dir = dir
	sock := filepath.Join(dir, "native")
	p.Server = "unix:" + sock
	script := fmt.Sprintf(`load-module module-native-protocol-unix auth-anonymous=1 socket=%s
load-module module-null-sink sink_name=speaker rate=48000 channels=1
load-module module-pipe-source source_name=mic file=%s format=s16le rate=48000 channels=1 source_properties=device.description=Microphone
set-default-sink speaker
set-default-source mic
`, sock, filepath.Join(dir, "mic.fifo"))
	conf := filepath.Join(dir, "default.pa")
	if err := os.WriteFile(conf, []byte(script), 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-F", conf, "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
		"--log-target=stderr", "--system=no")
	// Only what it needs: no user config, no session bus, no X display.
	cmd.Env = p.env([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "LANG=C.UTF-8"})
	proc, err := StartProc(cmd)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { proc.Stop(5 * time.Second) })
	tb.Setenv("PULSE_SERVER", p.Server)
	deadline := time.Now().Add(20 * time.Second)
	for {
		c := exec.Command(p.pactl, "info")
		c.Env = p.env(os.Environ())
		if err := c.Run(); err == nil {
			break
		}
		if proc.Exited() || time.Now().After(deadline) {
			tb.Fatalf("PulseAudio did not start:\n%s", proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A null sink renders its longest latency (2 s) ahead when it loads
	// idle, so a stream started in its first seconds waits that long for a
	// first period, unlike a desktop's sound card. A silent stream at 10 ms
	// keeps the sink at a short latency; wait until it got there.
	keep := exec.Command(LookPath(tb, "pacat"), "--playback", "--raw", "--format=s16le", "--rate=48000", "--channels=1",
		"--latency-msec=10", "--device=speaker", "--client-name=keep-awake")
	keep.Env = p.env(os.Environ())
	keep.Stdin = zeroReader{}
	kp, err := StartProc(keep)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { kp.Stop(2 * time.Second) })
	for {
		lat, err := p.sinkLatency()
		if err == nil && lat < 50*time.Millisecond {
			break
		}
		if kp.Exited() || time.Now().After(deadline) {
			tb.Fatalf("the speaker sink did not settle (latency %v, %v):\n%s", lat, err, kp.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// module-pipe-source made the FIFO and holds it open for reading, so
	// opening it for writing does not block. Writes never block either:
	// while nobody records, PulseAudio stops reading and a frame is simply
	// lost, as a real microphone's would be.
	fd, err := syscall.Open(filepath.Join(dir, "mic.fifo"), syscall.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("opening the microphone FIFO: %v\n%s", err, proc.Output())
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	tb.Cleanup(func() { close(stop); <-done; syscall.Close(fd) })
	p.speaking.Store(true)
	go func() { // 20 ms of tone (or silence) every 20 ms, as a real microphone delivers it
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		frame := make([]byte, 2*960)
		for n := 0; ; n += 960 {
			on := p.speaking.Load()
			for i := 0; i < 960; i++ {
				v := int16(0)
				if on {
					v = int16(8000 * math.Sin(2*math.Pi*float64(micFreq)*float64(n+i)/48000))
				}
				binary.LittleEndian.PutUint16(frame[2*i:], uint16(v))
			}
			_, _ = syscall.Write(fd, frame) // EAGAIN: nobody is listening
			if on {
				select { // the first tone frame since Speak(true) is written now
				case p.spoke <- time.Now():
				default:
				}
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// env is base plus what points a PulseAudio client at p and keeps it away
// from the user's own server.
func (p *Pulse) env(base []string) []string {
	var out []string
	for _, kv := range base {
		if !strings.HasPrefix(kv, "PULSE_") && !strings.HasPrefix(kv, "XDG_RUNTIME_DIR=") {
			out = append(out, kv)
		}
	}
	return append(out, "PULSE_SERVER="+p.Server, "PULSE_RUNTIME_PATH="+p.dir, "XDG_RUNTIME_DIR="+p.dir,
		"PULSE_COOKIE="+filepath.Join(p.dir, "cookie"), "PULSE_STATE_PATH="+p.dir)
}

// Env returns os.Environ pointed at p, for child processes.
func (p *Pulse) Env(base []string) []string { return p.env(base) }

var sinkLatencyRe = regexp.MustCompile(`(?m)^\s*Latency: (\d+) usec`)

// sinkLatency is the speaker sink's current latency.
func (p *Pulse) sinkLatency() (time.Duration, error) {
	c := exec.Command(p.pactl, "list", "sinks")
	c.Env = p.env(os.Environ())
	b, err := c.Output()
	if err != nil {
		return 0, fmt.Errorf("pactl list sinks: %w", err)
	}
	m := sinkLatencyRe.FindSubmatch(b)
	if m == nil {
		return 0, fmt.Errorf("no latency in pactl's output:\n%s", b)
	}
	us, err := strconv.Atoi(string(m[1]))
	return time.Duration(us) * time.Microsecond, err
}

// Speak turns the microphone's tone on or off (it starts on). Turning it on
// returns when the first tone frame went into PulseAudio, and when: the
// start of a measured utterance.
func (p *Pulse) Speak(on bool) time.Time {
	p.speaking.Store(on)
	if !on {
		return time.Now()
	}
	return <-p.spoke
}

// Recording is a running recording of the speaker sink, 20 ms at a time,
// each chunk stamped with when it arrived.
type Recording struct {
	proc   *Proc
	mu     sync.Mutex
	chunks []Chunk
}

// Chunk is 20 ms of recorded speaker output and its arrival time.
type Chunk struct {
	At  time.Time
	PCM []int16
}

// StartRecording records the speaker sink until the test ends or Stop.
func (p *Pulse) StartRecording(tb testing.TB) *Recording {
	tb.Helper()
	cmd := exec.Command(p.parec, "--device=speaker.monitor", "--format=s16le", "--rate=48000", "--channels=1", "--raw",
		"--latency-msec=10")
	cmd.Env = p.env(os.Environ())
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	r := &Recording{}
	if r.proc, err = StartProc(cmd); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Stop)
	go func() {
		buf := make([]byte, 2*960)
		for {
			if _, err := io.ReadFull(out, buf); err != nil {
				return
			}
			pcm := make([]int16, 960)
			for i := range pcm {
				pcm[i] = int16(binary.LittleEndian.Uint16(buf[2*i:]))
			}
			r.mu.Lock()
			r.chunks = append(r.chunks, Chunk{At: time.Now(), PCM: pcm})
			r.mu.Unlock()
		}
	}()
	return r
}

// Onset is the arrival of the first chunk after t whose RMS passes level
// (0..1 of full scale).
func (r *Recording) Onset(after time.Time, level float64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.chunks {
		if !c.At.After(after) {
			continue
		}
		var sum float64
		for _, s := range c.PCM {
			sum += float64(s) * float64(s)
		}
		if math.Sqrt(sum/float64(len(c.PCM)))/32768 >= level {
			return c.At, true
		}
	}
	return time.Time{}, false
}

// Stop ends the recording.
func (r *Recording) Stop() { r.proc.Stop(2 * time.Second) }

// zeroReader is an endless stream of zero bytes (silence).
type zeroReader struct{}

func (zeroReader) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// RecordSpeaker records d of what plays on the speaker sink, as 48 kHz mono.
func (p *Pulse) RecordSpeaker(tb testing.TB, d time.Duration) []int16 {
	tb.Helper()
	r := p.StartRecording(tb)
	time.Sleep(d)
	r.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	var pcm []int16
	for _, c := range r.chunks {
		pcm = append(pcm, c.PCM...)
	}
	if len(pcm) == 0 {
		tb.Logf("parec recorded nothing: %s", r.proc.Output())
	}
	return pcm
}
