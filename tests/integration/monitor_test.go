package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var buildOnce struct {
	sync.Once
	dir string
	err error
}

// agentBinary builds cmd/didacto-agent once per test binary.
func agentBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := exec.Command("mktemp", "-d").Output()
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.dir = strings.TrimSpace(string(dir))
		out, err := exec.Command("go", "build", "-o", filepath.Join(buildOnce.dir, "didacto-agent"), "../../cmd/didacto-agent").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("building the agent: %v", buildOnce.err)
	}
	return filepath.Join(buildOnce.dir, "didacto-agent")
}

// TestAgentShowsUpOnTheGrid: a real agent under Xvfb signs in, finds its only
// active lecture, and its real screen appears in GET /monitor and on the SSE
// stream within an interval; a screen change shows up as a new frame.
func TestAgentShowsUpOnTheGrid(t *testing.T) {
	bin := agentBinary(t)
	xsetroot := testenv.LookPath(t, "xsetroot")
	disp := testenv.StartXvfb(t, "1280x720x24")
	paint := func(color string) {
		cmd := exec.Command(xsetroot, "-solid", color)
		cmd.Env = disp.Env()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("xsetroot: %v %s", err, out)
		}
	}
	paint("#d02020")

	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Grid")
	stud := in.Register(t, wire.RoleStudent, "Student Grid")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Grid"}, &l)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
	var e wire.Enrollment
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The console watches before the agent starts: the first frame must
	// arrive as an SSE event.
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/lectures/%d/monitor/stream", in.URL, l.ID), nil)
	req.Header.Set("Authorization", "Bearer "+prof.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	tiles := make(chan wire.MonitorTile, 64)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(d, `"tile"`) {
				var ev wire.MonitorEvent
				if json.Unmarshal([]byte(d), &ev) == nil {
					tiles <- ev.Tile
				}
			}
		}
	}()

	agent := exec.CommandContext(ctx, bin, "--headless", "--server", in.URL, "--interval", "1s", "--width", "320")
	agent.Env = append(disp.Env(), "DIDACTO_EMAIL="+stud.User.Email, "DIDACTO_PASSWORD="+servertest.Password)
	p, err := testenv.StartProc(agent)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("agent output:\n%s", p.Output())
		}
	})

	next := func() wire.MonitorTile {
		select {
		case tile := <-tiles:
			return tile
		case <-ctx.Done():
			t.Fatalf("no tile event; agent output:\n%s", p.Output())
		}
		return wire.MonitorTile{}
	}
	first := next()
	if first.StudentID != stud.User.ID || !first.Online || first.Width != 320 || first.Height != 180 {
		t.Fatalf("first tile %+v", first)
	}
	if c := meanColor(t, prof.Must(200, "GET", first.FrameURL, nil, nil).Body); c[0] < 150 || c[1] > 80 || c[2] > 80 {
		t.Fatalf("frame colour %v, want the red root window", c)
	}
	var snap wire.MonitorSnapshot
	prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/monitor", l.ID), nil, &snap)
	if len(snap.Tiles) != 1 || !snap.Tiles[0].Online || snap.Tiles[0].Version < first.Version {
		t.Fatalf("snapshot %+v", snap.Tiles)
	}

	// The student's screen changes: a new frame, now blue.
	paint("#2030e0")
	for {
		tile := next()
		if tile.Version <= first.Version {
			continue
		}
		c := meanColor(t, prof.Must(200, "GET", tile.FrameURL, nil, nil).Body)
		if c[2] > 150 && c[0] < 80 {
			break
		}
	}
}

func meanColor(t *testing.T, b []byte) [3]int {
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("frame is not a JPEG: %v", err)
	}
	var sum [3]int
	bnd := img.Bounds()
	n := 0
	for y := bnd.Min.Y; y < bnd.Max.Y; y += 4 {
		for x := bnd.Min.X; x < bnd.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			sum[0] += int(r >> 8)
			sum[1] += int(g >> 8)
			sum[2] += int(bl >> 8)
			n++
		}
	}
	return [3]int{sum[0] / n, sum[1] / n, sum[2] / n}
}
