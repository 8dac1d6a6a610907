package limit

import "sync"

// Conns counts this replica's open long-lived connections (websockets,
// event streams) per key, so one account or address cannot hold thousands.
// It is per replica on purpose: what a connection costs, it costs here.
type Conns struct {
	mu sync.Mutex
	n  map[string]int
}

// NewConns returns an empty counter.
func NewConns() *Conns { return &Conns{n: map[string]int{}} }

// Cap is a key and its most open connections (<= 0: no cap).
type Cap struct {
	Key string
	Max int
}

// Acquire takes one connection under every cap, or none when any is full
// (full names that cap's key). release gives it back.
func (c *Conns) Acquire(caps ...Cap) (release func(), full string, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cp := range caps {
		if cp.Max > 0 && c.n[cp.Key] >= cp.Max {
			return nil, cp.Key, false
		}
	}
	for _, cp := range caps {
		c.n[cp.Key]++
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, cp := range caps {
				if c.n[cp.Key]--; c.n[cp.Key] <= 0 {
					delete(c.n, cp.Key)
				}
			}
		})
	}, "", true
}
