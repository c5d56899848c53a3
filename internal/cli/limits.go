package cli

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"promo/internal/engine"
	"promo/internal/httpapi"
	"promo/internal/ratelimit"
)

// Defaults of the limits. A secret key may make 10,000 calls a second,
// which no shop's checkout needs and a runaway loop exceeds; a client IP or
// a customer gets 5 failed validations or redemptions a minute, after which
// guessing codes from it stops until the minute is over.
const (
	defaultKeyRate      = "10000/s"
	defaultAttemptLimit = "5/60s"
	defaultLeakLimit    = "5/10m"
)

// limitFlags are serve's flags for rate limits and leak detection.
type limitFlags struct {
	keyRate, attempts, redisURL, proxies *string
	leaks                                *string
	leakDisable                          *bool
}

func addLimitFlags(fs *flag.FlagSet) limitFlags {
	return limitFlags{
		keyRate: setting(fs, "key-rate", "PROMO_KEY_RATE", defaultKeyRate,
			`calls per API key, as N/PERIOD such as 100/s or 6000/1m; "off" for none`),
		attempts: setting(fs, "attempt-limit", "PROMO_ATTEMPT_LIMIT", defaultAttemptLimit,
			`failed validations and redemptions per client IP and per customer, as N/PERIOD; "off" for none`),
		redisURL: setting(fs, "redis", "PROMO_REDIS_URL", "",
			"Redis URL (redis://...) to share the limits between servers; in memory without it"),
		proxies: setting(fs, "trusted-proxies", "PROMO_TRUSTED_PROXIES", "",
			"comma-separated addresses or CIDRs of proxies whose X-Forwarded-For names the client"),
		leaks: setting(fs, "leak-limit", "PROMO_LEAK_LIMIT", defaultLeakLimit,
			"a code meant for one customer is flagged as leaked when more than N distinct customers or client IPs try it per PERIOD"),
		leakDisable: fs.Bool("leak-disable", os.Getenv("PROMO_LEAK_DISABLE") == "true",
			"disable a leaked code as well as flagging it (env PROMO_LEAK_DISABLE=true)"),
	}
}

// leakOptions are the engine's leak options the flags give.
func (f limitFlags) leakOptions() (engine.LeakOptions, error) {
	w, on, err := parseLimit("--leak-limit", *f.leaks)
	if err != nil {
		return engine.LeakOptions{}, err
	}
	if !on {
		return engine.LeakOptions{}, fmt.Errorf(`--leak-limit cannot be off; set a high limit instead`)
	}
	return engine.LeakOptions{Window: w.Period, MaxCustomers: w.Limit, MaxIPs: w.Limit, Disable: *f.leakDisable}, nil
}

// limits builds the API's limits, and a function that releases what they
// hold (the Redis client).
func (f limitFlags) limits(ctx context.Context) (httpapi.Limits, func(), error) {
	var lim httpapi.Limits
	noop := func() {}
	keyRate, keyOn, err := parseLimit("--key-rate", *f.keyRate)
	if err != nil {
		return lim, noop, err
	}
	window, attemptsOn, err := parseLimit("--attempt-limit", *f.attempts)
	if err != nil {
		return lim, noop, err
	}
	if lim.TrustedProxies, err = parsePrefixes(*f.proxies); err != nil {
		return lim, noop, err
	}
	var (
		limiter  ratelimit.Limiter
		failures ratelimit.Failures
		release  = noop
	)
	if *f.redisURL != "" {
		opt, err := redis.ParseURL(*f.redisURL)
		if err != nil {
			return lim, noop, fmt.Errorf("--redis: %v", err)
		}
		client := redis.NewClient(opt)
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			return lim, noop, fmt.Errorf("--redis: %v", err)
		}
		r := ratelimit.NewRedis(client, ratelimit.RedisOptions{Prefix: "promo:limit:"})
		limiter, failures, release = r, r, func() { client.Close() }
	} else {
		m := ratelimit.NewMemory(ratelimit.MemoryOptions{})
		limiter, failures = m, m
	}
	if keyOn {
		lim.Limiter, lim.KeyRate = limiter, ratelimit.Rate{Limit: keyRate.Limit, Period: keyRate.Period, Burst: keyRate.Limit}
	}
	if attemptsOn {
		lim.Failures, lim.Attempts = failures, window
	}
	return lim, release, nil
}

// parseLimit parses N/PERIOD ("100/s", "5/60s", "6000/1m"), or "off": N
// per PERIOD, a rate's calls or a window's failures.
func parseLimit(flagName, s string) (ratelimit.Window, bool, error) {
	if s == "off" {
		return ratelimit.Window{}, false, nil
	}
	n, per, ok := strings.Cut(s, "/")
	limit, err := strconv.Atoi(n)
	if !ok || err != nil || limit < 1 {
		return ratelimit.Window{}, false, fmt.Errorf(`%s must be N/PERIOD such as 100/s, or "off"; not %q`, flagName, s)
	}
	switch per {
	case "s", "m", "h":
		per = "1" + per
	}
	period, err := time.ParseDuration(per)
	if err != nil || period <= 0 {
		return ratelimit.Window{}, false, fmt.Errorf(`%s: the period of %q must be a duration such as s, 60s or 1m`, flagName, s)
	}
	w := ratelimit.Window{Limit: limit, Period: period}
	if err := w.Valid(); err != nil {
		return ratelimit.Window{}, false, fmt.Errorf("%s: %v", flagName, err)
	}
	return w, true, nil
}

// parsePrefixes parses a comma-separated list of addresses and prefixes.
func parsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, fmt.Errorf("--trusted-proxies: %v", err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %v", err)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
