package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/api"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

type sseEvent struct{ name, data string }

// openStream reads a Server-Sent Events stream as c until the test ends.
func openStream(t *testing.T, c *servertest.Client, path string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", c.Base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 64)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev.name != "":
				out <- ev
				ev = sseEvent{}
			}
		}
	}()
	return out
}

func nextEnrollment(t *testing.T, ch <-chan sseEvent) wire.Enrollment {
	t.Helper()
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatal("the stream closed")
			}
			if ev.name != "enrollment" {
				continue
			}
			var e wire.EnrollmentEvent
			if err := json.Unmarshal([]byte(ev.data), &e); err != nil {
				t.Fatalf("event %q: %v", ev.data, err)
			}
			return e.Enrollment
		case <-time.After(3 * time.Second):
			t.Fatal("no enrollment event within 3 s")
		}
	}
}

func waitHello(t *testing.T, ch <-chan sseEvent) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok || ev.name != "hello" {
			t.Fatalf("first event %q, want hello", ev.name)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no hello")
	}
}

// TestJoinRequestsStreamAcrossReplicas: two replicas share PostgreSQL and
// Redis; a console on replica A hears a join request filed on replica B,
// its cancellation, and a decision made on B, each within a second.
func TestJoinRequestsStreamAcrossReplicas(t *testing.T) {
	db, rdb := testenv.PostgresURL(t), testenv.StartRedis(t)
	a := servertest.Start(t, servertest.WithDatabase(db), servertest.WithRedis(rdb.URL()))
	b := servertest.Start(t, servertest.WithDatabase(db), servertest.WithRedis(rdb.URL()))
	profA := a.Register(t, wire.RoleProfessor, "Prof Stream")
	var l wire.Lecture
	profA.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Live"}, &l)
	events := openStream(t, profA, fmt.Sprintf("/api/v1/lectures/%d/enrollments/stream", l.ID))
	waitHello(t, events)

	profB := b.NewClient(t)
	profB.Token = profA.Token
	stud := b.Register(t, wire.RoleStudent, "Kim Stream")
	var e wire.Enrollment
	start := time.Now()
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	got := nextEnrollment(t, events)
	if got.ID != e.ID || got.Status != wire.EnrollmentWaiting || got.StudentName != "Kim Stream" {
		t.Fatalf("event = %+v", got)
	}
	d := time.Since(start)
	t.Logf("join request on replica B → event on replica A's stream: %v (incl. the POST)", d)
	if d > time.Second {
		t.Errorf("join request took %v to reach the other replica's console", d)
	}
	stud.Must(200, "DELETE", fmt.Sprintf("/api/v1/enrollments/%d", e.ID), nil, nil)
	if got := nextEnrollment(t, events); got.ID != e.ID || got.Status != wire.EnrollmentCancelled {
		t.Fatalf("cancel event = %+v", got)
	}
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	nextEnrollment(t, events)
	profB.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	if got := nextEnrollment(t, events); got.ID != e.ID || got.Status != wire.EnrollmentAccepted {
		t.Fatalf("accept event = %+v", got)
	}

	// Another professor cannot watch the lecture; a student is refused.
	other := a.Register(t, wire.RoleProfessor, "Other")
	other.Do("GET", fmt.Sprintf("/api/v1/lectures/%d/enrollments/stream", l.ID), nil, nil).Code(t, 404, wire.CodeNotFound)
	stud.Do("GET", fmt.Sprintf("/api/v1/lectures/%d/enrollments/stream", l.ID), nil, nil).Code(t, 403, wire.CodeForbidden)
}

