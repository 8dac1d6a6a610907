package classroom_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// BenchmarkLockHundredAgents: 100 agents on their channels, each
// acknowledging at once; one op is a lock of all then an unlock of all,
// timed from the professor's POST to each student's "applied" on the
// console's classroom stream. Reports p50 and p99 of that latency.
func BenchmarkLockHundredAgents(b *testing.B) {
	in := servertest.Start(b)
	c := in.ActiveClass(b, "Prof Bench", "Student 0", "Bench")
	path := fmt.Sprintf("/api/v1/lectures/%d", c.Lecture.ID)
	students := []*servertest.Client{c.Student}
	for i := 1; i < 100; i++ {
		s := in.Register(b, wire.RoleStudent, "Student "+strconv.Itoa(i))
		var e wire.Enrollment
		s.Must(http.StatusCreated, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: c.Lecture.Code}, &e)
		c.Prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
		students = append(students, s)
	}
	for _, s := range students {
		a := openAgentB(b, in, s)
		go a.ackEverything(c.Lecture.ID)
	}
	st := openStreamB(b, in, c.Prof, path)
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, kind := range []string{wire.CommandLock, wire.CommandUnlock} {
			start := time.Now()
			var cmd wire.Command
			c.Prof.Must(http.StatusCreated, "POST", path+"/commands", wire.CommandRequest{Kind: kind}, &cmd)
			seen := map[int64]bool{}
			deadline := time.After(30 * time.Second)
			for len(seen) < len(students) {
				select {
				case ev := <-st.events:
					if r := ev.Result; r != nil && r.CommandID == cmd.ID && r.State == wire.ResultApplied && !seen[r.StudentID] {
						seen[r.StudentID] = true
						lat = append(lat, time.Since(start))
					}
				case <-deadline:
					b.Fatalf("%s: %d of %d applied in 30 s", kind, len(seen), len(students))
				}
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
