package monitor_test

import (
	"context"
	"encoding/json"
	"image/color"
	"net/http"
	"testing"
	"time"

	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestFocusAsksForLargerFrames: while a console shows a tile enlarged, that
// student is asked for large frames every second; a larger tile size asks
// the whole lecture for wider ones; ending the focus (or its lease) brings
// thumbnails back. Only the lecture's owner may ask.
func TestFocusAsksForLargerFrames(t *testing.T) {
	in := servertest.Start(t)
	l := newLab(t, in)
	other := in.Register(t, wire.RoleStudent, "Other")
	l.enroll(t, other)

	// A console watches (hints are thumbnails only while one does).
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", in.URL+l.path("/monitor/stream"), nil)
	req.Header.Set("Authorization", "Bearer "+l.prof.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()

	frame := testJPEG(t, 160, 90, color.RGBA{9, 9, 9, 255})
	hints := func(c *servertest.Client) wire.FrameHints {
		t.Helper()
		r := upload(c, l.lecture.ID, frame, "image/jpeg", time.Now(), nil)
		var h wire.FrameHints
		if r.Status != 200 || json.Unmarshal(r.Body, &h) != nil {
			t.Fatalf("upload: %d %s", r.Status, r.Body)
		}
		return h
	}
	if h := hints(l.student); !h.Watched || h.Width != 320 || h.IntervalMS != 2000 {
		t.Fatalf("thumbnail hints %+v", h)
	}
	var ans wire.MonitorFocusAnswer
	l.prof.Must(200, "POST", l.path("/monitor/focus"), wire.MonitorFocus{StudentIDs: []int64{l.student.User.ID}, Width: 1280}, &ans)
	if ans.LeaseMS != 15000 {
		t.Errorf("lease %d", ans.LeaseMS)
	}
	if h := hints(l.student); h.Width != 1280 || h.IntervalMS != 1000 {
		t.Errorf("enlarged student's hints %+v", h)
	}
	if h := hints(other); h.Width != 320 || h.IntervalMS != 2000 {
		t.Errorf("another student's hints while one is enlarged %+v", h)
	}
	l.prof.Must(200, "POST", l.path("/monitor/focus"), wire.MonitorFocus{Width: 640}, nil) // larger tiles
	if h := hints(other); h.Width != 640 || h.IntervalMS != 2000 {
		t.Errorf("hints with larger tiles %+v", h)
	}
	l.prof.Must(200, "POST", l.path("/monitor/focus"), wire.MonitorFocus{StudentIDs: []int64{l.student.User.ID}}, nil)
	l.prof.Must(200, "POST", l.path("/monitor/focus"), wire.MonitorFocus{}, nil)
	if h := hints(l.student); h.Width != 320 || h.IntervalMS != 2000 {
		t.Errorf("hints after the focus ended %+v", h)
	}

	for _, bad := range []wire.MonitorFocus{{Width: 50}, {Width: 5000}, {StudentIDs: []int64{-1}, Width: 640}, {StudentIDs: make([]int64, 101), Width: 640}} {
		l.prof.Do("POST", l.path("/monitor/focus"), bad, nil).Code(t, 422, wire.CodeValidation)
	}
	l.prof.Do("POST", l.path("/monitor/focus"), "not an object", nil).Code(t, 400, wire.CodeBadRequest)
	stranger := in.Register(t, wire.RoleProfessor, "Stranger")
	stranger.Do("POST", l.path("/monitor/focus"), wire.MonitorFocus{Width: 640}, nil).Code(t, 404, wire.CodeNotFound)
	l.student.Do("POST", l.path("/monitor/focus"), wire.MonitorFocus{Width: 640}, nil).Code(t, 403, wire.CodeForbidden)
}