func TestBulkDecisions(t *testing.T) {
	eachDatabase(t, func(t *testing.T, in *servertest.Instance) {
		prof := in.Register(t, wire.RoleProfessor, "Prof Bulk")
		other := in.Register(t, wire.RoleProfessor, "Prof Other")
		var l, ol wire.Lecture
		prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Bulk"}, &l)
		other.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Not yours"}, &ol)
		lp := fmt.Sprintf("/api/v1/lectures/%d", l.ID)
		events := openStream(t, prof, lp+"/enrollments/stream")
		waitHello(t, events)
		var ids []int64
		var studs []*servertest.Client
		for i := range 5 {
			s := in.Register(t, wire.RoleStudent, fmt.Sprintf("Student %d", i))
			var e wire.Enrollment
			s.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
			nextEnrollment(t, events)
			ids, studs = append(ids, e.ID), append(studs, s)
		}
		stranger := in.Register(t, wire.RoleStudent, "Stranger")
		var foreign wire.Enrollment
		stranger.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: ol.Code}, &foreign)

		// Bad bodies lose nothing.
		prof.Do("POST", lp+"/enrollments/accept", wire.BulkDecisionRequest{}, nil).Code(t, 422, wire.CodeValidation)
		prof.Do("POST", lp+"/enrollments/accept", wire.BulkDecisionRequest{All: true, IDs: ids[:1]}, nil).Code(t, 422, wire.CodeValidation)
		prof.Do("POST", lp+"/enrollments/reject", wire.BulkDecisionRequest{All: true}, nil).Code(t, 422, wire.CodeValidation)
		prof.Do("POST", lp+"/enrollments/accept", `{"ids":"all"}`, nil).Code(t, 400, wire.CodeBadRequest)
		other.Do("POST", lp+"/enrollments/accept", wire.BulkDecisionRequest{All: true}, nil).Code(t, 404, wire.CodeNotFound)
		studs[0].Do("POST", lp+"/enrollments/accept", wire.BulkDecisionRequest{All: true}, nil).Code(t, 403, wire.CodeForbidden)

		// Reject two by id; one id repeated, one of another lecture, one unknown.
		var res wire.BulkDecisionResult
		prof.Must(200, "POST", lp+"/enrollments/reject", wire.BulkDecisionRequest{IDs: []int64{ids[0], ids[1], ids[0], foreign.ID, 999999}}, &res)
		if res.Succeeded != 2 || res.Failed != 2 || len(res.Results) != 4 {
			t.Fatalf("reject result = %+v", res)
		}
		for _, it := range res.Results[2:] {
			if it.OK || it.Code != wire.CodeNotFound {
				t.Fatalf("foreign/unknown id = %+v", it)
			}
		}
		// Accept the rejected one again (no longer waiting) and one waiting.
		prof.Must(200, "POST", lp+"/enrollments/accept", wire.BulkDecisionRequest{IDs: []int64{ids[0], ids[2]}}, &res)
		if res.Succeeded != 1 || res.Failed != 1 || res.Results[0].Code != wire.CodeInvalidState || !res.Results[1].OK ||
			res.Results[1].Enrollment.Status != wire.EnrollmentAccepted {
			t.Fatalf("accept result = %+v", res)
		}
		// Accept all: the remaining two; the other lecture's request stays waiting.
		prof.Must(200, "POST", lp+"/enrollments/accept", wire.BulkDecisionRequest{All: true}, &res)
		if res.Succeeded != 2 || res.Failed != 0 {
			t.Fatalf("accept all = %+v", res)
		}
		var pg wire.Page[wire.Enrollment]
		stranger.Must(200, "GET", "/api/v1/enrollments?status=waiting", nil, &pg)
		if pg.Total != 1 || pg.Items[0].ID != foreign.ID {
			t.Fatalf("foreign request touched: %+v", pg)
		}
		var members wire.Page[wire.Member]
		prof.Must(200, "GET", lp+"/students", nil, &members)
		if members.Total != 3 {
			t.Fatalf("%d members, want 3", members.Total)
		}
		// Every decision is in the audit log, with who decided about whom.
		var audit wire.Page[wire.AuditRecord]
		prof.Must(200, "GET", lp+"/audit?size=100", nil, &audit)
		count := map[string]int{}
		for _, a := range audit.Items {
			if a.ActorID != prof.User.ID || a.SubjectID == 0 || a.Replica != in.Server.Replica() {
				t.Fatalf("audit entry %+v", a)
			}
			count[a.Action]++
		}
		if count["enrollment_accept"] != 3 || count["enrollment_reject"] != 2 {
			t.Fatalf("audit actions = %v", count)
		}
		// The console heard every decision: 2 rejects, 1 accept, 2 accepts.
		for range 5 {
			nextEnrollment(t, events)
		}
	})
}

// TestJoinRequestStreamEndsWithTheSignIn: a console signed out elsewhere
// stops hearing about the lecture within the stream's recheck, and too many
// streams of one professor are refused.
func TestJoinRequestStreamEndsWithTheSignIn(t *testing.T) {
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Leaves")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Ends"}, &l)
	path := fmt.Sprintf("/api/v1/lectures/%d/enrollments/stream", l.ID)

	c := in.NewClient(t)
	var pair wire.TokenPair
	c.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: prof.User.Email, Password: servertest.Password}, &pair)
	c.Token = pair.AccessToken
	events := openStream(t, c, path)
	waitHello(t, events)
	c.Must(204, "POST", "/api/v1/auth/logout", wire.RefreshRequest{RefreshToken: pair.RefreshToken}, nil)
	deadline := time.After(10 * time.Second)
	closed := false
	for !closed {
		select {
		case _, ok := <-events:
			closed = !ok
		case <-deadline:
			t.Fatal("the stream outlived its sign-in by 10 s")
		}
	}

	for range api.MaxEnrollmentStreams {
		openStream(t, prof, path)
	}
	prof.Do("GET", path, nil, nil).Code(t, 429, wire.CodeRateLimited)
}
