// Package openapi describes the server's HTTP API as an OpenAPI 3.1
// document, served at /api/openapi.json. Operations are listed here once;
// schemas come from the wire types by reflection; a test checks the list
// against the routes the server really registers.
package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"

	"github.com/didacto/didacto/internal/version"
	"github.com/didacto/didacto/server/httpx"
	"github.com/didacto/didacto/wire"
)

// Op is one documented operation.
type Op struct {
	Method, Path string
	Summary      string
	Tag          string
	Auth         string       // "", "any", "professor", "student"
	Request      reflect.Type // JSON body, nil for none
	RequestType  string       // non-JSON body content type (e.g. image/jpeg)
	Status       int          // success status
	Response     reflect.Type // JSON body, nil for none
	ResponseType string       // non-JSON success content type
	Query        []string     // query parameter names
	Errors       []int        // documented error statuses (problem+json)
}

func t[T any]() reflect.Type { return reflect.TypeFor[T]() }

// Operations lists every route of the API.
func Operations() []Op {
	lecture, page := t[wire.Lecture](), []string{"page", "size"}
	return []Op{
		{Method: "POST", Path: "/api/v1/auth/register", Summary: "Create an account", Tag: "accounts", Request: t[wire.RegisterRequest](), Status: 201, Response: t[wire.User](), Errors: []int{400, 409, 413, 415, 422}},
		{Method: "POST", Path: "/api/v1/auth/login", Summary: "Sign in (bearer tokens, or a cookie session with session=cookie)", Tag: "accounts", Request: t[wire.LoginRequest](), Status: 200, Response: t[wire.TokenPair](), Errors: []int{400, 401, 429}},
		{Method: "POST", Path: "/api/v1/auth/refresh", Summary: "Rotate a refresh token (reuse revokes the family)", Tag: "accounts", Request: t[wire.RefreshRequest](), Status: 200, Response: t[wire.TokenPair](), Errors: []int{400, 401}},
		{Method: "POST", Path: "/api/v1/auth/logout", Summary: "End a sign-in: revoke a refresh token's family, or end the cookie session; its access tokens, tickets, websockets and event streams end too", Tag: "accounts", Request: t[wire.RefreshRequest](), Status: 204, Errors: []int{400, 403}},
		{Method: "POST", Path: "/api/v1/auth/reset-password", Summary: "Set a new password with the one-time code a professor issued (single use, expires, rate-limited); every sign-in of the account ends", Tag: "accounts", Request: t[wire.ResetPasswordRequest](), Status: 204, Errors: []int{400, 415, 422, 429}},
		{Method: "GET", Path: "/api/v1/me", Summary: "The signed-in account, with plan and premium expiry", Tag: "accounts", Auth: "any", Status: 200, Response: t[wire.User](), Errors: []int{401}},
		{Method: "POST", Path: "/api/v1/me/password", Summary: "Change the password (current_password and new_password); every other sign-in of the account ends, the caller's stays", Tag: "accounts", Auth: "any", Request: t[wire.ChangePasswordRequest](), Status: 204, Errors: []int{400, 401, 403, 415, 422, 429}},
		{Method: "POST", Path: "/api/v1/signal/ticket", Summary: "A one-minute ticket that opens the signaling websocket (?ticket=)", Tag: "signaling", Auth: "any", Status: 200, Response: t[Ticket](), Errors: []int{401}},

		{Method: "POST", Path: "/api/v1/lectures", Summary: "Create a lecture (inactive) with a join code", Tag: "lectures", Auth: "professor", Request: t[wire.CreateLectureRequest](), Status: 201, Response: lecture, Errors: []int{400, 401, 403, 422}},
		{Method: "GET", Path: "/api/v1/lectures", Summary: "Lectures a professor owns, or a student belongs to", Tag: "lectures", Auth: "any", Status: 200, Response: t[wire.Page[wire.Lecture]](), Query: page, Errors: []int{400, 401}},
		{Method: "POST", Path: "/api/v1/lectures/join", Summary: "Ask to join a lecture by its code (WAITING request) (429 after too many wrong codes, within --join-cooldown of a rejection, or past the hourly request budget)", Tag: "enrollment", Auth: "student", Request: t[wire.JoinLectureRequest](), Status: 201, Response: t[wire.Enrollment](), Errors: []int{400, 401, 403, 404, 409, 422, 429}},
		{Method: "GET", Path: "/api/v1/lectures/{id}", Summary: "One lecture (owner or member)", Tag: "lectures", Auth: "any", Status: 200, Response: lecture, Errors: []int{401, 404}},
		{Method: "PATCH", Path: "/api/v1/lectures/{id}", Summary: "Rename a lecture (owner)", Tag: "lectures", Auth: "professor", Request: t[wire.UpdateLectureRequest](), Status: 200, Response: lecture, Errors: []int{400, 401, 403, 404, 422}},
		{Method: "DELETE", Path: "/api/v1/lectures/{id}", Summary: "Delete a lecture (owner)", Tag: "lectures", Auth: "professor", Status: 204, Errors: []int{401, 403, 404}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/activate", Summary: "Switch monitoring on (free plan: 3 active lectures)", Tag: "lectures", Auth: "professor", Status: 200, Response: lecture, Errors: []int{401, 403, 404, 409}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/deactivate", Summary: "Switch monitoring off", Tag: "lectures", Auth: "professor", Status: 200, Response: lecture, Errors: []int{401, 403, 404}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/enrollments", Summary: "Join requests of a lecture (owner)", Tag: "enrollment", Auth: "professor", Status: 200, Response: t[wire.Page[wire.Enrollment]](), Query: []string{"status", "page", "size"}, Errors: []int{400, 401, 403, 404}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/students", Summary: "Members of a lecture (owner)", Tag: "enrollment", Auth: "professor", Status: 200, Response: t[wire.Page[wire.Member]](), Query: page, Errors: []int{400, 401, 403, 404}},
		{Method: "DELETE", Path: "/api/v1/lectures/{id}/students/{studentId}", Summary: "Remove a member (owner)", Tag: "enrollment", Auth: "professor", Status: 204, Errors: []int{401, 403, 404}},
		{Method: "DELETE", Path: "/api/v1/lectures/{id}/membership", Summary: "Leave a lecture (student)", Tag: "enrollment", Auth: "student", Status: 204, Errors: []int{401, 403, 404}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/enrollments/stream", Summary: "Server-Sent Events: `hello`, then an `enrollment` event (EnrollmentEvent) each time a join request is filed, cancelled, accepted or rejected (owner)", Tag: "enrollment", Auth: "professor", Status: 200, ResponseType: "text/event-stream", Errors: []int{401, 403, 404, 429}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/enrollments/accept", Summary: "Accept several waiting requests (ids) or every one (all=true); each is decided and audited on its own, failures are reported per id (owner)", Tag: "enrollment", Auth: "professor", Request: t[wire.BulkDecisionRequest](), Status: 200, Response: t[wire.BulkDecisionResult](), Errors: []int{400, 401, 403, 404, 415, 422}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/enrollments/reject", Summary: "Reject several waiting requests by id; failures are reported per id (owner)", Tag: "enrollment", Auth: "professor", Request: t[wire.BulkDecisionRequest](), Status: 200, Response: t[wire.BulkDecisionResult](), Errors: []int{400, 401, 403, 404, 415, 422}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/students", Summary: "Add a student account to the lecture by e-mail (201 new member, 200 already one); an unknown e-mail is refused (owner)", Tag: "roster", Auth: "professor", Request: t[wire.AddStudentRequest](), Status: 201, Response: t[wire.Member](), Errors: []int{400, 401, 403, 404, 415, 422}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/roster", Summary: "Import a class list (text/csv: e-mail, name, student number; optional header row): all rows or none; 422 roster_invalid lists every refused line (owner)", Tag: "roster", Auth: "professor", RequestType: "text/csv", Status: 200, Response: t[wire.RosterImportResult](), Errors: []int{400, 401, 403, 404, 413, 415, 422}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/students/{studentId}/reset-code", Summary: "Issue a one-time password-reset code for a member student, shown to the professor (replaces an earlier code) (owner)", Tag: "roster", Auth: "professor", Status: 201, Response: t[wire.ResetCode](), Errors: []int{401, 403, 404}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/commands", Summary: "Send a classroom command (lock, blank, unlock, message, open_url) to the listed members (student_ids) or every member; answers the command with each student's result (pending until their agent acknowledges); audited (owner; the lecture must be on)", Tag: "classroom", Auth: "professor", Request: t[wire.CommandRequest](), Status: 201, Response: t[wire.Command](), Errors: []int{400, 401, 403, 404, 409, 413, 415, 422}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/commands/{commandId}", Summary: "A command and each student's result: pending, delivered, applied, failed (with the reason), and a message's answers (owner)", Tag: "classroom", Auth: "professor", Status: 200, Response: t[wire.Command](), Errors: []int{401, 403, 404}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/classroom", Summary: "What holds now: screen locks, raised hands, each student's latest command result (owner)", Tag: "classroom", Auth: "professor", Status: 200, Response: t[wire.ClassroomState](), Errors: []int{401, 403, 404}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/classroom/stream", Summary: "Server-Sent Events: `hello`, then a `classroom` event (ClassroomEvent) for every result, hand and lock change (owner)", Tag: "classroom", Auth: "professor", Status: 200, ResponseType: "text/event-stream", Errors: []int{401, 403, 404, 429}},
		{Method: "DELETE", Path: "/api/v1/lectures/{id}/hands/{studentId}", Summary: "Lower a student's raised hand (owner)", Tag: "classroom", Auth: "professor", Status: 204, Errors: []int{401, 403, 404}},
		{Method: "PUT", Path: "/api/v1/lectures/{id}/hand", Summary: "Raise the caller's hand (member; the lecture must be on)", Tag: "classroom", Auth: "student", Status: 204, Errors: []int{401, 403, 404, 409}},
		{Method: "DELETE", Path: "/api/v1/lectures/{id}/hand", Summary: "Lower the caller's hand (member)", Tag: "classroom", Auth: "student", Status: 204, Errors: []int{401, 403, 404}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/commands/{commandId}/reply", Summary: "Answer a message in one line (member it was sent to)", Tag: "classroom", Auth: "student", Request: t[wire.ReplyRequest](), Status: 204, Errors: []int{400, 401, 403, 404, 415, 422}},
		{Method: "GET", Path: "/api/v1/enrollments", Summary: "The student's own join requests", Tag: "enrollment", Auth: "student", Status: 200, Response: t[wire.Page[wire.Enrollment]](), Query: []string{"status", "page", "size"}, Errors: []int{400, 401, 403}},
		{Method: "POST", Path: "/api/v1/enrollments/{id}/accept", Summary: "Accept a waiting request (owner); the student becomes a member", Tag: "enrollment", Auth: "professor", Status: 200, Response: t[wire.Enrollment](), Errors: []int{401, 403, 404, 409}},
		{Method: "POST", Path: "/api/v1/enrollments/{id}/reject", Summary: "Reject a waiting request (owner)", Tag: "enrollment", Auth: "professor", Status: 200, Response: t[wire.Enrollment](), Errors: []int{401, 403, 404, 409}},
		{Method: "DELETE", Path: "/api/v1/enrollments/{id}", Summary: "Cancel one's own waiting request", Tag: "enrollment", Auth: "student", Status: 200, Response: t[wire.Enrollment](), Errors: []int{401, 403, 404, 409}},

		{Method: "PUT", Path: "/api/v1/lectures/{id}/frame", Summary: "Upload the latest screen thumbnail (JPEG), or a keep-alive with X-Didacto-Unchanged: 1", Tag: "monitoring", Auth: "student", RequestType: "image/jpeg", Status: 200, Response: t[wire.FrameHints](), Errors: []int{400, 401, 403, 404, 409, 413, 415}},
		{Method: "POST", Path: "/api/v1/lectures/{id}/monitor/focus", Summary: "Ask for larger frames (up to 1280 px; one student: every second) for 15 s, renewed while the console shows tiles larger (owner)", Tag: "monitoring", Auth: "professor", Request: t[wire.MonitorFocus](), Status: 200, Response: t[wire.MonitorFocusAnswer](), Errors: []int{400, 401, 403, 404, 422}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/monitor", Summary: "Every member's tile: online state, capture time, frame URL", Tag: "monitoring", Auth: "professor", Status: 200, Response: t[wire.MonitorSnapshot](), Errors: []int{401, 403, 404}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/monitor/stream", Summary: "Server-Sent Events: `hello`, then a `tile` event (MonitorEvent) per change", Tag: "monitoring", Auth: "professor", Status: 200, ResponseType: "text/event-stream", Errors: []int{401, 403, 404}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/students/{studentId}/frame", Summary: "A student's latest JPEG (ETag / If-None-Match → 304)", Tag: "monitoring", Auth: "professor", Status: 200, ResponseType: "image/jpeg", Errors: []int{401, 403, 404}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/attendance", Summary: "Presence per student per day; format=csv downloads a CSV", Tag: "monitoring", Auth: "professor", Status: 200, Response: t[AttendanceList](), Query: []string{"from", "to", "format"}, Errors: []int{400, 401, 403, 404}},

		{Method: "GET", Path: "/api/v1/agent/channel", Summary: "Agent channel websocket (see docs/protocol.md): the server pushes what concerns the student (lectures_changed); open means online", Tag: "monitoring", Auth: "student", Status: 101, Errors: []int{401, 403, 429}},
		{Method: "GET", Path: "/api/v1/signal", Summary: "Signaling websocket (see docs/protocol.md): bearer header, console cookie, or ?ticket=", Tag: "signaling", Auth: "any", Status: 101, Query: []string{"ticket"}, Errors: []int{401, 403}},
		{Method: "GET", Path: "/api/v1/lectures/{id}/audit", Summary: "Audit log of live sessions: joins, takeovers, kicks, leaves, remote control (owner)", Tag: "signaling", Auth: "professor", Status: 200, Response: t[wire.Page[wire.AuditRecord]](), Query: []string{"page", "size"}, Errors: []int{400, 401, 403, 404}},
		{Method: "GET", Path: "/api/v1/plans", Summary: "Premium plans, and whether payments are enabled", Tag: "payments", Status: 200, Response: t[wire.PlanList]()},
		{Method: "POST", Path: "/api/v1/orders", Summary: "Create an order (amount pre-registered with PortOne)", Tag: "payments", Auth: "professor", Request: t[wire.CreateOrderRequest](), Status: 201, Response: t[wire.Order](), Errors: []int{400, 401, 403, 409, 422, 502, 503}},
		{Method: "POST", Path: "/api/v1/payments/complete", Summary: "Verify a payment at PortOne after the payment window closed", Tag: "payments", Auth: "professor", Request: t[wire.CompletePaymentRequest](), Status: 200, Response: t[wire.PaymentResult](), Errors: []int{400, 401, 402, 403, 404, 422, 502, 503}},
		{Method: "GET", Path: "/api/v1/payments", Summary: "The professor's own payment history", Tag: "payments", Auth: "professor", Status: 200, Response: t[wire.Page[wire.PaymentRecord]](), Query: []string{"page", "size"}, Errors: []int{400, 401, 403}},
		{Method: "POST", Path: "/api/v1/payments/webhook/v1", Summary: "PortOne V1 webhook {imp_uid, merchant_uid, status}; verified by re-fetching the payment", Tag: "payments", RequestType: "application/json", Status: 200, Errors: []int{400, 502}},
		{Method: "POST", Path: "/api/v1/payments/webhook/v2", Summary: "PortOne V2 Standard Webhook (webhook-id, webhook-timestamp, webhook-signature)", Tag: "payments", RequestType: "application/json", Status: 200, Errors: []int{400, 401, 502}},

		{Method: "GET", Path: "/healthz", Summary: "Liveness and dependency health: {\"status\": \"ok\"} or 503 {\"status\": \"degraded\"} (causes in the server log)", Tag: "operations", Status: 200, Response: t[map[string]string](), Errors: []int{503}},
		{Method: "GET", Path: "/metrics", Summary: "Prometheus metrics (text format); loopback clients only, or the --metrics-token as a bearer token", Tag: "operations", Status: 200, ResponseType: "text/plain", Errors: []int{401, 403}},
		{Method: "GET", Path: "/api/openapi.json", Summary: "This document", Tag: "operations", Status: 200, ResponseType: "application/json"},
	}
}

// Ticket answers POST /api/v1/signal/ticket.
type Ticket struct {
	Ticket    string `json:"ticket"`
	ExpiresAt string `json:"expires_at"`
}

// AttendanceList answers GET /api/v1/lectures/{id}/attendance.
type AttendanceList struct {
	Items []wire.AttendanceRecord `json:"items"`
}

// Document renders ops (plus extra operations other packages add) as an
// OpenAPI 3.1 document.
func Document(ops []Op, description string) map[string]any {
	sc := &schemas{defs: map[string]any{}}
	problem := sc.ref(t[wire.Problem]())
	paths := map[string]map[string]any{}
	for _, op := range ops {
		item := paths[op.Path]
		if item == nil {
			item = map[string]any{}
			paths[op.Path] = item
		}
		o := map[string]any{"summary": op.Summary, "tags": []string{op.Tag},
			"operationId": strings.ToLower(op.Method) + strings.NewReplacer("/api/v1", "", "/", "_", "{", "", "}", "", ".", "_").Replace(op.Path)}
		var params []any
		for _, seg := range strings.Split(op.Path, "/") {
			if strings.HasPrefix(seg, "{") {
				params = append(params, map[string]any{"name": strings.Trim(seg, "{}"), "in": "path", "required": true,
					"schema": map[string]any{"type": "integer", "minimum": 1}})
			}
		}
		for _, q := range op.Query {
			schema := map[string]any{"type": "string"}
			switch q {
			case "page":
				schema = map[string]any{"type": "integer", "minimum": 1, "maximum": httpx.MaxPage, "default": 1}
			case "size":
				schema = map[string]any{"type": "integer", "minimum": 1, "maximum": wire.MaxPageSize, "default": wire.DefaultPageSize}
			}
			params = append(params, map[string]any{"name": q, "in": "query", "schema": schema})
		}
		if len(params) > 0 {
			o["parameters"] = params
		}
		switch {
		case op.Request != nil:
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": sc.ref(op.Request)}}}
		case op.RequestType != "":
			o["requestBody"] = map[string]any{"content": map[string]any{op.RequestType: map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
		}
		responses := map[string]any{}
		ok := map[string]any{"description": http.StatusText(op.Status)}
		switch {
		case op.Response != nil:
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": sc.ref(op.Response)}}
		case op.ResponseType != "":
			ok["content"] = map[string]any{op.ResponseType: map[string]any{"schema": map[string]any{"type": "string"}}}
		}
		responses[itoa(op.Status)] = ok
		for _, st := range op.Errors {
			responses[itoa(st)] = map[string]any{"description": http.StatusText(st),
				"content": map[string]any{"application/problem+json": map[string]any{"schema": problem}}}
		}
		o["responses"] = responses
		switch op.Auth {
		case "":
			o["security"] = []any{}
		default:
			if op.Auth != "any" {
				o["description"] = "Requires a " + op.Auth + " account."
			}
		}
		item[strings.ToLower(op.Method)] = o
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "DIDACTO API", "version": version.Version,
			"description": "Computer-lab monitoring, live sessions and remote control.\n\n" + description},
		"servers":  []any{map[string]any{"url": "/"}},
		"paths":    paths,
		"security": []any{map[string]any{"bearer": []any{}}, map[string]any{"cookie": []any{}}},
		"components": map[string]any{
			"schemas": sc.defs,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "Access token from /auth/login (agents)."},
				"cookie": map[string]any{"type": "apiKey", "in": "cookie", "name": "didacto_session",
					"description": "Console session; unsafe methods also need the X-CSRF-Token header (value of the didacto_csrf cookie)."},
			},
		},
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Handler serves the document, rendered once.
func Handler(ops []Op, description string) (http.Handler, error) {
	body, err := json.MarshalIndent(Document(ops, description), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("rendering the OpenAPI document: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(body)
	}), nil
}

// Routes returns "METHOD /path" of each op, sorted.
func Routes(ops []Op) []string {
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		out = append(out, op.Method+" "+op.Path)
	}
	sort.Strings(out)
	return out
}
