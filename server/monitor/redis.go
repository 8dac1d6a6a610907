package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/didacto/didacto/wire"
)

// RedisFrames keeps frames in Redis hashes with a TTL, so every replica
// serves every frame. Keys: <prefix>frame:<lecture>:<student>.
type RedisFrames struct {
	rdb    *redis.Client
	prefix string
	ttl    time.Duration
}

// NewRedisFrames stores frames under prefix (e.g. "didacto:").
func NewRedisFrames(rdb *redis.Client, prefix string, ttl time.Duration) *RedisFrames {
	return &RedisFrames{rdb: rdb, prefix: prefix, ttl: ttl}
}

func (r *RedisFrames) key(lectureID, studentID int64) string {
	return r.prefix + "frame:" + strconv.FormatInt(lectureID, 10) + ":" + strconv.FormatInt(studentID, 10)
}

var metaFields = []string{"w", "h", "cap", "recv", "seen", "ver"}

// Put implements FrameStore in one round trip. The version is the receive
// time in microseconds: it grows with every picture of a student without a
// shared counter (which would cost a second round trip per upload).
func (r *RedisFrames) Put(ctx context.Context, f Frame) (int64, error) {
	ver := f.ReceivedAt.UnixMicro()
	k := r.key(f.LectureID, f.StudentID)
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, k, "jpeg", f.JPEG, "w", f.Width, "h", f.Height, "cap", f.CapturedAt.UnixNano(),
			"recv", f.ReceivedAt.UnixNano(), "seen", f.LastSeen.UnixNano(), "ver", ver)
		p.PExpire(ctx, k, r.ttl)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("redis put frame: %w", err)
	}
	return ver, nil
}

