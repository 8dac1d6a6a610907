package server_test

import (
	"encoding/json"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/openapi"
	"github.com/didacto/didacto/server/servertest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestOpenAPIMatchesRoutes keeps the document true: every registered route
// is documented and every documented operation exists.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	in := servertest.Start(t)
	got := in.Server.Routes()
	sort.Strings(got)
	want := openapi.Routes(in.Server.Operations())
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("routes and OpenAPI operations differ\nregistered:\n  %s\ndocumented:\n  %s",
			strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}

	c := in.NewClient(t)
	var doc struct {
		OpenAPI    string                               `json:"openapi"`
		Paths      map[string]map[string]map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	c.Must(200, "GET", "/api/openapi.json", nil, &doc)
	if doc.OpenAPI != "3.1.0" || len(doc.Paths) < 20 {
		t.Fatalf("document: openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
	// Every $ref resolves, and the wire types' snake_case names are used.
	raw := c.Must(200, "GET", "/api/openapi.json", nil, nil).Body
	for _, part := range strings.Split(string(raw), `"$ref": "#/components/schemas/`)[1:] {
		name := part[:strings.IndexByte(part, '"')]
		if doc.Components.Schemas[name] == nil {
			t.Errorf("dangling $ref %s", name)
		}
	}
	tp := doc.Components.Schemas["TokenPair"]
	props, _ := json.Marshal(tp["properties"])
	for _, f := range []string{"access_token", "refresh_token", "expires_in"} {
		if !strings.Contains(string(props), `"`+f+`"`) {
			t.Errorf("TokenPair schema lacks %s: %s", f, props)
		}
	}
}

func TestHealthMetricsAndUnknownPaths(t *testing.T) {
	in := servertest.Start(t)
	c := in.NewClient(t)
	var h map[string]string
	c.Must(200, "GET", "/healthz", nil, &h)
	if h["status"] != "ok" || len(h) != 1 { // status only (F8): no version, replica or errors
		t.Fatalf("healthz = %v", h)
	}
	r := c.Do("GET", "/api/v1/nope", nil, nil)
	r.Code(t, 404, "not_found")
	if r.Header.Get("X-Request-Id") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers: %v", r.Header)
	}
	c.Do("DELETE", "/api/v1/me", nil, nil) // method not allowed is still answered
	m := c.Must(200, "GET", "/metrics", nil, nil)
	if !strings.Contains(string(m.Body), `didacto_http_request_duration_seconds_count{route="GET /healthz",method="GET",status="200"} 1`) {
		t.Fatalf("metrics lack the healthz request:\n%s", m.Body)
	}
}

// TestServerDependencies enforces the layering rule: the server never pulls
// in the agent's cgo packages and builds with CGO_ENABLED=0.
func TestServerDependencies(t *testing.T) {
	for _, pkg := range []string{"./cmd/didacto-server", "./server/..."} {
		cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg)
		cmd.Dir = ".."
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, banned := range []string{"/capture", "/input", "/rtc", "/ui", "/agent", "fyne.io/", "robotgo", "pion/"} {
				if strings.HasPrefix(dep, "github.com/didacto/didacto"+banned) || (banned[0] != '/' && strings.Contains(dep, banned)) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
	cmd := exec.Command("go", "build", "-o", t.TempDir()+"/didacto-server", "./cmd/didacto-server")
	cmd.Dir = ".."
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
