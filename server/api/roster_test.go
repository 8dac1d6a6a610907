package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// postCSV sends a class list as c.
func postCSV(c *servertest.Client, path, body string) servertest.Response {
	req, _ := http.NewRequest("POST", c.Base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	return c.Send(req, nil)
}

func memberCount(t *testing.T, c *servertest.Client, lectureID int64) int {
	t.Helper()
	var p wire.Page[wire.Member]
	c.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/students?size=1", lectureID), nil, &p)
	return p.Total
}

func TestAddStudentByEmail(t *testing.T) {
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Roster")
	other := in.Register(t, wire.RoleProfessor, "Prof Elsewhere")
	stud := in.Register(t, wire.RoleStudent, "Kim Roster")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Roster"}, &l)
	path := fmt.Sprintf("/api/v1/lectures/%d/students", l.ID)
	var waiting wire.Enrollment
	events := openStream(t, prof, fmt.Sprintf("/api/v1/lectures/%d/enrollments/stream", l.ID))
	waitHello(t, events)
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &waiting)
	nextEnrollment(t, events)

	prof.Do("POST", path, wire.AddStudentRequest{Email: "not an email"}, nil).Code(t, 422, wire.CodeValidation)
	r := prof.Do("POST", path, wire.AddStudentRequest{Email: "nobody@school.example"}, nil)
	r.Code(t, 422, wire.CodeValidation)
	if !strings.Contains(string(r.Body), "creates one in the DIDACTO app") {
		t.Fatalf("unknown e-mail answer does not say what to do: %s", r.Body)
	}
	prof.Do("POST", path, wire.AddStudentRequest{Email: other.User.Email}, nil).Code(t, 422, wire.CodeValidation)
	prof.Do("POST", path, wire.AddStudentRequest{Email: stud.User.Email, StudentNumber: strings.Repeat("9", 65)}, nil).Code(t, 422, wire.CodeValidation)
	other.Do("POST", path, wire.AddStudentRequest{Email: stud.User.Email}, nil).Code(t, 404, wire.CodeNotFound)
	stud.Do("POST", path, wire.AddStudentRequest{Email: stud.User.Email}, nil).Code(t, 403, wire.CodeForbidden)
	if n := memberCount(t, prof, l.ID); n != 0 {
		t.Fatalf("refused adds left %d members", n)
	}

	var m wire.Member
	prof.Must(201, "POST", path, wire.AddStudentRequest{Email: "  " + strings.ToUpper(stud.User.Email), StudentNumber: "2026-0001"}, &m)
	if m.StudentID != stud.User.ID || m.StudentNumber != "2026-0001" || m.Name != "Kim Roster" {
		t.Fatalf("member = %+v", m)
	}
	// The console hears that the student's waiting request is settled.
	if e := nextEnrollment(t, events); e.ID != waiting.ID || e.Status != wire.EnrollmentAccepted {
		t.Fatalf("event after adding = %+v", e)
	}
	prof.Must(200, "POST", path, wire.AddStudentRequest{Email: stud.User.Email}, &m)
	if m.StudentNumber != "2026-0001" {
		t.Fatalf("re-adding without a number lost it: %+v", m)
	}
	var pg wire.Page[wire.Enrollment]
	stud.Must(200, "GET", "/api/v1/enrollments?status=waiting", nil, &pg)
	if pg.Total != 0 {
		t.Fatalf("the student's waiting request stayed waiting: %+v", pg)
	}
}

