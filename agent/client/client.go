// Package client is the agent's HTTP client for the DIDACTO API: bearer login,
// refresh-token rotation (persisted through a TokenStore), the student's own
// account and lectures, joining by code and frame uploads. Server errors come
// back as *wire.Problem (wrapped in *Error, which also carries Retry-After).
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/didacto/didacto/wire"
)

// Tokens are the bearer credentials the client holds.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// TokenStore persists tokens across restarts (the keyring in the tray app, a
// file or memory headless). Save is called after every login and rotation:
// the old refresh token is dead by then, so losing the new one logs the
// agent out.
type TokenStore interface {
	Load(ctx context.Context) (Tokens, error)
	Save(ctx context.Context, t Tokens) error
}

// ErrNoTokens is what a TokenStore's Load returns when nothing is stored.
var ErrNoTokens = errors.New("client: no stored tokens")

// ErrNotLoggedIn: a call needs tokens and none are held.
var ErrNotLoggedIn = errors.New("client: not logged in")

// Config configures a Client.
type Config struct {
	Server    string       // base URL, e.g. https://didacto.example.org
	HTTP      *http.Client // nil: a client with a 30 s timeout
	Store     TokenStore   // nil: tokens live in memory only
	UserAgent string       // e.g. "didacto-agent/1.2.3"
	// AllowHTTP lets a plain http:// server on another host through (an
	// admin's choice, e.g. a lab LAN without certificates).
	AllowHTTP bool
}

// Client talks to one server. It is safe for concurrent use; refreshes are
// serialized so two requests failing at once never spend the same refresh
// token twice (which the server treats as theft and revokes the family).
type Client struct {
	base  *url.URL
	http  *http.Client
	store TokenStore
	ua    string

	mu     sync.Mutex // guards tokens; held across a refresh
	tokens Tokens
}

// ErrPlainHTTP: a plain http:// server on a host that is not this machine.
var ErrPlainHTTP = errors.New("plain http:// to another host sends the password, tokens and screens in clear; use https://, or an administrator sets allow-http")

// CheckServer parses a server URL: https://, or http:// to a loopback host,
// or http:// anywhere when allowHTTP.
func CheckServer(raw string, allowHTTP bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q must be http(s)://host[:port]", raw)
	}
	if u.Scheme == "http" && !allowHTTP && !loopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("server URL %q: %w", raw, ErrPlainHTTP)
	}
	return u, nil
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(h)
	return err == nil && ip.Unmap().IsLoopback()
}

// New validates the server URL. It does not touch the network.
func New(cfg Config) (*Client, error) {
	u, err := CheckServer(cfg.Server, cfg.AllowHTTP)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "didacto-agent"
	}
	ua += " proto/" + strconv.Itoa(wire.ProtocolVersion)
	return &Client{base: u, http: hc, store: cfg.Store, ua: ua}, nil
}

// Resume loads stored tokens, reporting ErrNoTokens when there are none.
// It does not check them with the server; the first call (or Me) does.
func (c *Client) Resume(ctx context.Context) error {
	if c.store == nil {
		return ErrNoTokens
	}
	t, err := c.store.Load(ctx)
	if err != nil {
		return err
	}
	if t.RefreshToken == "" && t.AccessToken == "" {
		return ErrNoTokens
	}
	c.mu.Lock()
	c.tokens = t
	c.mu.Unlock()
	return nil
}

// LoggedIn reports whether the client holds tokens.
func (c *Client) LoggedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokens.AccessToken != "" || c.tokens.RefreshToken != ""
}

// Login exchanges email and password for bearer tokens.
func (c *Client) Login(ctx context.Context, email, password string) (wire.User, error) {
	var tp wire.TokenPair
	err := c.call(ctx, http.MethodPost, "/api/v1/auth/login", false,
		wire.LoginRequest{Email: email, Password: password}, &tp)
	if err != nil {
		return wire.User{}, fmt.Errorf("login: %w", err)
	}
	if err := c.adopt(ctx, tp); err != nil {
		return wire.User{}, err
	}
	return tp.User, nil
}

// Logout revokes the refresh token on the server and forgets the tokens.
func (c *Client) Logout(ctx context.Context) error {
	c.mu.Lock()
	rt := c.tokens.RefreshToken
	c.tokens = Tokens{}
	c.mu.Unlock()
	var err error
	if rt != "" {
		err = c.call(ctx, http.MethodPost, "/api/v1/auth/logout", false, wire.RefreshRequest{RefreshToken: rt}, nil)
	}
	if c.store != nil {
		if serr := c.store.Save(ctx, Tokens{}); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	return nil
}

// adopt keeps and persists a fresh token pair. Caller must not hold c.mu.
func (c *Client) adopt(ctx context.Context, tp wire.TokenPair) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.adoptLocked(ctx, tp)
}

