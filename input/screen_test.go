package input

import "testing"

func TestScreenPoint(t *testing.T) {
	s := Screen{X: -1280, Y: 56, W: 1280, H: 1024}
	for _, c := range []struct {
		nx, ny float64
		x, y   int
	}{
		{0, 0, -1280, 56}, {1, 1, -1, 56 + 1023}, {0.5, 0.5, -640, 56 + 512},
		// The console sends (pixel + 0.5) / size for a pixel's centre.
		{(100 + 0.5) / 1280, (200 + 0.5) / 1024, -1280 + 100, 56 + 200},
	} {
		if x, y := s.Point(c.nx, c.ny); x != c.x || y != c.y {
			t.Errorf("(%v,%v): %d,%d want %d,%d", c.nx, c.ny, x, y, c.x, c.y)
		}
	}
	// Every pixel's centre maps back to that pixel.
	for px := range 1280 {
		if x, _ := s.Point((float64(px)+0.5)/1280, 0); x != s.X+px {
			t.Fatalf("pixel %d maps to %d", px, x-s.X)
		}
	}
}

func TestPhysicalScreen(t *testing.T) {
	// A 2x Retina monitor right of a 1920-logical-unit one.
	s, err := PhysicalScreen(3840, 0, 2560, 1600, 2)
	if err != nil || s != (Screen{X: 1920, Y: 0, W: 1280, H: 800}) {
		t.Errorf("got %+v, %v", s, err)
	}
	s, err = PhysicalScreen(0, 0, 1920, 1080, 1.25)
	if err != nil || s != (Screen{W: 1536, H: 864}) {
		t.Errorf("got %+v, %v", s, err)
	}
	for _, scale := range []float64{0, -1, 100} {
		if _, err := PhysicalScreen(0, 0, 100, 100, scale); err == nil {
			t.Errorf("scale %v accepted", scale)
		}
	}
	if _, err := PhysicalScreen(0, 0, 0, 100, 1); err == nil {
		t.Error("zero width accepted")
	}
}
