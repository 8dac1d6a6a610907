package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// eachDatabase runs fn against a server on SQLite and on PostgreSQL.
func eachDatabase(t *testing.T, fn func(t *testing.T, in *servertest.Instance), opts ...servertest.Option) {
	t.Run("sqlite", func(t *testing.T) { fn(t, servertest.Start(t, opts...)) })
	t.Run("postgres", func(t *testing.T) {
		fn(t, servertest.Start(t, append([]servertest.Option{servertest.WithDatabase(testenv.PostgresURL(t))}, opts...)...))
	})
}

func TestRegisterValidation(t *testing.T) {
	in := servertest.Start(t)
	c := in.NewClient(t)
	cases := []struct {
		name   string
		body   any
		status int
		code   string
		field  string
	}{
		{"bad email", wire.RegisterRequest{Email: "not-an-email", Password: "Passw0rd!", Name: "A", Role: "student"}, 422, wire.CodeValidation, "email"},
		{"email without domain dot", wire.RegisterRequest{Email: "a@localhost", Password: "Passw0rd!", Name: "A", Role: "student"}, 422, wire.CodeValidation, "email"},
		{"weak password", wire.RegisterRequest{Email: "a@b.example", Password: "password", Name: "A", Role: "student"}, 422, wire.CodeValidation, "password"},
		{"short password", wire.RegisterRequest{Email: "a@b.example", Password: "P0!a", Name: "A", Role: "student"}, 422, wire.CodeValidation, "password"},
		{"no name", wire.RegisterRequest{Email: "a@b.example", Password: "Passw0rd!", Name: "  ", Role: "student"}, 422, wire.CodeValidation, "name"},
		{"long name", wire.RegisterRequest{Email: "a@b.example", Password: "Passw0rd!", Name: strings.Repeat("가", 101), Role: "student"}, 422, wire.CodeValidation, "name"},
		{"bad role", wire.RegisterRequest{Email: "a@b.example", Password: "Passw0rd!", Name: "A", Role: "admin"}, 422, wire.CodeValidation, "role"},
		{"unknown field", `{"email":"a@b.example","password":"Passw0rd!","name":"A","role":"student","admin":true}`, 400, wire.CodeBadRequest, "admin"},
		{"wrong type", `{"email":5}`, 400, wire.CodeBadRequest, "email"},
		{"malformed", `{"email":`, 400, wire.CodeBadRequest, ""},
		{"two values", `{} {}`, 400, wire.CodeBadRequest, ""},
		{"empty", ``, 400, wire.CodeBadRequest, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Do("POST", "/api/v1/auth/register", tc.body, nil)
			r.Code(t, tc.status, tc.code)
			if tc.field != "" {
				found := false
				for _, f := range r.Problem.Errors {
					found = found || f.Field == tc.field
				}
				if !found {
					t.Fatalf("problem does not name field %q: %s", tc.field, r.Body)
				}
			}
		})
	}
	big := `{"email":"` + strings.Repeat("a", 70<<10) + `"}`
	c.Do("POST", "/api/v1/auth/register", big, nil).Code(t, 413, wire.CodeTooLarge)
	req, _ := http.NewRequest("POST", in.URL+"/api/v1/auth/register", strings.NewReader("x"))
	req.Header.Set("Content-Type", "text/plain")
	c.Send(req, nil).Code(t, 415, wire.CodeUnsupportedMedia)
}

