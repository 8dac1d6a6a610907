package audio_test

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/rtc/audio"
)

// power is the strength of one frequency in pcm (Goertzel), normalised so
// that a full-scale sine of that frequency gives about 0.5.
func power(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/audio.Rate)
	var s1, s2 float64
	for _, x := range pcm {
		s := float64(x)/32768 + k*s1 - s2
		s2, s1 = s1, s
	}
	return math.Sqrt(s1*s1+s2*s2-k*s1*s2) / float64(len(pcm))
}

func record(t *testing.T, sys *audio.System, d time.Duration) ([]int16, *audio.Microphone) {
	t.Helper()
	var mu sync.Mutex
	var got []int16
	mic, err := sys.OpenMicrophone(960, func(pcm []int16) {
		mu.Lock()
		got = append(got, pcm...)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
	mic.Close()
	mu.Lock()
	defer mu.Unlock()
	return got, mic
}

// TestMicrophoneRecordsTheDefaultSource: the PulseAudio default source
// plays 440 Hz; what the microphone hands out is that tone, in 20 ms frames.
func TestMicrophoneRecordsTheDefaultSource(t *testing.T) {
	testenv.StartPulse(t, 440)
	sys, err := audio.Open(audio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	got, mic := record(t, sys, 1500*time.Millisecond)
	if mic.Device.ID != "mic" {
		t.Errorf("recorded from %+v, want the default source mic", mic.Device)
	}
	if len(got) < audio.Rate/2 || len(got)%960 != 0 {
		t.Fatalf("got %d samples in 1.5 s (whole 960-sample frames expected)", len(got))
	}
	steady := got[len(got)/3:]
	if l := audio.Measure(steady); l.RMS < 0.05 {
		t.Fatalf("microphone level %+v: the tone did not arrive", l)
	}
	if p440, p1k := power(steady, 440), power(steady, 1000); p440 < 10*p1k {
		t.Fatalf("440 Hz power %.4f not far above 1 kHz's %.4f", p440, p1k)
	}
}

// TestSpeakerPlaysThePlayout: a 1 kHz tone pushed into a Playout reaches
// the PulseAudio sink, recorded from its monitor by parec.
func TestSpeakerPlaysThePlayout(t *testing.T) {
	pa := testenv.StartPulse(t, 440)
	sys, err := audio.Open(audio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	buf := audio.NewPlayout(40*time.Millisecond, 200*time.Millisecond)
	sp, err := sys.OpenSpeaker(buf)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // a voice arriving from the network, 20 ms at a time
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		n := 0
		for {
			frame := make([]int16, 960)
			for i := range frame {
				frame[i] = int16(12000 * math.Sin(2*math.Pi*1000*float64(n+i)/audio.Rate))
			}
			n += 960
			buf.Push(frame)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	time.Sleep(300 * time.Millisecond)
	rec := pa.RecordSpeaker(t, 1500*time.Millisecond)
	close(stop)
	<-done
	if len(rec) < audio.Rate/2 {
		t.Fatalf("recorded %d samples from the speaker monitor", len(rec))
	}
	steady := rec[len(rec)/4:]
	if l := audio.Measure(steady); l.RMS < 0.05 {
		t.Fatalf("speaker level %+v: nothing played", l)
	}
	if p1k, p440 := power(steady, 1000), power(steady, 440); p1k < 10*p440 {
		t.Fatalf("1 kHz power %.4f not far above 440 Hz's %.4f (the mic leaked into the speaker?)", p1k, p440)
	}
	if st := buf.Stats(); st.Played == 0 {
		t.Fatalf("playout stats %+v", st)
	}
}

// TestMonitorIsNeverAMicrophone: with only a monitor source left (the
// machine has no microphone), OpenMicrophone refuses instead of recording
// the speakers, which would echo the professor's voice back to them.
func TestMonitorIsNeverAMicrophone(t *testing.T) {
	pa := testenv.StartPulse(t, 440)
	pactl := testenv.LookPath(t, "pactl")
	cmd := exec.Command(pactl, "unload-module", "module-pipe-source")
	cmd.Env = pa.Env(nil)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pactl: %v\n%s", err, b)
	}
	sys, err := audio.Open(audio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	mic, err := sys.OpenMicrophone(960, func([]int16) {})
	if err == nil {
		mic.Close()
		t.Fatalf("opened %+v as a microphone", mic.Device)
	}
	if !errors.Is(err, audio.ErrNoDevice) {
		t.Fatalf("err = %v, want ErrNoDevice", err)
	}
	// The speaker is still there.
	sp, err := sys.OpenSpeaker(audio.NewPlayout(0, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	sp.Close()
}

// TestNoSoundServer: no PulseAudio to talk to and no ALSA card gives
// ErrNoDevice, which the session turns into "no microphone / no sound".
func TestNoSoundServer(t *testing.T) {
	if _, err := audio.Open(audio.Options{Backend: "oss4"}); err == nil || errors.Is(err, audio.ErrNoDevice) {
		t.Fatalf("unknown backend: %v", err)
	}
	t.Setenv("PULSE_SERVER", "unix:"+t.TempDir()+"/absent")
	sys, err := audio.Open(audio.Options{Backend: "pulseaudio"})
	if err == nil {
		defer sys.Close()
		if mic, err := sys.OpenMicrophone(960, func([]int16) {}); err == nil {
			mic.Close()
			t.Fatal("a microphone opened without a sound server")
		} else if !errors.Is(err, audio.ErrNoDevice) {
			t.Fatalf("err = %v, want ErrNoDevice", err)
		}
		return
	}
	if !errors.Is(err, audio.ErrNoDevice) {
		t.Fatalf("err = %v, want ErrNoDevice", err)
	}
}

// TestNullBackend: the null device records silence and consumes playback,
// at the device's pace.
func TestNullBackend(t *testing.T) {
	sys, err := audio.Open(audio.Options{Backend: "null"})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	got, _ := record(t, sys, 500*time.Millisecond)
	if len(got) == 0 {
		t.Fatal("null microphone handed out nothing")
	}
	if l := audio.Measure(got); l.Peak != 0 {
		t.Fatalf("null microphone level %+v", l)
	}
	buf := audio.NewPlayout(0, time.Second)
	buf.Push(make([]int16, audio.Rate/2))
	sp, err := sys.OpenSpeaker(buf)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	sp.Close()
	if st := buf.Stats(); st.Played == 0 {
		t.Fatalf("null speaker played nothing: %+v", st)
	}
}

// On a machine without sound hardware or a sound server the platform's
// backends find no microphone: ALSA's null device does not count.
func TestNoSoundHardwareMeansNoMicrophone(t *testing.T) {
	if _, err := os.Stat("/proc/asound/cards"); err == nil {
		t.Skip("this machine has ALSA sound cards")
	}
	t.Setenv("PULSE_SERVER", "unix:"+t.TempDir()+"/none")
	sys, err := audio.Open(audio.Options{})
	if err != nil {
		return // no sound system at all: as missing as it gets
	}
	defer sys.Close()
	m, err := sys.OpenMicrophone(960, func([]int16) {})
	if err == nil {
		defer m.Close()
		t.Fatalf("a microphone %q on a machine without sound hardware", m.Device.Name)
	}
	if !errors.Is(err, audio.ErrNoDevice) {
		t.Fatalf("err %v, want ErrNoDevice", err)
	}
}
