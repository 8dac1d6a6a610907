package monitor

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/limit"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Store is what monitoring needs from persistence.
type Store interface {
	LectureByID(ctx context.Context, id int64) (store.Lecture, error)
	IsMember(ctx context.Context, lectureID, studentID int64) (bool, error)
	Members(ctx context.Context, lectureID int64, p store.PageRequest) ([]store.Member, int, error)
	LecturesByMember(ctx context.Context, studentID int64, p store.PageRequest) ([]store.Lecture, int, error)
	store.Attendance
}

// Config tunes monitoring.
type Config struct {
	FrameTTL        time.Duration  // frames and presence expire after this
	WatchedInterval time.Duration  // capture interval asked for while a console watches
	IdleInterval    time.Duration  // ... while nobody watches
	Width           int            // thumbnail width while watched
	IdleWidth       int            // ... while nobody watches
	Quality         int            // JPEG quality asked for
	PresenceEvery   time.Duration  // how often presence is written to the database per student
	MaxGap          time.Duration  // longer silences count as offline in attendance
	Location        *time.Location // attendance days are counted here
	MaxDimension    int            // largest accepted frame side
	// Event streams open at once on this replica per professor and per
	// client address (<= 0: no cap); one more is answered 429.
	MaxStreamsPerUser, MaxStreamsPerAddress int
	// Focus keeps the consoles' requests for larger frames (nil: in this
	// process; in Redis when replicas share one).
	Focus FocusStore
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{FrameTTL: 60 * time.Second, WatchedInterval: 2 * time.Second, IdleInterval: 10 * time.Second,
		Width: 320, IdleWidth: 240, Quality: 70, PresenceEvery: 30 * time.Second, MaxGap: 90 * time.Second,
		Location: time.Local, MaxDimension: 4096, MaxStreamsPerUser: 8, MaxStreamsPerAddress: 200}
}

// Service serves the monitoring API.
type Service struct {
	cfg    Config
	store  Store
	frames FrameStore
	notify Notifier
	// focusStore is cfg.Focus, or memory.
	focusStore FocusStore
	auth       *auth.Service
	now        func() time.Time
	logger     *slog.Logger

	access *ttlCache[accessKey, error] // successful membership and activity checks, cached briefly
	conns  *limit.Conns                // open event streams per user and address

	pmu      sync.Mutex
	pending  map[accessKey]time.Time // sightings to write
	written  map[accessKey]time.Time // last sighting queued per student
	rejected *httpx.Counter
	ingested *httpx.Counter
}

type accessKey struct{ lecture, student int64 }

// NewService wires monitoring together.
func NewService(cfg Config, st Store, frames FrameStore, notify Notifier, a *auth.Service, metrics *httpx.Metrics,
	now func() time.Time, logger *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Focus == nil {
		cfg.Focus = NewMemoryFocus(now)
	}
	return &Service{cfg: cfg, store: st, frames: frames, notify: notify, focusStore: cfg.Focus, auth: a, now: now, logger: logger,
		access:   newTTLCache[accessKey, error](3*time.Second, now),
		conns:    limit.NewConns(),
		pending:  map[accessKey]time.Time{},
		written:  map[accessKey]time.Time{},
		rejected: metrics.Counter("didacto_frames_rejected_total", "Frame uploads refused, by reason."),
		ingested: metrics.Counter("didacto_frames_ingested_total", "Frame uploads accepted (kind=frame|keepalive)."),
	}
}

// Register mounts the routes.
func (s *Service) Register(mux httpx.Mux) {
	prof := wire.RoleProfessor
	mux.Handle("PUT /api/v1/lectures/{id}/frame", s.auth.Require(s.putFrame, wire.RoleStudent))
	mux.Handle("GET /api/v1/lectures/{id}/monitor", s.auth.Require(s.snapshot, prof))
	mux.Handle("GET /api/v1/lectures/{id}/monitor/stream", s.auth.Require(s.stream, prof))
	mux.Handle("POST /api/v1/lectures/{id}/monitor/focus", s.auth.Require(s.focus, prof))
	mux.Handle("GET /api/v1/lectures/{id}/students/{studentId}/frame", s.auth.Require(s.getFrame, prof))
	mux.Handle("GET /api/v1/lectures/{id}/attendance", s.auth.Require(s.attendance, prof))
}

