// Package console serves the professor web console: static files embedded
// in the server binary (labs may be offline: no CDN), with a strict
// Content-Security-Policy (no inline scripts) on every page.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var files embed.FS

// csp allows only the server's own scripts, styles, images, media and
// websocket. The payment page widens it for the payment SDK only.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// PayPath is the payment page: the one document that loads PortOne's
// browser SDK, so no other page ever runs a third-party script.
const PayPath = "/pay"

// Options configures the console.
type Options struct {
	// PaymentOrigins are the origins the payment page may load the SDK
	// from and let it talk to and frame; none means payments are off.
	PaymentOrigins []string
}

// payCSP is the payment page's policy: the console's own plus the
// gateway's origins for scripts, connections, frames and images. The SDK
// styles its window inline.
func payCSP(origins []string) string {
	o := strings.Join(origins, " ")
	return "default-src 'self'; script-src 'self' " + o + "; style-src 'self' 'unsafe-inline'; img-src 'self' data: " + o +
		"; connect-src 'self' " + o + "; frame-src " + o + "; frame-ancestors 'none'; base-uri 'none'; form-action 'self' " + o
}

// Handler serves the console; unknown paths get index.html so the
// single-page app's own routes work on reload.
func Handler(o Options) http.Handler {
	static, _ := fs.Sub(files, "static") // the embed pattern guarantees the dir
	fileServer := http.FileServerFS(static)
	pay := csp
	if len(o.PaymentOrigins) > 0 {
		pay = payCSP(o.PaymentOrigins)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if r.URL.Path == PayPath {
			w.Header().Set("Content-Security-Policy", pay)
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, static, "pay.html")
			return
		}
		w.Header().Set("Content-Security-Policy", csp)
		name := strings.TrimPrefix(r.URL.Path, "/")
		if name == "" || !exists(static, name) {
			w.Header().Set("Cache-Control", "no-cache")
			http.ServeFileFS(w, r, static, "index.html")
			return
		}
		w.Header().Set("Cache-Control", "no-cache") // small files; always revalidate after an upgrade
		fileServer.ServeHTTP(w, r)
	})
}

func exists(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && !st.IsDir()
}
