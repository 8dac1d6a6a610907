// Package apitest is an in-process HTTP server that speaks the agent's side
// of the DIDACTO API contract (login, rotating refresh, me, lectures, join,
// frame upload with hints and problem documents) for the agent's tests. It
// records what the agent sent and lets a test expire tokens, toggle lectures
// and inject failures. Test infrastructure only: nothing in the product
// imports it.
package apitest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/wire"
)

// Student credentials the server accepts.
const (
	Email    = "student@example.org"
	Password = "correct horse battery"
)

// Upload is one frame PUT as received.
type Upload struct {
	LectureID   int64
	Auth        string
	ContentType string
	CapturedAt  time.Time
	Unchanged   bool
	Bytes       int
	Width       int // decoded JPEG size (0 for keep-alives)
	Height      int
	Status      int // what the server answered
	At          time.Time
}

// Failure is an injected answer for the next frame uploads.
type Failure struct {
	Status     int
	Code       string
	RetryAfter string
}

// Server is the fake API. Zero-config: New starts it on 127.0.0.1.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	lectures  []wire.Lecture
	hints     wire.FrameHints
	access    map[string]bool
	refresh   map[string]string // token → family
	revoked   map[string]bool   // families
	used      map[string]bool   // spent refresh tokens
	seq       int
	uploads   []Upload
	failures  []Failure
	logins    int
	refreshes int
	reused    int
	notify    chan struct{}
	hasFrame  map[int64]bool
}

// New starts a server with the given member lectures; it stops with the test.
func New(t testing.TB, lectures ...wire.Lecture) *Server {
	s := &Server{
		lectures: lectures,
		access:   map[string]bool{},
		refresh:  map[string]string{},
		revoked:  map[string]bool{},
		used:     map[string]bool{},
		notify:   make(chan struct{}, 1),
		hasFrame: map[int64]bool{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/auth/login", s.login)
	mux.HandleFunc("POST /api/v1/auth/refresh", s.refreshToken)
	mux.HandleFunc("POST /api/v1/auth/logout", s.logout)
	mux.HandleFunc("GET /api/v1/me", s.authed(s.me))
	mux.HandleFunc("GET /api/v1/lectures", s.authed(s.listLectures))
	mux.HandleFunc("POST /api/v1/lectures/join", s.authed(s.join))
	mux.HandleFunc("GET /api/v1/enrollments", s.authed(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, wire.Page[wire.Enrollment]{Items: []wire.Enrollment{}, Page: 1, Size: wire.MaxPageSize})
	}))
	mux.HandleFunc("PUT /api/v1/lectures/{id}/frame", s.authed(s.frame))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// SetHints sets what frame uploads answer.
func (s *Server) SetHints(h wire.FrameHints) { s.mu.Lock(); s.hints = h; s.mu.Unlock() }

// SetActive switches a lecture on or off.
func (s *Server) SetActive(id int64, active bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.lectures {
		if s.lectures[i].ID == id {
			s.lectures[i].Active = active
		}
	}
}

// DropFrames forgets the stored frames, as a server restart does: the next
// keep-alive is answered with need_frame.
func (s *Server) DropFrames() { s.mu.Lock(); clear(s.hasFrame); s.mu.Unlock() }

// ExpireAccess invalidates every access token issued so far.
func (s *Server) ExpireAccess() { s.mu.Lock(); clear(s.access); s.mu.Unlock() }

// Fail makes the next frame uploads answer with these failures, in order.
func (s *Server) Fail(f ...Failure) {
	s.mu.Lock()
	s.failures = append(s.failures, f...)
	s.mu.Unlock()
}

// Uploads returns a copy of the frame PUTs so far.
func (s *Server) Uploads() []Upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Upload(nil), s.uploads...)
}

// Counts returns how many logins, refreshes and refresh-token reuses happened.
func (s *Server) Counts() (logins, refreshes, reused int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins, s.refreshes, s.reused
}

// WaitUploads waits until cond holds on the uploads so far (checked after
// every upload), failing the test after timeout.
func (s *Server) WaitUploads(t testing.TB, timeout time.Duration, what string, cond func([]Upload) bool) []Upload {
	t.Helper()
	deadline := time.After(timeout)
	for {
		u := s.Uploads()
		if cond(u) {
			return u
		}
		select {
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; %d uploads: %+v", what, len(u), u)
		}
	}
}

func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(wire.Problem{Title: http.StatusText(status), Status: status, Code: code, Detail: detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) user() wire.User {
	return wire.User{ID: 7, Email: Email, Name: "Student", Role: wire.RoleStudent, Plan: wire.PlanFree}
}

// issue makes a token pair in family fam. Caller holds s.mu.
func (s *Server) issue(fam string) wire.TokenPair {
	s.seq++
	a, r := fmt.Sprintf("acc-%d", s.seq), fmt.Sprintf("ref-%d", s.seq)
	s.access[a] = true
	s.refresh[r] = fam
	return wire.TokenPair{AccessToken: a, RefreshToken: r, TokenType: "Bearer", ExpiresIn: 900,
		ExpiresAt: time.Now().Add(15 * time.Minute), User: s.user()}
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req wire.LoginRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		problem(w, 400, wire.CodeBadRequest, err.Error())
		return
	}
	if req.Email != Email || req.Password != Password {
		problem(w, 401, wire.CodeInvalidLogin, "wrong email or password")
		return
	}
	s.mu.Lock()
	s.logins++
	tp := s.issue(fmt.Sprintf("fam-%d", s.seq))
	s.mu.Unlock()
	writeJSON(w, 200, tp)
}

