package audio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// ErrNoDevice says that there is no usable sound system, microphone or
// speaker on this machine.
var ErrNoDevice = errors.New("audio: no device")

// period is the device callback's length: short enough for a LAN's
// latency, long enough not to wake the CPU for nothing.
const periodMs = 10

// Options selects the sound system.
type Options struct {
	// Backend is "" for the platform's own (PulseAudio, ALSA or JACK on
	// Linux; WASAPI, DirectSound or WinMM on Windows; Core Audio on
	// macOS), or one of those by name: "pulseaudio", "alsa", "jack",
	// "wasapi", "dsound", "winmm", "coreaudio". "null" is a device that
	// records silence and plays to nowhere, for machines without sound
	// hardware that must still run a session's audio path (benchmarks).
	Backend string
	Logger  *slog.Logger
}

// backendNull is miniaudio's ma_backend_null. malgo's own BackendNull
// constant is one short (it skips ma_backend_custom) and names the custom
// backend, which has no callbacks and fails with "No backend".
const backendNull = malgo.BackendNull + 1

var backendNames = map[string]malgo.Backend{
	"pulseaudio": malgo.BackendPulseaudio, "alsa": malgo.BackendAlsa, "jack": malgo.BackendJack,
	"wasapi": malgo.BackendWasapi, "dsound": malgo.BackendDsound, "winmm": malgo.BackendWinmm,
	"coreaudio": malgo.BackendCoreaudio, "null": backendNull,
}

// platformBackends never includes miniaudio's null backend: without a real
// sound system the student must be told, not given silence.
func platformBackends() []malgo.Backend {
	switch runtime.GOOS {
	case "windows":
		return []malgo.Backend{malgo.BackendWasapi, malgo.BackendDsound, malgo.BackendWinmm}
	case "darwin":
		return []malgo.Backend{malgo.BackendCoreaudio}
	case "linux":
		return []malgo.Backend{malgo.BackendPulseaudio, malgo.BackendAlsa, malgo.BackendJack}
	}
	return nil
}

// System is an open sound system. Close it after the devices.
type System struct {
	ctx *malgo.AllocatedContext
	log *slog.Logger
	// explicitNull: the "null" backend was asked for (tests); its devices
	// are then the point, not dummies to skip.
	explicitNull bool
}

// Open connects to the sound system.
func Open(o Options) (*System, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	backends := platformBackends()
	if o.Backend != "" {
		b, ok := backendNames[o.Backend]
		if !ok {
			return nil, fmt.Errorf("audio: unknown backend %q", o.Backend)
		}
		backends = []malgo.Backend{b}
	}
	if len(backends) == 0 {
		return nil, fmt.Errorf("%w: no sound system on %s", ErrNoDevice, runtime.GOOS)
	}
	log := o.Logger
	ctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, func(msg string) {
		// miniaudio is chatty (every symbol it loads): below debug.
		log.Log(context.Background(), slog.LevelDebug-4, "miniaudio", "msg", strings.TrimSpace(msg))
	})
	if err != nil {
		return nil, fmt.Errorf("%w: opening the sound system: %v", ErrNoDevice, err)
	}
	return &System{ctx: ctx, log: log, explicitNull: o.Backend == "null"}, nil
}

// Close releases the sound system.
func (s *System) Close() error {
	if s.ctx == nil {
		return nil
	}
	err := s.ctx.Uninit()
	s.ctx.Free()
	s.ctx = nil
	if err != nil {
		return fmt.Errorf("closing the sound system: %w", err)
	}
	return nil
}

// Device names the device a stream uses.
type Device struct{ ID, Name string }

