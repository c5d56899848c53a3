package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
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

// The tests that depend on what happens within a window of time do not
// run in parallel with the others, so that only a loaded machine can stall
// them, and they check bounds that a stall cannot break where they can.

func TestRunWarmup(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }))
	t.Cleanup(srv.Close)

	cfg, err := parseFlags([]string{"-c", "2", "-d", "500ms", "-warmup", "100ms", srv.URL}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := run(context.Background(), cfg)
	if took := time.Since(start); took < 600*time.Millisecond {
		t.Errorf("run took %s, want warm-up plus duration", took)
	}
	if res.Requests == 0 || res.DurationS < 0.5 || res.DurationS > 10 {
		t.Errorf("requests %d in %v s; want some, in about 0.5 s", res.Requests, res.DurationS)
	}
	// all_2xx counts the warm-up's answers too: every request the server
	// answered.
	if n := served.Load(); res.All2xx != n || res.All2xx <= res.Requests {
		t.Errorf("all_2xx %d, requests %d, served %d; want all_2xx = served > requests", res.All2xx, res.Requests, n)
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
		{"http://"},
		{"ftp://x/"},
		{"-rate", "-1", "http://x"},
		{"-procs", "-1", "http://x"},
		{"-timeout", "-1s", "http://x"},
		{"-method", "GE T", "http://x"},
		{"-H", "Bad Name: x", "http://x"},
	} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) = nil error", args)
		}
	}
}

// rawServer serves connections with handle, which gets each request parsed
// by http.ReadRequest and writes the raw response; it returns false to
// close the connection. It counts the connections it accepted.
func rawServer(t *testing.T, handle func(w io.Writer, r *http.Request) bool) (url string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int64)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			wg.Go(func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, r.Body)
					if !handle(c, r) {
						return
					}
				}
			})
		}
	})
	return "http://" + ln.Addr().String(), conns
}

