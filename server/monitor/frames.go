// Package monitor owns the 1:N monitoring path on the server: it accepts JPEG
// thumbnails from accepted members of active lectures, keeps only the latest
// frame per (lecture, student) — in memory, or in Redis with a TTL when
// several replicas run — never on disk, tells watching consoles which tiles
// changed over Server-Sent Events, and records presence for attendance.
package monitor

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNoFrame means no live frame is kept for that student.
var ErrNoFrame = errors.New("monitor: no frame")

// Frame is the latest picture of one student's screen.
type Frame struct {
	LectureID  int64
	StudentID  int64
	JPEG       []byte // nil in listings
	Width      int
	Height     int
	CapturedAt time.Time // the agent's clock
	ReceivedAt time.Time // the server's clock
	LastSeen   time.Time // last upload or keep-alive
	Version    int64     // grows with every new picture
}

// FrameStore keeps the latest frame per (lecture, student) for a TTL.
type FrameStore interface {
	// Put stores a new picture and returns its version.
	Put(ctx context.Context, f Frame) (int64, error)
	// Touch refreshes presence (and the frame's TTL) without a new picture;
	// it returns ErrNoFrame when nothing is kept.
	Touch(ctx context.Context, lectureID, studentID int64, seen time.Time) (Frame, error)
	// Get returns the frame with its JPEG.
	Get(ctx context.Context, lectureID, studentID int64) (Frame, error)
	// Meta returns the frames' metadata (no JPEG) of the given students;
	// students without a frame are absent from the map.
	Meta(ctx context.Context, lectureID int64, studentIDs []int64) (map[int64]Frame, error)
	// Forget drops the student's frame (their agent is gone) and returns
	// its metadata, or ErrNoFrame when nothing was kept.
	Forget(ctx context.Context, lectureID, studentID int64) (Frame, error)
}

// MemoryFrames is the single-server FrameStore.
type MemoryFrames struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	frames  map[frameKey]*Frame
	version int64
}

type frameKey struct{ lecture, student int64 }

// NewMemoryFrames keeps frames for ttl after the last upload or keep-alive.
func NewMemoryFrames(ttl time.Duration, now func() time.Time) *MemoryFrames {
	if now == nil {
		now = time.Now
	}
	// Versions go on from the start time, not from 1: a browser's cached
	// "v5" of the last run must not match a new picture after a restart.
	return &MemoryFrames{ttl: ttl, now: now, frames: map[frameKey]*Frame{}, version: now().UnixMicro()}
}

// Put implements FrameStore.
func (m *MemoryFrames) Put(_ context.Context, f Frame) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.version++
	f.Version = m.version
	m.frames[frameKey{f.LectureID, f.StudentID}] = &f
	return f.Version, nil
}

// Touch implements FrameStore.
func (m *MemoryFrames) Touch(_ context.Context, lectureID, studentID int64, seen time.Time) (Frame, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.live(frameKey{lectureID, studentID})
	if f == nil {
		return Frame{}, ErrNoFrame
	}
	f.LastSeen = seen
	out := *f
	out.JPEG = nil
	return out, nil
}

// Get implements FrameStore.
func (m *MemoryFrames) Get(_ context.Context, lectureID, studentID int64) (Frame, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.live(frameKey{lectureID, studentID})
	if f == nil {
		return Frame{}, ErrNoFrame
	}
	return *f, nil // JPEG slices are never modified after Put
}

// Forget implements FrameStore.
func (m *MemoryFrames) Forget(_ context.Context, lectureID, studentID int64) (Frame, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := frameKey{lectureID, studentID}
	f := m.live(k)
	if f == nil {
		return Frame{}, ErrNoFrame
	}
	delete(m.frames, k)
	meta := *f
	meta.JPEG = nil
	return meta, nil
}

// Meta implements FrameStore.
func (m *MemoryFrames) Meta(_ context.Context, lectureID int64, studentIDs []int64) (map[int64]Frame, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[int64]Frame, len(studentIDs))
	for _, sid := range studentIDs {
		if f := m.live(frameKey{lectureID, sid}); f != nil {
			meta := *f
			meta.JPEG = nil
			out[sid] = meta
		}
	}
	return out, nil
}

// live returns the frame unless it expired (expired ones are dropped).
func (m *MemoryFrames) live(k frameKey) *Frame {
	f := m.frames[k]
	if f != nil && m.now().Sub(f.LastSeen) > m.ttl {
		delete(m.frames, k)
		return nil
	}
	return f
}

// Sweep drops expired frames; run it periodically so memory follows the lab.
func (m *MemoryFrames) Sweep() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	now := m.now()
	for k, f := range m.frames {
		if now.Sub(f.LastSeen) > m.ttl {
			delete(m.frames, k)
			n++
		}
	}
	return n
}
