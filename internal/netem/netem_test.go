package netem

import (
	"net"
	"testing"
	"time"
)

// echo is a UDP server on loopback that sends every packet back.
func echo(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteToUDP(buf[:n], from)
		}
	}()
	return c
}

func relayTo(t *testing.T, target net.Addr, up, down Shape) (*Relay, *net.UDPConn) {
	t.Helper()
	r, err := Listen(target.String(), up, down)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := net.DialUDP("udp", nil, r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return r, c
}

// receive reads n packets (or until 5 s pass) and says how many came.
func receive(c *net.UDPConn, n int) int {
	buf := make([]byte, 2048)
	got := 0
	for got < n {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(buf); err != nil {
			break
		}
		got++
	}
	return got
}

func TestRelayForwardsBothWays(t *testing.T) {
	e := echo(t)
	r, c := relayTo(t, e.LocalAddr(), Shape{}, Shape{})
	for i := range 10 {
		if _, err := c.Write([]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := receive(c, 10); got != 10 {
		t.Fatalf("got %d of 10 echoes", got)
	}
	up, down := r.Stats()
	if up.Packets != 10 || down.Packets != 10 {
		t.Fatalf("stats up %+v down %+v", up, down)
	}
}

// The bottleneck cannot deliver faster than its rate: 50 packets of 1,250
// bytes are 0.5 Mbit, so at 1 Mbps the last echo needs at least 0.5 s.
func TestRelayHoldsItsRate(t *testing.T) {
	e := echo(t)
	_, c := relayTo(t, e.LocalAddr(), Shape{RateBps: 1_000_000, Queue: time.Second}, Shape{})
	start := time.Now()
	pkt := make([]byte, 1250)
	for range 50 {
		if _, err := c.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	if got := receive(c, 50); got != 50 {
		t.Fatalf("got %d of 50", got)
	}
	if d := time.Since(start); d < 490*time.Millisecond {
		t.Fatalf("50 x 1,250 bytes at 1 Mbps took %v, less than the rate allows", d)
	}
}

func TestRelayDelays(t *testing.T) {
	e := echo(t)
	_, c := relayTo(t, e.LocalAddr(), Shape{Delay: 40 * time.Millisecond}, Shape{Delay: 60 * time.Millisecond})
	start := time.Now()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if receive(c, 1) != 1 {
		t.Fatal("no echo")
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("round trip %v through 40 + 60 ms of delay", d)
	}
}

// A burst larger than the queue loses its tail; loss 1 loses everything.
func TestRelayDrops(t *testing.T) {
	e := echo(t)
	r, c := relayTo(t, e.LocalAddr(), Shape{RateBps: 100_000, Queue: 50 * time.Millisecond}, Shape{})
	pkt := make([]byte, 1250) // 100 ms each at 100 kbps
	for range 20 {
		if _, err := c.Write(pkt); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond)
	up, _ := r.Stats()
	if up.Dropped == 0 || up.Packets+up.Dropped > 20 {
		t.Fatalf("a 20-packet burst into a 50 ms queue: %+v", up)
	}
	if err := r.SetShape(Shape{Loss: 1}, Shape{}); err != nil {
		t.Fatal(err)
	}
	before, _ := r.Stats()
	for range 10 {
		_, _ = c.Write(pkt[:10])
	}
	time.Sleep(100 * time.Millisecond)
	after, _ := r.Stats()
	if after.Dropped-before.Dropped != 10 {
		t.Fatalf("loss 1 dropped %d of 10", after.Dropped-before.Dropped)
	}
}

func TestShapeRejectsNonsense(t *testing.T) {
	for _, s := range []Shape{{RateBps: -1}, {Delay: -time.Second}, {Loss: 1.5}, {Loss: -0.1}, {Queue: -1}} {
		if _, err := Listen("127.0.0.1:9", s, Shape{}); err == nil {
			t.Errorf("Listen accepted %+v", s)
		}
	}
}
