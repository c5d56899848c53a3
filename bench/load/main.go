// Command load is a small HTTP load generator for promo's API benchmarks.
//
// Usage:
//
//	load [flags] URL...
//	load -urls FILE [flags] [URL...]
//
// It runs -c concurrent clients for -d, each sending one request after
// another over a keep-alive connection, round-robin over the URLs. Every
// latency is kept (no histogram), and at the end it prints one JSON object:
//
//	{"requests": 30211, "errors": 0, "non_2xx": {}, "duration_s": 10.001,
//	 "throughput_rps": 3020.8, "p50_ms": 0.812, "p90_ms": 1.7, "p99_ms": 4.1,
//	 "max_ms": 21.9, ...}
//
// requests counts the responses received in the measured window, whatever
// their status; errors the requests that got no response at all (their
// first few messages are in error_samples); non_2xx the responses by status
// outside 200-299, with the first request and response of each status in
// non_2xx_samples. The latencies are those of all responses.
//
// With -body-template, each request carries a body made from a text/template
// in which {{.N}} is the request's sequence number, 0, 1, 2, ... across all
// clients, warm-up included; so "cust-{{.N}}" is a new customer on every
// request. The first -warmup of the run is not counted. -n stops after that
// many requests in all (warm-up included), before -d if it comes first: a
// pool that must not run dry bounds the run that draws from it.
//
// The exit status is 0 when the run completed, whatever the server answered
// (the caller reads errors and non_2xx), 1 if it could not run, 2 on bad
// usage.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"
)

// headers collects repeated -H "Name: value" flags.
type headers []string

func (h *headers) String() string { return strings.Join(*h, ", ") }

func (h *headers) Set(v string) error {
	name, _, ok := strings.Cut(v, ":")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("header %q is not of the form \"Name: value\"", v)
	}
	*h = append(*h, v)
	return nil
}

// config is what the flags say.
type config struct {
	clients  int
	duration time.Duration
	warmup   time.Duration
	max      int64
	method   string
	body     *template.Template
	header   http.Header
	urls     []string
	timeout  time.Duration
}