// idString is a device id as text: PulseAudio and ALSA ids are C strings.
func idString(id malgo.DeviceID) string {
	b := id[:]
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// isMonitor reports a PulseAudio monitor source: the sound the machine
// plays, not a microphone. Recording it would send the professor's own
// voice back to them.
func isMonitor(d malgo.DeviceInfo) bool {
	return strings.HasSuffix(idString(d.ID), ".monitor") || strings.HasPrefix(d.Name(), "Monitor of ")
}

// isDummy tells ALSA's "null" PCM (and its kind) from a device: it
// discards what is played and records silence as fast as it is read, so a
// PC without sound hardware reported a microphone "on" and 54 hours of
// dropped audio in 95 s. It is no device.
func isDummy(id, name string) bool {
	return id == "null" || strings.HasPrefix(name, "Discard all samples")
}

// pick chooses the default device of a kind (a microphone never being a
// monitor source), else the first usable one.
func (s *System) pick(kind malgo.DeviceType) (*malgo.DeviceInfo, error) {
	infos, err := s.ctx.Devices(kind)
	if err != nil {
		return nil, fmt.Errorf("%w: listing devices: %v", ErrNoDevice, err)
	}
	usable := infos[:0]
	for _, d := range infos {
		if kind == malgo.Capture && isMonitor(d) {
			continue
		}
		if !s.explicitNull && isDummy(idString(d.ID), d.Name()) {
			continue
		}
		usable = append(usable, d)
	}
	if len(usable) == 0 {
		return nil, ErrNoDevice
	}
	for i := range usable {
		if usable[i].IsDefault != 0 {
			return &usable[i], nil
		}
	}
	return &usable[0], nil
}

// deviceConfig is a 48 kHz mono int16 stream on the device with that id
// (a C copy of its malgo.DeviceID).
func deviceConfig(kind malgo.DeviceType, id unsafe.Pointer) malgo.DeviceConfig {
	cfg := malgo.DefaultDeviceConfig(kind)
	sub := &cfg.Capture
	if kind == malgo.Playback {
		sub = &cfg.Playback
	}
	sub.Format, sub.Channels, sub.DeviceID = malgo.FormatS16, 1, id
	cfg.SampleRate = Rate
	cfg.PeriodSizeInMilliseconds = periodMs
	return cfg
}

// Microphone records 48 kHz mono and hands out frames of a fixed length.
type Microphone struct {
	dev     *malgo.Device
	id      unsafe.Pointer // C copy of the device id, freed on Close
	Device  Device
	frames  chan []int16
	free    chan []int16
	done    chan struct{}
	wg      sync.WaitGroup
	dropped atomic.Int64
	once    sync.Once
}

// OpenMicrophone starts recording and calls onFrame, on one goroutine of
// its own, with every frame of frameSamples samples. The slice is reused
// after onFrame returns. When onFrame falls behind, frames are dropped
// rather than queued (a late voice is worse than a gap).
func (s *System) OpenMicrophone(frameSamples int, onFrame func(pcm []int16)) (*Microphone, error) {
	if frameSamples <= 0 || frameSamples > Rate {
		return nil, fmt.Errorf("audio: frame of %d samples", frameSamples)
	}
	info, err := s.pick(malgo.Capture)
	if err != nil {
		return nil, fmt.Errorf("microphone: %w", err)
	}
	m := &Microphone{
		Device: Device{ID: idString(info.ID), Name: info.Name()},
		frames: make(chan []int16, 4),
		free:   make(chan []int16, 6),
		done:   make(chan struct{}),
	}
	for range cap(m.free) {
		m.free <- make([]int16, frameSamples)
	}
	m.id = info.ID.Pointer()
	cfg := deviceConfig(malgo.Capture, m.id)
	var cur []int16
	fill := 0
	dev, err := malgo.InitDevice(s.ctx.Context, cfg, malgo.DeviceCallbacks{
		Data: func(_, in []byte, frames uint32) {
			// The audio thread: copy and go, never block.
			if len(in) < 2 {
				return
			}
			pcm := unsafe.Slice((*int16)(unsafe.Pointer(&in[0])), len(in)/2)
			for len(pcm) > 0 {
				if cur == nil {
					select {
					case cur = <-m.free:
						fill = 0
					default:
						m.dropped.Add(int64(len(pcm)))
						return
					}
				}
				c := copy(cur[fill:], pcm)
				fill += c
				pcm = pcm[c:]
				if fill == len(cur) {
					select {
					case m.frames <- cur:
					default:
						m.free <- cur // the reader is behind: drop this frame
						m.dropped.Add(int64(len(cur)))
					}
					cur = nil
				}
			}
		},
	})
	if err != nil {
		freeC(m.id)
		return nil, fmt.Errorf("microphone %q: %w: %v", m.Device.Name, ErrNoDevice, err)
	}
	m.dev = dev
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			select {
			case f := <-m.frames:
				onFrame(f)
				m.free <- f
			case <-m.done:
				return
			}
		}
	}()
	if err := dev.Start(); err != nil {
		m.Close()
		return nil, fmt.Errorf("starting microphone %q: %w: %v", m.Device.Name, ErrNoDevice, err)
	}
	s.log.Debug("microphone open", "device", m.Device.Name, "id", m.Device.ID)
	return m, nil
}