func mustParse(t *testing.T, args ...string) *config {
	t.Helper()
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestRunBodies reads the bodies a server may send: Content-Length, small
// and larger than the read buffer, chunked with extensions and trailers,
// after a 100 Continue, none, and up to the end of the connection; all on
// kept-alive connections except the last.
func TestRunBodies(t *testing.T) {
	t.Parallel()

	big := strings.Repeat("x", 3*readBuffer+17)
	bigChunks := fmt.Sprintf("%x\r\n%s\r\n%X;ext=1\r\n%s\r\n0\r\n\r\n", len(big), big, len(big), big)
	responses := map[string]string{
		"/cl":          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"/cl-big":      fmt.Sprintf("HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s", len(big), big),
		"/chunked":     "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;a=b\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
		"/chunked-big": "HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: chunked\r\n\r\n" + bigChunks,
		"/continue":    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok",
		"/nocontent":   "HTTP/1.1 204 No Content\r\n\r\n",
		"/http10":      "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
	}
	var (
		mu    sync.Mutex
		paths = make(map[string]int)
		hosts = make(map[string]int)
	)
	url, conns := rawServer(t, func(w io.Writer, r *http.Request) bool {
		mu.Lock()
		paths[r.URL.Path]++
		hosts[r.Host]++
		mu.Unlock()
		if r.URL.Path == "/eof" {
			io.WriteString(w, "HTTP/1.1 200 OK\r\n\r\nthe body runs to the end")
			return false
		}
		io.WriteString(w, responses[r.URL.Path])
		return true
	})
	paths2 := []string{"/cl", "/cl-big", "/chunked", "/chunked-big", "/continue", "/nocontent", "/http10", "/eof"}
	args := []string{"-c", "3", "-d", "10s", "-n", "400"}
	for _, p := range paths2 {
		args = append(args, url+p)
	}
	res := run(context.Background(), mustParse(t, args...))

	if res.Requests != 400 || res.Errors != 0 || len(res.Non2xx) != 0 {
		t.Fatalf("requests %d, errors %d %q, non_2xx %v; want 400, 0, none", res.Requests, res.Errors, res.ErrorSamples, res.Non2xx)
	}
	if res.Status["200"] != 250 || res.Status["201"] != 50 || res.Status["202"] != 50 || res.Status["204"] != 50 {
		t.Errorf("status %v, want 50 of each path", res.Status)
	}
	for _, p := range paths2 {
		if paths[p] != 50 {
			t.Errorf("%s got %d requests, want 50", p, paths[p])
		}
	}
	// The connection is closed after each /eof, and only then.
	if got := conns.Load(); got < 50 || got > 50+3 {
		t.Errorf("%d connections, want 50 to 53: one per /eof response and one per client", got)
	}
	if host := strings.TrimPrefix(url, "http://"); hosts[host] != 400 {
		t.Errorf("Host headers %v, want %s", hosts, host)
	}
}

// TestRunConnectionClose: a server that closes every connection after its
// response, saying so or not, costs a connection per request and no error.
func TestRunConnectionClose(t *testing.T) {
	t.Parallel()

	var newConns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		io.WriteString(w, "bye")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	res := run(context.Background(), mustParse(t, "-c", "2", "-d", "10s", "-n", "60", srv.URL))
	if res.Requests != 60 || res.Errors != 0 || res.Status["200"] != 60 {
		t.Errorf("requests %d, errors %d %q, status %v; want 60 of 200", res.Requests, res.Errors, res.ErrorSamples, res.Status)
	}
	if got := newConns.Load(); got != 60 {
		t.Errorf("%d connections, want one per request, 60", got)
	}

	// Closing without a word: the next request on the connection finds it
	// closed before any response and, being a GET, is sent again on a new
	// one.
	url, conns := rawServer(t, func(w io.Writer, r *http.Request) bool {
		io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		return false
	})
	res = run(context.Background(), mustParse(t, "-c", "2", "-d", "10s", "-n", "60", url))
	if res.Requests != 60 || res.Errors != 0 {
		t.Errorf("silent close: requests %d, errors %d %q; want 60, 0", res.Requests, res.Errors, res.ErrorSamples)
	}
	if got := conns.Load(); got < 60 {
		t.Errorf("silent close: %d connections, want one per request, 60 or more", got)
	}
}

// TestRunErrors counts the requests that get no response, with a sample of
// the error, and the non-2xx ones with the request and the start of the
// body.
func TestRunErrors(t *testing.T) {
	t.Parallel()

	url, _ := rawServer(t, func(w io.Writer, r *http.Request) bool {
		switch r.URL.Path {
		case "/hangup":
			return false
		case "/garbage":
			io.WriteString(w, "SMTP ready\r\n\r\n")
			return false
		case "/boom":
			io.WriteString(w, "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nboo\r\n2\r\nm\n\r\n0\r\n\r\n")
		case "/short":
			io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
			return false
		default:
			io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
		return true
	})
	res := run(context.Background(), mustParse(t, "-c", "2", "-d", "10s", "-n", "40", "-method", "POST",
		url+"/ok", url+"/hangup", url+"/boom", url+"/garbage", url+"/short"))
	if res.Requests != 16 || res.Errors != 24 || res.Status["200"] != 8 || res.Non2xx["500"] != 8 {
		t.Errorf("requests %d, errors %d, status %v; want 16 (8 of 200, 8 of 500), 24 errors", res.Requests, res.Errors, res.Status)
	}
	if len(res.ErrorSamples) == 0 || len(res.ErrorSamples) > maxSamples || !strings.HasPrefix(res.ErrorSamples[0], `POST "`+url) {
		t.Errorf("error_samples %q, want up to %d naming the URL", res.ErrorSamples, maxSamples)
	}
	if got, want := res.Non2xxSamples["500"], "POST "+url+"/boom -> 500 Internal Server Error boom"; got != want {
		t.Errorf("non_2xx_samples[500] = %q, want %q", got, want)
	}
}

func TestRunTimeout(t *testing.T) {
	hold := make(chan struct{})
	url, _ := rawServer(t, func(w io.Writer, r *http.Request) bool {
		<-hold
		return false
	})
	t.Cleanup(func() { close(hold) }) // before rawServer's cleanup waits for the handlers
	res := run(context.Background(), mustParse(t, "-c", "1", "-d", "1s", "-timeout", "100ms", url))
	if res.Requests != 0 || res.Errors < 1 || len(res.ErrorSamples) == 0 || !strings.Contains(res.ErrorSamples[0], "timeout") {
		t.Errorf("requests %d, errors %d %q; want none and timeouts", res.Requests, res.Errors, res.ErrorSamples)
	}
}

// TestRunWarmupExcluded: what the server answers during the warm-up is not
// counted.
func TestRunWarmupExcluded(t *testing.T) {
	var served, failed atomic.Int64
	begin := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		// Only the warm-up's requests can come this early.
		if time.Since(begin) < 100*time.Millisecond {
			failed.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		// Slow enough that the warm-up cannot use up -n, 2 clients
		// making at most 30 requests in it.
		time.Sleep(20 * time.Millisecond)
	}))
	t.Cleanup(srv.Close)
	res := run(context.Background(), mustParse(t, "-c", "2", "-d", "30s", "-warmup", "300ms", "-n", "100", srv.URL))
	if len(res.Non2xx) != 0 || res.Errors != 0 {
		t.Errorf("non_2xx %v, errors %d; the warm-up's %d 503s are counted", res.Non2xx, res.Errors, failed.Load())
	}
	if res.Requests < 70 || res.Requests > served.Load()-failed.Load() || !res.Capped {
		t.Errorf("%d requests counted of %d served (%d 503s in the warm-up), capped %v; want 70 or more, not the warm-up's",
			res.Requests, served.Load(), failed.Load(), res.Capped)
	}
}

