package testenv

import (
	"bufio"
	"fmt"
	"image"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Display is a throwaway Xvfb X server.
type Display struct {
	Name string // e.g. ":99"
	proc *Proc
}

// Env returns os.Environ with DISPLAY pointing at d (and a UTF-8 locale,
// which fyne wants).
func (d *Display) Env() []string {
	env := []string{"DISPLAY=" + d.Name, "LANG=C.UTF-8"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DISPLAY=") && !strings.HasPrefix(kv, "LANG=") {
			env = append(env, kv)
		}
	}
	return env
}

// StartXvfb starts Xvfb on a free display with one screen of the given size
// (e.g. "1920x1080x24") and stops it when the test ends.
func StartXvfb(tb testing.TB, screen string) *Display {
	tb.Helper()
	bin := LookPath(tb, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	// -displayfd: Xvfb picks a free display and writes its number to fd 3.
	// -ardelay: a key injected down and, on a loaded machine, up more than
	// the default 660 ms later would autorepeat ("didactoooo"): tests check
	// exactly what was typed, so repeats start only after 10 s.
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", screen, "-nolisten", "tcp", "-noreset", "-ardelay", "10000")
	cmd.ExtraFiles = []*os.File{w}
	p, err := StartProc(cmd)
	w.Close()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.Stop(5 * time.Second) })
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			tb.Fatalf("Xvfb did not report a display:\n%s", p.Output())
		}
		return &Display{Name: ":" + n, proc: p}
	case <-time.After(20 * time.Second):
		tb.Fatalf("Xvfb did not start in time:\n%s", p.Output())
	}
	return nil
}

// String is the display name.
func (d *Display) String() string { return fmt.Sprint(d.Name) }

// RootImage is what the person at the display sees: the root window's
// pixels read straight from the X server (the agent's capture may show
// something else, e.g. the desktop under a classroom lock).
func (d *Display) RootImage(tb testing.TB) *image.RGBA {
	tb.Helper()
	conn, err := xgb.NewConnDisplay(d.Name)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	scr := xproto.Setup(conn).DefaultScreen(conn)
	w, h := int(scr.WidthInPixels), int(scr.HeightInPixels)
	rep, err := xproto.GetImage(conn, xproto.ImageFormatZPixmap, xproto.Drawable(scr.Root), 0, 0, uint16(w), uint16(h), 0xffffffff).Reply()
	if err != nil {
		tb.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i+3 < len(rep.Data) && i < len(img.Pix); i += 4 { // LSB-first BGRX, as Xvfb
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = rep.Data[i+2], rep.Data[i+1], rep.Data[i], 0xff
	}
	return img
}