// Dropped counts samples recorded but not handed out (the reader was behind).
func (m *Microphone) Dropped() int64 { return m.dropped.Load() }

// Close stops recording; onFrame is not called after it returns.
func (m *Microphone) Close() error {
	m.once.Do(func() {
		if m.dev != nil {
			_ = m.dev.Stop()
			m.dev.Uninit()
		}
		close(m.done)
		m.wg.Wait()
		freeC(m.id)
	})
	return nil
}

// Speaker plays what a Playout holds.
type Speaker struct {
	dev    *malgo.Device
	id     unsafe.Pointer
	Device Device
	once   sync.Once
}

// OpenSpeaker starts playing from src at 48 kHz mono.
func (s *System) OpenSpeaker(src *Playout) (*Speaker, error) {
	info, err := s.pick(malgo.Playback)
	if err != nil {
		return nil, fmt.Errorf("speaker: %w", err)
	}
	sp := &Speaker{Device: Device{ID: idString(info.ID), Name: info.Name()}}
	sp.id = info.ID.Pointer()
	cfg := deviceConfig(malgo.Playback, sp.id)
	dev, err := malgo.InitDevice(s.ctx.Context, cfg, malgo.DeviceCallbacks{
		Data: func(out, _ []byte, _ uint32) {
			if len(out) < 2 {
				return
			}
			src.Pull(unsafe.Slice((*int16)(unsafe.Pointer(&out[0])), len(out)/2))
		},
	})
	if err != nil {
		freeC(sp.id)
		return nil, fmt.Errorf("speaker %q: %w: %v", sp.Device.Name, ErrNoDevice, err)
	}
	sp.dev = dev
	if err := dev.Start(); err != nil {
		sp.Close()
		return nil, fmt.Errorf("starting speaker %q: %w: %v", sp.Device.Name, ErrNoDevice, err)
	}
	s.log.Debug("speaker open", "device", sp.Device.Name, "id", sp.Device.ID)
	return sp, nil
}

// Close stops playback.
func (sp *Speaker) Close() error {
	sp.once.Do(func() {
		if sp.dev != nil {
			_ = sp.dev.Stop()
			sp.dev.Uninit()
		}
		freeC(sp.id)
	})
	return nil
}

// FromSetting reads the agent's "audio" setting: "auto" (or "") is the
// platform's sound system, "off" none at all, anything else one backend by
// name (Options.Backend).
func FromSetting(s string) (o Options, on bool, err error) {
	switch s {
	case "", "auto":
		return Options{}, true, nil
	case "off":
		return Options{}, false, nil
	}
	if _, ok := backendNames[s]; !ok {
		return Options{}, false, fmt.Errorf("audio %q: want auto, off or one of pulseaudio, alsa, jack, wasapi, dsound, winmm, coreaudio, null", s)
	}
	return Options{Backend: s}, true, nil
}