// TestRunRate: with -rate R, request N is due at N/R, so a run of d sends
// R*d requests, however fast the server, and counts those due after the
// warm-up.
func TestRunRate(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { served.Add(1) }))
	t.Cleanup(srv.Close)

	start := time.Now()
	res := run(context.Background(), mustParse(t, "-c", "4", "-rate", "200", "-warmup", "250ms", "-d", "250ms", srv.URL))
	took := time.Since(start)
	if served.Load() != 100 || res.Requests != 50 || res.Errors != 0 || res.Rate != 200 {
		t.Errorf("served %d, counted %d, errors %d, rate %v; want 100 sent at 200/s in 0.5 s, the last 50 counted",
			served.Load(), res.Requests, res.Errors, res.Rate)
	}
	if took < 450*time.Millisecond {
		t.Errorf("the run took %s, want about 0.5 s", took)
	}

	// Clients that wait for a request's due time count its latency from
	// when they send it: the last of these 4 requests is taken at once and
	// due 1.5 s later.
	res = run(context.Background(), mustParse(t, "-c", "8", "-rate", "2", "-d", "2s", srv.URL))
	if res.Requests != 4 || res.MaxMs >= 1400 {
		t.Errorf("requests %d, max %v ms; want 4, each as fast as the server", res.Requests, res.MaxMs)
	}

	// -n caps the rate too.
	res = run(context.Background(), mustParse(t, "-c", "2", "-rate", "1000", "-d", "10s", "-n", "30", srv.URL))
	if res.Requests != 30 || !res.Capped {
		t.Errorf("requests %d, capped %v; want 30, true", res.Requests, res.Capped)
	}
}

// TestRunRateBehind: a server slower than the rate makes the requests
// queue, and their latencies count from when they were due, not from when
// the busy client got to them (coordinated omission).
func TestRunRateBehind(t *testing.T) {
	t.Parallel()

	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		time.Sleep(50 * time.Millisecond)
	}))
	t.Cleanup(srv.Close)

	// 30 requests due every 10 ms, one client taking 50 ms or more each:
	// the last is sent at 1.45 s or later, 1.16 s after it was due.
	res := run(context.Background(), mustParse(t, "-c", "1", "-rate", "100", "-d", "300ms", srv.URL))
	if res.Requests != 30 || res.MaxMs < 1200 || res.P50Ms < 500 {
		t.Errorf("requests %d, p50 %v ms, max %v ms; want 30, p50 >= 500 ms and max >= 1200 ms", res.Requests, res.P50Ms, res.MaxMs)
	}
	if res.ThroughputRPS > 50 {
		t.Errorf("throughput %v/s, want at most one client's 20/s", res.ThroughputRPS)
	}
}

func TestRunMultipleHosts(t *testing.T) {
	t.Parallel()

	var a, b atomic.Int64
	srvA := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { a.Add(1) }))
	t.Cleanup(srvA.Close)
	srvB := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { b.Add(1) }))
	t.Cleanup(srvB.Close)
	res := run(context.Background(), mustParse(t, "-c", "3", "-n", "90", srvA.URL+"/x", srvB.URL+"/y?q=1"))
	if res.Requests != 90 || res.Errors != 0 || a.Load() != 45 || b.Load() != 45 {
		t.Errorf("requests %d, errors %d %q, served %d and %d; want 45 each", res.Requests, res.Errors, res.ErrorSamples, a.Load(), b.Load())
	}
}

