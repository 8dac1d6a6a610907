package packaging

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/agent/config"
	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestAgentDeb installs the agent .deb for real, the way a lab admin does
// (server preset and locked from the environment), checks what it put where,
// runs the installed agent under Xvfb against a local server, upgrades it
// over an admin-edited conffile, then removes and purges it.
func TestAgentDeb(t *testing.T) {
	needRoot(t, "didacto-agent")
	const v1, v2 = "v1.0.0-1-gtestone", "v1.0.1-2-gtesttwo"
	tmp := t.TempDir()
	deb1 := glob(t, buildPackages(t, filepath.Join(tmp, "v1"), "agent-deb", "VERSION="+v1), "didacto-agent_*_amd64.deb")

	t.Run("control", func(t *testing.T) {
		if got := debField(t, deb1, "Version"); got != "1.0.0+1.gtestone" {
			t.Errorf("Version %q", got)
		}
		deps := strings.Split(debField(t, deb1, "Depends"), ", ")
		// GLFW dlopens these at run time: no NEEDED entry would reveal them.
		for _, want := range []string{"libgl1", "libx11-6", "libxtst6", "libxcursor1", "libxrandr2",
			"libxinerama1", "libxi6", "libxxf86vm1"} {
			if !slices.Contains(deps, want) {
				t.Errorf("Depends %v lacks %s", deps, want)
			}
		}
		// miniaudio dlopens the sound system: no NEEDED entry either.
		if !slices.Contains(deps, "libpulse0 | libasound2") {
			t.Errorf("Depends %v lacks the sound system", deps)
		}
		if rec := debField(t, deb1, "Recommends"); !strings.Contains(rec, "fonts-noto-cjk") {
			t.Errorf("Recommends %q lacks a Hangul font", rec)
		}
		if !slices.ContainsFunc(deps, func(d string) bool { return strings.HasPrefix(d, "libvpx") }) ||
			!slices.ContainsFunc(deps, func(d string) bool { return strings.HasPrefix(d, "libopus") }) {
			t.Errorf("Depends %v lacks libvpx/libopus", deps)
		}
		// Every library the binary links comes from a package it depends on.
		x := t.TempDir()
		run(t, nil, "dpkg-deb", "-x", deb1, x)
		for _, lib := range neededLibs(t, filepath.Join(x, "usr/bin/didacto-agent")) {
			pkg := ownerOf(t, lib)
			if !slices.Contains(deps, pkg) {
				t.Errorf("links %s from %s, which Depends %v lacks", lib, pkg, deps)
			}
		}
		ctrl := t.TempDir()
		run(t, nil, "dpkg-deb", "-e", deb1, ctrl)
		cf, _ := os.ReadFile(filepath.Join(ctrl, "conffiles"))
		for _, want := range []string{"/etc/didacto/agent.yaml", "/etc/xdg/autostart/didacto-agent.desktop"} {
			if !strings.Contains(string(cf), want+"\n") {
				t.Errorf("conffiles %q lacks %s", cf, want)
			}
		}
	})

	purgeOnCleanup(t, "didacto-agent")
	srv := servertest.Start(t)
	env := append(os.Environ(), "DIDACTO_SERVER_URL="+srv.URL, "DIDACTO_LOCK_SERVER_URL=1")
	run(t, env, "dpkg", "-i", deb1)

	t.Run("files", func(t *testing.T) {
		for _, f := range []string{"/usr/bin/didacto-agent", "/usr/share/applications/didacto-agent.desktop",
			"/usr/share/icons/hicolor/256x256/apps/didacto-agent.png"} {
			if !exists(f) {
				t.Errorf("%s not installed", f)
			}
		}
		auto, err := os.ReadFile("/etc/xdg/autostart/didacto-agent.desktop")
		if err != nil || !bytes.Contains(auto, []byte("\nExec=didacto-agent\n")) {
			t.Errorf("autostart entry: %v\n%s", err, auto)
		}
		if got := run(t, nil, "/usr/bin/didacto-agent", "--version"); got != "didacto-agent "+v1+" (linux/amd64)\n" {
			t.Errorf("--version = %q", got)
		}
	})

	t.Run("system config", func(t *testing.T) {
		c, err := config.Load(config.Options{SystemFile: config.SystemPath("linux", os.Getenv)})
		if err != nil {
			t.Fatal(err)
		}
		if c.String(config.KeyServer) != srv.URL || !c.Locked(config.KeyServer) {
			t.Errorf("installed config: server %q locked %v, want %q locked", c.String(config.KeyServer),
				c.Locked(config.KeyServer), srv.URL)
		}
	})

	t.Run("runs", func(t *testing.T) { runInstalledAgent(t, srv) })

	// Upgrade over an admin's edit: the edit stays, the binary changes.
	edited := append(readFile(t, "/etc/didacto/agent.yaml"), "# edited by the lab admin\n"...)
	if err := os.WriteFile("/etc/didacto/agent.yaml", edited, 0o644); err != nil {
		t.Fatal(err)
	}
	deb2 := glob(t, buildPackages(t, filepath.Join(tmp, "v2"), "agent-deb", "VERSION="+v2), "didacto-agent_*_amd64.deb")
	run(t, nil, "dpkg", "-i", deb2)
	t.Run("upgrade", func(t *testing.T) {
		if got := run(t, nil, "/usr/bin/didacto-agent", "--version"); !strings.Contains(got, v2) {
			t.Errorf("after upgrade --version = %q", got)
		}
		if got := readFile(t, "/etc/didacto/agent.yaml"); !bytes.Equal(got, edited) {
			t.Errorf("upgrade changed the admin's config:\n%s", got)
		}
		for _, f := range []string{"/etc/didacto/agent.yaml.dpkg-new", "/etc/didacto/agent.yaml.dpkg-dist",
			"/etc/didacto/agent.yaml.dpkg-old"} {
			if exists(f) {
				t.Errorf("%s left behind", f)
			}
		}
	})

	run(t, nil, "dpkg", "--remove", "didacto-agent")
	t.Run("remove", func(t *testing.T) {
		if exists("/usr/bin/didacto-agent") || exists("/usr/share/applications/didacto-agent.desktop") {
			t.Error("remove left the program")
		}
		if !exists("/etc/didacto/agent.yaml") {
			t.Error("remove (not purge) deleted the config")
		}
	})
	run(t, nil, "dpkg", "--purge", "didacto-agent")
	t.Run("purge", func(t *testing.T) {
		for _, f := range []string{"/etc/didacto/agent.yaml", "/etc/xdg/autostart/didacto-agent.desktop"} {
			if exists(f) {
				t.Errorf("purge left %s", f)
			}
		}
		if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "didacto-agent").Output(); len(out) > 0 && !strings.Contains(string(out), "not-installed") {
			t.Errorf("dpkg still knows the package: %s", out)
		}
	})
}

