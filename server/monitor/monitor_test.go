package monitor_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/monitor"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func testJPEG(t testing.TB, w, h int, c color.Color) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type lab struct {
	in      *servertest.Instance
	prof    *servertest.Client
	student *servertest.Client
	lecture wire.Lecture
}

// newLab makes a professor with an active lecture and an accepted student.
func newLab(t testing.TB, in *servertest.Instance) *lab {
	l := &lab{in: in, prof: in.Register(t, wire.RoleProfessor, "Prof"), student: in.Register(t, wire.RoleStudent, "Student")}
	l.prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Lab"}, &l.lecture)
	l.prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.lecture.ID), nil, nil)
	l.enroll(t, l.student)
	return l
}

func (l *lab) enroll(t testing.TB, s *servertest.Client) {
	var e wire.Enrollment
	s.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.lecture.Code}, &e)
	l.prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
}

func (l *lab) path(suffix string) string {
	return fmt.Sprintf("/api/v1/lectures/%d%s", l.lecture.ID, suffix)
}

func upload(c *servertest.Client, lectureID int64, body []byte, ct string, captured time.Time, hdr map[string]string) servertest.Response {
	req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/v1/lectures/%d/frame", c.Base, lectureID), bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if !captured.IsZero() {
		req.Header.Set(wire.HeaderCapturedAt, captured.Format(time.RFC3339Nano))
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	return c.Send(req, nil)
}

