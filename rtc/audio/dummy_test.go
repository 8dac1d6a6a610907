package audio

import "testing"

func TestDummyDevicesAreNoDevices(t *testing.T) {
	for _, c := range []struct {
		id, name string
		dummy    bool
	}{
		{"null", "Discard all samples (playback) or generate zero samples (capture)", true},
		{"hw:0,0", "Discard all samples (playback) or generate zero samples (capture)", true},
		{"null", "", true},
		{"default", "Default ALSA Output", false},
		{"alsa_input.pci-0000_00_1f.3.analog-stereo", "Built-in Audio Analog Stereo", false},
	} {
		if got := isDummy(c.id, c.name); got != c.dummy {
			t.Errorf("isDummy(%q, %q) = %v", c.id, c.name, got)
		}
	}
}
