package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	t.Parallel()

	var (
		mu     sync.Mutex
		bodies = make(map[string]int)
		paths  = make(map[string]int)
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[string(b)]++
		paths[r.URL.Path]++
		mu.Unlock()
		if r.Header.Get("X-App-Id") != "app" || r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)

	cfg, err := parseFlags([]string{
		"-c", "4", "-d", "10s", "-n", "100",
		"-H", "X-App-Id: app", "-method", "POST", "-body-template", `{"n":{{.N}}}`,
		srv.URL + "/a", srv.URL + "/missing",
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res := run(context.Background(), cfg)

	if res.Requests != 100 || res.Errors != 0 || !res.Capped {
		t.Errorf("requests %d, errors %d, capped %v; want 100, 0, true", res.Requests, res.Errors, res.Capped)
	}
	if res.Status["200"] != 50 || res.Non2xx["404"] != 50 || len(res.Non2xx) != 1 {
		t.Errorf("status %v, non_2xx %v; want 50 of 200 and 50 of 404", res.Status, res.Non2xx)
	}
	if got := res.Non2xxSamples["404"]; !strings.HasPrefix(got, "POST "+srv.URL+"/missing {\"n\":") || !strings.HasSuffix(got, "-> 404 Not Found") {
		t.Errorf("non_2xx_samples[404] = %q, want the request and the response", got)
	}
	if len(bodies) != 100 || bodies[`{"n":0}`] != 1 || bodies[`{"n":99}`] != 1 {
		t.Errorf("got %d distinct bodies, want 100 numbered 0 to 99", len(bodies))
	}
	if paths["/a"] != 50 || paths["/missing"] != 50 {
		t.Errorf("paths %v, want round-robin", paths)
	}
	if res.P50Ms > res.P99Ms || res.P99Ms > res.MaxMs || res.MaxMs <= 0 {
		t.Errorf("p50 %v, p99 %v, max %v: not ordered", res.P50Ms, res.P99Ms, res.MaxMs)
	}
}

func TestRunWarmup(t *testing.T) {
	t.Parallel()

	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)

	cfg, err := parseFlags([]string{"-c", "2", "-d", "200ms", "-warmup", "100ms", srv.URL}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := run(context.Background(), cfg)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("run took %s, want warm-up plus duration", took)
	}
	if res.Requests == 0 || res.DurationS < 0.2 || res.DurationS > 1 {
		t.Errorf("requests %d in %v s; want some, in about 0.2 s", res.Requests, res.DurationS)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()

	d := make([]time.Duration, 100)
	for i := range d {
		d[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		p    float64
		want time.Duration
	}{{50, 50 * time.Millisecond}, {99, 99 * time.Millisecond}, {100, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(%v) = %v, want %v", tc.p, got, tc.want)
		}
	}
}

func TestParseFlagsErrors(t *testing.T) {
	t.Parallel()

	for _, args := range [][]string{
		{},
		{"localhost:8080"},
		{"-c", "0", "http://x"},
		{"-H", "nocolon", "http://x"},
		{"-body-template", "{{.M", "http://x"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error", args)
		}
	}
}
