// Package feed fans small JSON events out to the browsers watching a topic,
// on every replica: in memory on one machine, over Redis pub/sub when the
// replicas share a Redis. The console's live join requests ride on it.
// Delivery is best effort: a slow reader misses events rather than slowing
// publishers, and readers re-sync from the REST API after a gap.
package feed

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bus publishes payloads on topics and hands them to subscribers.
type Bus interface {
	Publish(ctx context.Context, topic string, payload []byte) error
	// Subscribe returns a channel of payloads; it is closed when ctx ends,
	// or when the reader fell so far behind that it missed some.
	Subscribe(ctx context.Context, topic string) <-chan []byte
}

// Local delivers within one process.
type Local struct {
	mu   sync.Mutex
	subs map[string]map[chan []byte]struct{}
}

// SubBuffer is how many payloads a reader may fall behind. A reader that
// falls further behind has its channel closed: it has missed events, and
// must re-read what it shows (a console's stream ends, the browser
// reconnects and re-reads on hello), rather than show a wrong state.
const SubBuffer = 256

// NewLocal returns an empty in-process bus.
func NewLocal() *Local { return &Local{subs: map[string]map[chan []byte]struct{}{}} }

// Publish implements Bus.
func (l *Local) Publish(_ context.Context, topic string, payload []byte) error {
	l.deliver(topic, payload)
	return nil
}

func (l *Local) deliver(topic string, payload []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ch := range l.subs[topic] {
		select {
		case ch <- payload:
		default: // a stuck browser must not hold up the publisher
			delete(l.subs[topic], ch)
			close(ch)
		}
	}
}

// Subscribe implements Bus.
func (l *Local) Subscribe(ctx context.Context, topic string) <-chan []byte {
	return l.subscribe(ctx, topic, nil)
}

// Subscribers is how many readers the topic has in this process.
func (l *Local) Subscribers(topic string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.subs[topic])
}

// subscribe calls onEmpty after the topic's last reader left.
func (l *Local) subscribe(ctx context.Context, topic string, onEmpty func()) <-chan []byte {
	ch := make(chan []byte, SubBuffer)
	l.mu.Lock()
	if l.subs[topic] == nil {
		l.subs[topic] = map[chan []byte]struct{}{}
	}
	l.subs[topic][ch] = struct{}{}
	l.mu.Unlock()
	go func() {
		<-ctx.Done()
		l.mu.Lock()
		if _, ok := l.subs[topic][ch]; ok {
			delete(l.subs[topic], ch)
			close(ch)
		}
		empty := len(l.subs[topic]) == 0
		if empty {
			delete(l.subs, topic)
		}
		l.mu.Unlock()
		if empty && onEmpty != nil {
			onEmpty()
		}
	}()
	return ch
}

// Redis publishes on the channel <prefix>feed:<topic>; each replica holds
// one Redis subscription per topic that has local readers.
type Redis struct {
	rdb    *redis.Client
	prefix string
	local  *Local
	logger *slog.Logger

	mu   sync.Mutex
	subs map[string]context.CancelFunc
}

// NewRedis returns a bus on rdb with channel names under prefix (e.g. "didacto:").
func NewRedis(rdb *redis.Client, prefix string, logger *slog.Logger) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, local: NewLocal(), logger: logger, subs: map[string]context.CancelFunc{}}
}

func (r *Redis) channel(topic string) string { return r.prefix + "feed:" + topic }

// Publish implements Bus.
func (r *Redis) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := r.rdb.Publish(ctx, r.channel(topic), payload).Err(); err != nil {
		return fmt.Errorf("redis publish %s: %w", topic, err)
	}
	return nil
}

// Subscribe implements Bus: the first local reader of a topic opens the
// Redis subscription, the last one closes it.
func (r *Redis) Subscribe(ctx context.Context, topic string) <-chan []byte {
	ch := r.local.subscribe(ctx, topic, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if cancel, ok := r.subs[topic]; ok && r.local.Subscribers(topic) == 0 {
			cancel()
			delete(r.subs, topic)
		}
	})
	r.mu.Lock()
	var ready chan struct{}
	if _, ok := r.subs[topic]; !ok {
		subCtx, cancel := context.WithCancel(context.Background())
		r.subs[topic] = cancel
		ready = make(chan struct{})
		go r.pump(subCtx, topic, ready)
	}
	r.mu.Unlock()
	if ready != nil {
		// Wait (briefly, and without holding the lock) until Redis confirmed
		// the subscription, so an event published right after Subscribe
		// returns is not lost.
		select {
		case <-ready:
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	return ch
}

// pump relays a topic's Redis channel to local readers, resubscribing after
// Redis restarts.
func (r *Redis) pump(ctx context.Context, topic string, ready chan struct{}) {
	once := sync.OnceFunc(func() { close(ready) })
	defer once()
	for ctx.Err() == nil {
		sub := r.rdb.Subscribe(ctx, r.channel(topic))
		if _, err := sub.Receive(ctx); err != nil && ctx.Err() == nil {
			r.logger.Warn("redis: subscribing to feed", "topic", topic, "err", err)
		} else {
			once()
		}
		msgs := sub.Channel()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case m, ok := <-msgs:
				if !ok {
					break loop
				}
				r.local.deliver(topic, []byte(m.Payload))
			}
		}
		_ = sub.Close()
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
