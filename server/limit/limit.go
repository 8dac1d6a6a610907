// Package limit keeps the server's abuse counters: failures that earn a
// growing delay (logins, join codes), events counted per window (audit rows,
// join requests), single-use claims (websocket tickets) and short-lived
// marks (ended sessions). They live in memory on a single replica and in
// Redis when several replicas share one, so a client cannot dodge a limit
// by reaching another replica.
package limit

import (
	"context"
	"sync"
	"time"
)

// Failures is a key's failure count and the time of the latest one.
type Failures struct {
	N    int64
	Last time.Time
}

// Store holds counters and marks that expire by themselves.
type Store interface {
	// Incr counts one event in key's current window (which starts with its
	// first event and lasts window) and returns the count so far.
	Incr(ctx context.Context, key string, window time.Duration) (int64, error)
	// Fail records a failure at now; the key forgets after keep without one.
	Fail(ctx context.Context, key string, now time.Time, keep time.Duration) (Failures, error)
	// Failures reads a key's failures (zero when none).
	Failures(ctx context.Context, key string) (Failures, error)
	// Delete forgets a key.
	Delete(ctx context.Context, key string) error
	// SetNX stores value unless key exists; false when it did.
	SetNX(ctx context.Context, key, value string, ttl time.Duration) (bool, error)
	// Set stores value for ttl.
	Set(ctx context.Context, key, value string, ttl time.Duration) error
	// Get reads a value; ok is false when there is none.
	Get(ctx context.Context, key string) (value string, ok bool, err error)
}

// Backoff turns failures into a wait: the first Free failures cost nothing,
// the next one Base, each further one twice the last, never more than Max.
// A delay, not a lock: once it has passed the next attempt is heard, the
// right password included.
type Backoff struct {
	Free int64
	Base time.Duration
	Max  time.Duration
	// Keep is how long a key remembers its failures after the latest.
	Keep time.Duration
}

// Wait is how long the key must still wait at now (0: may try).
func (b Backoff) Wait(f Failures, now time.Time) time.Duration {
	if f.N <= b.Free {
		return 0
	}
	d := b.Base
	for i := b.Free + 1; i < f.N && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	if w := f.Last.Add(d).Sub(now); w > 0 {
		return w
	}
	return 0
}

// Memory is a Store for one replica.
type Memory struct {
	mu      sync.Mutex
	now     func() time.Time
	entries map[string]*entry
	ops     int
}

type entry struct {
	n       int64
	last    time.Time
	val     string
	expires time.Time
}

// NewMemory returns an empty store; now is its clock (time.Now when nil).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, entries: map[string]*entry{}}
}

// live returns key's entry unless it expired; it sweeps now and then so
// keys a flood made do not stay.
func (m *Memory) live(key string, now time.Time) *entry {
	m.ops++
	if m.ops%4096 == 0 {
		for k, e := range m.entries {
			if !now.Before(e.expires) {
				delete(m.entries, k)
			}
		}
	}
	e := m.entries[key]
	if e != nil && !now.Before(e.expires) {
		delete(m.entries, key)
		return nil
	}
	return e
}

// Incr implements Store.
func (m *Memory) Incr(_ context.Context, key string, window time.Duration) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	e := m.live(key, now)
	if e == nil {
		e = &entry{expires: now.Add(window)}
		m.entries[key] = e
	}
	e.n++
	return e.n, nil
}

// Fail implements Store.
func (m *Memory) Fail(_ context.Context, key string, now time.Time, keep time.Duration) (Failures, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.live(key, m.now())
	if e == nil {
		e = &entry{}
		m.entries[key] = e
	}
	e.n++
	e.last = now
	e.expires = m.now().Add(keep)
	return Failures{N: e.n, Last: e.last}, nil
}

// Failures implements Store.
func (m *Memory) Failures(_ context.Context, key string) (Failures, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.live(key, m.now()); e != nil {
		return Failures{N: e.n, Last: e.last}, nil
	}
	return Failures{}, nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	delete(m.entries, key)
	m.mu.Unlock()
	return nil
}

// SetNX implements Store.
func (m *Memory) SetNX(_ context.Context, key, value string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if m.live(key, now) != nil {
		return false, nil
	}
	m.entries[key] = &entry{val: value, expires: now.Add(ttl)}
	return true, nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key, value string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[key] = &entry{val: value, expires: m.now().Add(ttl)}
	return nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.live(key, m.now()); e != nil {
		return e.val, true, nil
	}
	return "", false, nil
}
