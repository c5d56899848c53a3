package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is what every backend implements.
type backend interface {
	Limiter
	Failures
}

// newNodesFunc returns two backends sharing their state, as two nodes of
// one deployment would, both reading the time from now. A backend that
// cannot be shared returns the same one twice.
type newNodesFunc func(t *testing.T, now func() time.Time) [2]backend

// epoch is the fake clocks' start; its odd nanoseconds check that the
// backends agree on truncating to microseconds.
var epoch = time.Date(2031, time.March, 14, 15, 9, 26, 535_897_932, time.UTC)

// fakeClock is a clock the tests set.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the clock to d after the epoch.
func (c *fakeClock) Set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = epoch.Add(d)
}

type op int

const (
	opAllow op = iota
	opCheck
	opFail
)

func (o op) String() string { return [...]string{"Allow", "Check", "Fail"}[o] }

// call is one call in a scenario: op on key at epoch+at, through node.
type call struct {
	at   time.Duration
	node int
	op   op
	key  string
	want Decision
}

func yes(limit, remaining int, reset time.Duration) Decision {
	return Decision{Allowed: true, Limit: limit, Remaining: remaining, ResetAfter: reset}
}

func no(limit int, retry, reset time.Duration) Decision {
	return Decision{Limit: limit, RetryAfter: retry, ResetAfter: reset}
}

const (
	us = time.Microsecond
	ms = time.Millisecond
	s  = time.Second
)

