package monitor

import (
	"context"
	"sync"

	"github.com/didacto/didacto/wire"
)

// Notifier fans tile changes out to the consoles watching a lecture, on
// every replica.
type Notifier interface {
	Publish(ctx context.Context, lectureID int64, tile wire.MonitorTile) error
	// Subscribe returns a channel of changes until ctx ends. Slow readers
	// miss events rather than slowing publishers (the console re-syncs).
	Subscribe(ctx context.Context, lectureID int64) <-chan wire.MonitorTile
	// Watched reports whether any console, on any replica, watches the
	// lecture (agents are told to slow down when nobody does).
	Watched(ctx context.Context, lectureID int64) bool
}

// LocalNotifier delivers within one process.
type LocalNotifier struct {
	mu   sync.Mutex
	subs map[int64]map[chan wire.MonitorTile]struct{}
}

// NewLocalNotifier returns an empty notifier.
func NewLocalNotifier() *LocalNotifier {
	return &LocalNotifier{subs: map[int64]map[chan wire.MonitorTile]struct{}{}}
}

// Publish implements Notifier.
func (n *LocalNotifier) Publish(_ context.Context, lectureID int64, tile wire.MonitorTile) error {
	n.deliver(lectureID, tile)
	return nil
}

func (n *LocalNotifier) deliver(lectureID int64, tile wire.MonitorTile) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs[lectureID] {
		select {
		case ch <- tile:
		default: // a stuck console must not hold up ingest
		}
	}
}

// Subscribe implements Notifier.
func (n *LocalNotifier) Subscribe(ctx context.Context, lectureID int64) <-chan wire.MonitorTile {
	return n.subscribe(ctx, lectureID, nil)
}

// subscribe calls onEmpty after the lecture's last watcher left.
func (n *LocalNotifier) subscribe(ctx context.Context, lectureID int64, onEmpty func()) <-chan wire.MonitorTile {
	ch := make(chan wire.MonitorTile, 256)
	n.mu.Lock()
	if n.subs[lectureID] == nil {
		n.subs[lectureID] = map[chan wire.MonitorTile]struct{}{}
	}
	n.subs[lectureID][ch] = struct{}{}
	n.mu.Unlock()
	go func() {
		<-ctx.Done()
		n.mu.Lock()
		delete(n.subs[lectureID], ch)
		empty := len(n.subs[lectureID]) == 0
		if empty {
			delete(n.subs, lectureID)
		}
		n.mu.Unlock()
		if empty && onEmpty != nil {
			onEmpty()
		}
	}()
	return ch
}

// Watched implements Notifier.
func (n *LocalNotifier) Watched(_ context.Context, lectureID int64) bool {
	return n.Watchers(lectureID) > 0
}

// Watchers is how many consoles watch the lecture in this process.
func (n *LocalNotifier) Watchers(lectureID int64) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.subs[lectureID])
}
