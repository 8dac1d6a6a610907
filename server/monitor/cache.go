package monitor

import (
	"sync"
	"time"
)

// ttlCache memoizes a lookup per key for a short time, so a lab of agents
// uploading every second does not hit the database on every frame.
type ttlCache[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
}

func newTTLCache[K comparable, V any](ttl time.Duration, now func() time.Time) *ttlCache[K, V] {
	return &ttlCache[K, V]{ttl: ttl, now: now, entries: map[K]ttlEntry[V]{}}
}

// get returns the cached value or computes it, caching it when keep says so.
func (c *ttlCache[K, V]) get(k K, compute func() (v V, keep bool)) V {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[k]
	c.mu.Unlock()
	if ok && now.Before(e.exp) {
		return e.v
	}
	v, keep := compute()
	if !keep {
		return v
	}
	c.mu.Lock()
	if len(c.entries) > 100_000 { // bound memory; a sweep is cheaper than an LRU here
		for key, old := range c.entries {
			if now.After(old.exp) {
				delete(c.entries, key)
			}
		}
	}
	c.entries[k] = ttlEntry[V]{v: v, exp: now.Add(c.ttl)}
	c.mu.Unlock()
	return v
}
