// Package ratelimit limits requests per key: a rate per key with GCRA
// (Limiter), and failed attempts per key in fixed windows (Failures), in
// memory (Memory) or shared by several nodes through Redis (Redis).
//
// # GCRA
//
// The generic cell rate algorithm is a token bucket kept as one number per
// key, its theoretical arrival time (TAT): the time at which the key's
// bucket would be full again. A Rate of Limit per Period with burst B costs
// each request t = Period/Limit and tolerates a TAT up to tau = B*t ahead of
// now. A request at now is allowed if max(TAT, now)+t-tau <= now, and then
// TAT becomes max(TAT, now)+t; a refused request changes nothing and may
// retry after max(TAT, now)+t-tau-now. So B requests may come at once, and
// then one per t. Remaining is how many more would be allowed right now.
//
// # Failure windows
//
// A Window of Limit failures per Period starts at a key's first failure (a
// call to Fail) and lasts Period; it does not slide. While it lasts, each
// Fail counts one failure, up to Limit; once it holds Limit failures, Check
// and Fail are refused until it ends, RetryAfter being the time left, and a
// refused Fail is not counted (so it does not prolong anything). When it
// ends the count is back to zero and the next failure starts a new window.
// Check never counts. A caller checks before an attempt, and calls Fail
// after one that failed, before answering: a refused Fail means other
// attempts used up the window meanwhile, and the attempt should be answered
// 429 too. That way at most Limit failed attempts per window are answered
// otherwise than 429, however many run at once, on however many nodes;
// Check alone cannot promise that, since every attempt checked before the
// Limit-th failure is recorded passes. A successful attempt calls nothing,
// so one that passed Check just before a concurrent Limit-th failure is
// answered normally: with one client making one attempt at a time no
// attempt gets past a full window.
//
// # Backends
//
// Memory keeps the state in sharded maps, sweeps expired keys as new ones
// arrive and caps the number of keys (see Memory). Redis keeps it in Redis
// under a prefix, one key per limited key with a TTL, and makes each
// decision in one round trip: Allow and Fail decide and write atomically in
// a Lua script, Check reads with HMGET. Both take the time from an injected clock and compute in whole microseconds with the
// same integer arithmetic, so they make the same decisions for the same
// calls at the same times; the Redis scripts get the time as an argument
// rather than from Redis's TIME. That keeps the two backends testable with
// one fake clock, and keeps the scripts deterministic, as replicating them
// verbatim requires, at the price of trusting the nodes' clocks: nodes whose
// clocks disagree by d may let a key's requests or a window's end come up
// to d early, which for clocks kept by NTP is milliseconds against limits
// of seconds. Redis's own clock only expires keys, which by then are
// forgotten state anyway.
package ratelimit
