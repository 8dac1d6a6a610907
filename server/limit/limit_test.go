package limit_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/limit"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	b := limit.Backoff{Free: 3, Base: time.Second, Max: 8 * time.Second, Keep: time.Hour}
	t0 := time.Unix(1000, 0)
	for n, want := range map[int64]time.Duration{0: 0, 3: 0, 4: time.Second, 5: 2 * time.Second, 6: 4 * time.Second, 7: 8 * time.Second, 50: 8 * time.Second} {
		if got := b.Wait(limit.Failures{N: n, Last: t0}, t0); got != want {
			t.Errorf("after %d failures: wait %s, want %s", n, got, want)
		}
	}
	if got := b.Wait(limit.Failures{N: 50, Last: t0}, t0.Add(8*time.Second)); got != 0 {
		t.Errorf("after the longest delay: wait %s", got)
	}
}

func TestStores(t *testing.T) {
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { rdb.Close() })
	for name, st := range map[string]limit.Store{"memory": limit.NewMemory(nil), "redis": limit.NewRedis(rdb, "test:")} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			for i := int64(1); i <= 3; i++ {
				if n, err := st.Incr(ctx, "w", 200*time.Millisecond); err != nil || n != i {
					t.Fatalf("Incr %d = %d, %v", i, n, err)
				}
			}
			time.Sleep(300 * time.Millisecond) // the window ends
			if n, err := st.Incr(ctx, "w", time.Second); err != nil || n != 1 {
				t.Fatalf("Incr after the window = %d, %v", n, err)
			}
			now := time.UnixMilli(time.Now().UnixMilli())
			st.Fail(ctx, "f", now.Add(-time.Second), time.Minute)
			if f, err := st.Fail(ctx, "f", now, time.Minute); err != nil || f.N != 2 || !f.Last.Equal(now) {
				t.Fatalf("Fail = %+v, %v", f, err)
			}
			if f, err := st.Failures(ctx, "f"); err != nil || f.N != 2 || !f.Last.Equal(now) {
				t.Fatalf("Failures = %+v, %v", f, err)
			}
			st.Delete(ctx, "f")
			if f, err := st.Failures(ctx, "f"); err != nil || f.N != 0 {
				t.Fatalf("Failures after Delete = %+v, %v", f, err)
			}
			if ok, err := st.SetNX(ctx, "t", "1", time.Minute); !ok || err != nil {
				t.Fatalf("first SetNX = %v, %v", ok, err)
			}
			if ok, err := st.SetNX(ctx, "t", "1", time.Minute); ok || err != nil {
				t.Fatalf("second SetNX = %v, %v", ok, err)
			}
			st.Set(ctx, "v", "x y", time.Minute)
			if v, ok, err := st.Get(ctx, "v"); v != "x y" || !ok || err != nil {
				t.Fatalf("Get = %q %v %v", v, ok, err)
			}
			if _, ok, err := st.Get(ctx, "none"); ok || err != nil {
				t.Fatalf("Get none = %v %v", ok, err)
			}
		})
	}
}
