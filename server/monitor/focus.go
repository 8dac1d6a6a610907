package monitor

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/wire"
)

// Focus: a console that shows tiles larger than thumbnails (an enlarged
// tile, a larger tile size) asks for larger frames, for a lease it renews
// while it looks; when it stops, frames return to thumbnails by themselves.

// FocusLease is how long one focus request holds.
const FocusLease = 15 * time.Second

// focusInterval is the capture interval asked of one focused student.
const focusInterval = time.Second

// FocusStore keeps focus requests with their lease; student 0 is the whole
// lecture (a larger tile size).
type FocusStore interface {
	SetFocus(ctx context.Context, lectureID, studentID int64, width int, lease time.Duration) error
	// Focus returns the width asked for the student alone and for the
	// whole lecture (0: none).
	Focus(ctx context.Context, lectureID, studentID int64) (one, all int, err error)
}

// MemoryFocus is the one-machine FocusStore.
type MemoryFocus struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[frameKey]focusEntry
}

type focusEntry struct {
	width int
	until time.Time
}

// NewMemoryFocus returns an empty store.
func NewMemoryFocus(now func() time.Time) *MemoryFocus {
	if now == nil {
		now = time.Now
	}
	return &MemoryFocus{now: now, m: map[frameKey]focusEntry{}}
}

// SetFocus implements FocusStore; width 0 ends the focus.
func (f *MemoryFocus) SetFocus(_ context.Context, lectureID, studentID int64, width int, lease time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := frameKey{lectureID, studentID}
	if width <= 0 {
		delete(f.m, k)
		return nil
	}
	now := f.now()
	for k, e := range f.m { // a handful of entries per lab: sweeping here is enough
		if now.After(e.until) {
			delete(f.m, k)
		}
	}
	f.m[k] = focusEntry{width, now.Add(lease)}
	return nil
}

// Focus implements FocusStore.
func (f *MemoryFocus) Focus(_ context.Context, lectureID, studentID int64) (int, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	get := func(k frameKey) int {
		if e, ok := f.m[k]; ok && !now.After(e.until) {
			return e.width
		}
		return 0
	}
	return get(frameKey{lectureID, studentID}), get(frameKey{lectureID, 0}), nil
}

// RedisFocus shares focus between replicas (keys with a PX lease).
type RedisFocus struct {
	rdb    *redis.Client
	prefix string
}

// NewRedisFocus keeps its keys under prefix (e.g. "didacto:").
func NewRedisFocus(rdb *redis.Client, prefix string) *RedisFocus {
	return &RedisFocus{rdb: rdb, prefix: prefix}
}

func (f *RedisFocus) key(lectureID, studentID int64) string {
	return f.prefix + "focus:" + strconv.FormatInt(lectureID, 10) + ":" + strconv.FormatInt(studentID, 10)
}

// SetFocus implements FocusStore; width 0 ends the focus.
func (f *RedisFocus) SetFocus(ctx context.Context, lectureID, studentID int64, width int, lease time.Duration) error {
	k := f.key(lectureID, studentID)
	var err error
	if width <= 0 {
		err = f.rdb.Del(ctx, k).Err()
	} else {
		err = f.rdb.Set(ctx, k, width, lease).Err()
	}
	if err != nil {
		return fmt.Errorf("redis focus: %w", err)
	}
	return nil
}

// Focus implements FocusStore in one round trip.
func (f *RedisFocus) Focus(ctx context.Context, lectureID, studentID int64) (int, int, error) {
	vals, err := f.rdb.MGet(ctx, f.key(lectureID, studentID), f.key(lectureID, 0)).Result()
	if err != nil {
		return 0, 0, fmt.Errorf("redis focus: %w", err)
	}
	n := func(v any) int {
		s, _ := v.(string)
		w, _ := strconv.Atoi(s)
		return w
	}
	return n(vals[0]), n(vals[1]), nil
}

// focus answers POST /api/v1/lectures/{id}/monitor/focus.
func (s *Service) focus(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := s.ownedLecture(r, id)
	if err != nil {
		return err
	}
	var req wire.MonitorFocus
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Width != 0 && (req.Width < wire.MinFocusWidth || req.Width > wire.MaxFocusWidth) {
		return httpx.Errorf(http.StatusUnprocessableEntity, wire.CodeValidation,
			"width must be 0 (end the focus) or %d to %d pixels", wire.MinFocusWidth, wire.MaxFocusWidth)
	}
	if len(req.StudentIDs) > wire.MaxFocusStudents {
		return httpx.Errorf(http.StatusUnprocessableEntity, wire.CodeValidation,
			"at most %d students at once; an empty list is the whole lecture", wire.MaxFocusStudents)
	}
	ids := req.StudentIDs
	if len(ids) == 0 {
		ids = []int64{0}
	}
	for _, sid := range ids {
		if sid < 0 {
			return httpx.Errorf(http.StatusUnprocessableEntity, wire.CodeValidation, "student ids are positive")
		}
		if err := s.focusStore.SetFocus(r.Context(), l.ID, sid, req.Width, FocusLease); err != nil {
			return err
		}
	}
	httpx.WriteJSON(w, http.StatusOK, wire.MonitorFocusAnswer{LeaseMS: int(FocusLease.Milliseconds())})
	return nil
}

// watchedHints are the hints for a watched student: thumbnails, or larger
// frames while a console looks closer (one student: also every second).
func (s *Service) watchedHints(ctx context.Context, lectureID, studentID int64, h wire.FrameHints) wire.FrameHints {
	h.Watched, h.IntervalMS, h.Width = true, int(s.cfg.WatchedInterval.Milliseconds()), s.cfg.Width
	one, all, err := s.focusStore.Focus(ctx, lectureID, studentID)
	if err != nil {
		s.logger.Warn("reading focus", "lecture_id", lectureID, "err", err)
		return h
	}
	h.Width = max(h.Width, min(max(one, all), wire.MaxFocusWidth))
	if one > 0 {
		h.IntervalMS = int(min(s.cfg.WatchedInterval, focusInterval).Milliseconds())
	}
	return h
}