// checkUploader says whether the student may upload to the lecture now.
func (s *Service) checkUploader(ctx context.Context, lectureID, studentID int64) error {
	return s.access.get(accessKey{lectureID, studentID}, func() (error, bool) {
		// Only a success is cached: a refusal (inactive lecture, not yet a
		// member) must lift as soon as the professor acts, and refused
		// agents back off anyway.
		err := s.uploaderAllowed(ctx, lectureID, studentID)
		return err, err == nil
	})
}

func (s *Service) uploaderAllowed(ctx context.Context, lectureID, studentID int64) error {
	l, err := s.store.LectureByID(ctx, lectureID)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no such lecture")
	}
	if err != nil {
		return err
	}
	ok, err := s.store.IsMember(ctx, lectureID, studentID)
	if err != nil {
		return err
	}
	if !ok {
		return httpx.Errorf(http.StatusForbidden, wire.CodeNotMember, "you are not an accepted member of this lecture")
	}
	if !l.Active {
		return httpx.Errorf(http.StatusConflict, wire.CodeLectureInactive, "monitoring is off for this lecture")
	}
	return nil
}

func (s *Service) reject(reason string, err error) error {
	s.rejected.Add(`reason="`+reason+`"`, 1)
	return err
}

func (s *Service) putFrame(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	lid, err := httpx.PathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.checkUploader(r.Context(), lid, id.UserID); err != nil {
		var he *httpx.Error
		if errors.As(err, &he) {
			return s.reject(he.Problem.Code, err)
		}
		return err
	}
	now := s.now()
	captured := now
	if v := r.Header.Get(wire.HeaderCapturedAt); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return s.reject("bad_header", httpx.Errorf(http.StatusBadRequest, wire.CodeBadRequest,
				"%s must be an RFC 3339 time: %v", wire.HeaderCapturedAt, err))
		}
		captured = t.UTC()
	}
	key := accessKey{lid, id.UserID}
	watched := s.notify.Watched(r.Context(), lid)
	var tile wire.MonitorTile
	var needFrame bool
	if r.Header.Get(wire.HeaderFrameUnchanged) == "1" {
		f, err := s.frames.Touch(r.Context(), lid, id.UserID, now)
		switch {
		case errors.Is(err, ErrNoFrame):
			needFrame = true
		case err != nil:
			return err
		default:
			tile = s.tileFor(f, store.Member{StudentID: id.UserID, Name: id.Name}, now)
			// A watching console learns that the picture is still current
			// (same version, newer last_seen): a student reading a page is
			// online. Nobody watching: nothing to tell.
			if watched {
				if err := s.notify.Publish(r.Context(), lid, tile); err != nil {
					s.logger.Warn("publishing presence", "lecture_id", lid, "err", err)
				}
			}
		}
		s.ingested.Add(`kind="keepalive"`, 1)
	} else {
		f, err := s.readFrame(w, r)
		if err != nil {
			return err
		}
		f.LectureID, f.StudentID, f.CapturedAt, f.ReceivedAt, f.LastSeen = lid, id.UserID, captured, now, now
		if f.Version, err = s.frames.Put(r.Context(), f); err != nil {
			return fmt.Errorf("storing frame: %w", err)
		}
		tile = s.tileFor(f, store.Member{StudentID: id.UserID, Name: id.Name}, now)
		if err := s.notify.Publish(r.Context(), lid, tile); err != nil {
			s.logger.Warn("publishing tile change", "lecture_id", lid, "err", err)
		}
		s.ingested.Add(`kind="frame"`, 1)
	}
	s.recordPresence(key, now)

	hints := wire.FrameHints{IntervalMS: int(s.cfg.IdleInterval.Milliseconds()), Width: s.cfg.IdleWidth,
		Quality: s.cfg.Quality, NeedFrame: needFrame}
	if watched {
		hints = s.watchedHints(r.Context(), lid, id.UserID, hints)
	}
	httpx.WriteJSON(w, http.StatusOK, hints)
	return nil
}

