package httpx

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// StartEventStream begins a Server-Sent Events answer: its headers, no read
// deadline (a stream has no body to read; the server's timeouts are for
// ordinary requests), a write deadline the caller extends per event, and a
// first "hello" event carrying hello. It reports false when the client is
// gone or the writer cannot stream.
func StartEventStream(w http.ResponseWriter, writeTimeout time.Duration, hello any) (*http.ResponseController, bool) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	b, _ := json.Marshal(hello)
	fmt.Fprintf(w, "retry: 2000\nevent: hello\ndata: %s\n\n", b)
	return rc, rc.Flush() == nil
}
