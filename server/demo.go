package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/didacto/didacto/server/store"
	"github.com/didacto/didacto/wire"
)

// DemoLogin is one demo account's credentials.
type DemoLogin struct {
	Role     wire.Role
	Email    string
	Password string
}

// demoFile keeps the generated passwords (mode 0600) so every `make run`
// can print them again.
const demoFile = "demo-logins.txt"

// EnsureDemo creates a demo professor (with an active lecture) and a demo
// student who is a member, once, and returns their logins. Passwords are
// random per installation: a demo server is still reachable on a network.
func (s *Server) EnsureDemo(ctx context.Context) ([]DemoLogin, error) {
	path := filepath.Join(s.cfg.DataDir, demoFile)
	if b, err := os.ReadFile(path); err == nil {
		return parseDemo(string(b))
	}
	pw := func() (string, error) {
		b := make([]byte, 9)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return "Demo-" + base64.RawURLEncoding.EncodeToString(b) + "1!", nil
	}
	var logins []DemoLogin
	var ids []int64
	for _, who := range []struct {
		role        wire.Role
		email, name string
	}{{wire.RoleProfessor, "professor@demo.didacto", "Demo Professor"}, {wire.RoleStudent, "student@demo.didacto", "Demo Student"}} {
		p, err := pw()
		if err != nil {
			return nil, err
		}
		if _, err := s.store.UserByEmail(ctx, who.email); err == nil {
			// The accounts exist but their passwords were only in the file.
			return nil, fmt.Errorf("the demo accounts exist but %s is gone, so their passwords are lost: "+
				"start with an empty --data-dir (or without --demo)", path)
		}
		u, err := s.auth.Register(ctx, wire.RegisterRequest{Email: who.email, Password: p, Name: who.name, Role: who.role})
		if err != nil {
			return nil, fmt.Errorf("creating demo %s: %w", who.role, err)
		}
		logins = append(logins, DemoLogin{Role: who.role, Email: who.email, Password: p})
		ids = append(ids, u.ID)
	}
	l, err := s.store.CreateLecture(ctx, store.Lecture{OwnerID: ids[0], Title: "Demo lecture", Code: "DEMO42"})
	if errors.Is(err, store.ErrCodeTaken) {
		l, err = s.store.CreateLecture(ctx, store.Lecture{OwnerID: ids[0], Title: "Demo lecture", Code: "DEMO43"})
	}
	if err != nil {
		return nil, fmt.Errorf("creating demo lecture: %w", err)
	}
	if _, err := s.store.SetLectureActive(ctx, l.ID, true, 0); err != nil {
		return nil, err
	}
	e, err := s.store.RequestJoin(ctx, l.ID, ids[1])
	if err != nil {
		return nil, err
	}
	if _, err := s.store.DecideEnrollment(ctx, e.ID, true); err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, d := range logins {
		fmt.Fprintf(&b, "%s %s %s\n", d.Role, d.Email, d.Password)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return nil, fmt.Errorf("saving demo logins: %w", err)
	}
	return logins, nil
}

func parseDemo(s string) ([]DemoLogin, error) {
	var out []DemoLogin
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("malformed %s line %q", demoFile, line)
		}
		out = append(out, DemoLogin{Role: wire.Role(f[0]), Email: f[1], Password: f[2]})
	}
	return out, nil
}
