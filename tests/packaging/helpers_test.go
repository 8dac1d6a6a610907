package packaging

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/didacto/didacto/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// repoRoot is the module root (tests run in tests/packaging).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "package.sh")); err != nil {
		t.Fatalf("no scripts/package.sh under %s: %v", root, err)
	}
	return root
}

// buildPackages runs scripts/package.sh target with OUT=out and the extra
// environment, and returns out. Go's build cache and dist/cache keep the
// rebuilds fast after the first one.
func buildPackages(t *testing.T, out, target string, env ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "package.sh"), target)
	cmd.Env = append(os.Environ(), "OUT="+out)
	cmd.Env = append(cmd.Env, env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/package.sh %s: %v\n%s", target, err, b)
	}
	return out
}

// glob returns the one file in dir matching pattern.
func glob(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, pattern))
	if err != nil || len(m) != 1 {
		t.Fatalf("want one %s in %s, got %v (%v)", pattern, dir, m, err)
	}
	return m[0]
}

// run runs a command and returns its stdout, failing the test on error.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	if env != nil {
		cmd.Env = env
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// needTools skips (or, under DIDACTO_TEST_REQUIRE=1, fails) without them.
func needTools(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		testenv.LookPath(t, n)
	}
}

// needRoot: installing a .deb for real needs root. The tests purge what they
// install, and refuse to touch a package installed before they ran.
func needRoot(t *testing.T, pkg string) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "installing "+pkg+" with dpkg needs root")
	}
	needTools(t, "dpkg", "dpkg-deb", "dpkg-query")
	out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
	if strings.Contains(string(out), "installed") || strings.Contains(string(out), "config-files") {
		t.Skipf("%s is already on this machine (%s): not touching it", pkg, out)
	}
}

// purgeOnCleanup leaves the machine as it was, whatever the test did.
func purgeOnCleanup(t *testing.T, pkg string) {
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", pkg).CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge %s: %v\n%s", pkg, err, out)
		}
	})
}

// debField reads one control field of a .deb.
func debField(t *testing.T, deb, field string) string {
	t.Helper()
	return strings.TrimSpace(run(t, nil, "dpkg-deb", "-f", deb, field))
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