// scenarios are sequences of calls with the decisions every backend must
// make. Within one scenario every Allow uses rate and every Check and Fail
// uses window. Calls alternate between nodes where it matters little, to
// show that the nodes share their state.
var scenarios = []struct {
	name   string
	rate   Rate
	window Window
	calls  []call
}{
	{
		name: "burst then one per interval",
		rate: Rate{Limit: 2, Period: time.Second},
		calls: []call{
			{0, 0, opAllow, "k", yes(2, 1, 500*ms)},
			{0, 1, opAllow, "k", yes(2, 0, 1*s)},
			{0, 0, opAllow, "k", no(2, 500*ms, 1*s)},
			{250 * ms, 1, opAllow, "k", no(2, 250*ms, 750*ms)},
			{500 * ms, 0, opAllow, "k", yes(2, 0, 1*s)},
			{500 * ms, 1, opAllow, "k", no(2, 500*ms, 1*s)},
			{999999 * us, 0, opAllow, "k", no(2, 1*us, 500001*us)},
			{1 * s, 1, opAllow, "k", yes(2, 0, 1*s)},
			{3 * s, 0, opAllow, "k", yes(2, 1, 500*ms)},
		},
	},
	{
		name: "burst larger than the rate",
		rate: Rate{Limit: 1, Period: time.Second, Burst: 3},
		calls: []call{
			{0, 0, opAllow, "k", yes(3, 2, 1*s)},
			{0, 1, opAllow, "k", yes(3, 1, 2*s)},
			{0, 0, opAllow, "k", yes(3, 0, 3*s)},
			{0, 1, opAllow, "k", no(3, 1*s, 3*s)},
			{1 * s, 0, opAllow, "k", yes(3, 0, 3*s)},
			{2500 * ms, 1, opAllow, "k", yes(3, 0, 2500*ms)},
			{2500 * ms, 0, opAllow, "k", no(3, 500*ms, 2500*ms)},
			{4500 * ms, 1, opAllow, "k", yes(3, 1, 1500*ms)},
			{100 * s, 0, opAllow, "k", yes(3, 2, 1*s)},
		},
	},
	{
		name: "burst smaller than the rate",
		rate: Rate{Limit: 10, Period: time.Second, Burst: 1},
		calls: []call{
			{0, 0, opAllow, "k", yes(1, 0, 100*ms)},
			{50 * ms, 1, opAllow, "k", no(1, 50*ms, 50*ms)},
			{100 * ms, 0, opAllow, "k", yes(1, 0, 100*ms)},
		},
	},
	{
		name: "an interval of whole microseconds",
		rate: PerSecond(3),
		calls: []call{
			{0, 0, opAllow, "k", yes(3, 2, 333333*us)},
			{0, 1, opAllow, "k", yes(3, 1, 666666*us)},
			{0, 0, opAllow, "k", yes(3, 0, 999999*us)},
			{0, 1, opAllow, "k", no(3, 333333*us, 999999*us)},
			{333332 * us, 0, opAllow, "k", no(3, 1*us, 666667*us)},
			// Less than a microsecond later is the same microsecond.
			{333332*us + 60, 1, opAllow, "k", no(3, 1*us, 666667*us)},
			{333333 * us, 1, opAllow, "k", yes(3, 0, 999999*us)},
		},
	},
	{
		name: "keys are independent",
		rate: PerMinute(1),
		calls: []call{
			{0, 0, opAllow, "a", yes(1, 0, time.Minute)},
			{0, 1, opAllow, "a", no(1, time.Minute, time.Minute)},
			{0, 0, opAllow, "b", yes(1, 0, time.Minute)},
			{59 * s, 1, opAllow, "a", no(1, 1*s, 1*s)},
			{60 * s, 0, opAllow, "a", yes(1, 0, time.Minute)},
			{60 * s, 1, opAllow, "b", yes(1, 0, time.Minute)},
			// Keys are compared whole, whatever they hold.
			{60 * s, 0, opAllow, "", yes(1, 0, time.Minute)},
			{60 * s, 0, opAllow, "a\x00b:c", yes(1, 0, time.Minute)},
			{60 * s, 1, opAllow, "a\x00b:c", no(1, time.Minute, time.Minute)},
		},
	},
	{
		name:   "a window from the first failure",
		window: Window{Limit: 3, Period: time.Minute},
		calls: []call{
			{0, 0, opCheck, "k", yes(3, 3, 0)},
			{0, 1, opFail, "k", yes(3, 2, 60*s)},
			{10 * s, 0, opFail, "k", yes(3, 1, 50*s)},
			{20 * s, 1, opCheck, "k", yes(3, 1, 40*s)},
			{30 * s, 0, opFail, "k", yes(3, 0, 30*s)},
			{30 * s, 1, opCheck, "k", no(3, 30*s, 30*s)},
			// A refused failure is not counted and prolongs nothing.
			{40 * s, 0, opFail, "k", no(3, 20*s, 20*s)},
			{59999999 * us, 1, opCheck, "k", no(3, 1*us, 1*us)},
			{60 * s, 0, opCheck, "k", yes(3, 3, 0)},
			{60 * s, 1, opFail, "k", yes(3, 2, 60*s)},
			{61 * s, 0, opCheck, "k", yes(3, 2, 59*s)},
			{61 * s, 1, opCheck, "other", yes(3, 3, 0)},
		},
	},
	{
		name:   "a window does not slide",
		window: Window{Limit: 2, Period: time.Minute},
		calls: []call{
			{0, 0, opFail, "k", yes(2, 1, 60*s)},
			{59 * s, 1, opFail, "k", yes(2, 0, 1*s)},
			{59500 * ms, 0, opCheck, "k", no(2, 500*ms, 500*ms)},
			// The failure at 59 s is forgotten with its window.
			{60 * s, 1, opCheck, "k", yes(2, 2, 0)},
			{60 * s, 0, opFail, "k", yes(2, 1, 60*s)},
			{119 * s, 1, opFail, "k", yes(2, 0, 1*s)},
			{119 * s, 0, opCheck, "k", no(2, 1*s, 1*s)},
			{200 * s, 1, opCheck, "k", yes(2, 2, 0)},
		},
	},
	{
		name:   "the default window",
		window: DefaultWindow,
		calls: []call{
			{0, 0, opFail, "ip:203.0.113.9", yes(5, 4, 60*s)},
			{1 * s, 1, opFail, "ip:203.0.113.9", yes(5, 3, 59*s)},
			{2 * s, 0, opFail, "ip:203.0.113.9", yes(5, 2, 58*s)},
			{3 * s, 1, opFail, "ip:203.0.113.9", yes(5, 1, 57*s)},
			{4 * s, 0, opCheck, "ip:203.0.113.9", yes(5, 1, 56*s)},
			{4 * s, 1, opFail, "ip:203.0.113.9", yes(5, 0, 56*s)},
			{5 * s, 0, opCheck, "ip:203.0.113.9", no(5, 55*s, 55*s)},
			{5 * s, 1, opCheck, "ip:203.0.113.10", yes(5, 5, 0)},
			{60 * s, 0, opCheck, "ip:203.0.113.9", yes(5, 5, 0)},
		},
	},
	{
		name:   "rates and failures are kept apart",
		rate:   PerMinute(1),
		window: Window{Limit: 1, Period: time.Minute},
		calls: []call{
			{0, 0, opAllow, "k", yes(1, 0, 60*s)},
			{0, 1, opCheck, "k", yes(1, 1, 0)},
			{0, 0, opFail, "k", yes(1, 0, 60*s)},
			{0, 1, opAllow, "k", no(1, 60*s, 60*s)},
			{0, 0, opCheck, "k", no(1, 60*s, 60*s)},
			{30 * s, 1, opAllow, "other", yes(1, 0, 60*s)},
			{30 * s, 0, opCheck, "other", yes(1, 1, 0)},
		},
	},
}