// readFrame reads and checks a JPEG body.
func (s *Service) readFrame(w http.ResponseWriter, r *http.Request) (Frame, error) {
	if ct := r.Header.Get("Content-Type"); ct != "image/jpeg" {
		return Frame{}, s.reject("media_type", httpx.Errorf(http.StatusUnsupportedMediaType, wire.CodeUnsupportedMedia,
			"frames must be image/jpeg, got %q", ct))
	}
	if r.ContentLength > wire.MaxFrameBytes {
		return Frame{}, s.reject("too_large", httpx.Errorf(http.StatusRequestEntityTooLarge, wire.CodeTooLarge,
			"frame of %d bytes is larger than %d", r.ContentLength, wire.MaxFrameBytes))
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength))
	}
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, wire.MaxFrameBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return Frame{}, s.reject("too_large", httpx.Errorf(http.StatusRequestEntityTooLarge, wire.CodeTooLarge,
			"frame larger than %d bytes", wire.MaxFrameBytes))
	}
	if err != nil {
		return Frame{}, httpx.Errorf(http.StatusBadRequest, wire.CodeBadRequest, "reading frame: %v", err)
	}
	cfg, err := CheckJPEG(buf.Bytes(), s.cfg.MaxDimension)
	if err != nil {
		return Frame{}, s.reject("not_jpeg", httpx.Errorf(http.StatusUnsupportedMediaType, wire.CodeUnsupportedMedia, "%v", err))
	}
	return Frame{JPEG: buf.Bytes(), Width: cfg.Width, Height: cfg.Height}, nil
}

// JPEGConfig is the size of a checked JPEG.
type JPEGConfig struct{ Width, Height int }

// CheckJPEG validates that b is a baseline/progressive JPEG of sane size
// by reading its header (not decoding every pixel: ingest stays cheap).
func CheckJPEG(b []byte, maxDim int) (JPEGConfig, error) {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return JPEGConfig{}, errors.New("body is not a JPEG (no SOI marker)")
	}
	c, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return JPEGConfig{}, fmt.Errorf("body is not a valid JPEG: %w", err)
	}
	if c.Width < 1 || c.Height < 1 || c.Width > maxDim || c.Height > maxDim {
		return JPEGConfig{}, fmt.Errorf("JPEG of %dx%d is outside 1..%d pixels", c.Width, c.Height, maxDim)
	}
	return JPEGConfig{Width: c.Width, Height: c.Height}, nil
}

// recordPresence notes a sighting; the database write happens in Run, off
// the upload path, at most once per PresenceEvery per student.
func (s *Service) recordPresence(key accessKey, now time.Time) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	if last, ok := s.written[key]; ok && now.Sub(last) < s.cfg.PresenceEvery {
		return
	}
	s.written[key] = now
	s.pending[key] = now
}

// Run writes queued presence to the database until ctx ends (then once more).
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.flushPresence(context.WithoutCancel(ctx))
			return
		case <-t.C:
			s.flushPresence(ctx)
		}
	}
}

func (s *Service) flushPresence(ctx context.Context) {
	s.pmu.Lock()
	batch := s.pending
	s.pending = make(map[accessKey]time.Time, len(batch))
	for k, w := range s.written { // forget students long gone: memory follows the lab
		if time.Since(w) > 2*s.cfg.MaxGap {
			delete(s.written, k)
		}
	}
	s.pmu.Unlock()
	for key, seen := range batch {
		err := s.store.RecordPresence(ctx, store.Presence{LectureID: key.lecture, StudentID: key.student,
			Day: seen.In(s.cfg.Location).Format(time.DateOnly), SeenAt: seen, MaxGap: s.cfg.MaxGap})
		if err != nil {
			s.pmu.Lock()
			delete(s.written, key) // retried at the student's next upload
			s.pmu.Unlock()
			s.logger.Warn("recording presence", "lecture_id", key.lecture, "student_id", key.student, "err", err)
		}
	}
}

func (s *Service) tileFor(f Frame, m store.Member, now time.Time) wire.MonitorTile {
	t := wire.MonitorTile{StudentID: m.StudentID, Name: m.Name, Email: m.Email}
	if f.Version == 0 {
		return t
	}
	capAt, recv, seen := f.CapturedAt.UTC(), f.ReceivedAt.UTC(), f.LastSeen.UTC()
	t.CapturedAt, t.ReceivedAt, t.LastSeen = &capAt, &recv, &seen
	t.Online = now.Sub(f.LastSeen) <= s.cfg.FrameTTL
	t.Version, t.Width, t.Height = f.Version, f.Width, f.Height
	t.FrameURL = fmt.Sprintf("/api/v1/lectures/%d/students/%d/frame?v=%d", f.LectureID, f.StudentID, f.Version)
	return t
}

