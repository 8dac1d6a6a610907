package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/client"
	"github.com/didacto/didacto/agent/internal/apitest"
	"github.com/didacto/didacto/wire"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func jpegBytes(t *testing.T, w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newClient(t *testing.T, srv *apitest.Server, store client.TokenStore) *client.Client {
	c, err := client.New(client.Config{Server: srv.URL, Store: store, UserAgent: "didacto-agent/test"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "localhost:8080", "http://"} {
		if _, err := client.New(client.Config{Server: u}); err == nil {
			t.Errorf("New(%q) accepted", u)
		}
	}
}

func TestLoginMeLecturesJoin(t *testing.T) {
	var lecs []wire.Lecture
	for i := range 105 { // more than one page
		lecs = append(lecs, wire.Lecture{ID: int64(i + 1), Title: fmt.Sprint("L", i), Code: fmt.Sprint("C", i), Active: i == 50})
	}
	srv := apitest.New(t, lecs...)
	c := newClient(t, srv, nil)
	if _, err := c.Me(ctx(t)); !errors.Is(err, client.ErrNotLoggedIn) {
		t.Errorf("Me before login: %v", err)
	}
	_, err := c.Login(ctx(t), apitest.Email, "wrong")
	if client.Code(err) != wire.CodeInvalidLogin || client.Status(err) != 401 {
		t.Errorf("wrong password: %v (code %q)", err, client.Code(err))
	}
	u, err := c.Login(ctx(t), apitest.Email, apitest.Password)
	if err != nil || u.Email != apitest.Email {
		t.Fatalf("login: %+v %v", u, err)
	}
	me, err := c.Me(ctx(t))
	if err != nil || me.Role != wire.RoleStudent {
		t.Fatalf("me: %+v %v", me, err)
	}
	got, err := c.Lectures(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 105 || got[104].ID != 105 || !got[50].Active {
		t.Fatalf("lectures: %d items", len(got))
	}
	e, err := c.Join(ctx(t), "JOINME")
	if err != nil || e.Status != wire.EnrollmentWaiting {
		t.Fatalf("join: %+v %v", e, err)
	}
	_, err = c.Join(ctx(t), "C3")
	var p *wire.Problem
	if !errors.As(err, &p) || p.Code != wire.CodeAlreadyMember || p.Status != 409 {
		t.Errorf("join twice: %v", err)
	}
}

func TestUploadFrameAndKeepAlive(t *testing.T) {
	srv := apitest.New(t, wire.Lecture{ID: 3, Active: true}, wire.Lecture{ID: 4, Active: false})
	srv.SetHints(wire.FrameHints{IntervalMS: 10000, Width: 160, Quality: 50, Watched: false})
	c := newClient(t, srv, nil)
	if _, err := c.Login(ctx(t), apitest.Email, apitest.Password); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC)
	h, err := c.UploadFrame(ctx(t), 3, client.Frame{JPEG: jpegBytes(t, 320, 180), CapturedAt: at})
	if err != nil {
		t.Fatal(err)
	}
	if h != (wire.FrameHints{IntervalMS: 10000, Width: 160, Quality: 50}) {
		t.Errorf("hints %+v", h)
	}
	if _, err := c.UploadFrame(ctx(t), 3, client.Frame{CapturedAt: at.Add(time.Second), Unchanged: true}); err != nil {
		t.Fatal(err)
	}
	ups := srv.Uploads()
	if len(ups) != 2 {
		t.Fatalf("uploads %+v", ups)
	}
	if ups[0].ContentType != "image/jpeg" || ups[0].Width != 320 || ups[0].Height != 180 || !ups[0].CapturedAt.Equal(at) || ups[0].Unchanged {
		t.Errorf("frame upload %+v", ups[0])
	}
	if !ups[1].Unchanged || ups[1].Bytes != 0 || ups[1].Status != 200 {
		t.Errorf("keep-alive %+v", ups[1])
	}
	_, err = c.UploadFrame(ctx(t), 4, client.Frame{JPEG: jpegBytes(t, 8, 8), CapturedAt: at})
	if client.Code(err) != wire.CodeLectureInactive {
		t.Errorf("inactive lecture: %v", err)
	}
	_, err = c.UploadFrame(ctx(t), 5, client.Frame{JPEG: jpegBytes(t, 8, 8), CapturedAt: at})
	if client.Code(err) != wire.CodeNotMember || client.Status(err) != 403 {
		t.Errorf("not a member: %v", err)
	}
	if _, err := c.UploadFrame(ctx(t), 3, client.Frame{JPEG: make([]byte, wire.MaxFrameBytes+1), CapturedAt: at}); err == nil {
		t.Error("oversized frame was sent")
	}
	srv.Fail(apitest.Failure{Status: 429, Code: wire.CodeRateLimited, RetryAfter: "7"})
	_, err = c.UploadFrame(ctx(t), 3, client.Frame{JPEG: jpegBytes(t, 8, 8), CapturedAt: at})
	if client.Code(err) != wire.CodeRateLimited || client.RetryAfter(err) != 7*time.Second {
		t.Errorf("429: %v retry-after %v", err, client.RetryAfter(err))
	}
}

func TestRefreshOn401RotatesAndPersists(t *testing.T) {
	srv := apitest.New(t, wire.Lecture{ID: 1, Active: true})
	store := client.FileStore{Path: filepath.Join(t.TempDir(), "sub", "tokens.json")}
	c := newClient(t, srv, store)
	if _, err := c.Login(ctx(t), apitest.Email, apitest.Password); err != nil {
		t.Fatal(err)
	}
	first, err := store.Load(ctx(t))
	if err != nil || first.RefreshToken == "" {
		t.Fatalf("stored after login: %+v %v", first, err)
	}
	srv.ExpireAccess()
	// Many calls fail with 401 at once: exactly one refresh must happen, or
	// the second would reuse a rotated token and revoke the session.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.UploadFrame(ctx(t), 1, client.Frame{CapturedAt: time.Now(), Unchanged: true})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("upload after expiry: %v", err)
		}
	}
	_, refreshes, reused := srv.Counts()
	if refreshes != 1 || reused != 0 {
		t.Errorf("refreshes=%d reused=%d, want 1 and 0", refreshes, reused)
	}
	second, err := store.Load(ctx(t))
	if err != nil || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken {
		t.Fatalf("rotation not persisted: %+v → %+v (%v)", first, second, err)
	}

	// A new process resumes from the store without a password.
	c2 := newClient(t, srv, store)
	if err := c2.Resume(ctx(t)); err != nil {
		t.Fatal(err)
	}
	srv.ExpireAccess()
	if _, err := c2.Me(ctx(t)); err != nil {
		t.Fatalf("resumed client: %v", err)
	}
	// The first client still holds the refresh token c2 just spent: its
	// refresh is a reuse, the server revokes the family, and the client
	// forgets its tokens instead of retrying.
	srv.ExpireAccess()
	_, err = c.Me(ctx(t))
	if client.Code(err) != wire.CodeTokenReused {
		t.Errorf("reuse: %v", err)
	}
	if c.LoggedIn() {
		t.Error("client kept dead tokens")
	}
	if _, err := c.Me(ctx(t)); !errors.Is(err, client.ErrNotLoggedIn) {
		t.Errorf("after revocation: %v", err)
	}
}

