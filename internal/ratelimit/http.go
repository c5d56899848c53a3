package ratelimit

import (
	"net/http"
	"strconv"
	"time"
)

// SetHeaders describes d in h: X-Rate-Limit-Limit, X-Rate-Limit-Remaining
// and X-Rate-Limit-Retry (d.RetryAfter in whole seconds, rounded up; 0
// when d is allowed) always, and Retry-After, the same seconds, when d is
// refused.
func SetHeaders(h http.Header, d Decision) {
	retry := strconv.FormatInt(ceilSeconds(d.RetryAfter), 10)
	// One array for every value: a response's headers are its own, and the
	// full slice expressions make an append copy rather than share.
	v := [4]string{strconv.Itoa(d.Limit), strconv.Itoa(d.Remaining), retry, retry}
	vals := v[:]
	h["X-Rate-Limit-Limit"] = vals[0:1:1]
	h["X-Rate-Limit-Remaining"] = vals[1:2:2]
	h["X-Rate-Limit-Retry"] = vals[2:3:3]
	if !d.Allowed {
		h["Retry-After"] = vals[3:4:4]
	}
}

// ceilSeconds is d in whole seconds, rounded up; a refusal is never
// answered with "retry after 0".
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