// Offline marks the student offline at once in every active lecture they
// have a frame in (their agent's channel closed: it quit, or stopped
// answering): the frame is dropped and watching consoles are told, instead
// of waiting for the frame's TTL. The agent's next upload, if it is still
// running after all, brings the tile back.
func (s *Service) Offline(ctx context.Context, studentID int64, name string) {
	for page := 1; page <= 100; page++ {
		ls, total, err := s.store.LecturesByMember(ctx, studentID, store.PageRequest{Page: page, Size: wire.MaxPageSize})
		if err != nil {
			s.logger.Warn("marking a student offline", "student_id", studentID, "err", err)
			return
		}
		for _, l := range ls {
			if l.Active {
				s.forget(ctx, l.ID, store.Member{StudentID: studentID, Name: name})
			}
		}
		if len(ls) == 0 || page*wire.MaxPageSize >= total {
			return
		}
	}
}

func (s *Service) forget(ctx context.Context, lectureID int64, m store.Member) {
	studentID := m.StudentID
	f, err := s.frames.Forget(ctx, lectureID, studentID)
	if errors.Is(err, ErrNoFrame) {
		return
	}
	if err != nil {
		s.logger.Warn("marking a student offline", "lecture_id", lectureID, "student_id", studentID, "err", err)
		return
	}
	// The tile keeps its version (the console keeps the last picture, greyed)
	// but has no frame to fetch any more.
	tile := s.tileFor(f, m, s.now())
	tile.Online, tile.FrameURL = false, ""
	if err := s.notify.Publish(ctx, lectureID, tile); err != nil {
		s.logger.Warn("publishing an offline tile", "lecture_id", lectureID, "err", err)
	}
}

// ownedLecture checks the caller owns {id}.
func (s *Service) ownedLecture(r *http.Request, id auth.Identity) (store.Lecture, error) {
	lid, err := httpx.PathID(r, "id")
	if err != nil {
		return store.Lecture{}, err
	}
	l, err := s.store.LectureByID(r.Context(), lid)
	if errors.Is(err, store.ErrNotFound) || (err == nil && l.OwnerID != id.UserID) {
		return store.Lecture{}, httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no such lecture")
	}
	return l, err
}

func (s *Service) allMembers(ctx context.Context, lectureID int64) ([]store.Member, error) {
	var all []store.Member
	for page := 1; ; page++ {
		ms, total, err := s.store.Members(ctx, lectureID, store.PageRequest{Page: page, Size: wire.MaxPageSize})
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
		if len(ms) == 0 || len(all) >= total {
			return all, nil
		}
	}
}

func (s *Service) snapshot(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := s.ownedLecture(r, id)
	if err != nil {
		return err
	}
	members, err := s.allMembers(r.Context(), l.ID)
	if err != nil {
		return err
	}
	ids := make([]int64, len(members))
	for i, m := range members {
		ids[i] = m.StudentID
	}
	meta, err := s.frames.Meta(r.Context(), l.ID, ids)
	if err != nil {
		return err
	}
	now := s.now()
	out := wire.MonitorSnapshot{LectureID: l.ID, ServerNow: now.UTC(), Tiles: make([]wire.MonitorTile, 0, len(members))}
	for _, m := range members {
		out.Tiles = append(out.Tiles, s.tileFor(meta[m.StudentID], m, now))
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Service) getFrame(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := s.ownedLecture(r, id)
	if err != nil {
		return err
	}
	sid, err := httpx.PathID(r, "studentId")
	if err != nil {
		return err
	}
	f, err := s.frames.Get(r.Context(), l.ID, sid)
	if errors.Is(err, ErrNoFrame) {
		return httpx.Errorf(http.StatusNotFound, wire.CodeNotFound, "no recent frame from this student")
	}
	if err != nil {
		return err
	}
	etag := `"v` + strconv.FormatInt(f.Version, 10) + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set(wire.HeaderCapturedAt, f.CapturedAt.UTC().Format(time.RFC3339Nano))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.JPEG)))
	_, _ = w.Write(f.JPEG)
	return nil
}