func TestAccounts(t *testing.T) {
	eachDatabase(t, func(t *testing.T, in *servertest.Instance) {
		c := in.NewClient(t)
		var u wire.User
		c.Must(201, "POST", "/api/v1/auth/register", wire.RegisterRequest{Email: "Kim@School.Example", Password: "Passw0rd!", Name: "김교수", Role: "professor"}, &u)
		if u.Email != "kim@school.example" || u.Role != wire.RoleProfessor || u.Plan != wire.PlanFree || u.ID == 0 {
			t.Fatalf("registered user = %+v", u)
		}
		c.Do("POST", "/api/v1/auth/register", wire.RegisterRequest{Email: "KIM@school.example", Password: "Passw0rd!", Name: "x", Role: "student"}, nil).
			Code(t, 409, wire.CodeEmailTaken)
		c.Do("POST", "/api/v1/auth/login", wire.LoginRequest{Email: "kim@school.example", Password: "wrong-Passw0rd!"}, nil).Code(t, 401, wire.CodeInvalidLogin)
		c.Do("POST", "/api/v1/auth/login", wire.LoginRequest{Email: "nobody@school.example", Password: "Passw0rd!"}, nil).Code(t, 401, wire.CodeInvalidLogin)
		c.Do("GET", "/api/v1/me", nil, nil).Code(t, 401, wire.CodeUnauthorized)

		var pair wire.TokenPair
		c.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: "KIM@school.example ", Password: "Passw0rd!"}, &pair)
		if pair.AccessToken == "" || pair.RefreshToken == "" || pair.TokenType != "Bearer" || pair.ExpiresIn <= 0 {
			t.Fatalf("token pair = %+v", pair)
		}
		c.Token = pair.AccessToken
		var me wire.User
		c.Must(200, "GET", "/api/v1/me", nil, &me)
		if me.ID != u.ID || me.Name != "김교수" {
			t.Fatalf("me = %+v", me)
		}
		c.Token = pair.AccessToken[:len(pair.AccessToken)-2] + "xx"
		c.Do("GET", "/api/v1/me", nil, nil).Code(t, 401, wire.CodeUnauthorized)

		// Rotation: the new refresh token works once; replaying the old one
		// revokes the whole family, including the new one.
		var next wire.TokenPair
		c.Must(200, "POST", "/api/v1/auth/refresh", wire.RefreshRequest{RefreshToken: pair.RefreshToken}, &next)
		if next.RefreshToken == pair.RefreshToken {
			t.Fatal("refresh token was not rotated")
		}
		c.Do("POST", "/api/v1/auth/refresh", wire.RefreshRequest{RefreshToken: pair.RefreshToken}, nil).Code(t, 401, wire.CodeTokenReused)
		c.Do("POST", "/api/v1/auth/refresh", wire.RefreshRequest{RefreshToken: next.RefreshToken}, nil).Code(t, 401, wire.CodeUnauthorized)
		c.Do("POST", "/api/v1/auth/refresh", wire.RefreshRequest{RefreshToken: "garbage"}, nil).Code(t, 401, wire.CodeUnauthorized)

		// Logout ends the family.
		c.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: "kim@school.example", Password: "Passw0rd!"}, &pair)
		c.Must(204, "POST", "/api/v1/auth/logout", wire.RefreshRequest{RefreshToken: pair.RefreshToken}, nil)
		c.Do("POST", "/api/v1/auth/refresh", wire.RefreshRequest{RefreshToken: pair.RefreshToken}, nil).Code(t, 401, wire.CodeUnauthorized)
		c.Must(204, "POST", "/api/v1/auth/logout", wire.RefreshRequest{RefreshToken: pair.RefreshToken}, nil)
	})
}

func TestCookieSession(t *testing.T) {
	in := servertest.Start(t)
	p := in.Register(t, wire.RoleProfessor, "Prof Cookie")
	c := in.NewClient(t)
	r := c.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: p.User.Email, Password: servertest.Password, Session: "cookie"}, nil)
	var session, csrf *http.Cookie
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		switch ck.Name {
		case "didacto_session":
			session = ck
		case "didacto_csrf":
			csrf = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || csrf == nil || csrf.HttpOnly {
		t.Fatalf("cookies: session=%+v csrf=%+v", session, csrf)
	}
	if strings.Contains(string(r.Body), session.Value) {
		t.Fatal("session secret leaked into the body")
	}
	var me wire.User
	c.Must(200, "GET", "/api/v1/me", nil, &me)
	if me.ID != p.User.ID {
		t.Fatalf("me = %+v", me)
	}
	// Unsafe method without the CSRF header is refused, with it allowed.
	c.Do("POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "x"}, nil).Code(t, 403, wire.CodeCSRF)
	c.CSRF = "forged"
	c.Do("POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "x"}, nil).Code(t, 403, wire.CodeCSRF)
	c.CSRF = csrf.Value
	c.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "x"}, nil)
	c.Must(204, "POST", "/api/v1/auth/logout", nil, nil)
	c.Do("GET", "/api/v1/me", nil, nil).Code(t, 401, wire.CodeUnauthorized)
}

