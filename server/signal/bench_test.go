package signal

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

const benchRooms = 1000

// benchWorld adds benchRooms enrolled students to a world.
func benchWorld(b *testing.B) (*world, []store.User) {
	w := newWorld(b)
	ctx := context.Background()
	students := make([]store.User, benchRooms)
	for i := range students {
		u, err := w.st.CreateUser(ctx, store.User{Email: fmt.Sprintf("b%d@example.test", i), Name: "b" + strconv.Itoa(i), Role: wire.RoleStudent, PasswordHash: "x"})
		if err != nil {
			b.Fatal(err)
		}
		w.auth.tokens["tok-"+u.Name] = Identity{UserID: u.ID, Role: wire.RoleStudent, Name: u.Name}
		w.enroll(b, w.lecture, u)
		students[i] = u
	}
	return w, students
}

// parallel runs f(i) for i < n on a few workers.
func parallel(n, workers int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		}()
	}
	wg.Wait()
}

// benchRoomsOn joins benchRooms rooms (students on sr, professors on pr),
// reports joins per second, then relays b.N rounds of one offer per room and
// reports the relay latency percentiles.
func benchRoomsOn(b *testing.B, w *world, students []store.User, sr, pr *replica) {
	agents := make([]*client, benchRooms)
	consoles := make([]*client, benchRooms)
	parallel(benchRooms, 16, func(i int) {
		agents[i] = dial(b, sr, students[i])
		consoles[i] = dial(b, pr, w.prof)
	})
	start := time.Now()
	parallel(benchRooms, 32, func(i int) { agents[i].joinOK(w.lecture, students[i], wire.RoleStudent) })
	parallel(benchRooms, 32, func(i int) {
		consoles[i].joinOK(w.lecture, students[i], wire.RoleProfessor)
		agents[i].expect(wire.SignalPeerJoined)
	})
	joinsPerSec := float64(2*benchRooms) / time.Since(start).Seconds()

	lat := make([]time.Duration, 0, b.N*benchRooms)
	var mu sync.Mutex
	b.ResetTimer()
	for range b.N {
		parallel(benchRooms, 32, func(i int) {
			t0 := time.Now()
			consoles[i].send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "v=0 bench"})
			agents[i].expect(wire.SignalOffer)
			d := time.Since(t0)
			mu.Lock()
			lat = append(lat, d)
			mu.Unlock()
		})
	}
	b.StopTimer()
	// One relay at a time: the latency without queueing behind other rooms.
	idle := make([]time.Duration, 0, benchRooms)
	for i := range benchRooms {
		t0 := time.Now()
		consoles[i].send(wire.SignalMessage{Type: wire.SignalOffer, SDP: "v=0 idle"})
		agents[i].expect(wire.SignalOffer)
		idle = append(idle, time.Since(t0))
	}
	pct := func(l []time.Duration, p float64) float64 {
		slices.Sort(l)
		return float64(l[int(p*float64(len(l)-1))].Microseconds())
	}
	b.ReportMetric(joinsPerSec, "joins/s")
	b.ReportMetric(pct(lat, 0.50), "p50-µs")
	b.ReportMetric(pct(lat, 0.99), "p99-µs")
	b.ReportMetric(pct(idle, 0.50), "idle-p50-µs")
	b.ReportMetric(pct(idle, 0.99), "idle-p99-µs")
	b.ReportMetric(0, "ns/op") // per-round time is not the interesting figure
}

func BenchmarkRooms1000(b *testing.B) {
	w, students := benchWorld(b)
	b.Run("memory-1-replica", func(b *testing.B) {
		r := startReplica(b, w, Config{Replica: "solo"}, NewMemoryLock(), NewMemoryBus())
		benchRoomsOn(b, w, students, r, r)
	})
	b.Run("redis-2-replicas", func(b *testing.B) {
		rs := testenv.StartRedis(b)
		prefix := "bench:" + strconv.FormatInt(time.Now().UnixNano(), 10) + ":"
		mk := func(name string) *replica {
			rdb := newRedisClient(b, rs)
			return startReplica(b, w, Config{Replica: name}, NewRedisLock(rdb, prefix), NewRedisBus(rdb, prefix, slog.New(slog.DiscardHandler)))
		}
		a, bb := mk("A"), mk("B")
		benchRoomsOn(b, w, students, a, bb)
	})
}
