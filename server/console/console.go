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
// websocket. The PortOne payment page widens it for the payment SDK only.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; " +
	"media-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Handler serves the console; unknown paths get index.html so the
// single-page app's own routes work on reload.
func Handler() http.Handler {
	static, _ := fs.Sub(files, "static") // the embed pattern guarantees the dir
	fileServer := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
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
