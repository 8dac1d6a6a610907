package server_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/didacto/didacto/server/openapi"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestEveryProtectedRouteChecksWho walks every documented operation that
// needs an account: without credentials it is 401; with the wrong role it is
// 403; and a professor who does not own the lecture gets 403 or 404 on it,
// never a success (which would be someone else's data or change).
func TestEveryProtectedRouteChecksWho(t *testing.T) {
	in := servertest.Start(t)
	owner := in.Register(t, wire.RoleProfessor, "Owner Prof")
	other := in.Register(t, wire.RoleProfessor, "Other Prof")
	stud := in.Register(t, wire.RoleStudent, "Member Student")
	var l wire.Lecture
	owner.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Owned"}, &l)
	owner.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
	var e wire.Enrollment
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)

	path := func(p string) string {
		r := strings.NewReplacer("{studentId}", strconv.FormatInt(stud.User.ID, 10))
		p = r.Replace(p)
		if strings.HasPrefix(p, "/api/v1/enrollments/") {
			return strings.Replace(p, "{id}", strconv.FormatInt(e.ID, 10), 1)
		}
		return strings.Replace(p, "{id}", strconv.FormatInt(l.ID, 10), 1)
	}
	do := func(c *servertest.Client, op openapi.Op) int {
		t.Helper()
		var body io.Reader = bytes.NewReader([]byte("{}"))
		req, err := http.NewRequest(op.Method, in.URL+path(op.Path), body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if op.RequestType != "" {
			req.Header.Set("Content-Type", op.RequestType)
		}
		if c != nil {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", op.Method, op.Path, err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	checked := 0
	for _, op := range in.Server.Operations() {
		if op.Auth == "" {
			continue
		}
		checked++
		name := op.Method + " " + op.Path
		if got := do(nil, op); got != http.StatusUnauthorized {
			t.Errorf("%s without credentials: %d, want 401", name, got)
		}
		switch op.Auth {
		case "professor":
			if got := do(stud, op); got != http.StatusForbidden {
				t.Errorf("%s as a student: %d, want 403", name, got)
			}
			if strings.Contains(op.Path, "{id}") { // the owner's lecture or request
				if got := do(other, op); got != http.StatusForbidden && got != http.StatusNotFound {
					t.Errorf("%s as another professor: %d, want 403 or 404", name, got)
				}
			}
		case "student":
			if got := do(owner, op); got != http.StatusForbidden {
				t.Errorf("%s as a professor: %d, want 403", name, got)
			}
		}
	}
	if checked < 25 {
		t.Fatalf("only %d protected operations checked", checked)
	}
	// Nothing the other professor tried changed the owner's lecture.
	var after wire.Lecture
	owner.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d", l.ID), nil, &after)
	if after.Title != "Owned" || !after.Active {
		t.Fatalf("the lecture changed: %+v", after)
	}
	var waiting wire.Page[wire.Enrollment]
	owner.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/enrollments?status=waiting", l.ID), nil, &waiting)
	if waiting.Total != 1 {
		t.Fatalf("the waiting request was decided by someone: %+v", waiting)
	}
}
