package store_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStoreDependencies enforces the layering rule: the store packages
// depend on no other server package (the server's packages depend on the
// store, never the other way round), so the store's records, not a
// caller's, are what it persists.
func TestStoreDependencies(t *testing.T) {
	const module = "github.com/didacto/didacto/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) < 3 {
		t.Fatalf("go list found %d store packages, expected store, sqlstore and storetest:\n%s", len(lines), out)
	}
	for _, line := range lines {
		pkg, deps, _ := strings.Cut(line, " ")
		for _, dep := range strings.Fields(deps) {
			own := dep == module+"server/store" || strings.HasPrefix(dep, module+"server/store/")
			if strings.HasPrefix(dep, module+"server/") && !own {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
