package agentchan

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/wire"
)

// Bus carries events to the replica that holds a student's channel.
type Bus interface {
	Publish(ctx context.Context, studentID int64, ev wire.AgentEvent) error
	// Subscribe calls deliver for every event published, on any replica,
	// until stop is called.
	Subscribe(ctx context.Context, deliver func(studentID int64, ev wire.AgentEvent)) (stop func(), err error)
}

// MemoryBus is the one-machine Bus.
type MemoryBus struct {
	mu   sync.Mutex
	subs map[int]func(int64, wire.AgentEvent)
	next int
}

// NewMemoryBus returns an empty bus.
func NewMemoryBus() *MemoryBus { return &MemoryBus{subs: map[int]func(int64, wire.AgentEvent){}} }

// Publish implements Bus.
func (b *MemoryBus) Publish(_ context.Context, studentID int64, ev wire.AgentEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, d := range b.subs {
		d(studentID, ev)
	}
	return nil
}

// Subscribe implements Bus.
func (b *MemoryBus) Subscribe(_ context.Context, deliver func(int64, wire.AgentEvent)) (func(), error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	b.subs[id] = deliver
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		delete(b.subs, id)
	}, nil
}

// RedisBus shares events between replicas over one Redis pub/sub channel
// (each replica picks out its own students: one subscription per replica,
// not one per agent).
type RedisBus struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
}

// NewRedisBus publishes on <prefix>agent.
func NewRedisBus(rdb redis.UniversalClient, prefix string, log *slog.Logger) *RedisBus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &RedisBus{rdb: rdb, channel: prefix + "agent", log: log}
}

type envelope struct {
	Student int64           `json:"s"`
	Event   wire.AgentEvent `json:"e"`
}

// Publish implements Bus.
func (b *RedisBus) Publish(ctx context.Context, studentID int64, ev wire.AgentEvent) error {
	msg, err := json.Marshal(envelope{studentID, ev})
	if err != nil {
		return err
	}
	if err := b.rdb.Publish(ctx, b.channel, msg).Err(); err != nil {
		return fmt.Errorf("publishing agent event: %w", err)
	}
	return nil
}

// Subscribe implements Bus. go-redis resubscribes by itself after Redis
// comes back; events published meanwhile are lost, and the agents' periodic
// re-check covers them.
func (b *RedisBus) Subscribe(ctx context.Context, deliver func(int64, wire.AgentEvent)) (func(), error) {
	ps := b.rdb.Subscribe(ctx, b.channel)
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("subscribing to agent events: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ps.Channel() {
			var env envelope
			if err := json.Unmarshal([]byte(m.Payload), &env); err != nil || env.Student == 0 {
				b.log.Warn("agent channel: bad event on the bus", "err", err)
				continue
			}
			deliver(env.Student, env.Event)
		}
	}()
	return func() { _ = ps.Close(); <-done }, nil
}