func TestLectures(t *testing.T) {
	eachDatabase(t, func(t *testing.T, in *servertest.Instance) {
		prof := in.Register(t, wire.RoleProfessor, "Prof A")
		other := in.Register(t, wire.RoleProfessor, "Prof B")
		stud := in.Register(t, wire.RoleStudent, "Student S")

		stud.Do("POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "nope"}, nil).Code(t, 403, wire.CodeForbidden)
		prof.Do("POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: " "}, nil).Code(t, 422, wire.CodeValidation)
		prof.Do("POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: strings.Repeat("x", 201)}, nil).Code(t, 422, wire.CodeValidation)

		var l wire.Lecture
		r := prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: " 자료구조 "}, &l)
		if l.Title != "자료구조" || len(l.Code) != 6 || l.Active || l.OwnerID != prof.User.ID || r.Header.Get("Location") == "" {
			t.Fatalf("lecture = %+v", l)
		}
		path := fmt.Sprintf("/api/v1/lectures/%d", l.ID)
		// Another professor sees nothing: 404, never data.
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			other.Do(m, path, map[string]string{"title": "hijack"}, nil).Code(t, 404, wire.CodeNotFound)
		}
		other.Do("POST", path+"/activate", nil, nil).Code(t, 404, wire.CodeNotFound)
		other.Do("GET", path+"/enrollments", nil, nil).Code(t, 404, wire.CodeNotFound)
		other.Do("GET", path+"/students", nil, nil).Code(t, 404, wire.CodeNotFound)
		stud.Do("GET", path, nil, nil).Code(t, 404, wire.CodeNotFound) // not a member yet
		prof.Do("GET", "/api/v1/lectures/abc", nil, nil).Code(t, 404, wire.CodeNotFound)

		var got wire.Lecture
		prof.Must(200, "PATCH", path, map[string]string{"title": "Data Structures"}, &got)
		if got.Title != "Data Structures" {
			t.Fatalf("patched = %+v", got)
		}
		prof.Do("PATCH", path, map[string]any{"title": "x", "code": "AAAAAA"}, nil).Code(t, 400, wire.CodeBadRequest)

		for i := 0; i < 24; i++ {
			prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: fmt.Sprintf("L%02d", i)}, nil)
		}
		var page wire.Page[wire.Lecture]
		prof.Must(200, "GET", "/api/v1/lectures?page=2&size=10", nil, &page)
		if page.Total != 25 || len(page.Items) != 10 || page.Page != 2 || page.Size != 10 {
			t.Fatalf("page = total %d len %d page %d size %d", page.Total, len(page.Items), page.Page, page.Size)
		}
		prof.Must(200, "GET", "/api/v1/lectures?page=3&size=10", nil, &page)
		if len(page.Items) != 5 {
			t.Fatalf("last page has %d items", len(page.Items))
		}
		other.Must(200, "GET", "/api/v1/lectures", nil, &page)
		if page.Total != 0 {
			t.Fatalf("other professor sees %d lectures", page.Total)
		}
		for _, q := range []string{"page=0", "size=0", "size=101", "page=x"} {
			prof.Do("GET", "/api/v1/lectures?"+q, nil, nil).Code(t, 400, wire.CodeBadRequest)
		}

		prof.Must(204, "DELETE", path, nil, nil)
		prof.Do("GET", path, nil, nil).Code(t, 404, wire.CodeNotFound)
		stud.Do("POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, nil).Code(t, 404, wire.CodeNotFound)
	})
}

