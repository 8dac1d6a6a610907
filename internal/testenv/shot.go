package testenv

import (
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// Shot saves a picture in that folder when DIDACTO_SCREENSHOTS
// names a folder (so a person can look at what a test saw).
func Shot(tb testing.TB, name string, img image.Image) {
	tb.Helper()
	dir := os.Getenv("DIDACTO_SCREENSHOTS")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		tb.Fatal(err)
	}
}
