package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/wire"
)

// TestStalledMetricsReaderStallsNobody is the review's F1: a client that
// asks for a large /metrics and stops reading must not hold up other
// requests (the registry's lock used to be held while writing).
func TestStalledMetricsReaderStallsNobody(t *testing.T) {
	in := servertest.Start(t)
	// A few MB of exposition, far more than the socket buffers hold.
	pad := in.Server.Metrics().Counter("didacto_test_padding_total", "padding for the stalled-reader test")
	for i := range 60_000 {
		pad.Add(fmt.Sprintf(`series="%040d"`, i), 1)
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	if _, err := io.WriteString(conn, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// Let the server start writing and fill the socket; the reader never reads.
	br := bufio.NewReaderSize(conn, 16)
	if _, err := br.ReadByte(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)

	// The client timeout is far below the server's write timeout: before the
	// fix these waited for it.
	hc := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/healthz", "/api/v1/plans", "/"} {
		resp, err := hc.Get(in.URL + path)
		if err != nil {
			t.Fatalf("GET %s while a /metrics reader is stalled: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
	}
}

// TestMetricsMethodLabelsAreBounded is the review's F2: client-chosen
// method names used to become permanent series.
func TestMetricsMethodLabelsAreBounded(t *testing.T) {
	in := servertest.Start(t)
	c := in.NewClient(t)
	for i := range 200 {
		req, err := http.NewRequest(fmt.Sprintf("X%06dAAAAAAAAAAAAAAAAAAAA", i), in.URL+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Send(req, nil)
	}
	m := string(c.Must(200, "GET", "/metrics", nil, nil).Body)
	if strings.Contains(m, "AAAAAAAAAA") {
		t.Fatalf("a client-chosen method is a metrics label")
	}
	if !strings.Contains(m, `method="OTHER",status="405"} 200`) {
		t.Fatalf("unknown methods are not counted as OTHER:\n%s", m)
	}
}

// shortTimeouts makes the server's read and write timeouts 1 s.
func shortTimeouts(c *config.Config) { c.ReadTimeout, c.WriteTimeout = time.Second, time.Second }

func smallJPEG(t *testing.T) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewRGBA(image.Rect(0, 0, 64, 36)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestStreamsOutliveTimeouts: the event stream and the websocket keep
// working past the server's read and write timeouts, which cut ordinary
// requests.
func TestStreamsOutliveTimeouts(t *testing.T) {
	in := servertest.Start(t, shortTimeouts)
	cl := in.ActiveClass(t, "Prof Streams", "Student Streams", "Streams")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/lectures/%d/monitor/stream", in.URL, cl.Lecture.ID), nil)
	req.Header.Set("Authorization", "Bearer "+cl.Prof.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, resp)
	}
	defer resp.Body.Close()
	events := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- v
			}
		}
		close(events)
	}()
	if e := <-events; e != "hello" {
		t.Fatalf("first event %q", e)
	}
	ws, _, err := dialWS(t, ctx, "ws"+strings.TrimPrefix(in.URL, "http")+"/api/v1/signal",
		http.Header{"Authorization": {"Bearer " + cl.Student.Token}})
	if err != nil {
		t.Fatal(err)
	}

	time.Sleep(2500 * time.Millisecond) // past both timeouts

	req, _ = http.NewRequest("PUT", fmt.Sprintf("%s/api/v1/lectures/%d/frame", in.URL, cl.Lecture.ID), bytes.NewReader(smallJPEG(t)))
	req.Header.Set("Content-Type", "image/jpeg")
	cl.Student.Send(req, nil)
	select {
	case e, ok := <-events:
		if !ok || e != "tile" {
			t.Fatalf("after the timeouts the stream gave %q (open %v)", e, ok)
		}
	case <-ctx.Done():
		t.Fatal("no tile event")
	}
	ws.send(ctx, wire.SignalMessage{Type: wire.SignalPing})
	if m := ws.recv(ctx); m.Type != wire.SignalPong {
		t.Fatalf("websocket after the timeouts: %+v", m)
	}
}