func TestRosterImport(t *testing.T) {
	eachDatabase(t, func(t *testing.T, in *servertest.Instance) {
		prof := in.Register(t, wire.RoleProfessor, "Prof Import")
		var l wire.Lecture
		prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Import"}, &l)
		path := fmt.Sprintf("/api/v1/lectures/%d/roster", l.ID)
		a := in.Register(t, wire.RoleStudent, "Student A")
		b := in.Register(t, wire.RoleStudent, "Student B")
		c := in.Register(t, wire.RoleStudent, "학생 C")

		// Every kind of bad line at once: each is reported with its line,
		// and nothing is applied although lines 2 and 3 are good.
		bad := strings.Join([]string{
			"email,name,student number",                    // 1 header
			a.User.Email + ",Student A,2026001",            // 2 ok
			b.User.Email + ",Student B,2026002",            // 3 ok
			"not-an-email,Someone,1",                       // 4 malformed e-mail
			",No Mail,2",                                   // 5 missing e-mail
			strings.ToUpper(a.User.Email) + ",Again,3",     // 6 duplicate of 2
			"ghost@school.example,Ghost,4",                 // 7 unknown e-mail
			prof.User.Email + ",Prof,5",                    // 8 a professor
			c.User.Email + ",C," + strings.Repeat("7", 65), // 9 number too long
		}, "\n") + "\n"
		r := postCSV(prof, path, bad)
		r.Code(t, 422, wire.CodeRosterInvalid)
		want := map[int]string{4: "not a valid e-mail", 5: "e-mail is missing", 6: "repeats the e-mail of line 2",
			7: "no student account", 8: "professor account", 9: "student number is longer"}
		got := map[int]string{}
		for _, row := range r.Problem.Rows {
			got[row.Line] = row.Message
		}
		for line, frag := range want {
			if !strings.Contains(got[line], frag) {
				t.Errorf("line %d: %q, want it to contain %q (all: %+v)", line, got[line], frag, r.Problem.Rows)
			}
		}
		if len(r.Problem.Rows) != len(want) || r.Problem.Rows[0].Line != 4 {
			t.Fatalf("rows = %+v", r.Problem.Rows)
		}
		if memberCount(t, prof, l.ID) != 0 {
			t.Fatal("a refused import was half-applied")
		}
		clean := strings.Join([]string{"email,name,student number", a.User.Email + ",Student A,2026001",
			"ghost@school.example,Ghost,4", b.User.Email + ",Student B,2026002"}, "\r\n")
		r = postCSV(prof, path, clean)
		r.Code(t, 422, wire.CodeRosterInvalid)
		if len(r.Problem.Rows) != 1 || r.Problem.Rows[0].Line != 3 || !strings.Contains(r.Problem.Rows[0].Message, "no student account") {
			t.Fatalf("unknown e-mail rows = %+v", r.Problem.Rows)
		}
		if memberCount(t, prof, l.ID) != 0 {
			t.Fatal("an import with an unknown e-mail was half-applied")
		}
		// Broken quoting stops the reading at that line.
		r = postCSV(prof, path, a.User.Email+",\"Student A,1\n"+b.User.Email+",B,2\n")
		r.Code(t, 422, wire.CodeRosterInvalid)
		if !strings.Contains(r.Problem.Rows[0].Message, "not valid CSV") {
			t.Fatalf("broken quote = %+v", r.Problem.Rows)
		}
		postCSV(prof, path, "a,b,c,d\n"+a.User.Email+",x,1,extra\n").Code(t, 422, wire.CodeRosterInvalid)
		postCSV(prof, path, "\n\n").Code(t, 422, wire.CodeValidation)
		postCSV(prof, path, "\xff\xfe"+a.User.Email).Code(t, 422, wire.CodeRosterInvalid)

		// A spreadsheet export: BOM, Korean header in another order, blank line.
		ok := "\uFEFF학번,이름,이메일\n2026001,Student A," + a.User.Email + "\n\n2026003,학생 C," + c.User.Email + "\n,,\n , ,\n"
		var res wire.RosterImportResult
		if r := postCSV(prof, path, ok); r.Status != 200 {
			t.Fatalf("import: %d %s", r.Status, r.Body)
		} else {
			_ = jsonInto(t, r.Body, &res)
		}
		if res.Rows != 2 || res.Added != 2 || res.Already != 0 {
			t.Fatalf("result = %+v", res)
		}
		// Importing again (plus one more) adds only the new one.
		again := a.User.Email + ",Student A,2026001\n" + b.User.Email + ",Student B,2026002\n" + c.User.Email + ",C,\n"
		r = postCSV(prof, path, again)
		_ = jsonInto(t, mustStatus(t, r, 200).Body, &res)
		if res.Added != 1 || res.Already != 2 {
			t.Fatalf("re-import = %+v", res)
		}
		var members wire.Page[wire.Member]
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/students", l.ID), nil, &members)
		for _, m := range members.Items {
			if m.StudentID == c.User.ID && m.StudentNumber != "2026003" {
				t.Fatalf("an empty number replaced the imported one: %+v", m)
			}
		}

		// Wrong type, too large, not the owner.
		req, _ := http.NewRequest("POST", prof.Base+path, strings.NewReader(a.User.Email))
		req.Header.Set("Content-Type", "application/json")
		prof.Send(req, nil).Code(t, 415, wire.CodeUnsupportedMedia)
		postCSV(prof, path, strings.Repeat("x", 2<<20+1)).Code(t, 413, wire.CodeTooLarge)
		stranger := in.Register(t, wire.RoleProfessor, "Prof Stranger")
		postCSV(stranger, path, again).Code(t, 404, wire.CodeNotFound)

		var audit wire.Page[wire.AuditRecord]
		prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/audit", l.ID), nil, &audit)
		imports := 0
		for _, e := range audit.Items {
			if e.Action == "roster_import" {
				imports++
			}
		}
		if imports != 2 {
			t.Fatalf("%d roster_import audit entries, want 2", imports)
		}
	})
}

