package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/didacto/didacto/server/auth"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// Roster limits.
const (
	// MaxRosterBytes bounds a class-list upload (a 10,000-row list with long
	// names is about 1 MiB).
	MaxRosterBytes = 2 << 20
	// MaxRosterRows bounds the data rows of one class list.
	MaxRosterRows = 10000
	// MaxStudentNumberLen bounds a student number.
	MaxStudentNumberLen = 64
)

// An e-mail on a class list that no account has is refused, not turned
// into a new account: a lab's students create their own accounts in the
// DIDACTO app (with their own password), so an account the professor made
// up would be one nobody can sign in to, and a typo in the list would
// create a ghost that blocks the real address. The refused line says so,
// and the professor imports the list again once the students registered.
const msgNoAccount = "no student account has this e-mail; the student creates one in the DIDACTO app first (or fix the address)"
const msgNotStudent = "this is a professor account, not a student"

func (a *API) addStudent(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	var body wire.AddStudentRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(body.Email))
	number := strings.TrimSpace(body.StudentNumber)
	var bad []wire.FieldError
	if !auth.ValidEmail(email) {
		bad = append(bad, wire.FieldError{Field: "email", Message: "must be a valid e-mail address"})
	}
	if utf8.RuneCountInString(number) > MaxStudentNumberLen {
		bad = append(bad, wire.FieldError{Field: "student_number", Message: fmt.Sprintf("must be at most %d characters", MaxStudentNumberLen)})
	}
	if len(bad) > 0 {
		return httpx.Invalid(bad...)
	}
	waiting, err := a.waitingRequests(r, l.ID)
	if err != nil {
		return err
	}
	out, err := a.store.AddMembers(r.Context(), l.ID, []store.RosterEntry{{Email: email, StudentNumber: number}})
	var re *store.RosterError
	if errors.As(err, &re) {
		msg := msgNoAccount
		if errors.Is(re.Problems[0].Err, store.ErrNotStudent) {
			msg = msgNotStudent
		}
		return httpx.Invalid(wire.FieldError{Field: "email", Message: msg})
	}
	if err != nil {
		return err
	}
	u, err := a.store.UserByEmail(r.Context(), email)
	if err != nil {
		return err
	}
	a.publishSettled(r, waiting, out.Added)
	a.tell(r.Context(), l.ID, out.Added...)
	status := http.StatusOK // already a member
	if len(out.Added) == 1 {
		status = http.StatusCreated
		a.auditRoster(r, l.ID, id.UserID, u.ID, "member_add", "")
	}
	ms, err := a.memberOf(r, l.ID, u.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, status, ms)
	return nil
}

// memberOf reads one member's row (the list is ordered by name; a class is
// small enough to scan).
func (a *API) memberOf(r *http.Request, lectureID, studentID int64) (wire.Member, error) {
	for page := 1; ; page++ {
		ms, total, err := a.store.Members(r.Context(), lectureID, store.PageRequest{Page: page, Size: wire.MaxPageSize})
		if err != nil {
			return wire.Member{}, err
		}
		for _, m := range ms {
			if m.StudentID == studentID {
				return memberView(m), nil
			}
		}
		if len(ms) == 0 || page*wire.MaxPageSize >= total {
			return wire.Member{}, errNotMember
		}
	}
}

func memberView(m store.Member) wire.Member {
	return wire.Member{StudentID: m.StudentID, Name: m.Name, Email: m.Email, JoinedAt: m.JoinedAt.UTC(), StudentNumber: m.StudentNumber}
}

// waitingRequests lists the lecture's waiting join requests (AddMembers
// accepts those of the students it adds).
func (a *API) waitingRequests(r *http.Request, lectureID int64) ([]store.Enrollment, error) {
	var out []store.Enrollment
	for page := 1; ; page++ {
		es, total, err := a.store.EnrollmentsByLecture(r.Context(), lectureID, wire.EnrollmentWaiting, store.PageRequest{Page: page, Size: wire.MaxPageSize})
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
		if len(es) == 0 || len(out) >= total {
			return out, nil
		}
	}
}

// publishSettled tells the consoles about the waiting requests that the
// roster change accepted, so that no tab offers to decide them again.
func (a *API) publishSettled(r *http.Request, waiting []store.Enrollment, added []int64) {
	if len(waiting) == 0 || len(added) == 0 {
		return
	}
	in := make(map[int64]bool, len(added))
	for _, id := range added {
		in[id] = true
	}
	for _, e := range waiting {
		if !in[e.StudentID] {
			continue
		}
		if now, err := a.store.EnrollmentByID(r.Context(), e.ID); err == nil {
			a.publishEnrollment(r.Context(), now)
		}
	}
}

