package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"promo/internal/engine"
	"promo/internal/httpapi"
	"promo/internal/promo"
	"promo/internal/ratelimit"
	"promo/internal/sqlite"
)

// benchAPI is the handler stack of promo serve on a store in b's temporary
// directory, with a campaign of n generated codes; it returns the handler,
// an API key's headers and the codes.
func benchAPI(b *testing.B, n int) (http.Handler, http.Header, []string) {
	b.Helper()
	return benchAPIWith(b, n, nil)
}

// benchAPIWith is benchAPI with configure changing the API's Config.
func benchAPIWith(b *testing.B, n int, configure func(*httpapi.Config)) (http.Handler, http.Header, []string) {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "promo.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	// The log lines are written as serve writes them, to a discarding writer.
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	eng := engine.New(st, engine.Options{Logger: log})
	key, token, err := eng.CreateAPIKey(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	cfg := httpapi.Config{Logger: log, Auth: eng, Ready: st.Ping, MaxBodyBytes: 64 << 10}
	if configure != nil {
		configure(&cfg)
	}
	api := httpapi.New(cfg)
	httpapi.Register(api, eng)
	h := api.Handler()
	hdr := http.Header{"X-App-Id": {key.ID}, "X-App-Token": {token}, "Content-Type": {"application/json"}}

	body := fmt.Sprintf(`{"name":"bench","type":"STATIC","vouchers_count":%d,"voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100},"code_config":{"pattern":"BEN-####-####"}}}`, n)
	if w := serve(h, hdr, "POST", "/v1/campaigns", body); w.Code != http.StatusOK {
		b.Fatalf("create campaign: %d %s", w.Code, w.Body)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { eng.Run(runCtx); close(done) }()
	b.Cleanup(func() { stop(); <-done })
	var codes []string
	for deadline := time.Now().Add(time.Minute); len(codes) < n; {
		if time.Now().After(deadline) {
			b.Fatalf("generation not done within a minute")
		}
		vs, _, err := st.Vouchers(ctx, promo.VoucherFilter{ListParams: promo.ListParams{Limit: n, Page: 1}})
		if err != nil {
			b.Fatal(err)
		}
		codes = codes[:0]
		for _, v := range vs {
			codes = append(codes, v.Code)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h, hdr, codes
}

// serve sends one request to h and returns the recorded response.
func serve(h http.Handler, hdr http.Header, method, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range hdr {
		req.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// BenchmarkGetVoucher measures GET /v1/vouchers/{code} through the whole
// handler stack (auth, store read, JSON view, log line, metrics), without
// the network.
func BenchmarkGetVoucher(b *testing.B) {
	h, hdr, codes := benchAPI(b, 1000)
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code := codes[next.Add(1)%uint64(len(codes))]
			if w := serve(h, hdr, "GET", "/v1/vouchers/"+code, ""); w.Code != http.StatusOK {
				b.Fatalf("GET voucher: %d %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkPublish measures POST /v1/publications of a campaign's code to a
// new customer through the whole handler stack, without the network.
func BenchmarkPublish(b *testing.B) {
	h, hdr, _ := benchAPI(b, max(b.N, 1000))
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := fmt.Sprintf(`{"campaign":{"name":"bench"},"customer":{"source_id":"c-%d"}}`, next.Add(1))
			if w := serve(h, hdr, "POST", "/v1/publications", body); w.Code != http.StatusOK {
				b.Fatalf("publish: %d %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkValidate measures POST /v1/validations of one code with an order
// through the whole handler stack, without the network.
func BenchmarkValidate(b *testing.B) {
	h, hdr, codes := benchAPI(b, 1000)
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			code := codes[next.Add(1)%uint64(len(codes))]
			body := `{"redeemables":[{"object":"voucher","id":"` + code + `"}],"order":{"amount":5000}}`
			if w := serve(h, hdr, "POST", "/v1/validations", body); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"valid":true`) {
				b.Fatalf("validate: %d %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkRedeem measures POST /v1/redemptions of a distinct code by a new
// customer through the whole handler stack, without the network, with 32
// requests per CPU in flight, so that the writer commits groups of them as
// it does under load.
func BenchmarkRedeem(b *testing.B) {
	h, hdr, codes := benchAPI(b, max(b.N, 1000))
	var next atomic.Uint64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			body := fmt.Sprintf(`{"redeemables":[{"object":"voucher","id":%q}],"customer":{"source_id":"c-%d"},"order":{"amount":5000}}`, codes[i], i)
			if w := serve(h, hdr, "POST", "/v1/redemptions", body); w.Code != http.StatusOK {
				b.Fatalf("redeem: %d %s", w.Code, w.Body)
			}
		}
	})
}

// BenchmarkRefusedAttempt measures a validation refused with 429 because
// its client IP's failure window is full, through the whole handler stack
// (authentication, the key's rate, the window, the error envelope, the log
// line, the metrics), without the network; BenchmarkHealthz beside it is
// the trivial handler.
func BenchmarkRefusedAttempt(b *testing.B) {
	h, hdr, _ := benchAPIWith(b, 10, func(c *httpapi.Config) {
		mem := ratelimit.NewMemory(ratelimit.MemoryOptions{})
		c.Limits = httpapi.Limits{Limiter: mem, KeyRate: ratelimit.PerSecond(1 << 30), Failures: mem, Attempts: ratelimit.Window{Limit: 5, Period: time.Hour}}
	})
	body := `{"redeemables":[{"object":"voucher","id":"NOPE-0000"}],"order":{"amount":1000}}`
	for range 5 {
		serve(h, hdr, "POST", "/v1/validations", body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if w := serve(h, hdr, "POST", "/v1/validations", body); w.Code != http.StatusTooManyRequests {
				b.Fatalf("refused: %d %s", w.Code, w.Body)
			}
		}
	})
}

func BenchmarkHealthz(b *testing.B) {
	h, hdr, _ := benchAPI(b, 10)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if w := serve(h, hdr, "GET", "/healthz", ""); w.Code != http.StatusOK {
				b.Fatalf("healthz: %d", w.Code)
			}
		}
	})
}
