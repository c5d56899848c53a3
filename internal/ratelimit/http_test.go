package ratelimit

import (
	"net/http"
	"testing"
	"time"
)

func TestSetHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		d    Decision
		want map[string]string // "" for absent
	}{
		{
			name: "allowed",
			d:    Decision{Allowed: true, Limit: 100, Remaining: 42, ResetAfter: 30 * time.Second},
			want: map[string]string{"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "42", "X-Rate-Limit-Retry": "0", "Retry-After": ""},
		},
		{
			name: "refused, whole seconds",
			d:    Decision{Limit: 5, RetryAfter: 55 * time.Second, ResetAfter: 55 * time.Second},
			want: map[string]string{"X-Rate-Limit-Limit": "5", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Retry": "55", "Retry-After": "55"},
		},
		{
			name: "refused, rounded up",
			d:    Decision{Limit: 2, RetryAfter: 1500 * time.Millisecond},
			want: map[string]string{"X-Rate-Limit-Retry": "2", "Retry-After": "2"},
		},
		{
			name: "refused for a microsecond",
			d:    Decision{Limit: 2, RetryAfter: time.Microsecond},
			want: map[string]string{"X-Rate-Limit-Retry": "1", "Retry-After": "1"},
		},
		{
			name: "refused for just over a second",
			d:    Decision{Limit: 2, RetryAfter: time.Second + time.Nanosecond},
			want: map[string]string{"X-Rate-Limit-Retry": "2", "Retry-After": "2"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			SetHeaders(h, tc.d)
			for k, want := range tc.want {
				if got := h.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
				if want != "" && len(h.Values(k)) != 1 {
					t.Errorf("%s = %q, want one value", k, h.Values(k))
				}
			}
			// The values share an array: adding to one must not touch another.
			h.Add("X-Rate-Limit-Limit", "extra")
			if got := h.Values("X-Rate-Limit-Remaining"); len(got) != 1 || got[0] != h.Get("X-Rate-Limit-Remaining") {
				t.Errorf("X-Rate-Limit-Remaining = %q after adding to X-Rate-Limit-Limit", got)
			}
			if got := h.Values("X-Rate-Limit-Limit"); len(got) != 2 || got[1] != "extra" {
				t.Errorf("X-Rate-Limit-Limit = %q after Add", got)
			}
		})
	}
}