func TestEnrollmentRules(t *testing.T) {
	eachDatabase(t, func(t *testing.T, in *servertest.Instance) {
		prof := in.Register(t, wire.RoleProfessor, "Prof")
		other := in.Register(t, wire.RoleProfessor, "Other Prof")
		s1 := in.Register(t, wire.RoleStudent, "Student One")
		s2 := in.Register(t, wire.RoleStudent, "Student Two")
		var l wire.Lecture
		prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "OS"}, &l)
		lpath := fmt.Sprintf("/api/v1/lectures/%d", l.ID)
		join := func(c *servertest.Client) servertest.Response {
			// Codes may be typed lower-case with a dash.
			code := strings.ToLower(l.Code[:3] + "-" + l.Code[3:])
			return c.Do("POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: code}, nil)
		}

		prof.Do("POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, nil).Code(t, 403, wire.CodeForbidden)
		s1.Do("POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: "ZZZZZZ"}, nil).Code(t, 404, wire.CodeNotFound)
		s1.Do("POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: "AB"}, nil).Code(t, 422, wire.CodeValidation)

		var e1 wire.Enrollment
		r := join(s1)
		if r.Status != 201 {
			t.Fatalf("join: %d %s", r.Status, r.Body)
		}
		_ = jsonInto(t, r.Body, &e1)
		if e1.Status != wire.EnrollmentWaiting || e1.LectureID != l.ID || e1.StudentID != s1.User.ID {
			t.Fatalf("enrollment = %+v", e1)
		}
		join(s1).Code(t, 409, wire.CodeAlreadyWaiting)
		epath := fmt.Sprintf("/api/v1/enrollments/%d", e1.ID)

		// Only the student cancels their own; only the owner decides.
		s2.Do("DELETE", epath, nil, nil).Code(t, 404, wire.CodeNotFound)
		other.Do("POST", epath+"/accept", nil, nil).Code(t, 404, wire.CodeNotFound)
		s1.Do("POST", epath+"/accept", nil, nil).Code(t, 403, wire.CodeForbidden)
		var e wire.Enrollment
		s1.Must(200, "DELETE", epath, nil, &e)
		if e.Status != wire.EnrollmentCancelled {
			t.Fatalf("cancelled = %+v", e)
		}
		s1.Do("DELETE", epath, nil, nil).Code(t, 409, wire.CodeInvalidState)
		prof.Do("POST", epath+"/accept", nil, nil).Code(t, 409, wire.CodeInvalidState)

		// Re-request after CANCELLED; reject; re-request after REJECTED.
		var e2 wire.Enrollment
		_ = jsonInto(t, mustStatus(t, join(s1), 201).Body, &e2)
		prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/reject", e2.ID), nil, &e)
		if e.Status != wire.EnrollmentRejected {
			t.Fatalf("rejected = %+v", e)
		}
		// At once is too soon (a professor's queue is not a spam target);
		// after the cooldown it is heard.
		join(s1).Code(t, 429, wire.CodeRateLimited)
		var e3 wire.Enrollment
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			r := join(s1)
			if r.Status == 201 {
				_ = jsonInto(t, r.Body, &e3)
				break
			}
			if r.Status != 429 || time.Now().After(deadline) {
				t.Fatalf("re-request after the cooldown: %d %s", r.Status, r.Body)
			}
		}

		var waiting wire.Page[wire.Enrollment]
		prof.Must(200, "GET", lpath+"/enrollments?status=waiting", nil, &waiting)
		if waiting.Total != 1 || waiting.Items[0].ID != e3.ID || waiting.Items[0].StudentName != "Student One" {
			t.Fatalf("waiting = %+v", waiting)
		}
		prof.Do("GET", lpath+"/enrollments?status=bogus", nil, nil).Code(t, 400, wire.CodeBadRequest)
		var all wire.Page[wire.Enrollment]
		prof.Must(200, "GET", lpath+"/enrollments", nil, &all)
		if all.Total != 3 {
			t.Fatalf("history has %d requests, want 3", all.Total)
		}
		var mine wire.Page[wire.Enrollment]
		s1.Must(200, "GET", "/api/v1/enrollments?status=waiting", nil, &mine)
		if mine.Total != 1 || mine.Items[0].LectureTitle != "OS" {
			t.Fatalf("my requests = %+v", mine)
		}

		// Accept makes a member; joining again is 409; the student sees it.
		prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e3.ID), nil, &e)
		if e.Status != wire.EnrollmentAccepted {
			t.Fatalf("accepted = %+v", e)
		}
		prof.Do("POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e3.ID), nil, nil).Code(t, 409, wire.CodeInvalidState)
		join(s1).Code(t, 409, wire.CodeAlreadyMember)
		var ls wire.Page[wire.Lecture]
		s1.Must(200, "GET", "/api/v1/lectures", nil, &ls)
		if ls.Total != 1 || ls.Items[0].ID != l.ID {
			t.Fatalf("student's lectures = %+v", ls)
		}
		s1.Must(200, "GET", lpath, nil, nil)
		var members wire.Page[wire.Member]
		prof.Must(200, "GET", lpath+"/students", nil, &members)
		if members.Total != 1 || members.Items[0].StudentID != s1.User.ID {
			t.Fatalf("members = %+v", members)
		}

		// The professor removes; the student may come back and then leave.
		prof.Must(204, "DELETE", fmt.Sprintf("%s/students/%d", lpath, s1.User.ID), nil, nil)
		prof.Do("DELETE", fmt.Sprintf("%s/students/%d", lpath, s1.User.ID), nil, nil).Code(t, 404, wire.CodeNotMember)
		s1.Do("GET", lpath, nil, nil).Code(t, 404, wire.CodeNotFound)
		var e4 wire.Enrollment
		_ = jsonInto(t, mustStatus(t, join(s1), 201).Body, &e4)
		prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e4.ID), nil, nil)
		s1.Must(204, "DELETE", lpath+"/membership", nil, nil)
		s1.Do("DELETE", lpath+"/membership", nil, nil).Code(t, 404, wire.CodeNotMember)
		s2.Do("DELETE", lpath+"/membership", nil, nil).Code(t, 404, wire.CodeNotMember)
	}, func(c *config.Config) { c.JoinCooldown = 2 * time.Second })
}

