package vp8

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// desktop synthesises what a student's screen looks like while coding: a
// wallpaper, a taskbar, an editor window full of source text, and per frame
// the small changes that matter for screen coding — a typed character, a
// blinking cursor, now and then a newline or a scroll of the whole editor.
type desktop struct {
	img     *image.RGBA
	editor  image.Rectangle // text area
	text    []string        // source the "student" types
	next    int             // next line of text to type
	col     int             // characters typed on the current line
	row     int             // current line on screen
	frame   int
	lineH   int
	gutterW int
}

var (
	colWallpaper = color.RGBA{0x2d, 0x4f, 0x6e, 0xff}
	colTaskbar   = color.RGBA{0x20, 0x20, 0x24, 0xff}
	colTitle     = color.RGBA{0xe4, 0xe4, 0xe8, 0xff}
	colEditor    = color.RGBA{0xfd, 0xfd, 0xfb, 0xff}
	colGutter    = color.RGBA{0xee, 0xee, 0xea, 0xff}
	colText      = color.RGBA{0x24, 0x24, 0x24, 0xff}
	colKeyword   = color.RGBA{0x1a, 0x3f, 0xb5, 0xff}
	colComment   = color.RGBA{0x3f, 0x86, 0x3f, 0xff}
	colLineNo    = color.RGBA{0x90, 0x90, 0x90, 0xff}
)

func newDesktop(tb testing.TB, w, h int) *desktop {
	tb.Helper()
	var text []string
	for _, f := range []string{"encoder.go", "convert.go", "decoder.go"} {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatalf("reading sample text: %v", err)
		}
		text = append(text, strings.Split(strings.ReplaceAll(string(b), "\t", "    "), "\n")...)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Rect, colWallpaper)
	// A soft band in the wallpaper so it is not one flat colour.
	for y := 0; y < h; y += 4 {
		c := colWallpaper
		c.B += uint8(y * 40 / h)
		fill(img, image.Rect(0, y, w, y+4), c)
	}
	taskH := max(h/36, 8)
	fill(img, image.Rect(0, h-taskH, w, h), colTaskbar)
	for x := 8; x+taskH < w/3; x += taskH + 6 { // taskbar icons
		fill(img, image.Rect(x, h-taskH+3, x+taskH-6, h-3), color.RGBA{0x60, 0x90, 0xc0, 0xff})
	}
	win := image.Rect(w/20, h/20, w-w/20, h-taskH-h/40)
	fill(img, win, colEditor)
	fill(img, image.Rect(win.Min.X, win.Min.Y, win.Max.X, win.Min.Y+22), colTitle)
	d := &desktop{img: img, text: text, lineH: 16, gutterW: 48}
	d.str(win.Min.X+10, win.Min.Y+15, "main.go - Visual Editor", colText)
	d.editor = image.Rect(win.Min.X, win.Min.Y+26, win.Max.X, win.Max.Y)
	fill(img, image.Rect(d.editor.Min.X, d.editor.Min.Y, d.editor.Min.X+d.gutterW, d.editor.Max.Y), colGutter)
	// Start with the editor full of text already typed.
	rows := d.rows()
	for d.row = 0; d.row < rows-1; d.row++ {
		d.line(d.row, d.text[d.next%len(d.text)])
		d.next++
	}
	return d
}

func fill(img *image.RGBA, r image.Rectangle, c color.RGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func (d *desktop) rows() int { return d.editor.Dy()/d.lineH - 1 }

func (d *desktop) str(x, baseline int, s string, c color.RGBA) {
	dr := font.Drawer{Dst: d.img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, baseline)}
	dr.DrawString(s)
}

func (d *desktop) textX(col int) int { return d.editor.Min.X + d.gutterW + 8 + 7*col }
func (d *desktop) baseline(row int) int {
	return d.editor.Min.Y + (row+1)*d.lineH - 3
}