func (a *API) auditRoster(r *http.Request, lectureID, actor, subject int64, action, detail string) {
	if err := a.store.AppendAudit(r.Context(), store.AuditEntry{LectureID: lectureID, ActorID: actor, SubjectID: subject,
		Action: action, Detail: detail, Replica: a.Replica}); err != nil {
		a.logger.Error("auditing roster change", "lecture_id", lectureID, "action", action, "err", err)
	}
}

// rosterRow is one data line of a class list.
type rosterRow struct {
	line          int
	email, number string
}

// importRoster reads a class list CSV (e-mail, name, student number; a
// header row naming the columns is optional) and adds every listed student,
// or, if any line is refused, nothing: the answer lists every refused line.
func (a *API) importRoster(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	ct := strings.ToLower(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(ct, "text/csv") && !strings.HasPrefix(ct, "text/plain") {
		return httpx.Errorf(http.StatusUnsupportedMediaType, wire.CodeUnsupportedMedia, "expected Content-Type text/csv, got %q", ct)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRosterBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return httpx.Errorf(http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "class list larger than %d bytes", MaxRosterBytes)
	}
	if err != nil {
		return httpx.Errorf(http.StatusBadRequest, wire.CodeBadRequest, "reading class list: %v", err)
	}
	rows, problems := parseRoster(body)
	if len(rows) == 0 && len(problems) == 0 {
		return httpx.Invalid(wire.FieldError{Field: "body", Message: "the class list has no rows"})
	}
	if len(problems) == 0 {
		entries := make([]store.RosterEntry, len(rows))
		for i, row := range rows {
			entries[i] = store.RosterEntry{Email: row.email, StudentNumber: row.number}
		}
		waiting, err := a.waitingRequests(r, l.ID)
		if err != nil {
			return err
		}
		out, err := a.store.AddMembers(r.Context(), l.ID, entries)
		var re *store.RosterError
		if errors.As(err, &re) {
			for _, p := range re.Problems {
				msg := msgNoAccount
				if errors.Is(p.Err, store.ErrNotStudent) {
					msg = msgNotStudent
				}
				problems = append(problems, wire.RosterRowError{Line: rows[p.Index].line, Email: rows[p.Index].email, Message: msg})
			}
		} else if err != nil {
			return err
		} else {
			a.publishSettled(r, waiting, out.Added)
			a.tell(r.Context(), l.ID, out.Added...)
			a.auditRoster(r, l.ID, id.UserID, 0, "roster_import", fmt.Sprintf("%d rows: %d added, %d already members", len(rows), len(out.Added), out.Already))
			a.logger.Info("class list imported", "lecture_id", l.ID, "rows", len(rows), "added", len(out.Added))
			httpx.WriteJSON(w, http.StatusOK, wire.RosterImportResult{Rows: len(rows), Added: len(out.Added), Already: out.Already})
			return nil
		}
	}
	if len(problems) > 0 && len(rows) > 0 && !lookedUp(problems) {
		// The file has bad lines: name the unknown accounts among the good
		// ones too, so that one round of fixes is enough.
		more, err := a.accountProblems(r, rows)
		if err != nil {
			return err
		}
		problems = append(problems, more...)
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].Line < problems[j].Line })
	}
	e := httpx.Errorf(http.StatusUnprocessableEntity, wire.CodeRosterInvalid,
		"%d lines of the class list were refused; nothing was imported", len(problems))
	e.Problem.Rows = problems
	return e
}

// lookedUp reports whether problems came from the account lookup already.
func lookedUp(problems []wire.RosterRowError) bool {
	for _, p := range problems {
		if p.Message == msgNoAccount || p.Message == msgNotStudent {
			return true
		}
	}
	return false
}

// accountProblems checks, read-only, that each row's e-mail is a student's.
func (a *API) accountProblems(r *http.Request, rows []rosterRow) ([]wire.RosterRowError, error) {
	var out []wire.RosterRowError
	for _, row := range rows {
		u, err := a.store.UserByEmail(r.Context(), row.email)
		switch {
		case errors.Is(err, store.ErrNotFound):
			out = append(out, wire.RosterRowError{Line: row.line, Email: row.email, Message: msgNoAccount})
		case err != nil:
			return nil, err
		case u.Role != wire.RoleStudent:
			out = append(out, wire.RosterRowError{Line: row.line, Email: row.email, Message: msgNotStudent})
		}
	}
	return out, nil
}

