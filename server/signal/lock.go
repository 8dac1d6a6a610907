package signal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/didacto/didacto/wire"
)

// Slot is one seat of a room: the professor's or the student's.
type Slot struct {
	LectureID int64
	StudentID int64
	Role      wire.Role
}

func (s Slot) String() string {
	return fmt.Sprintf("%d:%d:%s", s.LectureID, s.StudentID, s.Role)
}

// peer is the other seat of the same room.
func (s Slot) peer() Slot {
	p := s
	if s.Role == wire.RoleStudent {
		p.Role = wire.RoleProfessor
	} else {
		p.Role = wire.RoleStudent
	}
	return p
}

// Holder is who holds a slot. Epoch is the fencing token the lock assigns on
// Claim: within one slot a later claim always has a larger epoch.
type Holder struct {
	Epoch   int64
	Session string
	Replica string
	UserID  int64
	Name    string
}

// encode is the stored form; Name goes last because it may contain '|'.
func (h Holder) encode() string {
	return strconv.FormatInt(h.Epoch, 10) + "|" + h.tail()
}

// tail is the stored form without the epoch (the Redis claim script
// prepends the epoch it allocates).
func (h Holder) tail() string {
	return h.Session + "|" + h.Replica + "|" + strconv.FormatInt(h.UserID, 10) + "|" + h.Name
}

func decodeHolder(v string) (Holder, error) {
	parts := strings.SplitN(v, "|", 5)
	if len(parts) != 5 {
		return Holder{}, fmt.Errorf("malformed holder %q", v)
	}
	epoch, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Holder{}, fmt.Errorf("holder epoch: %w", err)
	}
	uid, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return Holder{}, fmt.Errorf("holder user id: %w", err)
	}
	return Holder{Epoch: epoch, Session: parts[1], Replica: parts[2], UserID: uid, Name: parts[4]}, nil
}

// ExtendResult says what Extend found.
type ExtendResult int

const (
	// Extended: the caller still held the slot; its lease is renewed.
	Extended ExtendResult = iota + 1
	// Reclaimed: the slot was empty (expired, or the lock store restarted)
	// and no newer claim had happened, so the caller holds it again.
	Reclaimed
	// Lost: a newer session holds the slot (or claimed it since): the caller
	// was taken over and must stop.
	Lost
)

// ErrLockUnavailable wraps failures to reach the lock store.
var ErrLockUnavailable = errors.New("room lock unavailable")

// RoomLock leases room slots with a TTL. Implementations: MemoryLock (one
// replica) and RedisLock (several).
type RoomLock interface {
	// Claim makes h the holder of slot for ttl, replacing any current holder
	// (a takeover), and returns h with its new epoch and the previous holder
	// (ok false when the slot was free). Claims of one slot are linearizable.
	Claim(ctx context.Context, slot Slot, h Holder, ttl time.Duration) (claimed Holder, prev Holder, hadPrev bool, err error)
	// Extend renews h's lease only if h (same epoch and session) still holds
	// the slot; see ExtendResult.
	Extend(ctx context.Context, slot Slot, h Holder, ttl time.Duration) (ExtendResult, error)
	// Release frees the slot only if h still holds it (compare-and-delete) and
	// reports whether it did: a stale session never frees a newer one's slot.
	Release(ctx context.Context, slot Slot, h Holder) (bool, error)
	// Get returns the current holder; ok false when the slot is free.
	Get(ctx context.Context, slot Slot) (h Holder, ok bool, err error)
}

// MemoryLock is the single-replica RoomLock: a map with lazy expiry.
type MemoryLock struct {
	now    func() time.Time
	mu     sync.Mutex
	held   map[Slot]memLease
	epochs map[Slot]int64
}

type memLease struct {
	h       Holder
	expires time.Time
}

// NewMemoryLock returns an empty in-memory lock using the wall clock.
func NewMemoryLock() *MemoryLock { return NewMemoryLockClock(time.Now) }

// NewMemoryLockClock returns an empty in-memory lock reading time from now.
func NewMemoryLockClock(now func() time.Time) *MemoryLock {
	return &MemoryLock{now: now, held: map[Slot]memLease{}, epochs: map[Slot]int64{}}
}

// current returns the live lease of slot; the caller holds mu.
func (m *MemoryLock) current(slot Slot) (memLease, bool) {
	l, ok := m.held[slot]
	if ok && !m.now().Before(l.expires) {
		delete(m.held, slot)
		return memLease{}, false
	}
	return l, ok
}

// Claim implements RoomLock.
func (m *MemoryLock) Claim(_ context.Context, slot Slot, h Holder, ttl time.Duration) (Holder, Holder, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.epochs[slot]++
	h.Epoch = m.epochs[slot]
	prev, had := m.current(slot)
	m.held[slot] = memLease{h: h, expires: m.now().Add(ttl)}
	return h, prev.h, had, nil
}

// Extend implements RoomLock.
func (m *MemoryLock) Extend(_ context.Context, slot Slot, h Holder, ttl time.Duration) (ExtendResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.current(slot)
	switch {
	case ok && cur.h == h:
		m.held[slot] = memLease{h: h, expires: m.now().Add(ttl)}
		return Extended, nil
	case ok || m.epochs[slot] > h.Epoch:
		return Lost, nil
	}
	m.held[slot] = memLease{h: h, expires: m.now().Add(ttl)}
	return Reclaimed, nil
}

// Release implements RoomLock.
func (m *MemoryLock) Release(_ context.Context, slot Slot, h Holder) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.current(slot)
	if !ok || cur.h != h {
		return false, nil
	}
	delete(m.held, slot)
	return true, nil
}

// Get implements RoomLock.
func (m *MemoryLock) Get(_ context.Context, slot Slot) (Holder, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.current(slot)
	return cur.h, ok, nil
}