func TestRunTLS(t *testing.T) {
	t.Parallel()

	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/teapot" {
			w.WriteHeader(http.StatusTeapot)
		}
	}))
	t.Cleanup(srv.Close)
	cfg := mustParse(t, "-c", "2", "-n", "20", srv.URL, srv.URL+"/teapot")
	cfg.tls = srv.Client().Transport.(*http.Transport).TLSClientConfig
	res := run(context.Background(), cfg)
	if res.Requests != 20 || res.Status["200"] != 10 || res.Non2xx["418"] != 10 {
		t.Errorf("requests %d, errors %d %q, status %v; want 10 of 200 and 10 of 418", res.Requests, res.Errors, res.ErrorSamples, res.Status)
	}
}

// TestRequestFormat: the request as the server reads it, headers included.
func TestRequestFormat(t *testing.T) {
	t.Parallel()

	got := make(chan *http.Request, 10)
	url, _ := rawServer(t, func(w io.Writer, r *http.Request) bool {
		got <- r
		io.WriteString(w, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		return true
	})
	res := run(context.Background(), mustParse(t, "-c", "1", "-n", "1", "-method", "POST",
		"-H", "x-app-id: app", "-H", "X-Multi: 1", "-H", "X-Multi: 2", "-H", "Host: example.com", url+"/p?a=b#frag"))
	if res.Requests != 1 {
		t.Fatalf("requests %d, errors %q", res.Requests, res.ErrorSamples)
	}
	r := <-got
	if r.Method != "POST" || r.RequestURI != "/p?a=b" || r.Host != "example.com" || r.ContentLength != 0 ||
		r.Header.Get("X-App-Id") != "app" || len(r.Header["X-Multi"]) != 2 || r.Header.Get("User-Agent") == "" {
		t.Errorf("server read %s %s Host %s Content-Length %d header %v", r.Method, r.RequestURI, r.Host, r.ContentLength, r.Header)
	}
}

// TestBodyTemplate: the fast rendering of text and {{.N}} is what
// text/template prints, and other templates still work.
func TestBodyTemplate(t *testing.T) {
	t.Parallel()

	for _, tc := range []struct {
		tmpl string
		fast bool
	}{
		{`{"n":{{.N}}}`, true},
		{`{"campaign":{"name":"x"},"customer":{"source_id":"cust-r1-{{.N}}"}} {{- .N -}} !`, true},
		{`plain`, true},
		{`{{.N}}{{.N}}`, true},
		{`{{/* a comment */}}{{.N}}`, true},
		{`{{printf "%05d" .N}}`, false},
		{`{{if .N}}some{{else}}none{{end}}`, false},
		{`{{$n := .N}}{{$n}}`, false},
		{`{{define "x"}}X{{end}}{{.N}}{{template "x"}}`, false},
	} {
		tm, err := template.New("body").Option("missingkey=error").Parse(tc.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		b := newBodyTemplate(tm)
		if fast := b.parts != nil; fast != tc.fast {
			t.Errorf("%q: fast %v, want %v", tc.tmpl, fast, tc.fast)
		}
		for _, n := range []int64{0, 7, 123456789012} {
			var want bytes.Buffer
			if err := tm.Execute(&want, struct{ N int64 }{n}); err != nil {
				t.Fatal(err)
			}
			got, err := b.appendBody([]byte("prefix"), n)
			if err != nil || string(got) != "prefix"+want.String() {
				t.Errorf("%q with N=%d: %q, %v; want %q", tc.tmpl, n, got, err, "prefix"+want.String())
			}
		}
	}
}

// TestDoAllocs: a request and its response cost no allocation once the
// connection is up.
func TestDoAllocs(t *testing.T) {
	// AllocsPerRun counts the server's allocations too: this one makes
	// none. It answers each request when it reads the '}' that ends its
	// body.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		resp := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			for range bytes.Count(buf[:n], []byte("}")) {
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}
	}()

	cfg := mustParse(t, "-method", "POST", "-body-template", `{"id":"c-{{.N}}"}`, "http://"+ln.Addr().String())
	ts, hosts, err := targets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cl := &client{cfg: cfg, targets: ts, conns: make([]*conn, hosts), w: &worker{bad: make(map[int]string)}}
	t.Cleanup(cl.close)
	var n int64
	allocs := testing.AllocsPerRun(200, func() {
		n++
		if status, err := cl.do(n, true); err != nil || status != 200 {
			t.Fatalf("do: %d, %v", status, err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per request, want 0", allocs)
	}
}