// sseHeartbeat keeps proxies from closing an idle stream.
const sseHeartbeat = 15 * time.Second

// signInRecheck is how often a stream checks its sign-in still stands.
const signInRecheck = 5 * time.Second

// streamWriteTimeout bounds one event's write: a console that stops reading
// loses its stream instead of holding it open.
const streamWriteTimeout = 2 * sseHeartbeat

func (s *Service) stream(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := s.ownedLecture(r, id)
	if err != nil {
		return err
	}
	release, full, ok := s.conns.Acquire(limit.Cap{Key: "user:" + strconv.FormatInt(id.UserID, 10), Max: s.cfg.MaxStreamsPerUser},
		limit.Cap{Key: "addr:" + httpx.AddrKey(httpx.ClientAddr(r)), Max: s.cfg.MaxStreamsPerAddress})
	if !ok {
		who := "this account"
		if strings.HasPrefix(full, "addr:") {
			who = "your address"
		}
		e := httpx.Errorf(http.StatusTooManyRequests, wire.CodeRateLimited, "too many open monitoring streams for %s; close another tab", who)
		e.RetryAfter = 5 * time.Second
		return e
	}
	defer release()
	ctx := r.Context()
	changes := s.notify.Subscribe(ctx, l.ID)
	rc, ok := httpx.StartEventStream(w, streamWriteTimeout, map[string]any{"lecture_id": l.ID, "server_now": s.now().UTC()})
	if !ok {
		return nil // client gone or streaming unsupported
	}
	beat := time.NewTicker(sseHeartbeat)
	defer beat.Stop()
	// A stream outlived its sign-in: ask now and then whether it stands.
	recheck := time.NewTicker(signInRecheck)
	defer recheck.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-recheck.C:
			var he *httpx.Error
			if err := s.auth.Live(ctx, id); errors.As(err, &he) {
				return nil // signed out: the console's reconnect gets 401
			}
			continue
		case <-beat.C:
			fmt.Fprintf(w, ": keep-alive\n\n")
		case tile := <-changes:
			b, _ := json.Marshal(wire.MonitorEvent{Tile: tile})
			fmt.Fprintf(w, "event: tile\ndata: %s\n\n", b)
		}
		_ = rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
		if err := rc.Flush(); err != nil {
			return nil
		}
	}
}

func (s *Service) attendance(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := s.ownedLecture(r, id)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	from, to := q.Get("from"), q.Get("to")
	var bad []wire.FieldError
	for name, v := range map[string]string{"from": from, "to": to} {
		if _, err := time.Parse(time.DateOnly, v); v != "" && err != nil {
			bad = append(bad, wire.FieldError{Field: name, Message: "must be a date like 2026-03-02"})
		}
	}
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		bad = append(bad, wire.FieldError{Field: "format", Message: "must be json or csv"})
	}
	if len(bad) > 0 {
		e := httpx.Errorf(http.StatusBadRequest, wire.CodeBadRequest, "invalid query")
		e.Problem.Errors = bad
		return e
	}
	rows, err := s.store.AttendanceByLecture(r.Context(), l.ID, from, to)
	if err != nil {
		return err
	}
	out := make([]wire.AttendanceRecord, 0, len(rows))
	for _, row := range rows {
		out = append(out, wire.AttendanceRecord{StudentID: row.StudentID, Name: row.StudentName, Email: row.StudentEmail,
			Day: row.Day, FirstSeen: row.FirstSeen.UTC(), LastSeen: row.LastSeen.UTC(), ConnectedSeconds: row.ConnectedSeconds})
	}
	if format != "csv" {
		httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="attendance-%d.csv"`, l.ID))
	_, _ = w.Write([]byte("\uFEFF")) // so spreadsheet programs read Korean names as UTF-8
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"day", "student_id", "name", "email", "first_seen", "last_seen", "connected_minutes"})
	for _, a := range out {
		_ = cw.Write([]string{a.Day, strconv.FormatInt(a.StudentID, 10), csvSafe(a.Name), csvSafe(a.Email),
			a.FirstSeen.In(s.cfg.Location).Format(time.DateTime), a.LastSeen.In(s.cfg.Location).Format(time.DateTime),
			strconv.FormatFloat(float64(a.ConnectedSeconds)/60, 'f', 1, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe defuses spreadsheet formula injection through user-chosen names.
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}
