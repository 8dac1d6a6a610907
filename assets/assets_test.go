package assets

import (
	"bytes"
	"image/png"
	"testing"
)

func TestIconsArePNG(t *testing.T) {
	for _, n := range []string{App, SignedOut, Idle, Monitored, Live, Controlled, Offline} {
		b, err := PNG(n)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if r := img.Bounds(); r.Dx() < 32 || r.Dx() != r.Dy() {
			t.Errorf("%s: %v, want a square of at least 32 px", n, r)
		}
	}
	if _, err := PNG("nope.png"); err == nil {
		t.Error("missing icon gave no error")
	}
}
