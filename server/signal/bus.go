package signal

import (
	"context"
	"sync"

	"github.com/didacto/didacto/wire"
)

// Envelope kinds.
const (
	kindRelay      = "relay"       // Msg goes to the client as is
	kindKick       = "kick"        // the target was taken over
	kindPeerJoined = "peer_joined" // the professor arrived (to the student)
	kindPeerLeft   = "peer_left"   // the peer left or dropped
)

// Envelope is one message for one session, possibly on another replica.
// ToEpoch fences it: a session whose epoch differs (an older or newer session
// of the same slot) ignores it.
type Envelope struct {
	Kind      string             `json:"kind"`
	ToSession string             `json:"to_session"`
	ToEpoch   int64              `json:"to_epoch"`
	Msg       wire.SignalMessage `json:"msg"`
	// Actor is the user id behind the event (audit of kicks).
	Actor int64 `json:"actor,omitempty"`
}

// Bus carries envelopes to the replica holding the target session.
// Implementations: MemoryBus (one process) and RedisBus (pub/sub).
type Bus interface {
	// Publish sends env to replica's subscriber; delivery is best effort
	// (lock leases, not the bus, decide who is in a room).
	Publish(ctx context.Context, replica string, env Envelope) error
	// Subscribe delivers envelopes published to replica until the returned
	// stop function is called. deliver must not block.
	Subscribe(ctx context.Context, replica string, deliver func(Envelope)) (stop func(), err error)
}

// MemoryBus is the in-process Bus.
type MemoryBus struct {
	mu   sync.RWMutex
	subs map[string]func(Envelope)
}

// NewMemoryBus returns an in-process bus.
func NewMemoryBus() *MemoryBus { return &MemoryBus{subs: map[string]func(Envelope){}} }

// Publish implements Bus; an envelope for a replica nobody subscribes is dropped.
func (b *MemoryBus) Publish(_ context.Context, replica string, env Envelope) error {
	b.mu.RLock()
	deliver := b.subs[replica]
	b.mu.RUnlock()
	if deliver != nil {
		deliver(env)
	}
	return nil
}

// Subscribe implements Bus.
func (b *MemoryBus) Subscribe(_ context.Context, replica string, deliver func(Envelope)) (func(), error) {
	b.mu.Lock()
	b.subs[replica] = deliver
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs, replica)
		b.mu.Unlock()
	}, nil
}
