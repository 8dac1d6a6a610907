package signal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys: <prefix>lock:{L:S:role} holds "epoch|session|replica|user|name" with
// a PX lease; <prefix>epoch:{L:S:role} is the slot's INCR fencing counter.
// The braces are a Redis Cluster hash tag so both keys share a slot. Nothing
// is ever flushed: every key lives under the prefix and expires by itself.

// claimScript: allocate the next epoch, take the free slot with SET NX PX,
// or replace the holder (takeover) and return the previous one — atomically,
// so a later claim always carries the larger epoch.
var claimScript = redis.NewScript(`
local e = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local v = e .. '|' .. ARGV[1]
if redis.call('SET', KEYS[1], v, 'NX', 'PX', ARGV[2]) then
  return {e, ''}
end
local old = redis.call('GET', KEYS[1]) or ''
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return {e, old}
`)

// extendScript (compare-and-extend): 1 renewed; 2 the slot was empty and no
// newer epoch was handed out (e.g. Redis restarted and lost its keys), so it
// is taken again with SET NX; 0 someone newer holds or claimed it.
var extendScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur then return 0 end
local c = tonumber(redis.call('GET', KEYS[2]) or '0')
if c > tonumber(ARGV[3]) then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
return 2
`)

// releaseScript (compare-and-delete).
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// epochTTL keeps a room's fencing counter long after its last claim; a
// counter that expires only restarts numbering, holders still compare whole
// values.
const epochTTL = 7 * 24 * time.Hour

// RedisLock is the RoomLock shared by replicas through Redis.
type RedisLock struct {
	rdb    redis.UniversalClient
	prefix string
}

// NewRedisLock returns a lock storing its keys under prefix (e.g. "didacto:signal:").
func NewRedisLock(rdb redis.UniversalClient, prefix string) *RedisLock {
	return &RedisLock{rdb: rdb, prefix: prefix}
}

func (l *RedisLock) keys(slot Slot) []string {
	tag := "{" + slot.String() + "}"
	return []string{l.prefix + "lock:" + tag, l.prefix + "epoch:" + tag}
}

// Claim implements RoomLock.
func (l *RedisLock) Claim(ctx context.Context, slot Slot, h Holder, ttl time.Duration) (Holder, Holder, bool, error) {
	res, err := claimScript.Run(ctx, l.rdb, l.keys(slot), h.tail(), ttl.Milliseconds(), epochTTL.Milliseconds()).Slice()
	if err != nil {
		return Holder{}, Holder{}, false, fmt.Errorf("%w: claiming %s: %w", ErrLockUnavailable, slot, err)
	}
	if len(res) != 2 {
		return Holder{}, Holder{}, false, fmt.Errorf("claiming %s: unexpected reply %v", slot, res)
	}
	epoch, ok1 := res[0].(int64)
	old, ok2 := res[1].(string)
	if !ok1 || !ok2 {
		return Holder{}, Holder{}, false, fmt.Errorf("claiming %s: unexpected reply %v", slot, res)
	}
	h.Epoch = epoch
	if old == "" {
		return h, Holder{}, false, nil
	}
	prev, err := decodeHolder(old)
	if err != nil {
		return h, Holder{}, false, fmt.Errorf("claiming %s: previous holder: %w", slot, err)
	}
	return h, prev, true, nil
}

// Extend implements RoomLock.
func (l *RedisLock) Extend(ctx context.Context, slot Slot, h Holder, ttl time.Duration) (ExtendResult, error) {
	n, err := extendScript.Run(ctx, l.rdb, l.keys(slot), h.encode(), ttl.Milliseconds(), h.Epoch, epochTTL.Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("%w: extending %s: %w", ErrLockUnavailable, slot, err)
	}
	switch n {
	case 1:
		return Extended, nil
	case 2:
		return Reclaimed, nil
	}
	return Lost, nil
}

// Release implements RoomLock.
func (l *RedisLock) Release(ctx context.Context, slot Slot, h Holder) (bool, error) {
	n, err := releaseScript.Run(ctx, l.rdb, l.keys(slot)[:1], h.encode()).Int()
	if err != nil {
		return false, fmt.Errorf("%w: releasing %s: %w", ErrLockUnavailable, slot, err)
	}
	return n == 1, nil
}

// Get implements RoomLock.
func (l *RedisLock) Get(ctx context.Context, slot Slot) (Holder, bool, error) {
	v, err := l.rdb.Get(ctx, l.keys(slot)[0]).Result()
	if errors.Is(err, redis.Nil) {
		return Holder{}, false, nil
	}
	if err != nil {
		return Holder{}, false, fmt.Errorf("%w: reading %s: %w", ErrLockUnavailable, slot, err)
	}
	h, err := decodeHolder(v)
	if err != nil {
		return Holder{}, false, fmt.Errorf("reading %s: %w", slot, err)
	}
	return h, true, nil
}

// RedisBus is the Bus shared by replicas through Redis pub/sub: one channel
// per replica, <prefix>replica:<id>.
type RedisBus struct {
	rdb    redis.UniversalClient
	prefix string
	log    *slog.Logger
}

// NewRedisBus returns a pub/sub bus on channels under prefix.
func NewRedisBus(rdb redis.UniversalClient, prefix string, logger *slog.Logger) *RedisBus {
	return &RedisBus{rdb: rdb, prefix: prefix, log: logger}
}

func (b *RedisBus) channel(replica string) string { return b.prefix + "replica:" + replica }

// Publish implements Bus.
func (b *RedisBus) Publish(ctx context.Context, replica string, env Envelope) error {
	payload, err := json.Marshal(env)
	if err != nil {
		return fmt.Errorf("encoding envelope: %w", err)
	}
	if err := b.rdb.Publish(ctx, b.channel(replica), payload).Err(); err != nil {
		return fmt.Errorf("publishing to replica %s: %w", replica, err)
	}
	return nil
}

// Subscribe implements Bus. go-redis re-subscribes by itself after a lost
// connection (e.g. a Redis restart); envelopes published meanwhile are lost,
// which the leases and heartbeats tolerate.
func (b *RedisBus) Subscribe(ctx context.Context, replica string, deliver func(Envelope)) (func(), error) {
	ps := b.rdb.Subscribe(ctx, b.channel(replica))
	if _, err := ps.Receive(ctx); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("subscribing to %s: %w", b.channel(replica), err)
	}
	ch := ps.Channel(redis.WithChannelSize(1024))
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m := range ch {
			var env Envelope
			if err := json.Unmarshal([]byte(m.Payload), &env); err != nil {
				b.log.Warn("signal: dropping malformed envelope", "channel", m.Channel, "err", err)
				continue
			}
			deliver(env)
		}
	}()
	return func() {
		_ = ps.Close()
		<-done
	}, nil
}