// runInstalledAgent starts /usr/bin/didacto-agent under Xvfb the way the
// autostart entry does (the tray, no flags, a fresh HOME, no DIDACTO_*): it
// must take the server from /etc/didacto/agent.yaml. Then the headless mode
// of the same installed binary signs in and monitors a real lecture.
func runInstalledAgent(t *testing.T, srv *servertest.Instance) {
	disp := testenv.StartXvfb(t, "1280x720x24")
	home := t.TempDir()
	env := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_RUNTIME_DIR=" + home, "PATH=/usr/bin:/bin",
		// No session bus: no stray bus per process; the tray falls back to
		// its window and the tokens to a file.
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(home, "no-bus")}
	for _, kv := range disp.Env() {
		if strings.HasPrefix(kv, "DISPLAY=") || strings.HasPrefix(kv, "LANG=") {
			env = append(env, kv)
		}
	}
	start := func(wait string, args ...string) *testenv.Proc {
		cmd := exec.Command("/usr/bin/didacto-agent", args...)
		cmd.Env = env
		p, err := testenv.StartProc(cmd)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(90 * time.Second)
		for !strings.Contains(p.Output(), wait) {
			if p.Exited() || time.Now().After(deadline) {
				p.Stop(5 * time.Second)
				t.Fatalf("the installed agent %v did not log %q:\n%s", args, wait, p.Output())
			}
			time.Sleep(100 * time.Millisecond)
		}
		return p
	}

	tray := start("ui=tray")
	out := tray.Output()
	tray.Stop(10 * time.Second)
	if !strings.Contains(out, "server="+srv.URL+" ") {
		t.Errorf("the tray did not take the server from /etc/didacto/agent.yaml (want %s):\n%s", srv.URL, out)
	}

	prof := srv.Register(t, wire.RoleProfessor, "Prof Deb")
	stud := srv.Register(t, wire.RoleStudent, "Student Deb")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Packaging"}, &l)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)
	var e wire.Enrollment
	stud.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/accept", e.ID), nil, nil)
	env = append(env, "DIDACTO_EMAIL="+stud.User.Email, "DIDACTO_PASSWORD="+servertest.Password)
	headless := start("msg=monitoring", "--headless", "--server", srv.URL, "--interval", "1s", "--width", "320")
	headless.Stop(10 * time.Second)
}

// neededLibs lists the DT_NEEDED sonames of an ELF binary.
func neededLibs(t *testing.T, path string) []string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	libs, err := f.ImportedLibraries()
	if err != nil {
		t.Fatal(err)
	}
	return libs
}

// ownerOf is the installed package providing a shared library.
func ownerOf(t *testing.T, soname string) string {
	t.Helper()
	for _, dir := range []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64"} {
		p := filepath.Join(dir, soname)
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		for _, q := range []string{real, p, strings.Replace(real, "/usr/lib/", "/lib/", 1), strings.Replace(p, "/lib/", "/usr/lib/", 1)} {
			if out, err := exec.Command("dpkg-query", "-S", q).Output(); err == nil {
				pkg, _, _ := strings.Cut(string(out), ":")
				return strings.TrimSpace(pkg)
			}
		}
	}
	t.Fatalf("no package provides %s", soname)
	return ""
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
