// Package lockscreen covers every monitor of the student's desktop with a
// window the professor chose — a lock (the lecture's title and the
// professor's message) or a blank black screen — and holds keyboard and
// mouse so nothing reaches the desktop under it, until it is lifted. On
// X11 it is an override-redirect window per monitor with pointer and
// keyboard grabs, kept on top; elsewhere Open reports ErrUnsupported.
package lockscreen

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"os"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// ErrUnsupported: this desktop cannot be locked by the agent.
var ErrUnsupported = errors.New("lockscreen: screen locking is not supported on this desktop yet")

// Spec is what the lock shows.
type Spec struct {
	Blank     bool   // a black screen, nothing written
	Title     string // the lecture's title
	Message   string // the professor's message ("" for none)
	Professor string
	Lang      string // "ko" or "en" (the footer)
}

// Colours of the lock (the console's dark blue, light text).
var (
	lockBackground = color.RGBA{0x14, 0x2b, 0x4c, 0xff}
	lockText       = color.RGBA{0xf2, 0xf5, 0xfa, 0xff}
	lockMuted      = color.RGBA{0xa8, 0xb8, 0xd0, 0xff}
	blankColour    = color.RGBA{0, 0, 0, 0xff}
)

// Background is the colour the lock (or blank) screen is filled with.
func (s Spec) Background() color.RGBA {
	if s.Blank {
		return blankColour
	}
	return lockBackground
}

func (s Spec) footer() string {
	if s.Lang == "ko" {
		if s.Professor != "" {
			return s.Professor + " 님이 화면을 잠갔습니다. 잠금이 풀릴 때까지 기다려 주세요."
		}
		return "교수님이 화면을 잠갔습니다. 잠금이 풀릴 때까지 기다려 주세요."
	}
	if s.Professor != "" {
		return "Your screen is locked by " + s.Professor + ". Please wait until it is unlocked."
	}
	return "Your screen is locked by your professor. Please wait until it is unlocked."
}

// fonts are loaded once: a Hangul-capable system font when there is one
// (Korean titles and messages), Go's own font otherwise.
var fonts = sync.OnceValue(loadFont)

// fontPaths are the usual places of a font with Hangul and Latin.
var fontPaths = []string{
	"/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
	"/usr/share/fonts/truetype/nanum/NanumBarunGothic.ttf",
	"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
	`C:\Windows\Fonts\malgun.ttf`,
	"/System/Library/Fonts/AppleSDGothicNeo.ttc",
}

func loadFont() *opentype.Font {
	for _, p := range fontPaths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if f, err := opentype.Parse(b); err == nil {
			return f
		}
		if c, err := opentype.ParseCollection(b); err == nil {
			if f, err := c.Font(0); err == nil {
				return f
			}
		}
	}
	f, _ := opentype.Parse(goregular.TTF) // built in: cannot fail
	return f
}

// Render draws the lock for one monitor of size r.
func Render(s Spec, size image.Point) *image.RGBA {
	img := image.NewRGBA(image.Rectangle{Max: size})
	draw.Draw(img, img.Rect, image.NewUniform(s.Background()), image.Point{}, draw.Src)
	if s.Blank || size.X < 100 || size.Y < 100 {
		return img
	}
	unit := float64(min(size.Y, size.X*9/16)) / 24 // text scales with the monitor
	lines := wrap(s.Message, 48)
	y := size.Y/2 - int(float64(len(lines))*unit*0.8) // the block stays centred
	y = drawCentered(img, "🔒 "+s.Title, 1.6*unit, lockText, y)
	y += int(unit / 2)
	for _, line := range lines {
		y = drawCentered(img, line, unit, lockText, y)
	}
	drawCentered(img, s.footer(), 0.6*unit, lockMuted, min(size.Y-int(unit), max(size.Y*5/6, y+int(unit))))
	return img
}

// drawCentered writes text centred at baseline y and returns the next
// baseline.
func drawCentered(img *image.RGBA, text string, px float64, c color.Color, y int) int {
	face, err := opentype.NewFace(fonts(), &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return y
	}
	defer face.Close()
	text = strings.Map(func(r rune) rune {
		if _, ok := face.GlyphAdvance(r); !ok {
			return -1 // a glyph the font lacks (the lock emoji in most fonts)
		}
		return r
	}, text)
	d := &font.Drawer{Dst: img, Src: image.NewUniform(c), Face: face}
	w := d.MeasureString(text).Ceil()
	x := max(0, (img.Rect.Dx()-w)/2)
	d.Dot = fixed.P(x, y)
	d.DrawString(strings.TrimSpace(text))
	return y + int(px*1.3)
}

// wrap breaks text into lines of about width characters, on spaces.
func wrap(text string, width int) []string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, w := range strings.Fields(para) {
			if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
				lines = append(lines, line)
				line = ""
			}
			if line != "" {
				line += " "
			}
			line += w
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	if len(lines) > 6 {
		lines = lines[:6]
	}
	return lines
}

// Lazy opens the display's lock the first time one is shown, so an agent
// on a desktop that cannot be locked fails a lock command (and says why)
// instead of failing to start.
type Lazy struct {
	mu      sync.Mutex
	display string
	s       *Screen
}

// NewLazy returns a lock for the X display ("" is $DISPLAY).
func NewLazy(display string) *Lazy { return &Lazy{display: display} }

// Show shows spec, opening the lock first if needed; nil lifts it.
func (l *Lazy) Show(spec *Spec) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		if spec == nil {
			return nil
		}
		s, err := Open(context.Background(), l.display)
		if err != nil {
			return err
		}
		l.s = s
	}
	return l.s.Show(spec)
}

// Close lifts the lock and disconnects.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s == nil {
		return nil
	}
	err := l.s.Close()
	l.s = nil
	return err
}
