package ratelimit_test

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"promo/internal/ratelimit"
)

// A validation endpoint that refuses an IP after 5 wrong codes a minute.
// Check refuses early; Fail, called before answering a wrong code, refuses
// too when concurrent attempts used up the window meanwhile.
func ExampleFailures() {
	now := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	limits := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: func() time.Time { return now }})
	ctx := context.Background()

	validate := func(ip, code string) int {
		h := http.Header{}
		d, err := limits.Check(ctx, ip, ratelimit.DefaultWindow)
		if err != nil {
			return http.StatusInternalServerError
		}
		if d.Allowed && code != "SPRING-2031" {
			d, err = limits.Fail(ctx, ip, ratelimit.DefaultWindow)
			if err != nil {
				return http.StatusInternalServerError
			}
			if d.Allowed {
				return http.StatusNotFound
			}
		}
		if !d.Allowed {
			ratelimit.SetHeaders(h, d)
			fmt.Println("Retry-After:", h.Get("Retry-After"))
			return http.StatusTooManyRequests
		}
		return http.StatusOK
	}

	for i := range 6 {
		fmt.Println(validate("203.0.113.9", fmt.Sprint("GUESS-", i)))
		now = now.Add(time.Second)
	}
	fmt.Println(validate("203.0.113.9", "SPRING-2031"))
	fmt.Println(validate("198.51.100.7", "SPRING-2031"))
	now = now.Add(time.Minute)
	fmt.Println(validate("203.0.113.9", "SPRING-2031"))
	// Output:
	// 404
	// 404
	// 404
	// 404
	// 404
	// Retry-After: 55
	// 429
	// Retry-After: 54
	// 429
	// 200
	// 200
}