// result is the JSON printed at the end.
type result struct {
	Requests      int64             `json:"requests"`
	Errors        int64             `json:"errors"`
	ErrorSamples  []string          `json:"error_samples,omitempty"`
	Non2xx        map[string]int    `json:"non_2xx"`
	Non2xxSamples map[string]string `json:"non_2xx_samples,omitempty"`
	Status        map[string]int    `json:"status"`
	DurationS     float64           `json:"duration_s"`
	ThroughputRPS float64           `json:"throughput_rps"`
	P50Ms         float64           `json:"p50_ms"`
	P90Ms         float64           `json:"p90_ms"`
	P99Ms         float64           `json:"p99_ms"`
	MaxMs         float64           `json:"max_ms"`
	MeanMs        float64           `json:"mean_ms"`
	Clients       int               `json:"clients"`
	URLs          int               `json:"urls"`
	Method        string            `json:"method"`
	Capped        bool              `json:"capped"`
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	res := run(context.Background(), cfg)
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: load [flags] URL...   (or -urls FILE)")
		fs.PrintDefaults()
	}
	var (
		hs       headers
		cfg      config
		tmpl     string
		urlsFile string
		maxReqs  int64
	)
	fs.IntVar(&cfg.clients, "c", 32, "concurrent clients")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "measured duration, after the warm-up")
	fs.DurationVar(&cfg.warmup, "warmup", 0, "warm-up before the measured duration, not counted")
	fs.Int64Var(&maxReqs, "n", 0, "stop after this many requests in all, warm-up included (0: no limit)")
	fs.StringVar(&cfg.method, "method", http.MethodGet, "HTTP method")
	fs.StringVar(&tmpl, "body-template", "", "request body, a text/template; {{.N}} is the request's sequence number")
	fs.Var(&hs, "H", `request header "Name: value" (repeatable)`)
	fs.StringVar(&urlsFile, "urls", "", "file of URLs, one per line, used before the URL arguments")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "timeout of one request")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	cfg.max = maxReqs

	if urlsFile != "" {
		urls, err := readLines(urlsFile)
		if err != nil {
			return nil, err
		}
		cfg.urls = urls
	}
	cfg.urls = append(cfg.urls, fs.Args()...)
	if len(cfg.urls) == 0 {
		return nil, errors.New("no URL: give URLs as arguments or -urls FILE")
	}
	for _, u := range cfg.urls {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("URL %q: want http:// or https://", u)
		}
	}
	if cfg.clients < 1 {
		return nil, fmt.Errorf("-c %d: want at least 1", cfg.clients)
	}
	if cfg.duration <= 0 {
		return nil, fmt.Errorf("-d %s: want a positive duration", cfg.duration)
	}
	if cfg.warmup < 0 || cfg.max < 0 {
		return nil, errors.New("-warmup and -n may not be negative")
	}

	cfg.header = make(http.Header)
	for _, h := range hs {
		name, value, _ := strings.Cut(h, ":")
		cfg.header.Add(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	if tmpl != "" {
		t, err := template.New("body").Option("missingkey=error").Parse(tmpl)
		if err != nil {
			return nil, fmt.Errorf("-body-template: %w", err)
		}
		cfg.body = t
		if cfg.header.Get("Content-Type") == "" {
			cfg.header.Set("Content-Type", "application/json")
		}
	}
	return &cfg, nil
}

// readLines returns the non-empty lines of a file.
func readLines(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, sc.Err()
}

// worker is one client's record of the measured window.
type worker struct {
	latencies []time.Duration
	status    map[int]int
	errors    int64
	samples   []string
	bad       map[int]string // the first request and response of each non-2xx status
}

// maxSamples bounds the error messages each worker keeps.
const maxSamples = 3

func run(ctx context.Context, cfg *config) *result {
	tr := &http.Transport{
		Proxy:               nil, // a local benchmark never goes through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * cfg.clients,
		MaxIdleConnsPerHost: 2 * cfg.clients,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.timeout}

	var (
		seq      atomic.Int64 // next request's sequence number
		capped   atomic.Bool
		start    = time.Now()
		measured = start.Add(cfg.warmup)
		deadline = measured.Add(cfg.duration)
		workers  = make([]*worker, cfg.clients)
		wg       sync.WaitGroup
	)
	for i := range workers {
		w := &worker{status: make(map[int]int), bad: make(map[int]string)}
		workers[i] = w
		wg.Go(func() {
			var buf bytes.Buffer
			for {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				n := seq.Add(1) - 1
				if cfg.max > 0 && n >= cfg.max {
					capped.Store(true)
					return
				}
				status, sample, err := do(ctx, client, cfg, n, &buf, len(w.bad) < maxSamples)
				if t0.Before(measured) {
					continue
				}
				if err != nil {
					w.errors++
					if len(w.samples) < maxSamples {
						w.samples = append(w.samples, err.Error())
					}
					continue
				}
				w.latencies = append(w.latencies, time.Since(t0))
				w.status[status]++
				if _, ok := w.bad[status]; !ok && sample != "" {
					w.bad[status] = sample
				}
			}
		})
	}
	wg.Wait()
	end := time.Now()

	res := &result{
		Non2xx:        make(map[string]int),
		Non2xxSamples: make(map[string]string),
		Status:        make(map[string]int),
		Clients:       cfg.clients,
		URLs:          len(cfg.urls),
		Method:        cfg.method,
		Capped:        capped.Load(),
	}
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.latencies...)
		res.Errors += w.errors
		res.ErrorSamples = append(res.ErrorSamples, w.samples...)
		for s, c := range w.status {
			res.Status[strconv.Itoa(s)] += c
			if s < 200 || s > 299 {
				res.Non2xx[strconv.Itoa(s)] += c
			}
		}
		for s, sample := range w.bad {
			if _, ok := res.Non2xxSamples[strconv.Itoa(s)]; !ok {
				res.Non2xxSamples[strconv.Itoa(s)] = sample
			}
		}
	}
	if len(res.ErrorSamples) > maxSamples {
		res.ErrorSamples = res.ErrorSamples[:maxSamples]
	}
	res.Requests = int64(len(all))
	// A run that ends early (capped, or all requests failing fast) is as
	// long as it really was.
	if elapsed := end.Sub(measured); elapsed > 0 {
		res.DurationS = round3(elapsed.Seconds())
		res.ThroughputRPS = round3(float64(res.Requests) / elapsed.Seconds())
	}
	if len(all) > 0 {
		slices.Sort(all)
		var sum time.Duration
		for _, d := range all {
			sum += d
		}
		res.P50Ms = ms(percentile(all, 50))
		res.P90Ms = ms(percentile(all, 90))
		res.P99Ms = ms(percentile(all, 99))
		res.MaxMs = ms(all[len(all)-1])
		res.MeanMs = ms(sum / time.Duration(len(all)))
	}
	return res
}

// sampleBytes bounds the response body kept in a non-2xx sample.
const sampleBytes = 1024

// do sends request number n and reads its response to the end, so that the
// connection is reused. It returns the status code and, if the status is not
// 2xx and keep is set, the request and response as text.
func do(ctx context.Context, client *http.Client, cfg *config, n int64, buf *bytes.Buffer, keep bool) (status int, sample string, err error) {
	url := cfg.urls[n%int64(len(cfg.urls))]
	var body io.Reader
	if cfg.body != nil {
		buf.Reset()
		if err := cfg.body.Execute(buf, struct{ N int64 }{n}); err != nil {
			return 0, "", err
		}
		body = bytes.NewReader(buf.Bytes())
	}
	req, err := http.NewRequestWithContext(ctx, cfg.method, url, body)
	if err != nil {
		return 0, "", err
	}
	req.Header = cfg.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	if keep && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		got, err := io.ReadAll(io.LimitReader(resp.Body, sampleBytes))
		if err != nil {
			return 0, "", err
		}
		sample = fmt.Sprintf("%s %s", cfg.method, url)
		if cfg.body != nil {
			sample += " " + buf.String()
		}
		sample += " -> " + resp.Status
		if got = bytes.TrimSpace(got); len(got) > 0 {
			sample += " " + string(got)
		}
	}
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, "", err
	}
	return resp.StatusCode, sample, nil
}

// percentile returns the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
