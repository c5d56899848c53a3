package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	t.Parallel()
	runConformance(t, func(t *testing.T, now func() time.Time) [2]backend {
		t.Helper()
		m := NewMemory(MemoryOptions{Now: now})
		return [2]backend{m, m}
	})
}

func TestMemorySweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now, SweepInterval: time.Minute})
	for i := range 10000 {
		mustAllow(t, m, fmt.Sprint("r", i), PerMinute(1))
		mustFail(t, m, fmt.Sprint("f", i), Window{Limit: 5, Period: 2 * time.Minute})
	}
	if n := m.Len(); n != 20000 {
		t.Fatalf("Len = %d after 20000 keys, want 20000", n)
	}
	// Only the Rates' keys are back to full at 1 min: Sweep drops them and
	// keeps the Windows' keys, which last 2 min.
	clock.Set(time.Minute)
	m.Sweep()
	if n := m.Len(); n != 10000 {
		t.Fatalf("Len = %d a minute on, want 10000", n)
	}
	if d, err := m.Check(ctx, "f1", Window{Limit: 5, Period: 2 * time.Minute}); err != nil || d.Remaining != 4 {
		t.Fatalf("Check(f1) = %+v, %v after the sweep; want 4 remaining", d, err)
	}
	clock.Set(2*time.Minute - time.Microsecond)
	m.Sweep()
	if n := m.Len(); n != 10000 {
		t.Fatalf("Len = %d just before the windows end, want 10000", n)
	}
	clock.Set(2 * time.Minute)
	m.Sweep()
	if n := m.Len(); n != 0 {
		t.Fatalf("Len = %d once every key expired, want 0", n)
	}
}

// A steady flood of distinct keys, with no call to Sweep: the new keys'
// arrivals sweep the old ones, so the keys held stay near the keys
// inserted within one expiry plus one SweepInterval.
func TestMemorySweepsAsKeysArrive(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now, SweepInterval: time.Minute})
	const perSecond = 500
	most := 0
	for i := range 200000 {
		clock.Set(time.Duration(i) * time.Second / perSecond)
		mustFail(t, m, fmt.Sprint("customer:", i), DefaultWindow)
		if i%1000 == 0 {
			most = max(most, m.Len())
		}
	}
	if bound := 2 * 60 * perSecond * 11 / 10; most > bound || most < 60*perSecond {
		t.Errorf("at most %d keys held, want between %d and %d", most, 60*perSecond, bound)
	}
}

// Memory goes back to about what it was once a flood's keys have expired,
// so the maps' buckets are not kept at their peak.
func TestMemoryGivesMemoryBack(t *testing.T) {
	// Not parallel: it measures the heap.
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now})
	before := heapAlloc()
	for i := range 200000 {
		mustFail(t, m, fmt.Sprint("ip:", i), DefaultWindow)
		mustAllow(t, m, fmt.Sprint("ip:", i), PerSecond(10))
	}
	peak := heapAlloc()
	clock.Set(time.Hour)
	m.Sweep()
	after := heapAlloc()
	runtime.KeepAlive(m)
	t.Logf("heap: %d before, %d at the peak, %d after the sweep", before, peak, after)
	if peak-before < 8<<20 {
		t.Fatalf("the flood took %d bytes; the test measures nothing", peak-before)
	}
	if after > before+(peak-before)/10 {
		t.Errorf("heap %d after the sweep, more than a tenth of the peak above the %d before", after, before)
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func TestMemoryMaxKeys(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now, MaxKeys: 64 * 10})
	for i := range 10000 {
		mustAllow(t, m, fmt.Sprint("r", i), PerHour(1))
		mustFail(t, m, fmt.Sprint("f", i), DefaultWindow)
	}
	if n := m.Len(); n > 640 {
		t.Errorf("Len = %d, want at most MaxKeys, 640", n)
	}
}

// In a full shard a new key evicts the key closest to expiry.
func TestMemoryEvictsTheSoonestToExpire(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	// evictSample keys per shard, so that evict samples all of them.
	m := NewMemory(MemoryOptions{Now: clock.Now, MaxKeys: numShards * evictSample})
	var keys []string
	for i := 0; len(keys) < evictSample+1; i++ {
		if k := fmt.Sprint("k", i); m.shard(k) == &m.shards[0] {
			keys = append(keys, k)
		}
	}
	soon := keys[3]
	for _, k := range keys[:evictSample] {
		r := PerHour(1)
		if k == soon {
			r = PerSecond(1)
		}
		mustAllow(t, m, k, r)
	}
	mustAllow(t, m, keys[evictSample], PerHour(1))
	if n := len(m.shards[0].tats); n != evictSample {
		t.Fatalf("shard holds %d keys, want %d", n, evictSample)
	}
	for _, k := range keys {
		if _, held := m.shards[0].tats[k]; held == (k == soon) {
			t.Errorf("%q held: %v; want only %q evicted", k, held, soon)
		}
	}
}