func (c *Client) adoptLocked(ctx context.Context, tp wire.TokenPair) error {
	if tp.AccessToken == "" || tp.RefreshToken == "" {
		return errors.New("client: server answered without tokens")
	}
	t := Tokens{AccessToken: tp.AccessToken, RefreshToken: tp.RefreshToken, ExpiresAt: tp.ExpiresAt}
	if t.ExpiresAt.IsZero() && tp.ExpiresIn > 0 {
		// Bounded before the multiply; the client refreshes on 401 anyway.
		const maxLifeSeconds = 366 * 24 * 3600
		t.ExpiresAt = time.Now().Add(time.Duration(min(tp.ExpiresIn, maxLifeSeconds)) * time.Second)
	}
	c.tokens = t
	if c.store != nil {
		if err := c.store.Save(ctx, t); err != nil {
			return fmt.Errorf("saving tokens: %w", err)
		}
	}
	return nil
}

// AccessToken returns the current access token, refreshing first when only
// a refresh token is held (after Resume from a store that keeps just that).
func (c *Client) AccessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens.AccessToken == "" {
		if err := c.refreshLocked(ctx); err != nil {
			return "", err
		}
	}
	return c.tokens.AccessToken, nil
}

// Refresh rotates the tokens now.
func (c *Client) Refresh(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refreshLocked(ctx)
}

// refreshAfter refreshes unless someone else already replaced the access
// token that just failed (single-flight by comparison).
func (c *Client) refreshAfter(ctx context.Context, failed string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens.AccessToken != failed && c.tokens.AccessToken != "" {
		return nil
	}
	return c.refreshLocked(ctx)
}

func (c *Client) refreshLocked(ctx context.Context) error {
	rt := c.tokens.RefreshToken
	if rt == "" {
		return ErrNotLoggedIn
	}
	var tp wire.TokenPair
	err := c.call(ctx, http.MethodPost, "/api/v1/auth/refresh", false, wire.RefreshRequest{RefreshToken: rt}, &tp)
	if err != nil {
		var e *Error
		if errors.As(err, &e) && e.Problem.Status == http.StatusUnauthorized {
			// The refresh token is dead (expired, revoked or reused): drop it
			// so nobody retries it, and make the caller log in again.
			c.tokens = Tokens{}
			if c.store != nil {
				_ = c.store.Save(ctx, Tokens{})
			}
		}
		return fmt.Errorf("refresh: %w", err)
	}
	return c.adoptLocked(ctx, tp)
}

// Me returns the logged-in account.
func (c *Client) Me(ctx context.Context) (wire.User, error) {
	var u wire.User
	if err := c.call(ctx, http.MethodGet, "/api/v1/me", true, nil, &u); err != nil {
		return wire.User{}, fmt.Errorf("me: %w", err)
	}
	return u, nil
}

// Lectures returns every lecture the student is a member of (all pages).
func (c *Client) Lectures(ctx context.Context) ([]wire.Lecture, error) {
	var all []wire.Lecture
	for page := 1; page <= 1000; page++ {
		var p wire.Page[wire.Lecture]
		path := fmt.Sprintf("/api/v1/lectures?page=%d&size=%d", page, wire.MaxPageSize)
		if err := c.call(ctx, http.MethodGet, path, true, nil, &p); err != nil {
			return nil, fmt.Errorf("lectures: %w", err)
		}
		all = append(all, p.Items...)
		if len(p.Items) == 0 || len(all) >= p.Total {
			break
		}
	}
	return all, nil
}

// Join asks to join a lecture by its code.
func (c *Client) Join(ctx context.Context, code string) (wire.Enrollment, error) {
	var e wire.Enrollment
	if err := c.call(ctx, http.MethodPost, "/api/v1/lectures/join", true, wire.JoinLectureRequest{Code: code}, &e); err != nil {
		return wire.Enrollment{}, fmt.Errorf("join: %w", err)
	}
	return e, nil
}

// Register creates an account (no sign-in; call Login after).
func (c *Client) Register(ctx context.Context, r wire.RegisterRequest) (wire.User, error) {
	var u wire.User
	if err := c.call(ctx, http.MethodPost, "/api/v1/auth/register", false, r, &u); err != nil {
		return wire.User{}, fmt.Errorf("register: %w", err)
	}
	return u, nil
}

// Waiting returns the student's join requests still waiting for a decision
// (all pages).
func (c *Client) Waiting(ctx context.Context) ([]wire.Enrollment, error) {
	var all []wire.Enrollment
	for page := 1; page <= 100; page++ {
		var p wire.Page[wire.Enrollment]
		path := fmt.Sprintf("/api/v1/enrollments?status=waiting&page=%d&size=%d", page, wire.MaxPageSize)
		if err := c.call(ctx, http.MethodGet, path, true, nil, &p); err != nil {
			return nil, fmt.Errorf("pending requests: %w", err)
		}
		all = append(all, p.Items...)
		if len(p.Items) == 0 || len(all) >= p.Total {
			break
		}
	}
	return all, nil
}