// TestActivationLimitRace fires 100 concurrent activations of 100 lectures
// of one free professor: exactly 3 may succeed.
func TestActivationLimitRace(t *testing.T) {
	eachDatabase(t, func(t *testing.T, in *servertest.Instance) {
		prof := in.Register(t, wire.RoleProfessor, "Busy Prof")
		ids := make([]int64, 100)
		for i := range ids {
			var l wire.Lecture
			prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: fmt.Sprintf("L%d", i)}, &l)
			ids[i] = l.ID
		}
		var wg sync.WaitGroup
		statuses := make([]int, len(ids))
		codes := make([]string, len(ids))
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := prof.Do("POST", fmt.Sprintf("/api/v1/lectures/%d/activate", id), nil, nil)
				statuses[i] = r.Status
				if r.Problem != nil {
					codes[i] = r.Problem.Code
				}
			}()
		}
		wg.Wait()
		ok, limited := 0, 0
		for i, s := range statuses {
			switch {
			case s == 200:
				ok++
			case s == 409 && codes[i] == wire.CodePlanLimit:
				limited++
			default:
				t.Errorf("activation %d: status %d code %q", i, s, codes[i])
			}
		}
		if ok != 3 || limited != 97 {
			t.Fatalf("%d activations succeeded and %d hit the limit, want 3 and 97", ok, limited)
		}
		var page wire.Page[wire.Lecture]
		prof.Must(200, "GET", "/api/v1/lectures?size=100", nil, &page)
		active := 0
		for _, l := range page.Items {
			if l.Active {
				active++
			}
		}
		if active != 3 {
			t.Fatalf("%d lectures active, want 3", active)
		}
		// Deactivating frees a slot; activating an active one is a no-op.
		// (Which lectures won the race varies: take two that did not.)
		var idle []int64
		for _, l := range page.Items {
			if !l.Active {
				idle = append(idle, l.ID)
			}
		}
		for _, l := range page.Items {
			if l.Active {
				prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
				prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/deactivate", l.ID), nil, nil)
				break
			}
		}
		prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", idle[0]), nil, nil)
		prof.Do("POST", fmt.Sprintf("/api/v1/lectures/%d/activate", idle[1]), nil, nil).Code(t, 409, wire.CodePlanLimit)
	})
}

// TestPaymentsOffWithoutKeys: with no PortOne keys nothing can be bought and
// nothing fakes a success.
func TestPaymentsOffWithoutKeys(t *testing.T) {
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Pay")
	var plans wire.PlanList
	prof.Must(200, "GET", "/api/v1/plans", nil, &plans)
	if plans.PaymentsEnabled || len(plans.Plans) == 0 {
		t.Fatalf("plans = %+v", plans)
	}
	prof.Do("POST", "/api/v1/orders", wire.CreateOrderRequest{Plan: plans.Plans[0].ID}, nil).Code(t, 503, wire.CodePaymentsDisabled)
	prof.Do("POST", "/api/v1/payments/complete", wire.CompletePaymentRequest{PaymentID: "x"}, nil).Code(t, 503, wire.CodePaymentsDisabled)
	var me wire.User
	prof.Must(200, "GET", "/api/v1/me", nil, &me)
	if me.Plan != wire.PlanFree {
		t.Fatalf("plan = %q", me.Plan)
	}
}