func TestIngestRules(t *testing.T) {
	in := servertest.Start(t)
	l := newLab(t, in)
	frame := testJPEG(t, 320, 180, color.RGBA{200, 30, 30, 255})
	now := time.Now()

	outsider := in.Register(t, wire.RoleStudent, "Outsider")
	upload(outsider, l.lecture.ID, frame, "image/jpeg", now, nil).Code(t, 403, wire.CodeNotMember)
	upload(l.prof, l.lecture.ID, frame, "image/jpeg", now, nil).Code(t, 403, wire.CodeForbidden)
	upload(l.student, 999999, frame, "image/jpeg", now, nil).Code(t, 404, wire.CodeNotFound)
	upload(l.student, l.lecture.ID, frame, "image/png", now, nil).Code(t, 415, wire.CodeUnsupportedMedia)
	upload(l.student, l.lecture.ID, []byte("\xff\xd8not really a jpeg"), "image/jpeg", now, nil).Code(t, 415, wire.CodeUnsupportedMedia)
	upload(l.student, l.lecture.ID, make([]byte, wire.MaxFrameBytes+1), "image/jpeg", now, nil).Code(t, 413, wire.CodeTooLarge)
	req, _ := http.NewRequest("PUT", l.student.Base+l.path("/frame"), bytes.NewReader(frame))
	req.Header.Set("Content-Type", "image/jpeg")
	req.Header.Set(wire.HeaderCapturedAt, "yesterday")
	l.student.Send(req, nil).Code(t, 400, wire.CodeBadRequest)
	anon := in.NewClient(t)
	upload(anon, l.lecture.ID, frame, "image/jpeg", now, nil).Code(t, 401, wire.CodeUnauthorized)

	// A keep-alive before any frame asks for a full picture.
	r := upload(l.student, l.lecture.ID, nil, "", now, map[string]string{wire.HeaderFrameUnchanged: "1"})
	var hints wire.FrameHints
	if r.Status != 200 || json.Unmarshal(r.Body, &hints) != nil || !hints.NeedFrame {
		t.Fatalf("keep-alive without frame: %d %s", r.Status, r.Body)
	}
	r = upload(l.student, l.lecture.ID, frame, "image/jpeg", now, nil)
	hints = wire.FrameHints{}
	if r.Status != 200 || json.Unmarshal(r.Body, &hints) != nil || hints.NeedFrame || hints.Watched || hints.IntervalMS != 10000 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}

	// Deactivated lecture: 409 (after the short access cache expires).
	l.prof.Must(200, "POST", l.path("/deactivate"), nil, nil)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := upload(l.student, l.lecture.ID, frame, "image/jpeg", now, nil)
		if r.Status == 409 {
			r.Code(t, 409, wire.CodeLectureInactive)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("upload to an inactive lecture still answers %d", r.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestMonitorGridFramesAndStream(t *testing.T) {
	in := servertest.Start(t)
	l := newLab(t, in)
	s2 := in.Register(t, wire.RoleStudent, "Quiet Student")
	l.enroll(t, s2)
	other := in.Register(t, wire.RoleProfessor, "Nosy Prof")
	for _, p := range []string{"/monitor", "/monitor/stream", "/attendance", fmt.Sprintf("/students/%d/frame", l.student.User.ID)} {
		other.Do("GET", l.path(p), nil, nil).Code(t, 404, wire.CodeNotFound)
		l.student.Do("GET", l.path(p), nil, nil).Code(t, 403, wire.CodeForbidden)
	}

	// Open the SSE stream first, so the upload must show up in it.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", l.prof.Base+l.path("/monitor/stream"), nil)
	req.Header.Set("Authorization", "Bearer "+l.prof.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	events := make(chan [2]string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				ev = v
			} else if v, ok := strings.CutPrefix(line, "data: "); ok {
				events <- [2]string{ev, v}
			}
		}
		close(events)
	}()
	next := func() [2]string {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatal("stream closed")
			}
			return e
		case <-ctx.Done():
			t.Fatal("no SSE event")
		}
		return [2]string{}
	}
	if e := next(); e[0] != "hello" {
		t.Fatalf("first event %v", e)
	}

	captured := time.Now().Add(-150 * time.Millisecond).UTC()
	frame := testJPEG(t, 320, 180, color.RGBA{10, 200, 10, 255})
	r := upload(l.student, l.lecture.ID, frame, "image/jpeg", captured, nil)
	var hints wire.FrameHints
	if r.Status != 200 || json.Unmarshal(r.Body, &hints) != nil || !hints.Watched || hints.IntervalMS != 2000 || hints.Width != 320 {
		t.Fatalf("hints while watched: %d %s", r.Status, r.Body)
	}
	e := next()
	var ev wire.MonitorEvent
	if e[0] != "tile" || json.Unmarshal([]byte(e[1]), &ev) != nil {
		t.Fatalf("event %v", e)
	}
	if ev.Tile.StudentID != l.student.User.ID || !ev.Tile.Online || ev.Tile.Width != 320 || ev.Tile.Height != 180 ||
		ev.Tile.CapturedAt == nil || !ev.Tile.CapturedAt.Equal(captured) || ev.Tile.FrameURL == "" {
		t.Fatalf("tile event %+v", ev.Tile)
	}

	var snap wire.MonitorSnapshot
	l.prof.Must(200, "GET", l.path("/monitor"), nil, &snap)
	if len(snap.Tiles) != 2 {
		t.Fatalf("snapshot has %d tiles", len(snap.Tiles))
	}
	for _, tile := range snap.Tiles {
		switch tile.StudentID {
		case l.student.User.ID:
			if !tile.Online || tile.Version != ev.Tile.Version || tile.Name != "Student" {
				t.Fatalf("active tile %+v", tile)
			}
		case s2.User.ID:
			if tile.Online || tile.FrameURL != "" || tile.Name != "Quiet Student" {
				t.Fatalf("silent tile %+v", tile)
			}
		}
	}

	// The frame itself, with ETag / 304.
	fr := l.prof.Must(200, "GET", ev.Tile.FrameURL, nil, nil)
	if !bytes.Equal(fr.Body, frame) || fr.Header.Get("Content-Type") != "image/jpeg" || fr.Header.Get("ETag") == "" {
		t.Fatalf("frame: %d bytes, headers %v", len(fr.Body), fr.Header)
	}
	req, _ = http.NewRequest("GET", l.prof.Base+ev.Tile.FrameURL, nil)
	req.Header.Set("If-None-Match", fr.Header.Get("ETag"))
	if r := l.prof.Send(req, nil); r.Status != 304 {
		t.Fatalf("conditional GET: %d", r.Status)
	}
	l.prof.Do("GET", l.path(fmt.Sprintf("/students/%d/frame", s2.User.ID)), nil, nil).Code(t, 404, wire.CodeNotFound)

	// A keep-alive keeps the same version and tells the console the
	// student is still there; a new picture bumps the version.
	time.Sleep(10 * time.Millisecond)
	upload(l.student, l.lecture.ID, nil, "", time.Now(), map[string]string{wire.HeaderFrameUnchanged: "1"})
	e = next()
	var evk wire.MonitorEvent
	_ = json.Unmarshal([]byte(e[1]), &evk)
	if evk.Tile.Version != ev.Tile.Version || evk.Tile.LastSeen == nil || !evk.Tile.LastSeen.After(*ev.Tile.LastSeen) {
		t.Fatalf("keep-alive event %+v after %+v: want the same version, a later last_seen", evk.Tile, ev.Tile)
	}
	upload(l.student, l.lecture.ID, testJPEG(t, 320, 180, color.RGBA{0, 0, 255, 255}), "image/jpeg", time.Now(), nil)
	e = next()
	var ev2 wire.MonitorEvent
	_ = json.Unmarshal([]byte(e[1]), &ev2)
	if ev2.Tile.Version <= ev.Tile.Version {
		t.Fatalf("version did not grow: %d then %d", ev.Tile.Version, ev2.Tile.Version)
	}
	fr2 := l.prof.Must(200, "GET", ev.Tile.FrameURL, nil, nil)
	if fr2.Header.Get("ETag") == fr.Header.Get("ETag") {
		t.Fatal("ETag did not change with a new frame")
	}

	// Attendance: today's row, as JSON and CSV.
	// Presence is written in the background, within about a second.
	var att struct{ Items []wire.AttendanceRecord }
	for deadline := time.Now().Add(15 * time.Second); len(att.Items) == 0 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		l.prof.Must(200, "GET", l.path("/attendance"), nil, &att)
	}
	if len(att.Items) != 1 || att.Items[0].StudentID != l.student.User.ID || att.Items[0].Name != "Student" {
		t.Fatalf("attendance %+v", att.Items)
	}
	csv := l.prof.Must(200, "GET", l.path("/attendance?format=csv"), nil, nil)
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(csv.Body), "\uFEFF")), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "day,student_id,name") || !strings.Contains(lines[1], ",Student,") {
		t.Fatalf("csv:\n%s", csv.Body)
	}
	l.prof.Do("GET", l.path("/attendance?from=yesterday"), nil, nil).Code(t, 400, wire.CodeBadRequest)
	l.prof.Do("GET", l.path("/attendance?format=xml"), nil, nil).Code(t, 400, wire.CodeBadRequest)
}