// line draws a whole line with crude syntax colouring and its line number.
func (d *desktop) line(row int, s string) {
	y := d.baseline(row)
	d.str(d.editor.Min.X+6, y, strings.Repeat(" ", 5), colLineNo)
	d.str(d.editor.Min.X+6, y, itoa(d.next+1), colLineNo)
	c := colText
	t := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(t, "//"):
		c = colComment
	case strings.HasPrefix(t, "func"), strings.HasPrefix(t, "return"), strings.HasPrefix(t, "if"), strings.HasPrefix(t, "for"):
		c = colKeyword
	}
	d.str(d.textX(0), y, s, c)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// step advances one frame (at 30 fps): a typed character every other frame,
// a cursor blink every 15, and a newline at the end of each line; at the
// bottom of the editor, and every 3 s, the text scrolls up a line.
func (d *desktop) step() {
	d.frame++
	cur := d.text[d.next%len(d.text)]
	y := d.baseline(d.row)
	cursor := image.Rect(d.textX(d.col), y-11, d.textX(d.col)+2, y+2)
	if d.frame%2 == 0 {
		fill(d.img, cursor, colEditor) // hide the cursor while typing
		if d.col < len(cur) {
			d.str(d.textX(d.col), y, cur[d.col:d.col+1], colText)
			d.col++
		} else {
			d.next++
			d.col = 0
			d.row++
			if d.row >= d.rows() {
				d.scroll()
				d.row = d.rows() - 1
			}
			d.clearRow(d.row)
			d.str(d.editor.Min.X+6, d.baseline(d.row), itoa(d.next+1), colLineNo)
		}
	}
	if d.frame%90 == 0 && d.row > 0 {
		// The student scrolls a line with the wheel: everything moves up and
		// a line of earlier text appears at the bottom.
		d.scroll()
		d.row--
		d.line(d.rows()-1, d.text[(d.next+7)%len(d.text)])
	}
	if (d.frame/15)%2 == 0 {
		y = d.baseline(d.row)
		cursor = image.Rect(d.textX(d.col), y-11, d.textX(d.col)+2, y+2)
		fill(d.img, cursor, colText)
	}
}

func (d *desktop) clearRow(row int) {
	top := d.editor.Min.Y + row*d.lineH
	fill(d.img, image.Rect(d.editor.Min.X, top, d.editor.Max.X, top+d.lineH), colEditor)
	fill(d.img, image.Rect(d.editor.Min.X, top, d.editor.Min.X+d.gutterW, top+d.lineH), colGutter)
}

// scroll moves the editor's text up one line, as an editor does.
func (d *desktop) scroll() {
	r := d.editor
	draw.Draw(d.img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Max.Y-d.lineH), d.img, image.Pt(r.Min.X, r.Min.Y+d.lineH), draw.Src)
	last := d.rows() - 1
	top := d.editor.Min.Y + last*d.lineH
	fill(d.img, image.Rect(r.Min.X, top, r.Max.X, top+2*d.lineH), colEditor)
	fill(d.img, image.Rect(r.Min.X, top, r.Min.X+d.gutterW, top+2*d.lineH), colGutter)
}

// i420 returns the desktop's current frame converted.
func (d *desktop) i420(tb testing.TB) *image.YCbCr {
	tb.Helper()
	out := NewI420(d.img.Rect.Dx(), d.img.Rect.Dy())
	if err := ToI420(out, SourceFromRGBA(d.img), 0); err != nil {
		tb.Fatalf("convert: %v", err)
	}
	return out
}

// psnr compares the luma planes of two same-size images.
func psnr(tb testing.TB, a, b *image.YCbCr) float64 {
	tb.Helper()
	if a.Rect.Size() != b.Rect.Size() {
		tb.Fatalf("psnr: sizes %v and %v differ", a.Rect.Size(), b.Rect.Size())
	}
	var sse float64
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := range h {
		for x := range w {
			d := float64(a.Y[y*a.YStride+x]) - float64(b.Y[y*b.YStride+x])
			sse += d * d
		}
	}
	if sse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255*float64(w*h)/sse)
}
