// Package servertest starts a real DIDACTO server in the test process — real
// storage (SQLite in a temp dir, or a throwaway PostgreSQL), real HTTP on a
// loopback port — and offers a small JSON client for API tests.
package servertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/server"
	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/wire"
)

// Instance is a running server.
type Instance struct {
	URL    string
	Server *server.Server
	Config config.Config
	stop   func()
}

// Stop shuts the server down before the test ends (a replica going away);
// the test's cleanup does it otherwise.
func (in *Instance) Stop() { in.stop() }

// Option adjusts the configuration before the server starts.
type Option func(*config.Config)

// WithDatabase uses the given database URL instead of SQLite.
func WithDatabase(url string) Option { return func(c *config.Config) { c.DatabaseURL = url } }

// WithRedis uses Redis.
func WithRedis(url string) Option { return func(c *config.Config) { c.RedisURL = url } }

// Start runs a server until the test ends.
func Start(tb testing.TB, opts ...Option) *Instance {
	tb.Helper()
	cfg, err := config.Load([]string{"--data-dir", tb.TempDir(), "--log-level", "warn"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, o := range opts {
		o(&cfg)
	}
	level := slog.LevelWarn
	if os.Getenv("DIDACTO_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		tb.Fatalf("starting server: %v", err)
	}
	// The real Serve (not httptest): its timeouts and limits are part of
	// what the tests check.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	serveCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(serveCtx, l) }()
	var once sync.Once
	shutdown := func() {
		once.Do(func() {
			stop()
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				tb.Logf("serve: %v", err)
			}
			srv.Close()
		})
	}
	tb.Cleanup(shutdown)
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	return &Instance{URL: scheme + "://" + l.Addr().String(), Server: srv, Config: cfg, stop: shutdown}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Client is a JSON API client bound to one account (bearer or cookie).
type Client struct {
	tb    testing.TB
	Base  string
	Token string
	HTTP  *http.Client
	CSRF  string // sent on unsafe methods when set (cookie sessions)
	User  wire.User
}

// NewClient returns an anonymous client.
func (in *Instance) NewClient(tb testing.TB) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{tb: tb, Base: in.URL, HTTP: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

// NewClientFrom returns an anonymous client whose connections come from the
// loopback address ip (e.g. "127.0.0.2"): another client address for the
// per-address limits.
func (in *Instance) NewClientFrom(tb testing.TB, ip string) *Client {
	c := in.NewClient(tb)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	c.HTTP.Transport = &http.Transport{DialContext: d.DialContext}
	return c
}

// Login signs c in with bearer tokens.
func (c *Client) Login(email, password string) Response {
	c.tb.Helper()
	var pair wire.TokenPair
	r := c.Do("POST", "/api/v1/auth/login", wire.LoginRequest{Email: email, Password: password}, &pair)
	if r.Status == http.StatusOK {
		c.Token, c.User = pair.AccessToken, pair.User
	}
	return r
}

// Response is a decoded answer.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Problem *wire.Problem
}

// Do sends body (JSON-encoded unless it is []byte or io.Reader) and returns
// the answer; out, when non-nil, receives a 2xx JSON body.
func (c *Client) Do(method, path string, body, out any) Response {
	c.tb.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case io.Reader:
		rd = b
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.tb.Fatal(err)
		}
		rd, ct = bytes.NewReader(js), "application/json"
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.tb.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return c.Send(req, out)
}

// Send sends a prepared request with the client's credentials.
func (c *Client) Send(req *http.Request, out any) Response {
	c.tb.Helper()
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.CSRF != "" && req.Method != http.MethodGet {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		r.Problem = &wire.Problem{}
		if err := json.Unmarshal(b, r.Problem); err != nil {
			c.tb.Fatalf("%s %s: bad problem document %q: %v", req.Method, req.URL.Path, b, err)
		}
	}
	if out != nil && resp.StatusCode/100 == 2 && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.tb.Fatalf("%s %s: decoding %q: %v", req.Method, req.URL.Path, b, err)
		}
	}
	return r
}

// Must is Do that fails the test unless the status is want.
func (c *Client) Must(want int, method, path string, body, out any) Response {
	c.tb.Helper()
	r := c.Do(method, path, body, out)
	if r.Status != want {
		c.tb.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// Code checks an error answer's status and problem code.
func (r Response) Code(tb testing.TB, status int, code string) {
	tb.Helper()
	if r.Status != status || r.Problem == nil || r.Problem.Code != code {
		tb.Fatalf("got status %d %s, want %d with code %q", r.Status, r.Body, status, code)
	}
}

// Register creates an account and logs in with bearer tokens.
func (in *Instance) Register(tb testing.TB, role wire.Role, name string) *Client {
	tb.Helper()
	c := in.NewClient(tb)
	email := fmt.Sprintf("%s-%d@school.example", strings.ToLower(strings.ReplaceAll(name, " ", ".")), time.Now().UnixNano())
	c.Must(http.StatusCreated, "POST", "/api/v1/auth/register",
		wire.RegisterRequest{Email: email, Password: "Passw0rd!", Name: name, Role: role}, nil)
	var pair wire.TokenPair
	c.Must(http.StatusOK, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: email, Password: "Passw0rd!"}, &pair)
	c.Token, c.User = pair.AccessToken, pair.User
	return c
}

// Password is the password Register uses.
const Password = "Passw0rd!"

// Class is a lecture with its professor and one accepted student.
type Class struct {
	Prof, Student *Client
	Lecture       wire.Lecture
}

// ActiveClass registers a professor and a student, and makes an active
// lecture the student is an accepted member of: the room of most
// monitoring and live-session tests.
func (in *Instance) ActiveClass(tb testing.TB, profName, studentName, title string) Class {
	tb.Helper()
	prof := in.Register(tb, wire.RoleProfessor, profName)
	stud := in.Register(tb, wire.RoleStudent, studentName)
	var l wire.Lecture
	prof.Must(http.StatusCreated, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: title}, &l)
	prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, &l)
	var e wire.Enrollment
	stud.Must(http.StatusCreated, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	prof.Must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	return Class{Prof: prof, Student: stud, Lecture: l}
}