// Leave ends the student's membership of a lecture.
func (c *Client) Leave(ctx context.Context, lectureID int64) error {
	if err := c.call(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/lectures/%d/membership", lectureID), true, nil, nil); err != nil {
		return fmt.Errorf("leave lecture %d: %w", lectureID, err)
	}
	return nil
}

// CancelRequest withdraws a join request that is still waiting.
func (c *Client) CancelRequest(ctx context.Context, enrollmentID int64) error {
	if err := c.call(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/enrollments/%d", enrollmentID), true, nil, nil); err != nil {
		return fmt.Errorf("cancel request %d: %w", enrollmentID, err)
	}
	return nil
}

// Frame is one upload. An Unchanged frame is a keep-alive with no body.
type Frame struct {
	JPEG       []byte
	CapturedAt time.Time
	Unchanged  bool
}

// UploadFrame sends a frame (or keep-alive) for a lecture and returns the
// server's capture hints.
func (c *Client) UploadFrame(ctx context.Context, lectureID int64, f Frame) (wire.FrameHints, error) {
	if !f.Unchanged && len(f.JPEG) == 0 {
		return wire.FrameHints{}, errors.New("upload frame: empty JPEG")
	}
	if len(f.JPEG) > wire.MaxFrameBytes {
		return wire.FrameHints{}, fmt.Errorf("upload frame: %d bytes exceeds the %d byte limit", len(f.JPEG), wire.MaxFrameBytes)
	}
	path := fmt.Sprintf("/api/v1/lectures/%d/frame", lectureID)
	body, err := c.do(ctx, true, func(access string) (*http.Request, error) {
		var rd io.Reader = http.NoBody
		if !f.Unchanged {
			rd = bytes.NewReader(f.JPEG)
		}
		req, err := c.newRequest(ctx, http.MethodPut, path, rd, access)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "image/jpeg")
		req.Header.Set(wire.HeaderCapturedAt, f.CapturedAt.UTC().Format(time.RFC3339Nano))
		if f.Unchanged {
			req.Header.Set(wire.HeaderFrameUnchanged, "1")
		}
		return req, nil
	})
	if err != nil {
		return wire.FrameHints{}, fmt.Errorf("upload frame: %w", err)
	}
	h, err := ParseHints(body)
	if err != nil {
		return wire.FrameHints{}, fmt.Errorf("upload frame: %w", err)
	}
	return h, nil
}

// call sends a JSON request and decodes a JSON answer into out (if not nil).
func (c *Client) call(ctx context.Context, method, path string, auth bool, in, out any) error {
	var payload []byte
	if in != nil {
		var err error
		if payload, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
	}
	body, err := c.do(ctx, auth, func(access string) (*http.Request, error) {
		var rd io.Reader = http.NoBody
		if payload != nil {
			rd = bytes.NewReader(payload)
		}
		req, err := c.newRequest(ctx, method, path, rd, access)
		if err != nil {
			return nil, err
		}
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return err
	}
	if out == nil || len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding %s %s answer: %w", method, path, err)
	}
	return nil
}

func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader, access string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("User-Agent", c.ua)
	if access != "" {
		req.Header.Set("Authorization", "Bearer "+access)
	}
	return req, nil
}

// maxAnswer bounds how much of an answer is read.
const maxAnswer = 4 << 20

// do sends build(access) and returns the 2xx body. With auth, a 401 answer
// refreshes the tokens once and repeats the request.
func (c *Client) do(ctx context.Context, auth bool, build func(access string) (*http.Request, error)) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		access := ""
		if auth {
			c.mu.Lock()
			access = c.tokens.AccessToken
			haveRefresh := c.tokens.RefreshToken != ""
			c.mu.Unlock()
			if access == "" {
				if !haveRefresh {
					return nil, ErrNotLoggedIn
				}
				if err := c.refreshAfter(ctx, ""); err != nil {
					return nil, err
				}
				continue
			}
		}
		req, err := build(access)
		if err != nil {
			return nil, err
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if rerr != nil {
				return nil, fmt.Errorf("%s %s: reading answer: %w", req.Method, req.URL.Path, rerr)
			}
			return body, nil
		}
		apiErr := decodeError(resp.StatusCode, resp.Header, body)
		if auth && attempt == 0 && resp.StatusCode == http.StatusUnauthorized {
			if err := c.refreshAfter(ctx, access); err != nil {
				return nil, err // the refresh's own problem (e.g. refresh_token_reused) is what matters
			}
			continue
		}
		return nil, apiErr
	}
}
