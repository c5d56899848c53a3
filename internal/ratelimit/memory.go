package ratelimit

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

var (
	_ Limiter  = (*Memory)(nil)
	_ Failures = (*Memory)(nil)
)

// numShards spreads keys over this many independently locked maps, so
// that requests for different keys rarely wait on one another.
const numShards = 64

// MemoryOptions configures a Memory.
type MemoryOptions struct {
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// MaxKeys caps the keys held, Rates' and Windows' together; 1<<20 by
	// default. Past the cap a new key evicts a live one (see Memory).
	MaxKeys int
	// SweepInterval is how often, at most, each shard drops its expired
	// keys; one minute by default.
	SweepInterval time.Duration
}

// Memory is the in-process backend: its limits hold within one process.
// Its state is in sharded maps; a shard drops its expired keys (a Rate's
// once its bucket is full again, a Window's once it has ended) when a new
// key arrives at least SweepInterval after its last sweep, and gives the
// maps' memory back once they shrink to a quarter of their peak. So memory
// follows the keys active within about a SweepInterval (some 60 bytes a
// key, with keys of a dozen bytes), and never exceeds MaxKeys: a new key in
// a full shard first evicts, out of a few sampled keys, the one that holds
// the least (the fullest bucket; the fewest failures). A flood of distinct
// keys larger than MaxKeys thus makes the limiter forget what matters least
// rather than grow or refuse newcomers. Refusals and Check add no keys.
//
// Keys whose number clients choose (customer IDs, IPv6 addresses) are best
// kept in a Memory of their own, so that their flood cannot evict others.
type Memory struct {
	now         func() time.Time
	seed        maphash.Seed
	maxPerShard int
	sweepEvery  int64 // µs
	shards      [numShards]shard
}

type shard struct {
	mu        sync.Mutex
	tats      map[string]int64       // a Rate's theoretical arrival time, µs
	windows   map[string]windowState // a Window's failures
	peak      int                    // the most keys held since the maps were made
	nextSweep int64                  // µs
	_         [64]byte               // keeps neighbouring shards' locks off one cache line
}

type windowState struct {
	end, count int64 // end in µs
}

// NewMemory returns an in-memory backend.
func NewMemory(opt MemoryOptions) *Memory {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxKeys <= 0 {
		opt.MaxKeys = 1 << 20
	}
	if opt.SweepInterval <= 0 {
		opt.SweepInterval = time.Minute
	}
	m := &Memory{
		now:         opt.Now,
		seed:        maphash.MakeSeed(),
		maxPerShard: max(1, opt.MaxKeys/numShards),
		sweepEvery:  max(1, opt.SweepInterval.Microseconds()),
	}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
		m.shards[i].windows = make(map[string]windowState)
	}
	return m
}

func (m *Memory) shard(key string) *shard {
	return &m.shards[maphash.String(m.seed, key)&(numShards-1)]
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, r Rate) (Decision, error) {
	p, err := r.gcraParams()
	if err != nil {
		return Decision{}, err
	}
	now := m.now().UnixMicro()
	s := m.shard(key)
	s.mu.Lock()
	stored, ok := s.tats[key]
	d, next := p.decide(stored, now)
	if d.Allowed {
		if !ok {
			key = s.admit(m, now, key)
		}
		s.tats[key] = next
	}
	s.mu.Unlock()
	return d, nil
}

// Check implements Failures.
func (m *Memory) Check(_ context.Context, key string, w Window) (Decision, error) {
	p, err := w.windowParams()
	if err != nil {
		return Decision{}, err
	}
	now := m.now().UnixMicro()
	s := m.shard(key)
	s.mu.Lock()
	st := s.windows[key]
	s.mu.Unlock()
	return p.check(st.end, st.count, now), nil
}

// Fail implements Failures.
func (m *Memory) Fail(_ context.Context, key string, w Window) (Decision, error) {
	p, err := w.windowParams()
	if err != nil {
		return Decision{}, err
	}
	now := m.now().UnixMicro()
	s := m.shard(key)
	s.mu.Lock()
	st, ok := s.windows[key]
	d, end, count := p.fail(st.end, st.count, now)
	if d.Allowed {
		if !ok {
			key = s.admit(m, now, key)
		}
		s.windows[key] = windowState{end: end, count: count}
	}
	s.mu.Unlock()
	return d, nil
}

// Len returns the number of keys held.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += s.len()
		s.mu.Unlock()
	}
	return n
}

// Sweep drops every expired key now, whenever the last sweep was. Memory
// sweeps by itself; Sweep is for callers that would rather do it on a
// ticker of their own than when keys arrive.
func (m *Memory) Sweep() {
	now := m.now().UnixMicro()
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		s.sweep(m, now)
		s.mu.Unlock()
	}
}

func (s *shard) len() int { return len(s.tats) + len(s.windows) }

// admit makes room for a new key and returns the copy of it to store. The
// copy keeps the map from pinning whatever larger string the caller's key
// may be a slice of.
func (s *shard) admit(m *Memory, now int64, key string) string {
	if now >= s.nextSweep {
		s.sweep(m, now)
	}
	for s.len() >= m.maxPerShard {
		s.evict(now)
	}
	s.peak = max(s.peak, s.len()+1)
	return strings.Clone(key)
}

func (s *shard) sweep(m *Memory, now int64) {
	s.nextSweep = now + m.sweepEvery
	for k, tat := range s.tats {
		if tat <= now {
			delete(s.tats, k)
		}
	}
	for k, st := range s.windows {
		if st.end <= now {
			delete(s.windows, k)
		}
	}
	// Go's maps keep their buckets after deletes: rebuild them once they
	// are mostly empty, so that a past flood's memory is given back.
	if s.peak >= 256 && s.len() < s.peak/4 {
		tats := make(map[string]int64, len(s.tats))
		for k, v := range s.tats {
			tats[k] = v
		}
		windows := make(map[string]windowState, len(s.windows))
		for k, v := range s.windows {
			windows[k] = v
		}
		s.tats, s.windows, s.peak = tats, windows, s.len()
	}
}

// evictSample is how many keys evict looks at, as Redis's approximated
// eviction does: enough to usually find a key worth little, few enough to
// be cheap.
const evictSample = 8

// evict drops one key out of a sample from the larger map (Go starts each
// range at a random place): the one that says least. For a Rate that is
// the one whose bucket is fullest, that is the one that expires first; for
// a Window it is the one with fewest failures, then the one that ends
// first. So a flood of keys that fail once each, such as random customer
// IDs, evicts its own keys before a flooding IP's full window.
func (s *shard) evict(now int64) {
	victim, n := "", 0
	if len(s.tats) >= len(s.windows) {
		var soonest int64
		for k, tat := range s.tats {
			if n == 0 || tat < soonest {
				victim, soonest = k, tat
			}
			if n++; n == evictSample || tat <= now {
				break
			}
		}
		delete(s.tats, victim)
		return
	}
	var least windowState
	for k, st := range s.windows {
		if st.end <= now {
			victim = k
			break
		}
		if n == 0 || st.count < least.count || st.count == least.count && st.end < least.end {
			victim, least = k, st
		}
		if n++; n == evictSample {
			break
		}
	}
	delete(s.windows, victim)
}
