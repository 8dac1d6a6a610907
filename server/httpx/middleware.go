package httpx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

type ctxKey int

const infoKey ctxKey = iota

// requestInfo travels with a request so handlers can leave the cause of an
// error for the access log.
type requestInfo struct {
	id  string
	err error
}

func infoFrom(r *http.Request) *requestInfo {
	info, _ := r.Context().Value(infoKey).(*requestInfo)
	return info
}

// RequestID returns the request's id ("" outside the middleware).
func RequestID(ctx context.Context) string {
	if info, _ := ctx.Value(infoKey).(*requestInfo); info != nil {
		return info.id
	}
	return ""
}

// statusRecorder remembers the status code and size for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach Flush, Hijack and the deadlines (SSE, websockets).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Observe wraps h with request ids, panic recovery, an access log line and
// metrics. route names the handler for metrics (the mux pattern).
func Observe(h http.Handler, logger *slog.Logger, m *Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		info := &requestInfo{id: id}
		r = r.WithContext(context.WithValue(r.Context(), infoKey, info))
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				logger.Error("panic in handler", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if rec.status == 0 {
					WriteProblem(rec, r, Errorf(http.StatusInternalServerError, "internal_error", "an internal error occurred"))
				}
			}
			status := rec.status
			if status == 0 {
				status = http.StatusOK
			}
			elapsed := time.Since(start)
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			m.ObserveRequest(route, r.Method, status, elapsed)
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			attrs := []any{"request_id", id, "method", r.Method, "path", r.URL.Path, "status", status,
				"bytes", rec.bytes, "duration_ms", float64(elapsed.Microseconds()) / 1000, "remote", r.RemoteAddr}
			if info.err != nil {
				attrs = append(attrs, "error", info.err.Error())
			}
			logger.Log(r.Context(), level, "http", attrs...)
		}()
		h.ServeHTTP(rec, r)
	})
}

// LoopbackPeer reports whether the connection's peer is a loopback address.
func LoopbackPeer(r *http.Request) bool { return peer(r).IsLoopback() }
