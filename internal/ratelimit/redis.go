package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	_ Limiter  = (*Redis)(nil)
	_ Failures = (*Redis)(nil)
)

// RedisOptions configures a Redis.
type RedisOptions struct {
	// Prefix starts every key the limiter writes; "ratelimit:" by default.
	// Under it a Rate's key is "r:"+key and a Window's "f:"+key.
	Prefix string
	// Now is the clock; time.Now by default. See the package comment for
	// why the nodes' clocks are used rather than Redis's.
	Now func() time.Time
}

// Redis is the backend shared by every node using the same Redis and
// Prefix. Each decision is one round trip: a Lua script for Allow and
// Fail, which decide and write atomically, and an HMGET for Check. Every
// key carries a TTL that ends when the key would be forgotten anyway (a
// Rate's bucket is full again, a Window has ended), so Redis holds only
// the keys active now.
type Redis struct {
	c      redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewRedis returns a backend that keeps its state in c.
func NewRedis(c redis.UniversalClient, opt RedisOptions) *Redis {
	if opt.Prefix == "" {
		opt.Prefix = "ratelimit:"
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Redis{c: c, prefix: opt.Prefix, now: opt.Now}
}

// allowScript is gcra.decide: it returns {allowed, stored TAT} and, when
// allowed, stores the new TAT. Numbers are written with %d because Lua's
// tostring keeps only 14 digits.
var allowScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local tat = stored
if tat < now then tat = now end
local nxt = tat + t
if now < nxt - tau then
  return {0, stored}
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', string.format('%d', math.ceil((nxt - now) / 1000)))
return {1, stored}
`)

// failScript is window.fail: it returns {recorded, stored end, stored
// count} and, when recorded, stores the window's new end and count.
var failScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'e', 'c')
local se = tonumber(v[1]) or 0
local sc = tonumber(v[2]) or 0
local e, c = se, sc
if now >= e then
  e, c = now + period, 0
end
if c >= limit then
  return {0, se, sc}
end
redis.call('HSET', KEYS[1], 'e', string.format('%d', e), 'c', string.format('%d', c + 1))
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil((e - now) / 1000)))
return {1, se, sc}
`)

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string, rate Rate) (Decision, error) {
	p, err := rate.gcraParams()
	if err != nil {
		return Decision{}, err
	}
	now := r.now().UnixMicro()
	res, err := allowScript.Run(ctx, r.c, []string{r.prefix + "r:" + key}, now, p.t, p.tau).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("ratelimit: redis: allow script returned %v", res)
	}
	d, _ := p.decide(res[1], now)
	if d.Allowed != (res[0] == 1) {
		return Decision{}, fmt.Errorf("ratelimit: redis: allow script decided %d on TAT %d at %d, Go %v", res[0], res[1], now, d.Allowed)
	}
	return d, nil
}

// Check implements Failures.
func (r *Redis) Check(ctx context.Context, key string, w Window) (Decision, error) {
	p, err := w.windowParams()
	if err != nil {
		return Decision{}, err
	}
	now := r.now().UnixMicro()
	vals, err := r.c.HMGet(ctx, r.prefix+"f:"+key, "e", "c").Result()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	var st [2]int64
	for i, v := range vals {
		if v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return Decision{}, fmt.Errorf("ratelimit: redis: HMGET returned %T", v)
		}
		if st[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return Decision{}, fmt.Errorf("ratelimit: redis: window %q: %w", key, err)
		}
	}
	return p.check(st[0], st[1], now), nil
}

// Fail implements Failures.
func (r *Redis) Fail(ctx context.Context, key string, w Window) (Decision, error) {
	p, err := w.windowParams()
	if err != nil {
		return Decision{}, err
	}
	now := r.now().UnixMicro()
	res, err := failScript.Run(ctx, r.c, []string{r.prefix + "f:" + key}, now, p.period, p.limit).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 3 {
		return Decision{}, fmt.Errorf("ratelimit: redis: fail script returned %v", res)
	}
	d, _, _ := p.fail(res[1], res[2], now)
	if d.Allowed != (res[0] == 1) {
		return Decision{}, fmt.Errorf("ratelimit: redis: fail script decided %d on window %d/%d at %d, Go %v", res[0], res[1], res[2], now, d.Allowed)
	}
	return d, nil
}