// TestRedisReplicas: frames ingested on replica A reach a console watching
// replica B, over a real redis-server and PostgreSQL.
func TestRedisReplicas(t *testing.T) {
	rd := testenv.StartRedis(t)
	db := testenv.PostgresURL(t)
	a := servertest.Start(t, servertest.WithDatabase(db), servertest.WithRedis(rd.URL()))
	b := servertest.Start(t, servertest.WithDatabase(db), servertest.WithRedis(rd.URL()))
	l := newLab(t, a)
	profB := b.NewClient(t)
	profB.Token = l.prof.Token

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.URL+l.path("/monitor/stream"), nil)
	req.Header.Set("Authorization", "Bearer "+l.prof.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream on B: %v %v", err, resp)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	frame := testJPEG(t, 160, 90, color.RGBA{1, 2, 3, 255})
	// The subscription on B is asynchronous: upload until B's event arrives.
	got := make(chan wire.MonitorTile, 1)
	go func() {
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && strings.Contains(d, `"tile"`) {
				var ev wire.MonitorEvent
				_ = json.Unmarshal([]byte(d), &ev)
				got <- ev.Tile
				return
			}
		}
	}()
	var tile wire.MonitorTile
wait:
	for {
		upload(l.student, l.lecture.ID, frame, "image/jpeg", time.Now(), nil)
		select {
		case tile = <-got:
			break wait
		case <-time.After(300 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("replica B never heard of the frame uploaded to A")
		}
	}
	fr := profB.Must(200, "GET", tile.FrameURL, nil, nil)
	if !bytes.Equal(fr.Body, frame) {
		t.Fatal("replica B serves a different frame")
	}
	var snap wire.MonitorSnapshot
	profB.Must(200, "GET", l.path("/monitor"), nil, &snap)
	if len(snap.Tiles) != 1 || !snap.Tiles[0].Online {
		t.Fatalf("snapshot on B: %+v", snap.Tiles)
	}
	// A knows B's console watches: hints say so.
	r := upload(l.student, l.lecture.ID, frame, "image/jpeg", time.Now(), nil)
	var hints wire.FrameHints
	if json.Unmarshal(r.Body, &hints) != nil || !hints.Watched {
		t.Fatalf("hints on A while B watches: %s", r.Body)
	}
	// The student's agent channel on A closes (the agent quit): B's grid has
	// them offline at once, not after the frame TTL.
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.URL, "http")+"/api/v1/agent/channel",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + l.student.Token}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); err != nil { // hello
		t.Fatal(err)
	}
	_ = c.Close(websocket.StatusNormalClosure, "agent quit")
	for {
		profB.Must(200, "GET", l.path("/monitor"), nil, &snap)
		if len(snap.Tiles) == 1 && !snap.Tiles[0].Online {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("still online on B after the channel closed: %+v", snap.Tiles)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestFrameVersionsSurviveRestart: a restarted in-memory store never hands
// out a version the previous process used (browsers cache by version).
func TestFrameVersionsSurviveRestart(t *testing.T) {
	t0 := time.Now()
	first := monitor.NewMemoryFrames(time.Minute, func() time.Time { return t0 })
	var last int64
	for range 3 {
		v, err := first.Put(context.Background(), monitor.Frame{LectureID: 1, StudentID: 2, JPEG: []byte{1}})
		if err != nil {
			t.Fatal(err)
		}
		last = v
	}
	restarted := monitor.NewMemoryFrames(time.Minute, func() time.Time { return t0.Add(time.Second) })
	v, err := restarted.Put(context.Background(), monitor.Frame{LectureID: 1, StudentID: 2, JPEG: []byte{1}})
	if err != nil {
		t.Fatal(err)
	}
	if v <= last {
		t.Fatalf("after a restart the first version is %d, the old store was at %d", v, last)
	}
}
