package client

import (
	"net/http"
	"testing"
	"time"

	"github.com/didacto/didacto/wire"
)

func TestParseHints(t *testing.T) {
	for _, tc := range []struct {
		body string
		want wire.FrameHints
		err  bool
	}{
		{`{"interval_ms":2000,"width":320,"quality":70,"watched":true}`, wire.FrameHints{IntervalMS: 2000, Width: 320, Quality: 70, Watched: true}, false},
		{``, wire.FrameHints{}, false},
		{`{}`, wire.FrameHints{}, false},
		{`{"interval_ms":1,"width":100000,"quality":1000}`, wire.FrameHints{IntervalMS: 250, Width: 1280, Quality: 95}, false},
		{`{"interval_ms":-5,"width":-1,"quality":-1}`, wire.FrameHints{}, false},
		{`{"interval_ms":99999999999}`, wire.FrameHints{IntervalMS: 300000}, false},
		{`{"width":10,"quality":3}`, wire.FrameHints{Width: 64, Quality: 10}, false},
		{`not json`, wire.FrameHints{}, true},
		{`{"interval_ms":"2000"}`, wire.FrameHints{}, true},
	} {
		got, err := ParseHints([]byte(tc.body))
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseHints(%s) = %+v, %v", tc.body, got, err)
		}
	}
}

func TestDecodeError(t *testing.T) {
	h := http.Header{}
	e := decodeError(409, h, []byte(`{"title":"Conflict","status":409,"code":"lecture_inactive","detail":"not running"}`))
	if e.Problem.Code != wire.CodeLectureInactive || e.Problem.Detail != "not running" {
		t.Errorf("%+v", e.Problem)
	}
	// An HTML error page from a proxy still yields a usable problem.
	h.Set("Retry-After", "30")
	e = decodeError(503, h, []byte(`<html>Bad gateway</html>`))
	if e.Problem.Code != wire.CodeUnavailable || e.Problem.Status != 503 || e.RetryAfter != 30*time.Second {
		t.Errorf("%+v %v", e.Problem, e.RetryAfter)
	}
	// The status line wins over a lying body; absurd Retry-After is capped.
	h.Set("Retry-After", "999999999")
	e = decodeError(429, h, []byte(`{"status":200,"code":""}`))
	if e.Problem.Status != 429 || e.Problem.Code != wire.CodeRateLimited || e.RetryAfter != maxRetryAfter {
		t.Errorf("%+v %v", e.Problem, e.RetryAfter)
	}
	h.Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	if e = decodeError(503, h, nil); e.RetryAfter <= 0 || e.RetryAfter > maxRetryAfter {
		t.Errorf("date Retry-After → %v", e.RetryAfter)
	}
}

func FuzzParseHints(f *testing.F) {
	for _, s := range []string{
		`{"interval_ms":2000,"width":320,"quality":70,"watched":false}`,
		`{"interval_ms":10000,"width":160,"quality":50,"watched":false}`,
		`{"interval_ms":1000,"width":640,"quality":80,"watched":true}`,
		``, `{}`, `null`, `[]`, `{"width":1e99}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := ParseHints(body)
		if err != nil {
			if h != (wire.FrameHints{}) {
				t.Fatalf("error with non-zero hints %+v", h)
			}
			return
		}
		if h.IntervalMS != 0 && (h.IntervalMS < 250 || h.IntervalMS > 300000) {
			t.Fatalf("interval out of bounds: %d", h.IntervalMS)
		}
		if h.Width != 0 && (h.Width < MinHintWidth || h.Width > MaxHintWidth) {
			t.Fatalf("width out of bounds: %d", h.Width)
		}
		if h.Quality != 0 && (h.Quality < MinHintQuality || h.Quality > MaxHintQuality) {
			t.Fatalf("quality out of bounds: %d", h.Quality)
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	for _, s := range []struct {
		status int
		ra     string
		body   string
	}{
		{403, "", `{"type":"about:blank","title":"Forbidden","status":403,"code":"not_member","detail":"not a member"}`},
		{409, "", `{"title":"Conflict","status":409,"code":"lecture_inactive"}`},
		{401, "", `{"title":"Unauthorized","status":401,"code":"unauthorized"}`},
		{422, "", `{"title":"Invalid","status":422,"code":"validation_failed","errors":[{"field":"code","message":"required"}]}`},
		{429, "3", `{"title":"Too Many Requests","status":429,"code":"rate_limited"}`},
		{503, "Wed, 21 Oct 2015 07:28:00 GMT", `<html>oops</html>`},
		{500, "", ``},
		{429, "9223372036854775807", ``}, // seconds that overflow a Duration
		{429, "19001399000", ``},
	} {
		f.Add(s.status, s.ra, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, status int, ra string, body []byte) {
		h := http.Header{}
		h.Set("Retry-After", ra)
		e := decodeError(status, h, body)
		if e.Problem == nil || e.Problem.Status != status || e.Problem.Code == "" || e.Problem.Title == "" {
			t.Fatalf("unusable problem %+v", e.Problem)
		}
		if e.RetryAfter < 0 || e.RetryAfter > maxRetryAfter {
			t.Fatalf("retry-after %v", e.RetryAfter)
		}
		_ = e.Error()
	})
}