// runConformance runs the tests every backend must pass.
func runConformance(t *testing.T, newNodes newNodesFunc) {
	t.Helper()

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			nodes := newNodes(t, clock.Now)
			ctx := context.Background()
			for i, c := range sc.calls {
				clock.Set(c.at)
				var (
					got Decision
					err error
				)
				switch c.op {
				case opAllow:
					got, err = nodes[c.node].Allow(ctx, c.key, sc.rate)
				case opCheck:
					got, err = nodes[c.node].Check(ctx, c.key, sc.window)
				case opFail:
					got, err = nodes[c.node].Fail(ctx, c.key, sc.window)
				}
				if err != nil {
					t.Fatalf("call %d, %v(%q) at %v: %v", i, c.op, c.key, c.at, err)
				}
				if got != c.want {
					t.Errorf("call %d, %v(%q) at %v:\n got %+v\nwant %+v", i, c.op, c.key, c.at, got, c.want)
				}
			}
		})
	}

	t.Run("invalid limits", func(t *testing.T) {
		t.Parallel()
		b := newNodes(t, newFakeClock().Now)[0]
		ctx := context.Background()
		for _, r := range []Rate{
			{},
			{Limit: 0, Period: time.Second},
			{Limit: -1, Period: time.Second},
			{Limit: 1, Period: 0},
			{Limit: 1, Period: -time.Second},
			{Limit: 1, Period: time.Second, Burst: -1},
			{Limit: 2, Period: time.Microsecond}, // less than 1 µs per request
			{Limit: 1, Period: 1 << 62},
			{Limit: 1, Period: time.Hour, Burst: 1 << 40},
		} {
			if err := r.Valid(); !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v.Valid() = %v, want ErrInvalid", r, err)
			}
			if d, err := b.Allow(ctx, "k", r); !errors.Is(err, ErrInvalid) || d != (Decision{}) {
				t.Errorf("Allow(%+v) = %+v, %v; want ErrInvalid", r, d, err)
			}
		}
		for _, w := range []Window{
			{},
			{Limit: 0, Period: time.Minute},
			{Limit: -1, Period: time.Minute},
			{Limit: 5, Period: 0},
			{Limit: 5, Period: time.Nanosecond},
			{Limit: 5, Period: 1 << 62},
		} {
			if err := w.Valid(); !errors.Is(err, ErrInvalid) {
				t.Errorf("%+v.Valid() = %v, want ErrInvalid", w, err)
			}
			if d, err := b.Check(ctx, "k", w); !errors.Is(err, ErrInvalid) || d != (Decision{}) {
				t.Errorf("Check(%+v) = %+v, %v; want ErrInvalid", w, d, err)
			}
			if d, err := b.Fail(ctx, "k", w); !errors.Is(err, ErrInvalid) || d != (Decision{}) {
				t.Errorf("Fail(%+v) = %+v, %v; want ErrInvalid", w, d, err)
			}
		}
		for _, r := range []Rate{PerSecond(1), PerMinute(1000), PerHour(1), {Limit: 1, Period: time.Microsecond}} {
			if err := r.Valid(); err != nil {
				t.Errorf("%+v.Valid() = %v", r, err)
			}
		}
	})

	// Many attempts at once, through both nodes, with every attempt a
	// failure: only window.Limit of them may be answered otherwise than 429.
	// Each round is a new key, to give races many chances.
	t.Run("concurrent failures", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		nodes := newNodes(t, clock.Now)
		w := Window{Limit: 5, Period: time.Minute}
		ctx := context.Background()
		for round := range 100 {
			key := fmt.Sprint("ip", round)
			var checked, answered atomic.Int64
			hammer(t, nodes, 8, 3, func(b backend) error {
				d, err := b.Check(ctx, key, w)
				if err != nil || !d.Allowed {
					return err
				}
				checked.Add(1)
				// The attempt fails; it is answered unless Fail refuses.
				d, err = b.Fail(ctx, key, w)
				if err != nil || !d.Allowed {
					return err
				}
				answered.Add(1)
				return nil
			})
			if got := answered.Load(); got != int64(w.Limit) {
				t.Fatalf("round %d: %d failed attempts answered, want %d (%d passed Check)", round, got, w.Limit, checked.Load())
			}
			if d, err := nodes[1].Check(ctx, key, w); err != nil || d.Allowed {
				t.Fatalf("round %d: Check after the flood = %+v, %v; want refused", round, d, err)
			}
		}
	})

	t.Run("concurrent requests", func(t *testing.T) {
		t.Parallel()
		clock := newFakeClock()
		nodes := newNodes(t, clock.Now)
		r := Rate{Limit: 10, Period: time.Minute, Burst: 7}
		for round := range 100 {
			key := fmt.Sprint("key", round)
			var allowed atomic.Int64
			hammer(t, nodes, 8, 2, func(b backend) error {
				d, err := b.Allow(context.Background(), key, r)
				if d.Allowed {
					allowed.Add(1)
				}
				return err
			})
			if got := allowed.Load(); got != 7 {
				t.Fatalf("round %d: %d requests allowed at once, want the burst, 7", round, got)
			}
		}
	})
}

// hammer runs f n times in each of g goroutines, half of them on each
// node, all starting together.
func hammer(t *testing.T, nodes [2]backend, g, n int, f func(backend) error) {
	t.Helper()
	start := make(chan struct{})
	errs := make(chan error, g)
	var wg sync.WaitGroup
	for i := range g {
		wg.Go(func() {
			<-start
			for range n {
				if err := f(nodes[i%2]); err != nil {
					errs <- fmt.Errorf("goroutine %d: %w", i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
