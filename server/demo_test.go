package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestDemoAccounts: `make run`'s first start creates a professor with the
// active lecture DEMO42 and a member student whose printed logins work;
// later starts print the same logins; a lost logins file is a clear error.
func TestDemoAccounts(t *testing.T) {
	in := servertest.Start(t)
	ctx := context.Background()
	logins, err := in.Server.EnsureDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(logins) != 2 {
		t.Fatalf("logins %+v", logins)
	}
	byRole := map[wire.Role]*servertest.Client{}
	for _, l := range logins {
		c := in.NewClient(t)
		var pair wire.TokenPair
		c.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: l.Email, Password: l.Password}, &pair)
		if pair.User.Role != l.Role {
			t.Fatalf("%s logs in as %s", l.Email, pair.User.Role)
		}
		c.Token = pair.AccessToken
		byRole[l.Role] = c
	}
	var lectures wire.Page[wire.Lecture]
	byRole[wire.RoleStudent].Must(200, "GET", "/api/v1/lectures", nil, &lectures)
	if len(lectures.Items) != 1 || lectures.Items[0].Code != "DEMO42" || !lectures.Items[0].Active {
		t.Fatalf("the demo student's lectures: %+v", lectures.Items)
	}
	info, err := os.Stat(filepath.Join(in.Config.DataDir, "demo-logins.txt"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("logins file: %v %v", info, err)
	}
	again, err := in.Server.EnsureDemo(ctx)
	if err != nil || len(again) != 2 || again[0] != logins[0] || again[1] != logins[1] {
		t.Fatalf("second start: %+v %v", again, err)
	}
	if err := os.Remove(filepath.Join(in.Config.DataDir, "demo-logins.txt")); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Server.EnsureDemo(ctx); err == nil || !strings.Contains(err.Error(), "demo-logins.txt") {
		t.Fatalf("lost logins file: %v", err)
	}
}
