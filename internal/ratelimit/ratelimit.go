package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrInvalid is wrapped by the error a backend returns for a Rate or a
// Window it cannot enforce; it is a configuration mistake, not a refusal.
var ErrInvalid = errors.New("ratelimit: invalid limit")

// Limiter limits the rate of requests per key with GCRA.
type Limiter interface {
	// Allow counts one request for key against r if r allows it now, and
	// says whether it did. A refused request is not counted. The error is
	// ErrInvalid (wrapped) for a Rate that Valid rejects, or a backend's
	// error; with an error the Decision is the zero Decision.
	Allow(ctx context.Context, key string, r Rate) (Decision, error)
}

// Failures counts failed attempts per key in fixed windows (see the
// package comment for the exact semantics).
type Failures interface {
	// Check reports whether key may make an attempt now, without counting
	// one: refused while key has w.Limit failures in its current window,
	// with RetryAfter the time until that window ends. The errors are as
	// for Limiter.Allow.
	Check(ctx context.Context, key string, w Window) (Decision, error)
	// Fail records one failed attempt for key. The Decision is refused,
	// and the failure not recorded, when the window already held w.Limit
	// failures: the attempt should not have been answered, and a caller
	// that has not yet written its answer should answer 429 instead.
	// Otherwise Remaining says how many more failures the window allows.
	// The errors are as for Limiter.Allow.
	Fail(ctx context.Context, key string, w Window) (Decision, error)
}

// Decision is the outcome of one call to a limiter.
type Decision struct {
	// Allowed reports whether the request may go ahead.
	Allowed bool
	// Limit is the most requests (for a Rate: its burst) or failures (for
	// a Window: its Limit) the key may make at once.
	Limit int
	// Remaining is how many more may be made right now, after this one.
	Remaining int
	// RetryAfter is, when Allowed is false, how long until the same call
	// would be allowed; zero when Allowed is true.
	RetryAfter time.Duration
	// ResetAfter is how long until the key is back to its full Limit, as if
	// it had never been seen; zero if it already is.
	ResetAfter time.Duration
}

// Rate is a GCRA limit: Limit requests per Period on average, of which up
// to Burst may come at once. A Burst of 0 means Limit.
type Rate struct {
	Limit  int
	Period time.Duration
	Burst  int
}

// PerSecond returns a Rate of n requests a second, n at once.
func PerSecond(n int) Rate { return Rate{Limit: n, Period: time.Second, Burst: n} }

// PerMinute returns a Rate of n requests a minute, n at once.
func PerMinute(n int) Rate { return Rate{Limit: n, Period: time.Minute, Burst: n} }

// PerHour returns a Rate of n requests an hour, n at once.
func PerHour(n int) Rate { return Rate{Limit: n, Period: time.Hour, Burst: n} }

// Valid returns an error wrapping ErrInvalid if r cannot be enforced: a
// Limit or Period that is not positive, a negative Burst, or a Period/Limit
// shorter than the microsecond the limiters count in.
func (r Rate) Valid() error {
	_, err := r.gcraParams()
	return err
}

// Window is a failure limit: after Limit failures within Period of a key's
// first failure, the key is refused until those Period have passed.
type Window struct {
	Limit  int
	Period time.Duration
}

// DefaultWindow is the default failure limit: 5 failures per 60 s.
var DefaultWindow = Window{Limit: 5, Period: time.Minute}

// Valid returns an error wrapping ErrInvalid if w cannot be enforced: a
// Limit that is not positive or a Period shorter than a microsecond.
func (w Window) Valid() error {
	_, err := w.windowParams()
	return err
}

// Times inside the limiters are int64 microseconds since the Unix epoch,
// in both backends: Redis's Lua numbers are doubles, exact only up to 2^53,
// and 2^53 µs is 285 years while 2^53 ns is 104 days. Doing the integer
// arithmetic in one unit everywhere is what makes the two backends decide
// alike.

func micros(d time.Duration) time.Duration { return d * time.Microsecond }

// gcra is a Rate in microseconds: the emission interval t (the time one
// request costs) and the tolerance tau = burst*t (how far ahead of now the
// theoretical arrival time may run).
type gcra struct {
	t, tau int64
	burst  int
}

func (r Rate) gcraParams() (gcra, error) {
	burst := r.Burst
	if burst == 0 {
		burst = r.Limit
	}
	if r.Limit <= 0 || r.Period <= 0 || burst < 0 {
		return gcra{}, fmt.Errorf("%w: rate %d per %v, burst %d", ErrInvalid, r.Limit, r.Period, r.Burst)
	}
	t := r.Period.Microseconds() / int64(r.Limit)
	// 1<<50 µs keeps tat+tau below 2^53 for centuries yet.
	if t <= 0 || int64(burst) > (1<<50)/t {
		return gcra{}, fmt.Errorf("%w: rate %d per %v, burst %d", ErrInvalid, r.Limit, r.Period, r.Burst)
	}
	return gcra{t: t, tau: int64(burst) * t, burst: burst}, nil
}

// decide is GCRA for one request at now, given the key's stored
// theoretical arrival time (0 if none). It returns the decision and, when
// allowed, the TAT to store. The Redis script makes the same comparison.
func (p gcra) decide(stored, now int64) (Decision, int64) {
	tat := max(stored, now)
	next := tat + p.t
	allowAt := next - p.tau
	if now < allowAt {
		return Decision{
			Limit:      p.burst,
			RetryAfter: micros(time.Duration(allowAt - now)),
			ResetAfter: micros(time.Duration(tat - now)),
		}, 0
	}
	return Decision{
		Allowed:    true,
		Limit:      p.burst,
		Remaining:  int((now - allowAt) / p.t),
		ResetAfter: micros(time.Duration(next - now)),
	}, next
}

// window is a Window in microseconds.
type window struct {
	period, limit int64
}

func (w Window) windowParams() (window, error) {
	p := w.Period.Microseconds()
	if w.Limit <= 0 || p <= 0 || p > 1<<50 {
		return window{}, fmt.Errorf("%w: window of %d per %v", ErrInvalid, w.Limit, w.Period)
	}
	return window{period: p, limit: int64(w.Limit)}, nil
}

// check decides Failures.Check at now for a key whose window ends at end
// with count failures (0, 0 if none).
func (w window) check(end, count, now int64) Decision {
	if now >= end {
		return Decision{Allowed: true, Limit: int(w.limit), Remaining: int(w.limit)}
	}
	d := Decision{Limit: int(w.limit), ResetAfter: micros(time.Duration(end - now))}
	if count >= w.limit {
		d.RetryAfter = d.ResetAfter
		return d
	}
	d.Allowed = true
	d.Remaining = int(w.limit - count)
	return d
}

// fail decides Failures.Fail at now for a key whose window ends at end
// with count failures (0, 0 if none). It returns the decision and, when
// the failure is recorded, the window's new end and count. The Redis
// script makes the same comparisons.
func (w window) fail(end, count, now int64) (d Decision, newEnd, newCount int64) {
	if now >= end {
		end, count = now+w.period, 0
	}
	d = Decision{Limit: int(w.limit), ResetAfter: micros(time.Duration(end - now))}
	if count >= w.limit {
		d.RetryAfter = d.ResetAfter
		return d, 0, 0
	}
	count++
	d.Allowed = true
	d.Remaining = int(w.limit - count)
	return d, end, count
}
