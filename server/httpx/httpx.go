// Package httpx holds the server's HTTP plumbing shared by every API package:
// RFC 9457 problem responses, strict JSON decoding, request ids, access logs,
// panic recovery and request metrics.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/didacto/didacto/wire"
)

// MaxJSONBody bounds every JSON request body.
const MaxJSONBody = 64 << 10

// Error is an error that carries the problem to answer with.
type Error struct {
	Problem    wire.Problem
	Err        error         // the cause, logged, never sent
	RetryAfter time.Duration // sent as Retry-After when > 0
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Problem.Code + ": " + e.Err.Error()
	}
	return e.Problem.Code + ": " + e.Problem.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a status, stable code and a detail for people.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Problem: wire.Problem{
		Title:  http.StatusText(status),
		Status: status,
		Code:   code,
		Detail: fmt.Sprintf(format, args...),
	}}
}

// Invalid is a 422 naming the bad fields.
func Invalid(fields ...wire.FieldError) *Error {
	e := Errorf(http.StatusUnprocessableEntity, wire.CodeValidation, "some fields are invalid")
	e.Problem.Errors = fields
	return e
}

// WriteJSON writes v as JSON with the status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteProblem writes err as application/problem+json. Errors that are not
// *Error become a 500 whose detail hides the cause; the cause is recorded
// for the access log.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	var he *Error
	if !errors.As(err, &he) {
		he = &Error{Problem: wire.Problem{
			Title: http.StatusText(http.StatusInternalServerError), Status: http.StatusInternalServerError,
			Code: wire.CodeInternal, Detail: "an internal error occurred; see the server log",
		}, Err: err}
	}
	if info := infoFrom(r); info != nil {
		info.err = err
	}
	p := he.Problem
	if p.Type == "" {
		p.Type = "https://didacto.dev/problems/" + p.Code
	}
	if p.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="didacto"`)
	}
	if he.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(he.RetryAfter.Seconds())+1))
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// DecodeJSON reads a JSON body into dst strictly: bounded size, the right
// content type, no unknown fields, one value only.
func DecodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	// A missing type is refused too: without it a cross-site page can send
	// JSON as a CORS "simple request" (login CSRF).
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return Errorf(http.StatusUnsupportedMediaType, wire.CodeUnsupportedMedia, "expected Content-Type application/json, got %q", ct)
	}
	body := http.MaxBytesReader(w, r.Body, MaxJSONBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Errorf(http.StatusBadRequest, wire.CodeBadRequest, "body must hold a single JSON value")
	}
	return nil
}

func jsonError(err error) *Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return Errorf(http.StatusRequestEntityTooLarge, wire.CodeTooLarge, "body larger than %d bytes", tooBig.Limit)
	case errors.As(err, &syn):
		return Errorf(http.StatusBadRequest, wire.CodeBadRequest, "malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		e := Errorf(http.StatusBadRequest, wire.CodeBadRequest, "field %q must be %s", typ.Field, typ.Type)
		e.Problem.Errors = []wire.FieldError{{Field: typ.Field, Message: "must be " + typ.Type.String()}}
		return e
	case errors.Is(err, io.EOF):
		return Errorf(http.StatusBadRequest, wire.CodeBadRequest, "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(http.StatusBadRequest, wire.CodeBadRequest, "malformed JSON: unexpected end")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		e := Errorf(http.StatusBadRequest, wire.CodeBadRequest, "unknown field %q", field)
		e.Problem.Errors = []wire.FieldError{{Field: field, Message: "unknown field"}}
		return e
	}
	return Errorf(http.StatusBadRequest, wire.CodeBadRequest, "malformed JSON: %v", err)
}

// PathID parses the {name} path value as a positive int64.
func PathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, Errorf(http.StatusNotFound, wire.CodeNotFound, "no %s %q", name, v)
	}
	return id, nil
}

// MaxPage bounds ?page=: (page-1)*size must not overflow, and no list is
// that long.
const MaxPage = 1_000_000

// Paging reads ?page= and ?size= (page from 1 to MaxPage; size default 20, max 100).
func Paging(r *http.Request) (page, size int, err error) {
	page, size = 1, wire.DefaultPageSize
	var fields []wire.FieldError
	if v := r.URL.Query().Get("page"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > MaxPage {
			fields = append(fields, wire.FieldError{Field: "page", Message: fmt.Sprintf("must be an integer from 1 to %d", MaxPage)})
		}
		page = n
	}
	if v := r.URL.Query().Get("size"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > wire.MaxPageSize {
			fields = append(fields, wire.FieldError{Field: "size", Message: fmt.Sprintf("must be an integer from 1 to %d", wire.MaxPageSize)})
		}
		size = n
	}
	if len(fields) > 0 {
		e := Errorf(http.StatusBadRequest, wire.CodeBadRequest, "invalid paging parameters")
		e.Problem.Errors = fields
		return 0, 0, e
	}
	return page, size, nil
}

// HandlerFunc is a handler that returns its error; the error is answered as
// a problem document.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		WriteProblem(w, r, err)
	}
}

// Mux is where packages register their routes (an *http.ServeMux, or a
// recorder of the routes for the OpenAPI check).
type Mux interface {
	Handle(pattern string, handler http.Handler)
}
