package console_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/console"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestHandlerServesWithCSP(t *testing.T) {
	h := console.Handler(console.Options{PaymentOrigins: []string{"https://cdn.iamport.kr", "https://*.iamport.kr"}})
	for _, tc := range []struct {
		path, wantType, wantBody string
	}{
		{"/", "text/html", `<script type="module" src="/js/main.js">`},
		{"/lectures/7/monitor", "text/html", `<main id="app"`}, // unknown paths get the app
		{"/js/main.js", "javascript", "new App().start()"},
		{"/app.css", "text/css", ".grid"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d", tc.path, rec.Code)
		}
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP %q", tc.path, csp)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, tc.wantType) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.wantType)
		}
		if !strings.Contains(rec.Body.String(), tc.wantBody) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.wantBody)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", rec.Code)
	}
}

// TestPaymentPageAloneAllowsTheSDK: only /pay may load PortOne's script,
// and only when payments are on.
func TestPaymentPageAloneAllowsTheSDK(t *testing.T) {
	get := func(h http.Handler, path string) (*httptest.ResponseRecorder, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec, rec.Header().Get("Content-Security-Policy")
	}
	on := console.Handler(console.Options{PaymentOrigins: []string{"https://cdn.iamport.kr", "https://*.iamport.kr"}})
	rec, csp := get(on, console.PayPath)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `src="/js/pay.js"`) {
		t.Fatalf("GET /pay: %d %q", rec.Code, rec.Body.String())
	}
	if !strings.Contains(csp, "script-src 'self' https://cdn.iamport.kr https://*.iamport.kr;") ||
		!strings.Contains(csp, "frame-src https://cdn.iamport.kr https://*.iamport.kr;") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("payment page CSP %q", csp)
	}
	for _, path := range []string{"/", "/pay.html", "/js/pay.js", "/lectures/3"} {
		if _, csp := get(on, path); strings.Contains(csp, "iamport") {
			t.Errorf("GET %s allows the gateway: %q", path, csp)
		}
	}
	off := console.Handler(console.Options{})
	if _, csp := get(off, console.PayPath); strings.Contains(csp, "iamport") || !strings.Contains(csp, "script-src 'self';") {
		t.Errorf("payments off: /pay CSP %q", csp)
	}
}

// TestStaticFilesObeyCSP keeps inline scripts, inline styles and HTML
// injection out of the static files: the CSP would block the first two, and
// the third is how text would become markup.
func TestStaticFilesObeyCSP(t *testing.T) {
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	bad := map[string]*regexp.Regexp{
		"inline style attribute": regexp.MustCompile(`\sstyle\s*=|setAttribute\(\s*'style'`),
		"inline event handler":   regexp.MustCompile(`<[^>]+\son[a-z]+\s*=`),
		"innerHTML":              regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write`),
		"eval":                   regexp.MustCompile(`\beval\(|new Function\(`),
		"remote resource":        regexp.MustCompile(`(?:src|href)\s*=\s*["']https?://`),
	}
	n := 0
	err := fs.WalkDir(os.DirFS("static"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(filepath.Join("static", path))
		if err != nil {
			return err
		}
		n++
		if inlineScript.Match(b) {
			t.Errorf("%s: inline script", path)
		}
		for what, re := range bad {
			if re.Match(b) {
				t.Errorf("%s: %s", path, what)
			}
		}
		return nil
	})
	if err != nil || n < 10 {
		t.Fatalf("walking static: %v (%d files)", err, n)
	}
}

var (
	dictKey = regexp.MustCompile(`(?m)^\s*'([a-z0-9_.]+)':`)
	tCall   = regexp.MustCompile(`\bt\(\s*'([a-z0-9_.]+)'\s*[,)]`) // computed keys (prefix + value) are skipped
)

func dictKeys(t *testing.T, name string) map[string]bool {
	b, err := os.ReadFile(filepath.Join("static", "js", "i18n", name))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, m := range dictKey.FindAllSubmatch(b, -1) {
		keys[string(m[1])] = true
	}
	if len(keys) < 100 {
		t.Fatalf("%s: only %d keys", name, len(keys))
	}
	return keys
}

// TestDictionariesComplete checks that Korean and English have the same keys
// and that every literal key the views ask for exists.
func TestDictionariesComplete(t *testing.T) {
	en, ko := dictKeys(t, "en.js"), dictKeys(t, "ko.js")
	for k := range en {
		if !ko[k] {
			t.Errorf("ko.js lacks %q", k)
		}
	}
	for k := range ko {
		if !en[k] {
			t.Errorf("en.js lacks %q", k)
		}
	}
	files, _ := filepath.Glob(filepath.Join("static", "js", "*", "*.js"))
	main, _ := filepath.Glob(filepath.Join("static", "js", "*.js"))
	used := 0
	for _, f := range append(files, main...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tCall.FindAllSubmatch(b, -1) {
			used++
			if !en[string(m[1])] {
				t.Errorf("%s uses missing key %q", f, m[1])
			}
		}
	}
	if used < 100 {
		t.Errorf("only %d translated strings found in the views", used)
	}
}

// e2e holds what the browser tests need: node, Chromium and the npm package.
type e2e struct {
	node, chromium, dir string
}

func needE2E(t testing.TB) e2e {
	node := testenv.LookPath(t, "node")
	chromium := testenv.LookPath(t, "chromium")
	dir, err := filepath.Abs(filepath.Join("..", "..", "tests", "e2e"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		testenv.Missing(t, "playwright-core not installed in tests/e2e (run scripts/setup.sh)")
	}
	return e2e{node: node, chromium: chromium, dir: dir}
}

// run runs one e2e script with env added, failing the test with its output,
// and returns the output.
func (e e2e) run(t testing.TB, ctx context.Context, script string, env ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, e.node, filepath.Join(e.dir, script))
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), append([]string{"CHROMIUM=" + e.chromium}, env...)...)
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		t.Log(line)
	}
	if err != nil {
		t.Fatalf("%s: %v", script, err)
	}
	return out.String()
}

// writeFrames writes n distinct JPEG screens for the fake students to upload.
func writeFrames(t testing.TB, n int) string {
	dir := t.TempDir()
	for i := range n {
		img := image.NewRGBA(image.Rect(0, 0, 480, 300))
		bg := color.RGBA{uint8(40 + 60*i), uint8(90 + 30*i), 160, 255}
		for y := range 300 {
			for x := range 480 {
				c := bg
				if y > 20 && y < 40 && x > 20 && x < 20+60*(i+1) { // a "title bar" of growing width
					c = color.RGBA{250, 250, 250, 255}
				}
				if y < 12 {
					c = color.RGBA{30, 30, 40, 255}
				}
				img.SetRGBA(x, y, c)
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "frame"+string(rune('0'+i))+".jpg"), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func screenshotEnv() []string {
	if d := os.Getenv("DIDACTO_SCREENSHOT_DIR"); d != "" {
		return []string{"SCREENSHOT_DIR=" + d}
	}
	return nil
}