func (s *Server) refreshToken(w http.ResponseWriter, r *http.Request) {
	var req wire.RefreshRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		problem(w, 400, wire.CodeBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fam, ok := s.refresh[req.RefreshToken]
	switch {
	case !ok:
		problem(w, 401, wire.CodeUnauthorized, "unknown refresh token")
	case s.used[req.RefreshToken]:
		s.reused++
		s.revoked[fam] = true
		problem(w, 401, wire.CodeTokenReused, "refresh token reused; session revoked")
	case s.revoked[fam]:
		problem(w, 401, wire.CodeUnauthorized, "session revoked")
	default:
		s.used[req.RefreshToken] = true
		s.refreshes++
		writeJSON(w, 200, s.issue(fam))
	}
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	var req wire.RefreshRequest
	_ = json.NewDecoder(r.Body).Decode(&req)
	s.mu.Lock()
	if fam, ok := s.refresh[req.RefreshToken]; ok {
		s.revoked[fam] = true
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		valid := ok && s.access[tok]
		s.mu.Unlock()
		if !valid {
			problem(w, 401, wire.CodeUnauthorized, "access token expired or missing")
			return
		}
		h(w, r)
	}
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, s.user()) }

func (s *Server) listLectures(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("size"))
	page, size = max(page, 1), min(max(size, 1), wire.MaxPageSize)
	s.mu.Lock()
	all := append([]wire.Lecture(nil), s.lectures...)
	s.mu.Unlock()
	items := []wire.Lecture{}
	if lo := (page - 1) * size; lo < len(all) {
		items = all[lo:min(lo+size, len(all))]
	}
	writeJSON(w, 200, wire.Page[wire.Lecture]{Items: items, Page: page, Size: size, Total: len(all)})
}

func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	var req wire.JoinLectureRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Code == "" {
		problem(w, 400, wire.CodeValidation, "code required")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.lectures {
		if l.Code == req.Code {
			problem(w, 409, wire.CodeAlreadyMember, "already a member")
			return
		}
	}
	if req.Code != "JOINME" {
		problem(w, 404, wire.CodeNotFound, "no lecture with this code")
		return
	}
	writeJSON(w, 201, wire.Enrollment{ID: 1, LectureID: 99, LectureTitle: "Joined", StudentID: 7, Status: wire.EnrollmentWaiting})
}

func (s *Server) frame(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	body, _ := io.ReadAll(io.LimitReader(r.Body, wire.MaxFrameBytes+1))
	up := Upload{LectureID: id, Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
		Unchanged: r.Header.Get(wire.HeaderFrameUnchanged) == "1", Bytes: len(body), At: time.Now()}
	up.CapturedAt, _ = time.Parse(time.RFC3339Nano, r.Header.Get(wire.HeaderCapturedAt))
	answer := func(status int, write func()) {
		up.Status = status
		s.mu.Lock()
		s.uploads = append(s.uploads, up)
		s.mu.Unlock()
		select {
		case s.notify <- struct{}{}:
		default:
		}
		write()
	}
	s.mu.Lock()
	var fail *Failure
	if len(s.failures) > 0 {
		fail = &s.failures[0]
		s.failures = s.failures[1:]
	}
	var lec *wire.Lecture
	for i := range s.lectures {
		if s.lectures[i].ID == id {
			l := s.lectures[i]
			lec = &l
		}
	}
	hints := s.hints
	s.mu.Unlock()
	switch {
	case fail != nil:
		answer(fail.Status, func() {
			if fail.RetryAfter != "" {
				w.Header().Set("Retry-After", fail.RetryAfter)
			}
			problem(w, fail.Status, fail.Code, "injected failure")
		})
	case lec == nil:
		answer(403, func() { problem(w, 403, wire.CodeNotMember, "not a member of this lecture") })
	case !lec.Active:
		answer(409, func() { problem(w, 409, wire.CodeLectureInactive, "the lecture is not running") })
	case up.CapturedAt.IsZero():
		answer(400, func() { problem(w, 400, wire.CodeBadRequest, "missing "+wire.HeaderCapturedAt) })
	case len(body) > wire.MaxFrameBytes:
		answer(413, func() { problem(w, 413, wire.CodeTooLarge, "frame too large") })
	case up.Unchanged:
		if len(body) != 0 {
			answer(400, func() { problem(w, 400, wire.CodeBadRequest, "keep-alive with a body") })
			return
		}
		s.mu.Lock()
		hints.NeedFrame = !s.hasFrame[id]
		s.mu.Unlock()
		answer(200, func() { writeJSON(w, 200, hints) })
	case up.ContentType != "image/jpeg":
		answer(415, func() { problem(w, 415, wire.CodeUnsupportedMedia, "want image/jpeg") })
	default:
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(body))
		if err != nil {
			answer(400, func() { problem(w, 400, wire.CodeBadRequest, "not a JPEG: "+err.Error()) })
			return
		}
		up.Width, up.Height = cfg.Width, cfg.Height
		s.mu.Lock()
		s.hasFrame[id] = true
		s.mu.Unlock()
		answer(200, func() { writeJSON(w, 200, hints) })
	}
}
