package ratelimit

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestRedis(t *testing.T) {
	t.Parallel()
	runConformance(t, func(t *testing.T, now func() time.Time) [2]backend {
		t.Helper()
		prefix := testPrefix(t)
		return [2]backend{
			NewRedis(newTestRedisClient(t, prefix), RedisOptions{Prefix: prefix, Now: now}),
			NewRedis(newTestRedisClient(t, prefix), RedisOptions{Prefix: prefix, Now: now}),
		}
	})
}

// Random calls at random times, on Memory and on Redis with one fake
// clock: both must decide every call alike, whatever the rate's arithmetic.
func TestRedisDecidesAsMemory(t *testing.T) {
	t.Parallel()
	prefix := testPrefix(t)
	clock := newFakeClock()
	backends := []backend{
		NewMemory(MemoryOptions{Now: clock.Now}),
		NewRedis(newTestRedisClient(t, prefix), RedisOptions{Prefix: prefix, Now: clock.Now}),
	}
	rates := []Rate{PerSecond(3), PerSecond(7), {Limit: 1, Period: time.Second, Burst: 4}, {Limit: 7, Period: time.Minute, Burst: 2}}
	windows := []Window{{Limit: 2, Period: 10 * time.Second}, {Limit: 3, Period: 7777777 * time.Microsecond}}
	rnd := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	var at time.Duration
	refused := 0
	for i := range 3000 {
		at += time.Duration(rnd.Int64N(int64(600 * time.Millisecond)))
		clock.Set(at)
		key := fmt.Sprint("k", rnd.IntN(3))
		o := op(rnd.IntN(3))
		r := rates[rnd.IntN(len(rates))]
		w := windows[rnd.IntN(len(windows))]
		what := fmt.Sprintf("%v(%q, %+v)", o, key, r)
		if o != opAllow {
			what = fmt.Sprintf("%v(%q, %+v)", o, key, w)
		}
		var got [2]Decision
		for j, b := range backends {
			var err error
			switch o {
			case opAllow:
				got[j], err = b.Allow(ctx, key, r)
			case opCheck:
				got[j], err = b.Check(ctx, key, w)
			case opFail:
				got[j], err = b.Fail(ctx, key, w)
			}
			if err != nil {
				t.Fatalf("call %d: %s: %v", i, what, err)
			}
		}
		if got[0] != got[1] {
			t.Fatalf("call %d at %v: %s:\nmemory %+v\n redis %+v", i, at, what, got[0], got[1])
		}
		if !got[0].Allowed {
			refused++
		}
	}
	t.Logf("%d of 3000 calls refused", refused)
	if refused < 600 {
		t.Errorf("only %d of 3000 calls refused; the test hardly exercises refusals", refused)
	}
}

// Every key written expires once it would be forgotten anyway.
func TestRedisKeysExpire(t *testing.T) {
	t.Parallel()
	prefix := testPrefix(t)
	c := newTestRedisClient(t, prefix)
	r := NewRedis(c, RedisOptions{Prefix: prefix})
	ctx := context.Background()
	mustAllow(t, r, "a", PerMinute(2))
	mustAllow(t, r, "a", PerMinute(2))
	mustFail(t, r, "a", Window{Limit: 5, Period: 30 * time.Second})
	for key, want := range map[string]time.Duration{
		prefix + "r:a": time.Minute,
		prefix + "f:a": 30 * time.Second,
	} {
		ttl, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= want-5*time.Second || ttl > want {
			t.Errorf("PTTL %s = %v, want about %v", key, ttl, want)
		}
	}
	// A key expired by Redis is a fresh key.
	mustAllow(t, r, "short", Rate{Limit: 1, Period: 20 * time.Millisecond})
	mustFail(t, r, "short", Window{Limit: 1, Period: 20 * time.Millisecond})
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := c.Exists(ctx, prefix+"r:short", prefix+"f:short").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d keys of 2 still there after 5 s", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRedisPrefix(t *testing.T) {
	t.Parallel()
	prefix := testPrefix(t)
	c := newTestRedisClient(t, prefix)
	a := NewRedis(c, RedisOptions{Prefix: prefix + "a:"})
	b := NewRedis(c, RedisOptions{Prefix: prefix + "b:"})
	if d := mustAllow(t, a, "k", PerHour(1)); !d.Allowed {
		t.Fatalf("first Allow = %+v", d)
	}
	if d := mustAllow(t, b, "k", PerHour(1)); !d.Allowed {
		t.Errorf("Allow under another prefix = %+v, want allowed", d)
	}
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Errorf("keys %v, want one under each prefix", keys)
	}
	if d := NewRedis(c, RedisOptions{}); d.prefix != "ratelimit:" {
		t.Errorf("default prefix %q", d.prefix)
	}
}

func TestRedisErrors(t *testing.T) {
	t.Parallel()
	prefix := testPrefix(t)
	c := newTestRedisClient(t, prefix)
	r := NewRedis(c, RedisOptions{Prefix: prefix})
	ctx := context.Background()
	// A window key that is not a window: the error says so.
	if err := c.HSet(ctx, prefix+"f:bad", "e", "soon").Err(); err != nil {
		t.Fatal(err)
	}
	if d, err := r.Check(ctx, "bad", DefaultWindow); err == nil {
		t.Errorf("Check of a corrupt window = %+v, want an error", d)
	}
	closed := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1, DialTimeout: time.Second})
	t.Cleanup(func() { _ = closed.Close() })
	down := NewRedis(closed, RedisOptions{Prefix: prefix})
	if d, err := down.Allow(ctx, "k", PerHour(1)); err == nil || d != (Decision{}) {
		t.Errorf("Allow without Redis = %+v, %v; want an error", d, err)
	}
	if d, err := down.Fail(ctx, "k", DefaultWindow); err == nil || d != (Decision{}) {
		t.Errorf("Fail without Redis = %+v, %v; want an error", d, err)
	}
	if d, err := down.Check(ctx, "k", DefaultWindow); err == nil || d != (Decision{}) {
		t.Errorf("Check without Redis = %+v, %v; want an error", d, err)
	}
}

func redisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("PROMO_TEST_REDIS_URL")
	if u == "" {
		tb.Skip("set PROMO_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run the Redis tests")
	}
	return u
}

// testPrefix returns a key prefix of the test's own, or skips the test
// without Redis.
func testPrefix(tb testing.TB) string {
	tb.Helper()
	redisURL(tb)
	return "ratelimit-test:" + crand.Text() + ":"
}

// newTestRedisClient returns a client of its own, as a node would have,
// that deletes the keys under prefix and closes at the end of the test.
func newTestRedisClient(tb testing.TB, prefix string) *redis.Client {
	tb.Helper()
	opt, err := redis.ParseURL(redisURL(tb))
	if err != nil {
		tb.Fatalf("PROMO_TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				tb.Errorf("cleaning up %s: %v", iter.Val(), err)
			}
		}
		if err := iter.Err(); err != nil {
			tb.Errorf("cleaning up %s*: %v", prefix, err)
		}
		if err := c.Close(); err != nil {
			tb.Error(err)
		}
	})
	if err := c.Ping(context.Background()).Err(); err != nil {
		tb.Fatalf("redis: %v", err)
	}
	return c
}