// parseRoster reads the rows of a class list and the problems of its lines
// (1-based file lines). Blank lines are skipped.
func parseRoster(body []byte) ([]rosterRow, []wire.RosterRowError) {
	body = bytes.TrimPrefix(body, []byte("\uFEFF")) // spreadsheet programs write a BOM
	var problems []wire.RosterRowError
	if !utf8.Valid(body) {
		return nil, []wire.RosterRowError{{Line: 1, Message: "the file is not UTF-8 text; save it as \"CSV UTF-8\""}}
	}
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = false
	col := map[string]int{"email": 0, "name": 1, "number": 2}
	positional := true // no header row: e-mail, name, student number
	var rows []rosterRow
	seen := map[string]int{} // e-mail → line
	first := true
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			problems = append(problems, wire.RosterRowError{Line: pe.Line, Message: "not valid CSV: " + pe.Err.Error()})
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				continue
			}
			break // a broken quote: the rest of the file cannot be trusted
		}
		if err != nil {
			problems = append(problems, wire.RosterRowError{Line: 1, Message: err.Error()})
			break
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if m, ok := headerColumns(rec); ok {
				col, positional = m, false
				continue
			}
		}
		if blank(rec) { // spreadsheet exports end with rows of empty cells
			continue
		}
		if len(rows)+len(problems) >= MaxRosterRows {
			problems = append(problems, wire.RosterRowError{Line: line, Message: fmt.Sprintf("the class list has more than %d rows; split it", MaxRosterRows)})
			break
		}
		get := func(k string) string {
			i, ok := col[k]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(rec[i])
		}
		email, name, number := strings.ToLower(get("email")), get("name"), get("number")
		var msg string
		switch {
		case positional && len(rec) > 3:
			msg = fmt.Sprintf("has %d columns; expected e-mail, name, student number", len(rec))
		case email == "":
			msg = "the e-mail is missing"
		case !auth.ValidEmail(email):
			msg = "not a valid e-mail address"
		case utf8.RuneCountInString(name) > auth.MaxNameLen:
			msg = fmt.Sprintf("the name is longer than %d characters", auth.MaxNameLen)
		case utf8.RuneCountInString(number) > MaxStudentNumberLen:
			msg = fmt.Sprintf("the student number is longer than %d characters", MaxStudentNumberLen)
		case seen[email] != 0:
			msg = fmt.Sprintf("repeats the e-mail of line %d", seen[email])
		}
		if msg != "" {
			problems = append(problems, wire.RosterRowError{Line: line, Email: email, Message: msg})
			continue
		}
		seen[email] = line
		rows = append(rows, rosterRow{line: line, email: email, number: number})
	}
	return rows, problems
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// headerColumns recognises a header row (English or Korean column names)
// and maps its columns; a row whose first cell is an e-mail address is data.
func headerColumns(rec []string) (map[string]int, bool) {
	m := map[string]int{}
	for i, h := range rec {
		k := strings.ToLower(strings.Join(strings.Fields(strings.NewReplacer("_", " ", "-", " ").Replace(h)), " "))
		switch k {
		case "email", "e mail", "mail", "email address", "이메일", "메일":
			m["email"] = i
		case "name", "full name", "student name", "이름", "성명":
			m["name"] = i
		case "student number", "number", "student no", "student id", "id", "학번":
			m["number"] = i
		}
	}
	if _, ok := m["email"]; !ok {
		return nil, false
	}
	return m, true
}

func (a *API) resetCode(w http.ResponseWriter, r *http.Request, id auth.Identity) error {
	l, err := OwnedLecture(r.Context(), a.store, r, id)
	if err != nil {
		return err
	}
	sid, err := httpx.PathID(r, "studentId")
	if err != nil {
		return err
	}
	if ok, err := a.store.IsMember(r.Context(), l.ID, sid); err != nil {
		return err
	} else if !ok {
		return errNotMember
	}
	code, exp, err := a.auth.IssueResetCode(r.Context(), sid, id.UserID, l.ID)
	if err != nil {
		return err
	}
	a.auditRoster(r, l.ID, id.UserID, sid, "reset_code", "")
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusCreated, wire.ResetCode{Code: code, ExpiresAt: exp.UTC()})
	return nil
}

func (a *API) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var body wire.ResetPasswordRequest
	if err := httpx.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if err := a.auth.ResetPassword(r.Context(), body.Email, body.Code, body.NewPassword, httpx.ClientAddr(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
