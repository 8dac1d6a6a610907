// Package netem is a shaped network link for tests and benchmarks: a
// userspace UDP relay on loopback that gives each direction a bottleneck
// rate, a queue that drops at its tail, a propagation delay and random
// loss. It stands in for tc/netem, which the test machines may not allow.
//
// A Relay listens on 127.0.0.1 and forwards what it receives to one target
// address from a second socket; what the target answers goes back to the
// last client heard from. A WebRTC peer that is told the relay's address as
// its remote candidate (and is not told the real one) therefore talks to
// the other peer only through the shaped link: the other peer learns the
// relay as a peer-reflexive candidate.
package netem

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Shape is one direction of a link. The zero Shape passes everything at
// once.
type Shape struct {
	RateBps int           // bottleneck rate in bits per second; 0 is unlimited
	Delay   time.Duration // one-way propagation delay
	Loss    float64       // probability (0..1) that a packet is dropped
	Queue   time.Duration // the bottleneck drops packets that would wait longer; 0 is 200 ms
}

func (s Shape) validate() error {
	switch {
	case s.RateBps < 0:
		return fmt.Errorf("netem: negative rate %d", s.RateBps)
	case s.Delay < 0 || s.Queue < 0:
		return errors.New("netem: negative delay or queue")
	case s.Loss < 0 || s.Loss > 1:
		return fmt.Errorf("netem: loss %v not in 0..1", s.Loss)
	}
	return nil
}

// Stats counts one direction's packets.
type Stats struct {
	Packets, Bytes int64         // delivered
	Dropped        int64         // lost at random or at a full queue
	Queued         int64         // waited behind others at the bottleneck
	MaxQueue       time.Duration // the longest such wait
}

// Relay is a running shaped relay. Close stops it.
type Relay struct {
	front  *net.UDPConn // where clients send
	back   *net.UDPConn // connected to the target
	client atomic.Pointer[net.UDPAddr]
	up     *pipe // client → target
	down   *pipe // target → client
	wg     sync.WaitGroup
	closed atomic.Bool
}

// Listen starts a relay on 127.0.0.1 to target with the given shapes for
// the client → target (up) and target → client (down) directions.
func Listen(target string, up, down Shape) (*Relay, error) {
	if err := up.validate(); err != nil {
		return nil, err
	}
	if err := down.validate(); err != nil {
		return nil, err
	}
	taddr, err := net.ResolveUDPAddr("udp", target)
	if err != nil {
		return nil, fmt.Errorf("netem: target: %w", err)
	}
	front, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("netem: listen: %w", err)
	}
	back, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, taddr)
	if err != nil {
		_ = front.Close()
		return nil, fmt.Errorf("netem: dial target: %w", err)
	}
	r := &Relay{front: front, back: back}
	r.up = newPipe(up, func(b []byte) { _, _ = back.Write(b) })
	r.down = newPipe(down, func(b []byte) {
		if c := r.client.Load(); c != nil {
			_, _ = front.WriteToUDP(b, c)
		}
	})
	r.wg.Add(4)
	go func() { defer r.wg.Done(); r.up.run() }()
	go func() { defer r.wg.Done(); r.down.run() }()
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, from, err := front.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.client.Store(from)
			r.up.push(buf[:n])
		}
	}()
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := back.Read(buf)
			if err != nil {
				if r.closed.Load() {
					return
				}
				continue // an ICMP refusal before the target listens
			}
			r.down.push(buf[:n])
		}
	}()
	return r, nil
}

// Addr is where clients send.
func (r *Relay) Addr() *net.UDPAddr { return r.front.LocalAddr().(*net.UDPAddr) }

// SetShape changes both directions' shapes from now on; packets already
// queued keep their times.
func (r *Relay) SetShape(up, down Shape) error {
	if err := up.validate(); err != nil {
		return err
	}
	if err := down.validate(); err != nil {
		return err
	}
	r.up.setShape(up)
	r.down.setShape(down)
	return nil
}

// Stats returns the up and down directions' counters.
func (r *Relay) Stats() (up, down Stats) { return r.up.stats(), r.down.stats() }

// Close stops the relay and waits for its goroutines.
func (r *Relay) Close() error {
	if !r.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := errors.Join(r.front.Close(), r.back.Close())
	r.up.close()
	r.down.close()
	r.wg.Wait()
	return err
}

// pipe is one direction: packets are stamped with their delivery time when
// they arrive (after the queue ahead of them drains at the rate, plus the
// delay), kept in order, and written when that time comes.
type pipe struct {
	write func([]byte)

	mu       sync.Mutex
	cond     *sync.Cond
	shape    Shape
	rng      *rand.Rand
	free     time.Time // when the bottleneck has sent everything queued
	queue    []packet
	st       Stats
	shutdown bool
}

type packet struct {
	data []byte
	at   time.Time
}

func newPipe(s Shape, write func([]byte)) *pipe {
	p := &pipe{write: write, shape: s, rng: rand.New(rand.NewPCG(rand.Uint64(), 1))}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *pipe) setShape(s Shape) {
	p.mu.Lock()
	p.shape = s
	p.mu.Unlock()
}

func (p *pipe) push(b []byte) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.shape
	if s.Loss > 0 && p.rng.Float64() < s.Loss {
		p.st.Dropped++
		return
	}
	start := now
	if p.free.After(now) {
		wait := p.free.Sub(now)
		limit := s.Queue
		if limit == 0 {
			limit = 200 * time.Millisecond
		}
		if s.RateBps > 0 && wait > limit {
			p.st.Dropped++
			return
		}
		start = p.free
		p.st.Queued++
		p.st.MaxQueue = max(p.st.MaxQueue, wait)
	}
	if s.RateBps > 0 {
		p.free = start.Add(time.Duration(float64(len(b)*8) / float64(s.RateBps) * float64(time.Second)))
	} else {
		p.free = now
	}
	at := p.free.Add(s.Delay)
	if n := len(p.queue); n > 0 && at.Before(p.queue[n-1].at) {
		at = p.queue[n-1].at // a shorter delay set meanwhile never reorders
	}
	p.queue = append(p.queue, packet{data: append([]byte(nil), b...), at: at})
	p.cond.Signal()
}

func (p *pipe) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.shutdown {
			p.cond.Wait()
		}
		if p.shutdown {
			p.mu.Unlock()
			return
		}
		next := p.queue[0]
		p.mu.Unlock()
		if d := time.Until(next.at); d > 0 {
			timer.Reset(d)
			<-timer.C
		}
		p.mu.Lock()
		p.queue = p.queue[1:]
		p.st.Packets++
		p.st.Bytes += int64(len(next.data))
		p.mu.Unlock()
		p.write(next.data)
	}
}

func (p *pipe) stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *pipe) close() {
	p.mu.Lock()
	p.shutdown = true
	p.cond.Broadcast()
	p.mu.Unlock()
}
