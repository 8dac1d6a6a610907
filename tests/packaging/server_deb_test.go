//go:build linux

package packaging

import (
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
)

// TestServerDeb installs the server .deb for real: the unit passes
// systemd-analyze verify, the didacto system user and /var/lib/didacto exist,
// the installed server runs as that user on its data dir (as the unit would
// start it), and purge removes user, data and config.
func TestServerDeb(t *testing.T) {
	needRoot(t, "didacto-server")
	needTools(t, "systemd-analyze")
	if _, err := user.Lookup("didacto"); err == nil {
		t.Skip("a didacto user exists already: not touching it")
	}
	if exists("/var/lib/didacto") {
		t.Skip("/var/lib/didacto exists already: not touching it")
	}
	const version = "v2.0.0"
	deb := glob(t, buildPackages(t, t.TempDir(), "server-deb", "VERSION="+version), "didacto-server_*_amd64.deb")
	if got := debField(t, deb, "Version"); got != "2.0.0" {
		t.Errorf("Version %q", got)
	}
	ctrl := t.TempDir()
	run(t, nil, "dpkg-deb", "-e", deb, ctrl)
	if cf := string(readFile(t, filepath.Join(ctrl, "conffiles"))); !strings.Contains(cf, "/etc/didacto/server.env\n") {
		t.Errorf("conffiles %q lack server.env", cf)
	}

	purgeOnCleanup(t, "didacto-server")
	run(t, nil, "dpkg", "-i", deb)

	const unit = "/lib/systemd/system/didacto-server.service"
	t.Run("unit", func(t *testing.T) {
		if out, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput(); err != nil || len(out) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
		u := string(readFile(t, unit))
		for _, want := range []string{"\nUser=didacto\n", "\nEnvironmentFile=-/etc/didacto/server.env\n",
			"\nExecStart=/usr/bin/didacto-server --data-dir /var/lib/didacto\n"} {
			if !strings.Contains(u, want) {
				t.Errorf("unit lacks %q", strings.TrimSpace(want))
			}
		}
		if got := run(t, nil, "/usr/bin/didacto-server", "--version"); got != "didacto-server "+version+"\n" {
			t.Errorf("--version = %q", got)
		}
	})

	u, err := user.Lookup("didacto")
	if err != nil {
		t.Fatalf("no didacto user after install: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	t.Run("user and data dir", func(t *testing.T) {
		if uid >= 1000 {
			t.Errorf("didacto uid %d is not a system uid", uid)
		}
		if !strings.HasSuffix(strings.TrimSpace(run(t, nil, "getent", "passwd", "didacto")), ":/usr/sbin/nologin") {
			t.Error("didacto can log in")
		}
		st, err := os.Stat("/var/lib/didacto")
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if int(sys.Uid) != uid || st.Mode().Perm() != 0o750 {
			t.Errorf("/var/lib/didacto owner %d mode %v", sys.Uid, st.Mode().Perm())
		}
		st, err = os.Stat("/etc/didacto/server.env")
		if err != nil {
			t.Fatal(err)
		}
		if sys := st.Sys().(*syscall.Stat_t); int(sys.Gid) != gid || st.Mode().Perm() != 0o640 {
			t.Errorf("server.env group %d mode %v, want didacto 0640 (it may hold secrets)", sys.Gid, st.Mode().Perm())
		}
	})

	t.Run("runs as didacto", func(t *testing.T) {
		addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		cmd := exec.Command("/usr/bin/didacto-server", "--data-dir", "/var/lib/didacto")
		// The settings as the unit passes them: server.env's variables.
		cmd.Env = []string{"PATH=/usr/bin:/bin", "DIDACTO_ADDR=" + addr}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		p, err := testenv.StartProc(cmd)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Stop(10 * time.Second)
		if err := testenv.WaitTCP(addr, 60*time.Second); err != nil {
			t.Fatalf("%v\n%s", err, p.Output())
		}
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("healthz: %v %v\n%s", err, resp, p.Output())
		}
		resp.Body.Close()
		entries, _ := os.ReadDir("/var/lib/didacto")
		if len(entries) == 0 {
			t.Error("the server wrote nothing to /var/lib/didacto")
		}
	})

	run(t, nil, "dpkg", "--purge", "didacto-server")
	t.Run("purge", func(t *testing.T) {
		for _, f := range []string{"/usr/bin/didacto-server", unit, "/etc/didacto/server.env", "/var/lib/didacto"} {
			if exists(f) {
				t.Errorf("purge left %s", f)
			}
		}
		if _, err := user.Lookup("didacto"); err == nil {
			t.Error("purge left the didacto user")
		}
	})
}
