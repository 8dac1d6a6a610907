package limit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Store shared by the replicas using one Redis.
type Redis struct {
	rdb    *redis.Client
	prefix string
}

// NewRedis keeps its keys under prefix + "limit:".
func NewRedis(rdb *redis.Client, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix + "limit:"}
}

// incr starts the window with the first event only.
var incr = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`)

// fail counts a failure, notes its time and pushes the expiry out.
var fail = redis.NewScript(`
local n = redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n`)

// Incr implements Store.
func (r *Redis) Incr(ctx context.Context, key string, window time.Duration) (int64, error) {
	n, err := incr.Run(ctx, r.rdb, []string{r.prefix + key}, window.Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("limit: counting %s: %w", key, err)
	}
	return n, nil
}

// Fail implements Store.
func (r *Redis) Fail(ctx context.Context, key string, now time.Time, keep time.Duration) (Failures, error) {
	n, err := fail.Run(ctx, r.rdb, []string{r.prefix + "f:" + key}, now.UnixMilli(), keep.Milliseconds()).Int64()
	if err != nil {
		return Failures{}, fmt.Errorf("limit: recording a failure of %s: %w", key, err)
	}
	return Failures{N: n, Last: now}, nil
}

// Failures implements Store.
func (r *Redis) Failures(ctx context.Context, key string) (Failures, error) {
	vals, err := r.rdb.HMGet(ctx, r.prefix+"f:"+key, "n", "last").Result()
	if err != nil {
		return Failures{}, fmt.Errorf("limit: reading failures of %s: %w", key, err)
	}
	var f Failures
	if s, ok := vals[0].(string); ok {
		f.N, _ = strconv.ParseInt(s, 10, 64)
	}
	if s, ok := vals[1].(string); ok {
		ms, _ := strconv.ParseInt(s, 10, 64)
		f.Last = time.UnixMilli(ms)
	}
	return f, nil
}

// Delete implements Store.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := r.rdb.Del(ctx, r.prefix+key, r.prefix+"f:"+key).Err(); err != nil {
		return fmt.Errorf("limit: deleting %s: %w", key, err)
	}
	return nil
}

// SetNX implements Store.
func (r *Redis) SetNX(ctx context.Context, key, value string, ttl time.Duration) (bool, error) {
	ok, err := r.rdb.SetNX(ctx, r.prefix+key, value, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("limit: claiming %s: %w", key, err)
	}
	return ok, nil
}

// Set implements Store.
func (r *Redis) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	if err := r.rdb.Set(ctx, r.prefix+key, value, ttl).Err(); err != nil {
		return fmt.Errorf("limit: setting %s: %w", key, err)
	}
	return nil
}

// Get implements Store.
func (r *Redis) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := r.rdb.Get(ctx, r.prefix+key).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("limit: reading %s: %w", key, err)
	}
	return v, true, nil
}