// TestRosterImportLarge imports a 5,000-row class list: once with one bad
// line at the end (nothing applied), then whole.
func TestRosterImportLarge(t *testing.T) {
	eachDatabase(t, testRosterImportLarge)
}

func testRosterImportLarge(t *testing.T, in *servertest.Instance) {
	prof := in.Register(t, wire.RoleProfessor, "Prof Big")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Big"}, &l)
	st := in.Server.Store() // 5,000 argon2 hashes through /register would take minutes
	const n = 5000
	var sb strings.Builder
	sb.WriteString("email,name,student number\n")
	start := time.Now()
	for i := range n {
		email := fmt.Sprintf("big%04d@school.example", i)
		if _, err := st.CreateUser(context.Background(), store.User{Email: email, Name: fmt.Sprintf("Student %04d", i), Role: wire.RoleStudent, PasswordHash: "x"}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%s,Student %04d,N%05d\n", email, i, i)
	}
	t.Logf("registered %d students in %v", n, time.Since(start))
	path := fmt.Sprintf("/api/v1/lectures/%d/roster", l.ID)
	r := postCSV(prof, path, sb.String()+"big0000@school.example,Duplicate,1\n")
	r.Code(t, 422, wire.CodeRosterInvalid)
	if len(r.Problem.Rows) != 1 || r.Problem.Rows[0].Line != n+2 {
		t.Fatalf("rows = %+v", r.Problem.Rows)
	}
	if memberCount(t, prof, l.ID) != 0 {
		t.Fatal("half-applied")
	}
	start = time.Now()
	var res wire.RosterImportResult
	r = postCSV(prof, path, sb.String())
	_ = jsonInto(t, mustStatus(t, r, 200).Body, &res)
	t.Logf("imported %d rows in %v", n, time.Since(start))
	if res.Added != n || memberCount(t, prof, l.ID) != n {
		t.Fatalf("result %+v", res)
	}
}

func TestProfessorResetCode(t *testing.T) {
	in := servertest.Start(t)
	class := in.ActiveClass(t, "Prof Reset", "Lee Forgot", "Reset")
	other := in.Register(t, wire.RoleProfessor, "Prof Other")
	outsider := in.Register(t, wire.RoleStudent, "Not A Member")
	base := fmt.Sprintf("/api/v1/lectures/%d/students", class.Lecture.ID)
	other.Do("POST", fmt.Sprintf("%s/%d/reset-code", base, class.Student.User.ID), nil, nil).Code(t, 404, wire.CodeNotFound)
	class.Prof.Do("POST", fmt.Sprintf("%s/%d/reset-code", base, outsider.User.ID), nil, nil).Code(t, 404, wire.CodeNotMember)
	class.Student.Do("POST", fmt.Sprintf("%s/%d/reset-code", base, class.Student.User.ID), nil, nil).Code(t, 403, wire.CodeForbidden)

	var rc wire.ResetCode
	class.Prof.Must(201, "POST", fmt.Sprintf("%s/%d/reset-code", base, class.Student.User.ID), nil, &rc)
	if len(rc.Code) != 9 || rc.Code[4] != '-' || time.Until(rc.ExpiresAt) < 20*time.Minute {
		t.Fatalf("reset code = %+v", rc)
	}
	anon := in.NewClient(t)
	email := class.Student.User.Email
	reset := func(code, pw string) servertest.Response {
		return anon.Do("POST", "/api/v1/auth/reset-password", wire.ResetPasswordRequest{Email: email, Code: code, NewPassword: pw}, nil)
	}
	reset(rc.Code, "short").Code(t, 422, wire.CodeValidation)
	reset("AB", "N3w-Passw0rd!").Code(t, 422, wire.CodeValidation)
	reset("ZZZZ-ZZZZ", "N3w-Passw0rd!").Code(t, 422, wire.CodeResetCodeInvalid)
	anon.Do("POST", "/api/v1/auth/reset-password", wire.ResetPasswordRequest{Email: "nobody@school.example", Code: rc.Code, NewPassword: "N3w-Passw0rd!"}, nil).
		Code(t, 422, wire.CodeResetCodeInvalid)
	// Typed in lower case without the dash: accepted. The student's old
	// sign-in ends, the old password stops working, the new one works.
	anon.Must(204, "POST", "/api/v1/auth/reset-password", wire.ResetPasswordRequest{Email: strings.ToUpper(email),
		Code: strings.ToLower(strings.ReplaceAll(rc.Code, "-", "")), NewPassword: "N3w-Passw0rd!"}, nil)
	class.Student.Do("GET", "/api/v1/me", nil, nil).Code(t, 401, wire.CodeUnauthorized)
	in.NewClient(t).Login(email, servertest.Password).Code(t, 401, wire.CodeInvalidLogin)
	if r := in.NewClient(t).Login(email, "N3w-Passw0rd!"); r.Status != 200 {
		t.Fatalf("new password: %d %s", r.Status, r.Body)
	}
	reset(rc.Code, "An0ther-Passw0rd!").Code(t, 422, wire.CodeResetCodeInvalid) // single use

	// Guessing is cut off: the code is void after 5 wrong tries, and the
	// address is slowed down.
	class.Prof.Must(201, "POST", fmt.Sprintf("%s/%d/reset-code", base, class.Student.User.ID), nil, &rc)
	guesser := in.NewClientFrom(t, "127.0.0.9")
	var throttled bool
	for i := range 8 {
		r := guesser.Do("POST", "/api/v1/auth/reset-password", wire.ResetPasswordRequest{Email: email, Code: fmt.Sprintf("AAAA-AAA%d", i+2), NewPassword: "N3w-Passw0rd!"}, nil)
		if r.Status == 429 {
			throttled = true
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			break
		}
		r.Code(t, 422, wire.CodeResetCodeInvalid)
	}
	if !throttled {
		t.Fatal("8 wrong codes from one address were never slowed down")
	}
	reset(rc.Code, "An0ther-Passw0rd!").Code(t, 422, wire.CodeResetCodeInvalid) // voided by the guesses
}

// TestChangePasswordEndsOtherSessions: the console's password screen posts
// to /me/password; the other sign-ins of the account end, the caller's stays.
func TestChangePasswordEndsOtherSessions(t *testing.T) {
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Change")
	second := in.NewClient(t)
	second.Login(prof.User.Email, servertest.Password)
	second.Must(200, "GET", "/api/v1/me", nil, nil)
	prof.Do("POST", "/api/v1/me/password", wire.ChangePasswordRequest{CurrentPassword: "wrong", NewPassword: "N3w-Passw0rd!"}, nil).
		Code(t, 422, wire.CodeValidation)
	second.Must(200, "GET", "/api/v1/me", nil, nil)
	prof.Must(204, "POST", "/api/v1/me/password", wire.ChangePasswordRequest{CurrentPassword: servertest.Password, NewPassword: "N3w-Passw0rd!"}, nil)
	prof.Must(200, "GET", "/api/v1/me", nil, nil)
	second.Do("GET", "/api/v1/me", nil, nil).Code(t, 401, wire.CodeUnauthorized)
}
