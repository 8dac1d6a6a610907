package signal

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/wire"
)

// fakeClock is a settable clock for the memory lock's leases.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// lockContract is what every RoomLock must do; expire makes a lease of ttl
// run out (moving a fake clock, or waiting for Redis).
func lockContract(t *testing.T, lock RoomLock, ttl time.Duration, expire func()) {
	ctx := context.Background()
	slot := Slot{LectureID: 1, StudentID: 2, Role: wire.RoleStudent}
	a, prev, had, err := lock.Claim(ctx, slot, Holder{Session: "a", Replica: "r1", UserID: 2, Name: "A|pipe"}, ttl)
	if err != nil || had || a.Epoch <= 0 {
		t.Fatalf("first claim: %+v %+v %v %v", a, prev, had, err)
	}
	if h, ok, err := lock.Get(ctx, slot); err != nil || !ok || h != a {
		t.Fatalf("get: %+v %v %v, want %+v", h, ok, err, a)
	}
	// The other seat of the room is independent.
	if _, ok, _ := lock.Get(ctx, slot.peer()); ok {
		t.Fatal("professor seat taken by a student claim")
	}
	b, prev, had, err := lock.Claim(ctx, slot, Holder{Session: "b", Replica: "r2", UserID: 2, Name: "B"}, ttl)
	if err != nil || !had || prev != a || b.Epoch <= a.Epoch {
		t.Fatalf("takeover: b=%+v prev=%+v had=%v err=%v", b, prev, had, err)
	}
	// The stale holder can neither renew, reclaim nor free the newer lease.
	if res, err := lock.Extend(ctx, slot, a, ttl); err != nil || res != Lost {
		t.Fatalf("stale extend: %v %v", res, err)
	}
	if ok, err := lock.Release(ctx, slot, a); err != nil || ok {
		t.Fatalf("stale release: %v %v", ok, err)
	}
	if h, _, _ := lock.Get(ctx, slot); h != b {
		t.Fatalf("holder after stale calls: %+v", h)
	}
	if res, err := lock.Extend(ctx, slot, b, ttl); err != nil || res != Extended {
		t.Fatalf("extend: %v %v", res, err)
	}
	// A lease nobody renews runs out.
	expire()
	if _, ok, _ := lock.Get(ctx, slot); ok {
		t.Fatal("lease outlived its TTL")
	}
	// The last holder may take its expired seat back (a lock store that lost
	// its keys); an older one may not.
	if res, err := lock.Extend(ctx, slot, a, ttl); err != nil || res != Lost {
		t.Fatalf("stale reclaim: %v %v", res, err)
	}
	if res, err := lock.Extend(ctx, slot, b, ttl); err != nil || res != Reclaimed {
		t.Fatalf("reclaim: %v %v", res, err)
	}
	if ok, err := lock.Release(ctx, slot, b); err != nil || !ok {
		t.Fatalf("release: %v %v", ok, err)
	}
	if _, ok, _ := lock.Get(ctx, slot); ok {
		t.Fatal("released seat still held")
	}
	c, _, had, err := lock.Claim(ctx, slot, Holder{Session: "c", Replica: "r1", UserID: 2}, ttl)
	if err != nil || had || c.Epoch <= b.Epoch {
		t.Fatalf("claim after release: %+v %v %v", c, had, err)
	}
	// Concurrent claims: exactly one ends up holding, with the largest epoch.
	var wg sync.WaitGroup
	got := make([]Holder, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, _, _, err := lock.Claim(ctx, slot, Holder{Session: string(rune('A' + i)), Replica: "r"}, ttl)
			if err != nil {
				t.Error(err)
			}
			got[i] = h
		}()
	}
	wg.Wait()
	best := got[0]
	seen := map[int64]bool{}
	for _, h := range got {
		if seen[h.Epoch] {
			t.Fatalf("epoch %d handed out twice", h.Epoch)
		}
		seen[h.Epoch] = true
		if h.Epoch > best.Epoch {
			best = h
		}
	}
	if h, _, _ := lock.Get(ctx, slot); h != best {
		t.Fatalf("holder %+v, want the newest claim %+v", h, best)
	}
}

func TestMemoryLockContract(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	lockContract(t, NewMemoryLockClock(clk.now), time.Second, func() { clk.advance(time.Second) })
}

func newRedisClient(t testing.TB, r *testenv.Redis) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr: r.Addr, DialTimeout: 500 * time.Millisecond, ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: 1, PoolSize: 64,
	})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func TestRedisLockContract(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := newRedisClient(t, r)
	ttl := 300 * time.Millisecond
	lock := NewRedisLock(rdb, "t:contract:")
	lockContract(t, lock, ttl, func() {
		eventually(t, "redis lease expiry", func() bool {
			_, ok, err := lock.Get(context.Background(), Slot{LectureID: 1, StudentID: 2, Role: wire.RoleStudent})
			return err == nil && !ok
		})
	})
	// Keys live under the prefix only.
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if len(k) < 11 || k[:11] != "t:contract:" {
			t.Fatalf("key %q outside the prefix", k)
		}
	}
}