// In a full shard a new window evicts the one with the fewest failures.
func TestMemoryEvictsTheFewestFailures(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	m := NewMemory(MemoryOptions{Now: clock.Now, MaxKeys: numShards * evictSample})
	var keys []string
	for i := 0; len(keys) < evictSample+1; i++ {
		if k := fmt.Sprint("k", i); m.shard(k) == &m.shards[0] {
			keys = append(keys, k)
		}
	}
	// keys[2] fails twice, after the others have failed three times each:
	// its window ends last, yet it says least.
	few := keys[2]
	for _, k := range keys[:evictSample] {
		for k != few && m.shards[0].windows[k].count < 3 {
			mustFail(t, m, k, DefaultWindow)
		}
	}
	clock.Set(time.Second)
	mustFail(t, m, few, DefaultWindow)
	mustFail(t, m, few, DefaultWindow)
	mustFail(t, m, keys[evictSample], DefaultWindow)
	for _, k := range keys {
		if _, held := m.shards[0].windows[k]; held == (k == few) {
			t.Errorf("%q held: %v; want only %q evicted", k, held, few)
		}
	}
}

// The bot flood: random codes from 50 IPs, each attempt also on a
// random customer, as fast as possible. Refused attempts leave nothing
// behind, so the keys held stay at the IPs and the few customers whose
// attempts got through, and only 5 attempts an IP are answered.
func TestMemoryBotFlood(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFakeClock()
	ips := NewMemory(MemoryOptions{Now: clock.Now})
	customers := NewMemory(MemoryOptions{Now: clock.Now})
	rnd := rand.New(rand.NewPCG(3, 4))
	answered := 0
	for i := range 200000 {
		clock.Set(time.Duration(i) * 5 * time.Microsecond) // 200,000 a second
		ip := fmt.Sprint("ip:10.0.0.", i%50)
		customer := fmt.Sprint("customer:", rnd.Uint64())
		d, err := ips.Check(ctx, ip, DefaultWindow)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			continue
		}
		if d, err = customers.Check(ctx, customer, DefaultWindow); err != nil || !d.Allowed {
			t.Fatalf("Check(%s) = %+v, %v", customer, d, err)
		}
		// Every code is wrong.
		if d := mustFail(t, ips, ip, DefaultWindow); !d.Allowed {
			continue
		}
		mustFail(t, customers, customer, DefaultWindow)
		answered++
	}
	if answered != 50*DefaultWindow.Limit {
		t.Errorf("%d attempts answered, want 5 for each of 50 IPs", answered)
	}
	if n := ips.Len(); n != 50 {
		t.Errorf("%d IPs held, want 50", n)
	}
	if n := customers.Len(); n != answered {
		t.Errorf("%d customers held, want one per answered attempt, %d", n, answered)
	}
}

// The calls on keys already held allocate nothing.
func TestMemoryAllocations(t *testing.T) {
	// Not parallel: AllocsPerRun will not run in parallel tests.
	ctx := context.Background()
	m := NewMemory(MemoryOptions{})
	fast := Rate{Limit: 1, Period: time.Microsecond, Burst: 1 << 40}
	mustAllow(t, m, "fast", fast)
	mustAllow(t, m, "slow", PerHour(1))
	for range DefaultWindow.Limit {
		mustFail(t, m, "blocked", DefaultWindow)
	}
	mustFail(t, m, "failing", Window{Limit: 1 << 30, Period: time.Hour})
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"Allow allowed", func() { _, _ = m.Allow(ctx, "fast", fast) }},
		{"Allow refused", func() { _, _ = m.Allow(ctx, "slow", PerHour(1)) }},
		{"Check allowed", func() { _, _ = m.Check(ctx, "failing", DefaultWindow) }},
		{"Check refused", func() { _, _ = m.Check(ctx, "blocked", DefaultWindow) }},
		{"Fail recorded", func() { _, _ = m.Fail(ctx, "failing", Window{Limit: 1 << 30, Period: time.Hour}) }},
		{"Fail refused", func() { _, _ = m.Fail(ctx, "blocked", DefaultWindow) }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s: %v allocations, want 0", tc.name, n)
		}
	}
}

func mustAllow(t *testing.T, l Limiter, key string, r Rate) Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, r)
	if err != nil {
		t.Fatalf("Allow(%q): %v", key, err)
	}
	return d
}

func mustFail(t *testing.T, f Failures, key string, w Window) Decision {
	t.Helper()
	d, err := f.Fail(context.Background(), key, w)
	if err != nil {
		t.Fatalf("Fail(%q): %v", key, err)
	}
	return d
}
