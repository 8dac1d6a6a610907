package capture

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
)

// DefaultQuality is the JPEG quality used when none is configured.
const DefaultQuality = 70

// Encoder JPEG-encodes frames into a reused buffer. Not safe for concurrent use.
type Encoder struct {
	buf bytes.Buffer
}

// Encode returns img as a JPEG at quality (clamped to 1-100; 0 means
// DefaultQuality). The bytes are owned by the Encoder and valid until the
// next call.
func (e *Encoder) Encode(img image.Image, quality int) ([]byte, error) {
	if quality == 0 {
		quality = DefaultQuality
	}
	quality = min(max(quality, 1), 100)
	e.buf.Reset()
	if err := jpeg.Encode(&e.buf, img, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("capture: jpeg encode: %w", err)
	}
	return e.buf.Bytes(), nil
}