// touchScript refreshes presence only if the frame still exists.
var touchScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('HSET', KEYS[1], 'seen', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return redis.call('HMGET', KEYS[1], 'w', 'h', 'cap', 'recv', 'seen', 'ver')`)

// Touch implements FrameStore.
func (r *RedisFrames) Touch(ctx context.Context, lectureID, studentID int64, seen time.Time) (Frame, error) {
	res, err := touchScript.Run(ctx, r.rdb, []string{r.key(lectureID, studentID)}, seen.UnixNano(), r.ttl.Milliseconds()).Slice()
	if errors.Is(err, redis.Nil) {
		return Frame{}, ErrNoFrame
	}
	if err != nil {
		return Frame{}, fmt.Errorf("redis touch frame: %w", err)
	}
	return parseMeta(lectureID, studentID, res)
}

// Get implements FrameStore.
func (r *RedisFrames) Get(ctx context.Context, lectureID, studentID int64) (Frame, error) {
	res, err := r.rdb.HMGet(ctx, r.key(lectureID, studentID), append([]string{"jpeg"}, metaFields...)...).Result()
	if err != nil {
		return Frame{}, fmt.Errorf("redis get frame: %w", err)
	}
	if res[0] == nil {
		return Frame{}, ErrNoFrame
	}
	f, err := parseMeta(lectureID, studentID, res[1:])
	if err != nil {
		return Frame{}, err
	}
	s, _ := res[0].(string)
	f.JPEG = []byte(s)
	return f, nil
}

// Forget implements FrameStore: read the metadata and delete in one
// transaction.
func (r *RedisFrames) Forget(ctx context.Context, lectureID, studentID int64) (Frame, error) {
	k := r.key(lectureID, studentID)
	var meta *redis.SliceCmd
	_, err := r.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		meta = p.HMGet(ctx, k, metaFields...)
		p.Del(ctx, k)
		return nil
	})
	if err != nil {
		return Frame{}, fmt.Errorf("redis forget frame: %w", err)
	}
	vals := meta.Val()
	if len(vals) == 0 || vals[len(vals)-1] == nil {
		return Frame{}, ErrNoFrame
	}
	return parseMeta(lectureID, studentID, vals)
}

// Meta implements FrameStore with one pipelined round trip.
func (r *RedisFrames) Meta(ctx context.Context, lectureID int64, studentIDs []int64) (map[int64]Frame, error) {
	cmds := make([]*redis.SliceCmd, len(studentIDs))
	_, err := r.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, sid := range studentIDs {
			cmds[i] = p.HMGet(ctx, r.key(lectureID, sid), metaFields...)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("redis frame meta: %w", err)
	}
	out := make(map[int64]Frame, len(studentIDs))
	for i, sid := range studentIDs {
		res := cmds[i].Val()
		if len(res) == 0 || res[len(res)-1] == nil {
			continue
		}
		f, err := parseMeta(lectureID, sid, res)
		if err != nil {
			return nil, err
		}
		out[sid] = f
	}
	return out, nil
}

func parseMeta(lectureID, studentID int64, vals []any) (Frame, error) {
	if len(vals) != len(metaFields) {
		return Frame{}, fmt.Errorf("redis frame meta: %d fields", len(vals))
	}
	n := make([]int64, len(vals))
	for i, v := range vals {
		s, _ := v.(string)
		x, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Frame{}, fmt.Errorf("redis frame meta field %s=%v: %w", metaFields[i], v, err)
		}
		n[i] = x
	}
	return Frame{LectureID: lectureID, StudentID: studentID, Width: int(n[0]), Height: int(n[1]),
		CapturedAt: time.Unix(0, n[2]).UTC(), ReceivedAt: time.Unix(0, n[3]).UTC(), LastSeen: time.Unix(0, n[4]).UTC(),
		Version: n[5]}, nil
}

// RedisNotifier publishes tile changes on a Redis channel per lecture so the
// consoles on every replica hear about frames ingested anywhere.
type RedisNotifier struct {
	rdb    *redis.Client
	prefix string
	local  *LocalNotifier
	logger *slog.Logger

	mu   sync.Mutex
	subs map[int64]context.CancelFunc // one Redis subscription per watched lecture

	watched *ttlCache[int64, bool] // other replicas' watchers, checked at most once a second
}

// NewRedisNotifier returns a notifier on channels <prefix>monitor:<lecture>.
func NewRedisNotifier(rdb *redis.Client, prefix string, logger *slog.Logger) *RedisNotifier {
	return &RedisNotifier{rdb: rdb, prefix: prefix, local: NewLocalNotifier(), logger: logger,
		subs: map[int64]context.CancelFunc{}, watched: newTTLCache[int64, bool](time.Second, time.Now)}
}

func (n *RedisNotifier) channel(lectureID int64) string {
	return n.prefix + "monitor:" + strconv.FormatInt(lectureID, 10)
}

// Publish implements Notifier.
func (n *RedisNotifier) Publish(ctx context.Context, lectureID int64, tile wire.MonitorTile) error {
	b, err := json.Marshal(tile)
	if err != nil {
		return err
	}
	if err := n.rdb.Publish(ctx, n.channel(lectureID), b).Err(); err != nil {
		return fmt.Errorf("redis publish tile: %w", err)
	}
	return nil
}

// Subscribe implements Notifier: the first local watcher of a lecture opens
// the Redis subscription, the last one closes it.
func (n *RedisNotifier) Subscribe(ctx context.Context, lectureID int64) <-chan wire.MonitorTile {
	ch := n.local.subscribe(ctx, lectureID, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if cancel, ok := n.subs[lectureID]; ok && n.local.Watchers(lectureID) == 0 {
			cancel()
			delete(n.subs, lectureID)
		}
	})
	n.mu.Lock()
	if _, ok := n.subs[lectureID]; !ok {
		subCtx, cancel := context.WithCancel(context.Background())
		n.subs[lectureID] = cancel
		go n.pump(subCtx, lectureID)
		go n.markWatched(subCtx, lectureID)
	}
	n.mu.Unlock()
	return ch
}

// watchedTTL bounds how long a crashed replica's watchers count.
const watchedTTL = 15 * time.Second

func (n *RedisNotifier) watchedKey(lectureID int64) string {
	return n.prefix + "watched:" + strconv.FormatInt(lectureID, 10)
}

// markWatched keeps a short-lived key alive while this replica has watchers.
func (n *RedisNotifier) markWatched(ctx context.Context, lectureID int64) {
	t := time.NewTicker(watchedTTL / 3)
	defer t.Stop()
	for {
		if err := n.rdb.Set(ctx, n.watchedKey(lectureID), "1", watchedTTL).Err(); err != nil && ctx.Err() == nil {
			n.logger.Warn("redis: marking lecture watched", "lecture_id", lectureID, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Watched implements Notifier.
func (n *RedisNotifier) Watched(ctx context.Context, lectureID int64) bool {
	if n.local.Watchers(lectureID) > 0 {
		return true
	}
	return n.watched.get(lectureID, func() (bool, bool) {
		v, err := n.rdb.Exists(ctx, n.watchedKey(lectureID)).Result()
		return err == nil && v > 0, err == nil
	})
}

// pump relays one lecture's Redis channel to local watchers, resubscribing
// after Redis restarts.
func (n *RedisNotifier) pump(ctx context.Context, lectureID int64) {
	for ctx.Err() == nil {
		sub := n.rdb.Subscribe(ctx, n.channel(lectureID))
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
				var tile wire.MonitorTile
				if err := json.Unmarshal([]byte(m.Payload), &tile); err != nil {
					n.logger.Warn("bad monitor message on redis", "err", err)
					continue
				}
				n.local.deliver(lectureID, tile)
			}
		}
		_ = sub.Close()
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
