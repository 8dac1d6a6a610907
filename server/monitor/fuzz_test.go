package monitor_test

import (
	"bytes"
	"fmt"
	"image/color"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/didacto/didacto/server/monitor"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// FuzzFrameUpload sends arbitrary bodies and headers to the real upload
// handler: it must answer 200 or a 4xx problem, never 5xx, and keep only
// frames that are valid JPEGs.
func FuzzFrameUpload(f *testing.F) {
	in := servertest.Start(f)
	l := newLab(f, in)
	good := testJPEG(f, 64, 36, color.RGBA{9, 9, 9, 255})
	f.Add(good, "image/jpeg", "2026-11-23T10:00:00.123456789Z", false)
	f.Add([]byte{}, "", "", true)
	f.Add(good[:len(good)/2], "image/jpeg", "", false)
	f.Add([]byte("\xff\xd8\xff\xe0garbage"), "image/jpeg", "not-a-time", false)
	f.Add([]byte("<svg/>"), "image/svg+xml", "", false)
	h := in.Server.Handler()
	path := fmt.Sprintf("/api/v1/lectures/%d/frame", l.lecture.ID)
	f.Fuzz(func(t *testing.T, body []byte, ct, capturedAt string, unchanged bool) {
		req := httptest.NewRequest("PUT", path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+l.student.Token)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if capturedAt != "" {
			req.Header.Set(wire.HeaderCapturedAt, capturedAt)
		}
		if unchanged {
			req.Header.Set(wire.HeaderFrameUnchanged, "1")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch {
		case rec.Code == http.StatusOK:
			if !unchanged {
				if _, err := monitor.CheckJPEG(body, 4096); err != nil {
					t.Fatalf("accepted a body CheckJPEG refuses: %v", err)
				}
			}
		case rec.Code >= 400 && rec.Code < 500:
			if rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d without a problem document", rec.Code)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	})
}