func TestLogoutForgetsTokens(t *testing.T) {
	srv := apitest.New(t)
	store := &client.MemoryStore{}
	c := newClient(t, srv, store)
	if _, err := c.Login(ctx(t), apitest.Email, apitest.Password); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(ctx(t)); !errors.Is(err, client.ErrNoTokens) {
		t.Errorf("store after logout: %v", err)
	}
	if c.LoggedIn() {
		t.Error("still logged in")
	}
}

func TestFileStoreMissingAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	if _, err := (client.FileStore{Path: filepath.Join(dir, "none")}).Load(context.Background()); !errors.Is(err, client.ErrNoTokens) {
		t.Errorf("missing file: %v", err)
	}
	fs := client.FileStore{Path: filepath.Join(dir, "t.json")}
	if err := fs.Save(context.Background(), client.Tokens{AccessToken: "a", RefreshToken: "r"}); err != nil {
		t.Fatal(err)
	}
	got, err := fs.Load(context.Background())
	if err != nil || got.AccessToken != "a" || got.RefreshToken != "r" {
		t.Errorf("round trip %+v %v", got, err)
	}
}

// TestPlainHTTPOnlyToLoopback is the review's F10: any http:// server was
// accepted, so the password, tokens and frames could cross a lab LAN in
// clear.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://didacto.school.example": true, "http://127.0.0.1:8080": true, "http://127.9.9.9": true,
		"http://[::1]:8080": true, "http://localhost:8080": true, "http://LOCALHOST": true,
		"http://didacto.school.example": false, "http://192.168.0.10:8080": false, "http://[fe80::1]": false,
		"http://localhost.evil.example": false,
	} {
		_, err := client.New(client.Config{Server: raw})
		if (err == nil) != ok || (!ok && !errors.Is(err, client.ErrPlainHTTP)) {
			t.Errorf("%s: %v", raw, err)
		}
		if _, err := client.New(client.Config{Server: raw, AllowHTTP: true}); err != nil {
			t.Errorf("%s with allow-http: %v", raw, err)
		}
	}
}
