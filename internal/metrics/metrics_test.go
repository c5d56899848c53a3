package metrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"promo/internal/metrics"
)

func TestWriteTo(t *testing.T) {
	t.Parallel()
	r := metrics.NewRegistry()
	req := r.Counter("http_requests_total", "Requests served.\nBy route.", "route", "status")
	req.With("GET /v1/x", "200").Inc()
	req.With("GET /v1/x", "200").Add(2)
	req.With(`a"b\c`+"\n", "500").Inc()
	r.Counter("jobs_total", "Jobs done.")
	h := r.Histogram("latency_seconds", `Latency, \ in seconds.`, []float64{0.1, 0.5, 1}, "route")
	h.With("a").Observe(0.1)
	h.With("a").Observe(0.3)
	h.With("a").Observe(7)
	h.With("b").Observe(0.05)
	r.GaugeFunc("queue_depth", "Jobs waiting.", func() float64 { return 1.5 })
	r.Counter("unused_total", "Never touched.", "x")

	var b strings.Builder
	if _, err := r.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	want := `# HELP http_requests_total Requests served.\nBy route.
# TYPE http_requests_total counter
http_requests_total{route="GET /v1/x",status="200"} 3
http_requests_total{route="a\"b\\c\n",status="500"} 1
# HELP jobs_total Jobs done.
# TYPE jobs_total counter
jobs_total 0
# HELP latency_seconds Latency, \\ in seconds.
# TYPE latency_seconds histogram
latency_seconds_bucket{route="a",le="0.1"} 1
latency_seconds_bucket{route="a",le="0.5"} 2
latency_seconds_bucket{route="a",le="1"} 2
latency_seconds_bucket{route="a",le="+Inf"} 3
latency_seconds_sum{route="a"} 7.4
latency_seconds_count{route="a"} 3
latency_seconds_bucket{route="b",le="0.1"} 1
latency_seconds_bucket{route="b",le="0.5"} 1
latency_seconds_bucket{route="b",le="1"} 1
latency_seconds_bucket{route="b",le="+Inf"} 1
latency_seconds_sum{route="b"} 0.05
latency_seconds_count{route="b"} 1
# HELP queue_depth Jobs waiting.
# TYPE queue_depth gauge
queue_depth 1.5
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestHistogramWithoutLabels(t *testing.T) {
	t.Parallel()
	r := metrics.NewRegistry()
	h := r.Histogram("d_seconds", "D.", []float64{1})
	h.With().Observe(2)
	var b strings.Builder
	r.WriteTo(&b)
	want := `# HELP d_seconds D.
# TYPE d_seconds histogram
d_seconds_bucket{le="1"} 0
d_seconds_bucket{le="+Inf"} 1
d_seconds_sum 2
d_seconds_count 1
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestRegisterTwice(t *testing.T) {
	t.Parallel()
	r := metrics.NewRegistry()
	a := r.Counter("x_total", "X.", "a")
	if b := r.Counter("x_total", "X.", "a"); a != b {
		t.Error("the same counter registered twice should be returned again")
	}
	for name, f := range map[string]func(){
		"other labels":     func() { r.Counter("x_total", "X.", "b") },
		"other kind":       func() { r.Histogram("x_total", "X.", nil, "a") },
		"bad name":         func() { r.Counter("x-total", "X.") },
		"bad label":        func() { r.Counter("y_total", "Y.", "__a") },
		"repeated label":   func() { r.Counter("y_total", "Y.", "a", "a") },
		"unsorted buckets": func() { r.Histogram("h", "H.", []float64{2, 1}) },
		"wrong arity":      func() { a.With("1", "2") },
		"negative add":     func() { a.With("1").Add(-1) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestServeHTTP(t *testing.T) {
	t.Parallel()
	r := metrics.NewRegistry()
	r.Counter("x_total", "X.").With().Inc()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != metrics.ContentType {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(rec.Body.String(), "x_total 1\n") {
		t.Errorf("body %q", rec.Body.String())
	}
}

func TestConcurrent(t *testing.T) {
	t.Parallel()
	r := metrics.NewRegistry()
	c := r.Counter("c_total", "C.", "k")
	h := r.Histogram("h_seconds", "H.", []float64{0.5}, "k")
	const workers, n = 8, 1000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range n {
				k := fmt.Sprint(i % 3)
				c.With(k).Inc()
				h.With(k).Observe(float64(w%2) * 0.75)
				if i%100 == 0 {
					r.WriteTo(io.Discard)
				}
			}
		})
	}
	wg.Wait()
	var total float64
	for k := range 3 {
		total += c.With(fmt.Sprint(k)).Value()
	}
	if total != workers*n {
		t.Errorf("counted %v, want %v", total, workers*n)
	}
	var b strings.Builder
	r.WriteTo(&b)
	if !strings.Contains(b.String(), `h_seconds_count{k="0"} 2672`) {
		t.Errorf("histogram count missing:\n%s", b.String())
	}
}

func BenchmarkObserve(b *testing.B) {
	r := metrics.NewRegistry()
	h := r.Histogram("d_seconds", "D.", []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, "route")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.With("GET /v1/campaigns/{id}").Observe(0.003)
		}
	})
}

func BenchmarkCounterInc(b *testing.B) {
	r := metrics.NewRegistry()
	c := r.Counter("r_total", "R.", "route", "method", "status")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.With("GET /v1/campaigns/{id}", "GET", "200").Inc()
		}
	})
}
