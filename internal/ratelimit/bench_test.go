package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

// fastRate allows every request a benchmark can make: a microsecond a
// request, with a burst of twelve days' worth.
var fastRate = Rate{Limit: 1, Period: time.Microsecond, Burst: 1 << 40}

// slowRate refuses every request after a key's first, for an hour.
var slowRate = PerHour(1)

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("ip:198.51.%d.%d", i/256, i%256)
	}
	return keys
}

func BenchmarkMemoryAllow(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := m.Allow(ctx, "key", fastRate); !d.Allowed {
			b.Fatal("refused")
		}
	}
}

func BenchmarkMemoryRefuse(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	ctx := context.Background()
	_, _ = m.Allow(ctx, "key", slowRate)
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := m.Allow(ctx, "key", slowRate); d.Allowed {
			b.Fatal("allowed")
		}
	}
}

// BenchmarkMemoryCheckRefuse is the refusal of an IP whose failure window
// is full, the validation path's early refusal.
func BenchmarkMemoryCheckRefuse(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	ctx := context.Background()
	for range DefaultWindow.Limit {
		_, _ = m.Fail(ctx, "key", DefaultWindow)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, _ := m.Check(ctx, "key", DefaultWindow); d.Allowed {
			b.Fatal("allowed")
		}
	}
}

func BenchmarkMemoryParallel(b *testing.B) {
	keys := benchKeys(10000)
	for _, bc := range []struct {
		name string
		keys []string
		rate Rate
	}{
		{"AllowManyKeys", keys, fastRate},
		{"RefuseManyKeys", keys, slowRate},
		{"AllowHotKey", keys[:1], fastRate},
		{"RefuseHotKey", keys[:1], slowRate},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m := NewMemory(MemoryOptions{})
			ctx := context.Background()
			for _, k := range bc.keys {
				_, _ = m.Allow(ctx, k, bc.rate)
			}
			want := bc.rate == fastRate
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := rand.IntN(len(bc.keys))
				for pb.Next() {
					if d, _ := m.Allow(ctx, bc.keys[i], bc.rate); d.Allowed != want {
						b.Errorf("Allowed = %v", d.Allowed)
						return
					}
					if i++; i == len(bc.keys) {
						i = 0
					}
				}
			})
		})
	}
}

// BenchmarkHandler compares a trivial handler with one that refuses every
// request through Memory, SetHeaders and a 429, on a ResponseWriter that
// costs next to nothing, so that only the handlers' own work is measured.
func BenchmarkHandler(b *testing.B) {
	m := NewMemory(MemoryOptions{})
	_, _ = m.Allow(context.Background(), "192.0.2.1:4321", slowRate)
	body := []byte(`{"code":"too_many_requests"}`)
	handlers := []struct {
		name string
		h    http.HandlerFunc
	}{
		{"Trivial", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`{}`))
		}},
		{"Refuse", func(w http.ResponseWriter, r *http.Request) {
			d, err := m.Allow(r.Context(), r.RemoteAddr, slowRate)
			if err != nil || d.Allowed {
				panic("allowed")
			}
			SetHeaders(w.Header(), d)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write(body)
		}},
	}
	for _, hc := range handlers {
		b.Run(hc.name, func(b *testing.B) {
			r, err := http.NewRequest(http.MethodPost, "/v1/vouchers/CODE/validate", nil)
			if err != nil {
				b.Fatal(err)
			}
			r.RemoteAddr = "192.0.2.1:4321"
			w := &nullWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				hc.h(w, r)
			}
		})
	}
}

type nullWriter struct {
	h      http.Header
	status int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) WriteHeader(status int)      { w.status = status }
func (w *nullWriter) Write(p []byte) (int, error) { return len(p), nil }

func BenchmarkRedisAllow(b *testing.B) {
	prefix := testPrefix(b)
	r := NewRedis(newTestRedisClient(b, prefix), RedisOptions{Prefix: prefix})
	ctx := context.Background()
	b.Run("Serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Allow(ctx, "key", fastRate); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Parallel", func(b *testing.B) {
		keys := benchKeys(1000)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := rand.IntN(len(keys))
			for pb.Next() {
				if _, err := r.Allow(ctx, keys[i], fastRate); err != nil {
					b.Error(err)
					return
				}
				i = (i + 1) % len(keys)
			}
		})
	})
}

func BenchmarkSetHeaders(b *testing.B) {
	d := Decision{Limit: 5, RetryAfter: 55 * time.Second, ResetAfter: 55 * time.Second}
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		clear(h)
		SetHeaders(h, d)
	}
}
