package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/didacto/didacto/internal/testenv"
	"github.com/didacto/didacto/server/config"
	"github.com/didacto/didacto/server/servertest"
	"github.com/didacto/didacto/server/signal"
	"github.com/didacto/didacto/server/store"
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

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestHSTSMetricsGateAndHealthz is the review's F8: HSTS under TLS, /metrics
// only for loopback peers no proxy forwarded or with --metrics-token, and a
// /healthz that tells only the status.
func TestHSTSMetricsGateAndHealthz(t *testing.T) {
	cert, key, pool := selfSigned(t)
	in := servertest.Start(t, func(c *config.Config) { c.TLSCert, c.TLSKey = cert, key })
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := hc.Get(in.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Fatalf("no HSTS under TLS: %v", resp.Header)
	}
	if strings.TrimSpace(string(body)) != `{"status":"ok"}` {
		t.Fatalf("healthz tells more than its status: %s", body)
	}

	plain := servertest.Start(t)
	c := plain.NewClient(t)
	if r := c.Must(200, "GET", "/healthz", nil, nil); r.Header.Get("Strict-Transport-Security") != "" {
		t.Fatal("HSTS over plain http")
	}
	c.Must(200, "GET", "/metrics", nil, nil) // a loopback scraper
	req, _ := http.NewRequest("GET", plain.URL+"/metrics", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7") // a proxy on this host forwarding a remote client
	c.Send(req, nil).Code(t, 403, wire.CodeForbidden)

	tok := servertest.Start(t, func(c *config.Config) { c.MetricsToken = "s3cret-scrape" })
	tc := tok.NewClient(t)
	tc.Do("GET", "/metrics", nil, nil).Code(t, 401, wire.CodeUnauthorized)
	tc.Token = "wrong"
	tc.Do("GET", "/metrics", nil, nil).Code(t, 401, wire.CodeUnauthorized)
	tc.Token = "s3cret-scrape"
	tc.Must(200, "GET", "/metrics", nil, nil)
}

// TestPaymentErrorsAreGeneric is the review's F13: with PortOne down the
// client used to get the gateway's URL, address and syscall text.
func TestPaymentErrorsAreGeneric(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close() // nothing answers there now
	in := servertest.Start(t, func(c *config.Config) {
		c.PortOne = config.PortOne{V1Key: "test_imp_key", V1Secret: "test_imp_secret", V1StoreCode: "imp12345",
			V1PG: "html5_inicis", V1BaseURL: dead}
	})
	prof := in.Register(t, wire.RoleProfessor, "Prof Pay")
	for _, r := range []servertest.Response{
		prof.Do("POST", "/api/v1/orders", wire.CreateOrderRequest{Plan: "premium-monthly"}, nil),
	} {
		if r.Status != http.StatusBadGateway || r.Problem == nil || r.Problem.Code != wire.CodePaymentGateway {
			t.Fatalf("gateway down: %d %s", r.Status, r.Body)
		}
		for _, leak := range []string{"127.0.0.1", "dial", "refused", "http://", "prepare"} {
			if strings.Contains(r.Problem.Detail, leak) {
				t.Fatalf("the problem tells the client %q: %s", leak, r.Problem.Detail)
			}
		}
	}
}

// forge signs claims with the server's own key, as someone who read it from
// the database file could.
func forge(t *testing.T, in *servertest.Instance, claims map[string]any) string {
	key, err := in.Server.Store().Secret(context.Background(), "token-signing-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(claims)
	p := base64.RawURLEncoding.EncodeToString(js)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("v1." + p))
	return "v1." + p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// TestSmallerFindings covers the review's F12: a token longer-lived than
// the server issues is refused, paging is bounded, JSON needs its type.
func TestSmallerFindings(t *testing.T) {
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Small")
	now := time.Now().Unix()
	c := in.NewClient(t)
	for name, claims := range map[string]map[string]any{
		"year-long":   {"sub": prof.User.ID, "role": "professor", "name": "x", "purp": "access", "iat": now, "exp": now + 365*24*3600},
		"no iat":      {"sub": prof.User.ID, "role": "professor", "name": "x", "purp": "access", "exp": now + 600},
		"future iat":  {"sub": prof.User.ID, "role": "professor", "name": "x", "purp": "access", "iat": now + 3600, "exp": now + 3700},
		"long ticket": {"sub": prof.User.ID, "role": "professor", "name": "x", "purp": "ticket", "iat": now, "exp": now + 3600},
	} {
		c.Token = forge(t, in, claims)
		if r := c.Do("GET", "/api/v1/me", nil, nil); r.Status != 401 {
			t.Errorf("%s token: %d %s", name, r.Status, r.Body)
		}
	}
	c.Token = forge(t, in, map[string]any{"sub": prof.User.ID, "role": "professor", "name": "x", "purp": "access", "iat": now, "exp": now + 600, "fam": "f"})
	c.Must(200, "GET", "/api/v1/me", nil, nil) // the forger's baseline: a normal token works

	prof.Do("GET", "/api/v1/lectures?page=9223372036854775807", nil, nil).Code(t, 400, wire.CodeBadRequest)
	prof.Do("GET", "/api/v1/lectures?page=1000001", nil, nil).Code(t, 400, wire.CodeBadRequest)
	prof.Must(200, "GET", "/api/v1/lectures?page=1000000", nil, nil)

	login := []byte(`{"email":"nobody@school.example","password":"Passw0rd!"}`)
	c.Token = ""
	c.Do("POST", "/api/v1/auth/login", login, nil).Code(t, 415, wire.CodeUnsupportedMedia) // no Content-Type
	req, _ := http.NewRequest("POST", in.URL+"/api/v1/auth/login", bytes.NewReader(login))
	req.Header.Set("Content-Type", "text/plain")
	c.Send(req, nil).Code(t, 415, wire.CodeUnsupportedMedia)
}

// TestWrongPasswordsLockNobodyOut is the review's F3 against a server: 12
// wrong passwords from one address used to lock the account for everybody
// (429 for the right password), and a spray over many accounts was never
// slowed.
func TestWrongPasswordsLockNobodyOut(t *testing.T) {
	t.Run("memory", func(t *testing.T) { wrongPasswords(t, servertest.Start(t)) })
	t.Run("redis", func(t *testing.T) {
		wrongPasswords(t, servertest.Start(t, servertest.WithRedis(testenv.StartRedis(t).URL())))
	})
}

func wrongPasswords(t *testing.T, in *servertest.Instance) {
	victim := in.Register(t, wire.RoleProfessor, "Victim Prof")
	owner := in.NewClientFrom(t, "127.0.0.2") // the professor's own PC
	owner.Login(victim.User.Email, servertest.Password)
	attacker := in.NewClient(t)
	limited := 0
	for range 12 {
		r := attacker.Login(strings.ToUpper(victim.User.Email), "Wrong-pass1!")
		if r.Status == http.StatusTooManyRequests {
			limited++
			if ra := r.Header.Get("Retry-After"); ra == "" || len(ra) > 2 {
				t.Fatalf("Retry-After %q", ra)
			}
		}
	}
	if limited == 0 {
		t.Fatal("12 guesses from one address were not slowed down")
	}
	if r := owner.Login(victim.User.Email, servertest.Password); r.Status != 200 {
		t.Fatalf("the owner is locked out by someone else's guesses: %d %s", r.Status, r.Body)
	}
	sprayer := in.NewClientFrom(t, "127.0.0.3")
	limited = 0
	for i := range 40 {
		if sprayer.Login(fmt.Sprintf("someone%d@school.example", i), "Spring2026!").Status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("one password sprayed over 40 accounts was never slowed down")
	}
}

// TestTicketsOpenOneSocket is the review's F6: a ticket opened three
// websockets within its minute.
func TestTicketsOpenOneSocket(t *testing.T) {
	t.Run("memory", func(t *testing.T) { ticketOnce(t, servertest.Start(t)) })
	t.Run("redis", func(t *testing.T) {
		ticketOnce(t, servertest.Start(t, servertest.WithRedis(testenv.StartRedis(t).URL())))
	})
}

func ticketOnce(t *testing.T, in *servertest.Instance) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stu := in.Register(t, wire.RoleStudent, "Ticket Student")
	var tk struct {
		Ticket string `json:"ticket"`
	}
	stu.Must(200, "POST", "/api/v1/signal/ticket", nil, &tk)
	u := "ws" + strings.TrimPrefix(in.URL, "http") + "/api/v1/signal?ticket=" + url.QueryEscape(tk.Ticket)
	if _, _, err := dialWS(t, ctx, u, nil); err != nil {
		t.Fatalf("first use: %v", err)
	}
	for range 2 {
		if _, resp, err := dialWS(t, ctx, u, nil); err == nil || resp == nil || resp.StatusCode != 401 {
			t.Fatalf("a used ticket: err %v resp %v", err, resp)
		}
	}
}

// TestSlowBodiesAreCut is the review's F5: a body trickled a byte at a time
// held its connection for as long as the client liked.
func TestSlowBodiesAreCut(t *testing.T) {
	in := servertest.Start(t, shortTimeouts)
	conn, err := net.Dial("tcp", strings.TrimPrefix(in.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{\"e")
	// The server must give up on its own; this deadline only keeps a
	// broken server from hanging the test.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a trickled body still holds its connection")
	}
}

// TestConnectionCaps is the review's F5: one student held 3000 websockets
// and one professor 1500 event streams.
func TestConnectionCaps(t *testing.T) {
	in := servertest.Start(t, func(c *config.Config) {
		c.MaxSocketsPerUser, c.MaxSocketsPerAddress = 3, 4
		c.MaxStreamsPerUser, c.MaxStreamsPerAddress = 2, 3
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := in.ActiveClass(t, "Prof Caps", "Student Caps", "Caps")
	other := in.Register(t, wire.RoleStudent, "Other Caps")
	wsURL := "ws" + strings.TrimPrefix(in.URL, "http") + "/api/v1/signal"
	dial := func(c *servertest.Client) *wsConn {
		ws, _, err := dialWS(t, ctx, wsURL, http.Header{"Authorization": {"Bearer " + c.Token}})
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	// A native client (the agent: no Origin) is refused before the upgrade
	// with 429; a browser (Origin) gets the socket, told why, closed 4029.
	browser := func(c *servertest.Client) *wsConn {
		ws, _, err := dialWS(t, ctx, wsURL, http.Header{"Authorization": {"Bearer " + c.Token}, "Origin": {in.URL}})
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	native429 := func(c *servertest.Client, who string) {
		t.Helper()
		_, resp, err := dialWS(t, ctx, wsURL, http.Header{"Authorization": {"Bearer " + c.Token}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("a native client over the cap (%s): err %v resp %v", who, err, resp)
		}
	}
	refused := func(ws *wsConn, who string) {
		t.Helper()
		m := ws.recv(ctx)
		if m.Type != wire.SignalError || m.Code != wire.CodeRateLimited || !strings.Contains(m.Message, who) {
			t.Fatalf("over the cap: %+v", m)
		}
		_, _, err := ws.c.Read(ctx)
		if websocket.CloseStatus(err) != signal.CloseTooManySockets {
			t.Fatalf("over the cap: closed with %v", err)
		}
	}
	var mine []*wsConn
	for range 3 {
		mine = append(mine, dial(cl.Student))
	}
	for _, ws := range mine { // all three work
		ws.send(ctx, wire.SignalMessage{Type: wire.SignalPing})
		if m := ws.recv(ctx); m.Type != wire.SignalPong {
			t.Fatalf("under the cap: %+v", m)
		}
	}
	refused(browser(cl.Student), "this account")
	native429(cl.Student, "this account")
	o := dial(other) // the fourth socket of the address
	o.send(ctx, wire.SignalMessage{Type: wire.SignalPing})
	if m := o.recv(ctx); m.Type != wire.SignalPong {
		t.Fatalf("another account under the address cap: %+v", m)
	}
	refused(browser(other), "your address")
	native429(other, "your address")
	mine[0].c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(20 * time.Second)
	for { // the freed slot is taken again once the server has seen the close
		ws, _, err := dialWS(t, ctx, wsURL, http.Header{"Authorization": {"Bearer " + other.Token}})
		if err == nil {
			ws.send(ctx, wire.SignalMessage{Type: wire.SignalPing})
			if m := ws.recv(ctx); m.Type == wire.SignalPong {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("a closed socket's slot was never freed")
		}
		time.Sleep(50 * time.Millisecond)
	}

	stream := func() *http.Response {
		req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/lectures/%d/monitor/stream", in.URL, cl.Lecture.ID), nil)
		req.Header.Set("Authorization", "Bearer "+cl.Prof.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	for range 2 {
		if r := stream(); r.StatusCode != 200 {
			t.Fatalf("stream under the cap: %d", r.StatusCode)
		}
	}
	if r := stream(); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream of one professor: %d", r.StatusCode)
	}
}

// TestJoinCodesAndRequestsAreLimited is the review's F11: 600 guessed codes
// in 0.7 s were never refused, a rejected student asked again at once, and
// 50 join+cancel cycles filled the professor's queue.
func TestJoinCodesAndRequestsAreLimited(t *testing.T) {
	in := servertest.Start(t)
	prof := in.Register(t, wire.RoleProfessor, "Prof Codes")
	var l wire.Lecture
	prof.Must(201, "POST", "/api/v1/lectures", wire.CreateLectureRequest{Title: "Codes"}, &l)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/lectures/%d/activate", l.ID), nil, nil)

	guesser := in.Register(t, wire.RoleStudent, "Guesser")
	limited := 0
	for i := range 60 {
		code := fmt.Sprintf("ZZ%04d", i)
		code = strings.NewReplacer("0", "A", "1", "B", "4", "C", "6", "D", "8", "E").Replace(code)
		r := guesser.Do("POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: code}, nil)
		switch r.Status {
		case 404:
		case 429:
			limited++
		default:
			t.Fatalf("guess %s: %d %s", code, r.Status, r.Body)
		}
	}
	if limited == 0 {
		t.Fatal("60 wrong join codes were never slowed down")
	}

	stu := in.Register(t, wire.RoleStudent, "Rejected Student")
	var e wire.Enrollment
	stu.Must(201, "POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e)
	prof.Must(200, "POST", fmt.Sprintf("/api/v1/enrollments/%d/reject", e.ID), nil, nil)
	r := stu.Do("POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, nil)
	r.Code(t, 429, wire.CodeRateLimited)
	if !strings.Contains(r.Problem.Detail, "declined") {
		t.Fatalf("cooldown detail: %s", r.Problem.Detail)
	}

	spammer := in.Register(t, wire.RoleStudent, "Spammer")
	created := 0
	for range 50 {
		if spammer.Do("POST", "/api/v1/lectures/join", wire.JoinLectureRequest{Code: l.Code}, &e).Status != 201 {
			break
		}
		created++
		spammer.Must(200, "DELETE", fmt.Sprintf("/api/v1/enrollments/%d", e.ID), nil, nil)
	}
	if created == 0 || created >= 50 {
		t.Fatalf("join+cancel cycles: %d requests filed", created)
	}
}

// TestAuditRowsAreBudgetedPerActor is the review's F7: a student looping
// join/leave wrote ~900 rows/s into the professor's audit log.
func TestAuditRowsAreBudgetedPerActor(t *testing.T) {
	in := servertest.Start(t)
	cl := in.ActiveClass(t, "Prof Audit", "Student Audit", "Audit")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ws, _, err := dialWS(t, ctx, "ws"+strings.TrimPrefix(in.URL, "http")+"/api/v1/signal",
		http.Header{"Authorization": {"Bearer " + cl.Student.Token}})
	if err != nil {
		t.Fatal(err)
	}
	join := wire.SignalMessage{Type: wire.SignalJoin, LectureID: cl.Lecture.ID, StudentID: cl.Student.User.ID, Role: wire.RoleStudent}
	for range 60 { // 120 rows' worth, within the socket's message burst
		ws.send(ctx, join)
		if m := ws.recv(ctx); m.Type != wire.SignalJoined {
			t.Fatalf("join: %+v", m)
		}
		ws.send(ctx, wire.SignalMessage{Type: wire.SignalLeave})
		ws.send(ctx, wire.SignalMessage{Type: wire.SignalPing})
		for m := ws.recv(ctx); m.Type != wire.SignalPong; m = ws.recv(ctx) {
		}
	}
	var page wire.Page[wire.AuditRecord]
	cl.Prof.Must(200, "GET", fmt.Sprintf("/api/v1/lectures/%d/audit?size=100", cl.Lecture.ID), nil, &page)
	// The professor's acceptance of the student is a row too; count the
	// student's own.
	own := 0
	for _, r := range page.Items {
		if r.ActorID == cl.Student.User.ID {
			own++
		}
	}
	if own > 61 || page.Total > len(page.Items) {
		t.Fatalf("one student wrote %d audit rows in a few seconds (%d in all)", own, page.Total)
	}
	if page.Items[0].Action != signal.AuditSuppressed {
		t.Fatalf("the newest row is %+v, want %s", page.Items[0], signal.AuditSuppressed)
	}
}

// login signs in with bearer tokens and returns the pair.
func login(t *testing.T, in *servertest.Instance, email, password string) (*servertest.Client, wire.TokenPair) {
	c := in.NewClient(t)
	var pair wire.TokenPair
	c.Must(200, "POST", "/api/v1/auth/login", wire.LoginRequest{Email: email, Password: password}, &pair)
	c.Token, c.User = pair.AccessToken, pair.User
	return c, pair
}

// closedWith waits for the server to close ws and returns the close code.
func closedWith(ctx context.Context, ws *wsConn) websocket.StatusCode {
	for {
		if _, _, err := ws.c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// TestLogoutAndPasswordChangeEndSignIns is the review's F4: after logout the
// access token kept working for 15 minutes (/me 200, a fresh ticket 200) and
// open sockets stayed; there was no password change.
func TestLogoutAndPasswordChangeEndSignIns(t *testing.T) {
	in := servertest.Start(t)
	cl := in.ActiveClass(t, "Prof Logout", "Student Logout", "Logout")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(in.URL, "http") + "/api/v1/signal"

	prof, pair := login(t, in, cl.Prof.User.Email, servertest.Password)
	ws, _, err := dialWS(t, ctx, wsURL, http.Header{"Authorization": {"Bearer " + prof.Token}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/lectures/%d/monitor/stream", in.URL, cl.Lecture.ID), nil)
	req.Header.Set("Authorization", "Bearer "+prof.Token)
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, stream)
	}
	defer stream.Body.Close()
	streamDone := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, stream.Body); close(streamDone) }()

	prof.Must(204, "POST", "/api/v1/auth/logout", wire.RefreshRequest{RefreshToken: pair.RefreshToken}, nil)
	prof.Do("GET", "/api/v1/me", nil, nil).Code(t, 401, wire.CodeUnauthorized)
	prof.Do("POST", "/api/v1/signal/ticket", nil, nil).Code(t, 401, wire.CodeUnauthorized)
	if code := closedWith(ctx, ws); code != signal.CloseSignedOut {
		t.Fatalf("the signed-out socket closed with %d", code)
	}
	select {
	case <-streamDone:
	case <-ctx.Done():
		t.Fatal("the signed-out event stream stayed open")
	}
	cl.Prof.Must(200, "GET", "/api/v1/me", nil, nil) // another sign-in of the same account is untouched

	// A password change ends the other sign-ins, not the caller's.
	here, _ := login(t, in, cl.Student.User.Email, servertest.Password)
	there, therePair := login(t, in, cl.Student.User.Email, servertest.Password)
	ws, _, err = dialWS(t, ctx, wsURL, http.Header{"Authorization": {"Bearer " + there.Token}})
	if err != nil {
		t.Fatal(err)
	}
	here.Do("POST", "/api/v1/me/password", wire.ChangePasswordRequest{CurrentPassword: "wrong-Pass1!", NewPassword: "N3w-secret!"}, nil).
		Code(t, 422, wire.CodeValidation)
	here.Do("POST", "/api/v1/me/password", wire.ChangePasswordRequest{CurrentPassword: servertest.Password, NewPassword: "weak"}, nil).
		Code(t, 422, wire.CodeValidation)
	here.Must(204, "POST", "/api/v1/me/password", wire.ChangePasswordRequest{CurrentPassword: servertest.Password, NewPassword: "N3w-secret!"}, nil)
	here.Must(200, "GET", "/api/v1/me", nil, nil)
	there.Do("GET", "/api/v1/me", nil, nil).Code(t, 401, wire.CodeUnauthorized)
	there.Do("POST", "/api/v1/auth/refresh", wire.RefreshRequest{RefreshToken: therePair.RefreshToken}, nil).Code(t, 401, wire.CodeUnauthorized)
	if code := closedWith(ctx, ws); code != signal.CloseSignedOut {
		t.Fatalf("the other sign-in's socket closed with %d", code)
	}
	in.NewClientFrom(t, "127.0.0.5").Login(cl.Student.User.Email, servertest.Password).Code(t, 401, wire.CodeInvalidLogin)
	login(t, in, cl.Student.User.Email, "N3w-secret!")
}

// TestAuditRetention is the review's F7 (second half): audit rows were
// never pruned. A server with --audit-retention deletes older rows.
func TestAuditRetention(t *testing.T) {
	dir := t.TempDir()
	a := servertest.Start(t, func(c *config.Config) { c.DataDir, c.AuditRetention = dir, 0 })
	ctx := context.Background()
	now := time.Now()
	for _, at := range []time.Time{now.Add(-48 * time.Hour), now.Add(-2 * time.Hour), now.Add(-time.Minute)} {
		if err := a.Server.Store().AppendAudit(ctx, store.AuditEntry{LectureID: 7, Action: "join", At: at}); err != nil {
			t.Fatal(err)
		}
	}
	// A second server on the same database, keeping an hour, prunes as it starts.
	servertest.Start(t, func(c *config.Config) { c.DataDir, c.AuditRetention = dir, time.Hour })
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		es, n, err := a.Server.Store().AuditByLecture(ctx, 7, store.PageRequest{Page: 1, Size: 10})
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 && es[0].At.After(now.Add(-time.Hour)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after pruning: %d rows %+v", n, es)
		}
	}
}
