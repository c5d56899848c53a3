// Command load is a small HTTP load generator for promo's API benchmarks.
//
// Usage:
//
//	load [flags] URL...
//	load -urls FILE [flags] [URL...]
//
// It runs -c concurrent clients for -d, each sending one request after
// another over its own keep-alive connection, round-robin over the URLs.
// Every latency is kept (no histogram), and at the end it prints one JSON
// object:
//
//	{"requests": 30211, "errors": 0, "non_2xx": {}, "duration_s": 10.001,
//	 "throughput_rps": 3020.8, "p50_ms": 0.812, "p90_ms": 1.7, "p99_ms": 4.1,
//	 "max_ms": 21.9, ...}
//
// requests counts the responses received in the measured window, whatever
// their status; errors the requests that got no response at all (their
// first few messages are in error_samples); non_2xx the responses by status
// outside 200-299, with the first request and response of each status in
// non_2xx_samples; all_2xx the 2xx responses of the whole run, warm-up
// included (what a check of the server's state counts). The latencies are those of all responses, from just
// before the request is written (or its connection dialled) to the end of
// its response body.
//
// With -body-template, each request carries a body made from a text/template
// in which {{.N}} is the request's sequence number, 0, 1, 2, ... across all
// clients, warm-up included; so "cust-{{.N}}" is a new customer on every
// request. The first -warmup of the run is not counted. -n stops after that
// many requests in all (warm-up included), before -d if it comes first: a
// pool that must not run dry bounds the run that draws from it.
//
// # Closed loop and coordinated omission
//
// By default the load is a closed loop, like wrk's: each client sends its
// next request as soon as it has the previous response, so the offered load
// is whatever the server sustains with -c requests in flight. The figures
// are those of saturation, and they suffer from coordinated omission: while
// the server stalls, the clients wait with it and send nothing, so a stall
// of 100 ms delays a few requests by up to 100 ms rather than every request
// that would have been sent during it, and the high percentiles understate
// what users arriving at a steady rate would see.
//
// With -rate R the load is an open loop at R requests per second in all:
// request N is due at start + N/R, and the next free client takes the next
// due request (it waits if it is early). Its latency is measured from the
// time it was due, so the time it spent queued behind busy clients counts,
// as in wrk2; a client that was early and waited counts from when it really
// sent, so the lateness of its timer (up to about 1 ms when the Go runtime
// is idle) is not charged to the server. If the server cannot keep up with R
// using -c clients, the queue and the latencies grow without bound, which is
// the right answer: throughput_rps then falls short of rate.
//
// # Cost
//
// The client is a minimal HTTP/1.1 one on net.Conn, so that the CPU it
// takes from a server on the same machine is small: the requests are
// rendered to bytes once (with -body-template, into a reused buffer), each
// is one write, and the response's status line and headers are parsed from
// a bufio.Reader and its body discarded (Content-Length, chunked, or up to
// the end of the connection). A connection is dialled again after an error
// or a "Connection: close". -timeout bounds each request through the
// connection's deadline, which is moved forward lazily, so a request times
// out after between 63/64 of -timeout and -timeout. -procs sets GOMAXPROCS,
// to keep the generator off some of the CPUs the server wants.
//
// The exit status is 0 when the run completed, whatever the server answered
// (the caller reads errors and non_2xx), 1 if it could not run, 2 on bad
// usage.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/template"
	"text/template/parse"
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
	rate     float64 // requests per second in all; 0: a closed loop
	procs    int     // GOMAXPROCS; 0: Go's default
	method   string
	body     *bodyTemplate
	header   http.Header
	urls     []string
	timeout  time.Duration
	tls      *tls.Config // for https URLs; nil: the defaults
}

// result is the JSON printed at the end.
type result struct {
	Requests      int64             `json:"requests"`
	Errors        int64             `json:"errors"`
	ErrorSamples  []string          `json:"error_samples,omitempty"`
	Non2xx        map[string]int    `json:"non_2xx"`
	Non2xxSamples map[string]string `json:"non_2xx_samples,omitempty"`
	Status        map[string]int    `json:"status"`
	All2xx        int64             `json:"all_2xx"` // 2xx answers of the whole run, warm-up included
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
	Rate          float64           `json:"rate"`  // -rate: the offered load in requests/s; 0 for a closed loop
	Procs         int               `json:"procs"` // GOMAXPROCS of the generator
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
	if cfg.procs > 0 {
		runtime.GOMAXPROCS(cfg.procs)
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
	fs.Float64Var(&cfg.rate, "rate", 0, "offered load in requests/s across all clients, an open loop with latencies from each request's due time (0: a closed loop, each client as fast as it can)")
	fs.IntVar(&cfg.procs, "procs", 0, "GOMAXPROCS of the generator (0: Go's default, the number of CPUs)")
	fs.StringVar(&cfg.method, "method", http.MethodGet, "HTTP method")
	fs.StringVar(&tmpl, "body-template", "", "request body, a text/template; {{.N}} is the request's sequence number")
	fs.Var(&hs, "H", `request header "Name: value" (repeatable)`)
	fs.StringVar(&urlsFile, "urls", "", "file of URLs, one per line, used before the URL arguments")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Second, "timeout of one request (0: none)")
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
		if _, err := parseTarget(u); err != nil {
			return nil, err
		}
	}
	if cfg.clients < 1 {
		return nil, fmt.Errorf("-c %d: want at least 1", cfg.clients)
	}
	if cfg.duration <= 0 {
		return nil, fmt.Errorf("-d %s: want a positive duration", cfg.duration)
	}
	if cfg.warmup < 0 || cfg.max < 0 || cfg.procs < 0 || cfg.timeout < 0 {
		return nil, errors.New("-warmup, -n, -procs and -timeout may not be negative")
	}
	if cfg.rate < 0 || math.IsNaN(cfg.rate) || math.IsInf(cfg.rate, 0) {
		return nil, fmt.Errorf("-rate %v: want a positive number of requests/s, or 0", cfg.rate)
	}
	if !isToken(cfg.method) {
		return nil, fmt.Errorf("-method %q: not an HTTP method", cfg.method)
	}

	cfg.header = make(http.Header)
	for _, h := range hs {
		name, value, _ := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !isToken(name) || strings.ContainsAny(value, "\r\n\x00") {
			return nil, fmt.Errorf("-H %q: not a valid header", h)
		}
		cfg.header.Add(name, value)
	}
	if tmpl != "" {
		t, err := template.New("body").Option("missingkey=error").Parse(tmpl)
		if err != nil {
			return nil, fmt.Errorf("-body-template: %w", err)
		}
		cfg.body = newBodyTemplate(t)
		if cfg.header.Get("Content-Type") == "" {
			cfg.header.Set("Content-Type", "application/json")
		}
	}
	return &cfg, nil
}

// isToken reports whether s is a non-empty HTTP token, as a method or a
// header name must be.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
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

// bodyTemplate renders the body of request number N. A template that is
// only text and {{.N}} actions, the usual case, is rendered without
// text/template: its text parts are joined by the decimal N, which is what
// text/template would print.
type bodyTemplate struct {
	t     *template.Template
	parts []string // the text around the {{.N}}s; nil: execute t
}

func newBodyTemplate(t *template.Template) *bodyTemplate {
	b := &bodyTemplate{t: t}
	if t.Tree == nil || t.Tree.Root == nil || len(t.Templates()) != 1 {
		return b
	}
	parts := []string{""}
	for _, node := range t.Tree.Root.Nodes {
		switch node := node.(type) {
		case *parse.TextNode:
			parts[len(parts)-1] += string(node.Text)
		case *parse.ActionNode:
			p := node.Pipe
			if p == nil || len(p.Decl) != 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
				return b
			}
			f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
			if !ok || len(f.Ident) != 1 || f.Ident[0] != "N" {
				return b
			}
			parts = append(parts, "")
		default:
			return b
		}
	}
	b.parts = parts
	return b
}

// appendBody appends the body of request number n to dst.
func (b *bodyTemplate) appendBody(dst []byte, n int64) ([]byte, error) {
	if b.parts == nil {
		w := appendWriter{dst}
		err := b.t.Execute(&w, struct{ N int64 }{n})
		return w.b, err
	}
	dst = append(dst, b.parts[0]...)
	for _, p := range b.parts[1:] {
		dst = strconv.AppendInt(dst, n, 10)
		dst = append(dst, p...)
	}
	return dst, nil
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// target is one URL, its request rendered up to the body.
type target struct {
	url  string
	addr string // host:port to dial
	tls  bool
	host string // for TLS's ServerName
	// head is the request line and headers; with a body template it lacks
	// Content-Length and the blank line ending the headers.
	head      []byte
	hostIndex int // index of addr among the run's addresses
}

func parseTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: want http:// or https://", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q: no host", raw)
	}
	return u, nil
}

// targets renders the request of each URL and numbers their addresses.
func targets(cfg *config) ([]target, int, error) {
	var (
		ts    = make([]target, len(cfg.urls))
		addrs = make(map[string]int)
		extra bytes.Buffer
	)
	hdr := cfg.header.Clone()
	hostOverride := hdr.Get("Host")
	hdr.Del("Host")
	if hdr.Get("User-Agent") == "" {
		hdr.Set("User-Agent", "promo-bench-load")
	}
	if err := hdr.Write(&extra); err != nil {
		return nil, 0, err
	}
	// Like net/http, a POST, PUT or PATCH without a body says so.
	emptyBody := cfg.body == nil && (cfg.method == http.MethodPost || cfg.method == http.MethodPut || cfg.method == http.MethodPatch)
	for i, raw := range cfg.urls {
		u, err := parseTarget(raw)
		if err != nil {
			return nil, 0, err
		}
		t := target{url: raw, tls: u.Scheme == "https", host: u.Hostname()}
		port := u.Port()
		if port == "" {
			port = "80"
			if t.tls {
				port = "443"
			}
		}
		t.addr = net.JoinHostPort(u.Hostname(), port)
		key := u.Scheme + "://" + t.addr
		idx, ok := addrs[key]
		if !ok {
			idx = len(addrs)
			addrs[key] = idx
		}
		t.hostIndex = idx
		host := u.Host
		if hostOverride != "" {
			host = hostOverride
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", cfg.method, u.RequestURI(), host)
		if u.User != nil {
			pass, _ := u.User.Password()
			fmt.Fprintf(&b, "Authorization: Basic %s\r\n", base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)))
		}
		b.Write(extra.Bytes())
		if emptyBody {
			b.WriteString("Content-Length: 0\r\n")
		}
		if cfg.body == nil {
			b.WriteString("\r\n")
		}
		t.head = b.Bytes()
		ts[i] = t
	}
	return ts, len(addrs), nil
}

// worker is one client's record of the measured window.
type worker struct {
	latencies []time.Duration
	status    [1000]int64 // by status code, 100 to 999
	all2xx    int64       // 2xx answers of the whole run, warm-up included
	errors    int64
	samples   []string
	bad       map[int]string // the first request and response of each non-2xx status
}

const (
	maxSamples    = 3    // error messages each worker keeps
	maxBadSamples = 16   // non-2xx statuses each worker keeps a sample of
	sampleBytes   = 1024 // response body kept in a non-2xx sample
	readBuffer    = 32 << 10
)

func run(ctx context.Context, cfg *config) *result {
	res := &result{
		Non2xx:        make(map[string]int),
		Non2xxSamples: make(map[string]string),
		Status:        make(map[string]int),
		Clients:       cfg.clients,
		URLs:          len(cfg.urls),
		Method:        cfg.method,
		Rate:          cfg.rate,
		Procs:         runtime.GOMAXPROCS(0),
	}
	ts, nAddrs, err := targets(cfg)
	if err != nil {
		// parseFlags checked the URLs; this cannot happen.
		res.Errors = 1
		res.ErrorSamples = []string{err.Error()}
		return res
	}

	var (
		seq      atomic.Int64 // next request's sequence number
		capped   atomic.Bool
		stop     atomic.Bool
		start    = time.Now()
		measured = start.Add(cfg.warmup)
		deadline = measured.Add(cfg.duration)
		workers  = make([]*worker, cfg.clients)
		wg       sync.WaitGroup
	)
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	for i := range workers {
		w := &worker{bad: make(map[int]string)}
		workers[i] = w
		cl := &client{cfg: cfg, targets: ts, conns: make([]*conn, nAddrs), w: w}
		wg.Go(func() {
			defer cl.close()
			var timer *time.Timer
			for !stop.Load() {
				var n int64
				var t0, due time.Time
				if cfg.rate > 0 {
					// Request n is due at n/rate, and taken by the next
					// free client.
					n = seq.Add(1) - 1
					due = start.Add(time.Duration(float64(n) * float64(time.Second) / cfg.rate))
					if !due.Before(deadline) {
						return
					}
					if cfg.max > 0 && n >= cfg.max {
						capped.Store(true)
						return
					}
					// Late (all the clients were busy): its latency
					// counts from when it was due. Early: the client
					// waits, and its latency counts from when it sends.
					t0 = due
					if wait := time.Until(due); wait > 0 {
						if timer == nil {
							timer = time.NewTimer(wait)
						} else {
							timer.Reset(wait)
						}
						select {
						case <-timer.C:
						case <-ctx.Done():
							return
						}
						t0 = time.Now()
					}
				} else {
					t0 = time.Now()
					if !t0.Before(deadline) {
						return
					}
					n = seq.Add(1) - 1
					if cfg.max > 0 && n >= cfg.max {
						capped.Store(true)
						return
					}
					due = t0
				}
				counted := !due.Before(measured)
				status, err := cl.do(n, counted)
				if err == nil && status >= 200 && status <= 299 {
					w.all2xx++
				}
				if !counted {
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
			}
		})
	}
	wg.Wait()
	end := time.Now()
	res.Capped = capped.Load()

	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.latencies...)
		res.Errors += w.errors
		res.All2xx += w.all2xx
		res.ErrorSamples = append(res.ErrorSamples, w.samples...)
		for s, c := range w.status {
			if c == 0 {
				continue
			}
			res.Status[strconv.Itoa(s)] += int(c)
			if s < 200 || s > 299 {
				res.Non2xx[strconv.Itoa(s)] += int(c)
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

// client is one worker's HTTP/1.1 client: a keep-alive connection to each
// address, and buffers for the requests with a body.
type client struct {
	cfg     *config
	targets []target
	conns   []*conn // by target.hostIndex; nil: dial on the next request
	w       *worker
	req     []byte // the request being sent, with a body template
	body    []byte // its body
	sample  []byte // the start of a non-2xx response body
}

// conn is a connection and its reader.
type conn struct {
	nc       net.Conn
	br       *bufio.Reader
	deadline time.Time // set on nc; zero: none
	used     int       // responses read on it
}

func (cl *client) close() {
	for i, c := range cl.conns {
		if c != nil {
			c.nc.Close()
			cl.conns[i] = nil
		}
	}
}

// errRetry marks the failure of a reused connection before any byte of its
// response: the server had closed it, as an idle keep-alive connection may
// be, and an idempotent request can be sent again on a new one.
var errRetry = errors.New("connection closed before the response")

// do sends request number n and reads its response to the end, so that the
// connection can be reused. It returns the status code; if the status is not
// 2xx and sample is set, it keeps the request and response for the report,
// once per status.
func (cl *client) do(n int64, sample bool) (int, error) {
	t := &cl.targets[n%int64(len(cl.targets))]
	req := t.head
	if cl.cfg.body != nil {
		var err error
		cl.body, err = cl.cfg.body.appendBody(cl.body[:0], n)
		if err != nil {
			return 0, err
		}
		cl.req = append(cl.req[:0], t.head...)
		cl.req = append(cl.req, "Content-Length: "...)
		cl.req = strconv.AppendInt(cl.req, int64(len(cl.body)), 10)
		cl.req = append(cl.req, "\r\n\r\n"...)
		cl.req = append(cl.req, cl.body...)
		req = cl.req
	}
	status, text, err := cl.roundTrip(t, req, sample)
	if errors.Is(err, errRetry) {
		switch cl.cfg.method {
		case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			status, text, err = cl.roundTrip(t, req, sample)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", cl.cfg.method, t.url, err)
	}
	if text != "" {
		s := cl.cfg.method + " " + t.url
		if cl.cfg.body != nil {
			s += " " + string(cl.body)
		}
		s += " -> " + text
		if got := bytes.TrimSpace(cl.sample); len(got) > 0 {
			s += " " + string(got)
		}
		cl.w.bad[status] = s
	}
	return status, nil
}

// roundTrip writes req on the connection to t's address, dialling it if
// need be, and reads the response. It returns the status and, if the
// response is to be sampled, the status line's text after the version with
// the start of the body in cl.sample.
func (cl *client) roundTrip(t *target, req []byte, sample bool) (status int, text string, err error) {
	c := cl.conns[t.hostIndex]
	if c == nil {
		if c, err = cl.dial(t); err != nil {
			return 0, "", err
		}
		cl.conns[t.hostIndex] = c
	}
	keep := false
	defer func() {
		if !keep {
			c.nc.Close()
			cl.conns[t.hostIndex] = nil
		}
	}()
	if timeout := cl.cfg.timeout; timeout > 0 {
		// Move the deadline forward only when less than 63/64 of the
		// timeout is left: setting it costs a timer update.
		now := time.Now()
		if c.deadline.Sub(now) < timeout-timeout/64 {
			c.deadline = now.Add(timeout)
			if err := c.nc.SetDeadline(c.deadline); err != nil {
				return 0, "", err
			}
		}
	}
	if _, err := c.nc.Write(req); err != nil {
		if c.used > 0 && isClosed(err) {
			err = fmt.Errorf("%w: %w", errRetry, err)
		}
		return 0, "", err
	}
	var closeConn bool
	status, text, closeConn, err = c.readResponse(cl, sample)
	if err != nil {
		return 0, "", err
	}
	c.used++
	keep = !closeConn
	return status, text, nil
}

// isClosed reports whether err says the peer closed the connection.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (cl *client) dial(t *target) (*conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if cl.cfg.timeout > 0 {
		d.Timeout = min(d.Timeout, cl.cfg.timeout)
	}
	nc, err := d.Dial("tcp", t.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true) // Go's default; said here because it matters
	}
	if t.tls {
		cfg := cl.cfg.tls.Clone()
		if cfg == nil {
			cfg = &tls.Config{}
		}
		if cfg.ServerName == "" {
			cfg.ServerName = t.host
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(nc, cfg)
		nc.SetDeadline(time.Now().Add(d.Timeout))
		if err := tc.Handshake(); err != nil {
			nc.Close()
			return nil, err
		}
		nc.SetDeadline(time.Time{})
		nc = tc
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, readBuffer)}, nil
}

// line reads a line of the response head, without its CRLF. It is valid
// until the next read. On error, it returns what it read of the line.
func (c *conn) line() ([]byte, error) {
	l, err := c.br.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return l, fmt.Errorf("response line longer than %d bytes", readBuffer)
		}
		return l, err
	}
	l = l[:len(l)-1]
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	return l, nil
}

// readResponse reads a response, skipping 1xx ones, and discards its body.
// If sample is set and the status is not 2xx and has no sample yet, it
// returns the status line's text and keeps the start of the body in
// cl.sample. closeConn says the connection cannot be reused.
func (c *conn) readResponse(cl *client, sample bool) (status int, text string, closeConn bool, err error) {
	for first := true; ; first = false {
		text = ""
		l, err := c.line()
		if err != nil {
			if first && len(l) == 0 && c.used > 0 && isClosed(err) {
				err = fmt.Errorf("%w: %w", errRetry, err)
			}
			return 0, "", false, err
		}
		// HTTP/1.x SSS reason
		if len(l) < 12 || !bytes.HasPrefix(l, []byte("HTTP/1.")) || l[8] != ' ' ||
			(len(l) > 12 && l[12] != ' ') {
			return 0, "", false, fmt.Errorf("malformed status line %q", l)
		}
		status = 0
		for _, d := range l[9:12] {
			if d < '0' || d > '9' {
				return 0, "", false, fmt.Errorf("malformed status line %q", l)
			}
			status = status*10 + int(d-'0')
		}
		if status < 100 {
			return 0, "", false, fmt.Errorf("malformed status line %q", l)
		}
		http10 := l[7] == '0'
		keepSample := sample && (status < 200 || status > 299) && len(cl.w.bad) < maxBadSamples
		if keepSample {
			if _, ok := cl.w.bad[status]; ok {
				keepSample = false
			}
		}
		if keepSample {
			text = string(bytes.TrimSpace(l[9:]))
		}

		// The headers that matter for reading the body and reusing the
		// connection.
		var (
			length    int64 = -1
			chunked   bool
			otherTE   bool
			connClose = http10
		)
		for {
			h, err := c.line()
			if err != nil {
				return 0, "", false, unexpected(err)
			}
			if len(h) == 0 {
				break
			}
			colon := bytes.IndexByte(h, ':')
			if colon <= 0 {
				return 0, "", false, fmt.Errorf("malformed header line %q", h)
			}
			name, value := h[:colon], bytes.TrimSpace(h[colon+1:])
			switch {
			case bytes.EqualFold(name, []byte("Content-Length")):
				if length, err = parseLength(value); err != nil {
					return 0, "", false, err
				}
			case bytes.EqualFold(name, []byte("Transfer-Encoding")):
				last := value
				if i := bytes.LastIndexByte(value, ','); i >= 0 {
					last = bytes.TrimSpace(value[i+1:])
				}
				if bytes.EqualFold(last, []byte("chunked")) {
					chunked = true
				} else if !bytes.EqualFold(last, []byte("identity")) {
					otherTE = true
				}
			case bytes.EqualFold(name, []byte("Connection")):
				for tok := range bytes.SplitSeq(value, []byte(",")) {
					tok = bytes.TrimSpace(tok)
					if bytes.EqualFold(tok, []byte("close")) {
						connClose = true
					} else if http10 && bytes.EqualFold(tok, []byte("keep-alive")) {
						connClose = false
					}
				}
			}
		}

		if status < 200 {
			if status == http.StatusSwitchingProtocols {
				return 0, "", false, errors.New("unexpected 101 Switching Protocols")
			}
			continue // 100 Continue, 103 Early Hints: the response follows
		}

		cl.sample = cl.sample[:0]
		var capture *[]byte
		if keepSample {
			capture = &cl.sample
		}
		switch {
		case cl.cfg.method == http.MethodHead || status == http.StatusNoContent || status == http.StatusNotModified:
		case chunked && !otherTE:
			err = c.readChunked(capture)
		case length >= 0 && !otherTE && !chunked:
			err = c.readN(length, capture)
		default: // the body runs to the end of the connection
			connClose = true
			err = c.readToEOF(capture)
		}
		if err != nil {
			return 0, "", false, err
		}
		return status, text, connClose, nil
	}
}

// unexpected turns the end of the connection in the middle of a response
// into io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func parseLength(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 18 {
		return 0, fmt.Errorf("bad Content-Length %q", v)
	}
	var n int64
	for _, d := range v {
		if d < '0' || d > '9' {
			return 0, fmt.Errorf("bad Content-Length %q", v)
		}
		n = n*10 + int64(d-'0')
	}
	return n, nil
}

// readN discards n bytes of body, keeping the first sampleBytes in
// *capture if capture is not nil.
func (c *conn) readN(n int64, capture *[]byte) error {
	if capture != nil && len(*capture) < sampleBytes && n > 0 {
		k := min(n, int64(sampleBytes-len(*capture)))
		start := len(*capture)
		*capture = append(*capture, make([]byte, k)...)
		if _, err := io.ReadFull(c.br, (*capture)[start:]); err != nil {
			return unexpected(err)
		}
		n -= k
	}
	for n > 0 {
		k := int(min(n, 1<<30))
		if _, err := c.br.Discard(k); err != nil {
			return unexpected(err)
		}
		n -= int64(k)
	}
	return nil
}

// readChunked discards a chunked body and its trailers.
func (c *conn) readChunked(capture *[]byte) error {
	for {
		l, err := c.line()
		if err != nil {
			return unexpected(err)
		}
		if i := bytes.IndexByte(l, ';'); i >= 0 {
			l = l[:i] // a chunk extension
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 || len(l) > 15 {
			return fmt.Errorf("bad chunk size %q", l)
		}
		var size int64
		for _, d := range l {
			switch {
			case d >= '0' && d <= '9':
				size = size<<4 | int64(d-'0')
			case d >= 'a' && d <= 'f':
				size = size<<4 | int64(d-'a'+10)
			case d >= 'A' && d <= 'F':
				size = size<<4 | int64(d-'A'+10)
			default:
				return fmt.Errorf("bad chunk size %q", l)
			}
		}
		if size == 0 {
			for { // the trailers, up to a blank line
				l, err := c.line()
				if err != nil {
					return unexpected(err)
				}
				if len(l) == 0 {
					return nil
				}
			}
		}
		if err := c.readN(size, capture); err != nil {
			return err
		}
		if l, err := c.line(); err != nil {
			return unexpected(err)
		} else if len(l) != 0 {
			return errors.New("chunk not followed by CRLF")
		}
	}
}

// readToEOF discards the body of a response that has neither Content-Length
// nor chunked encoding: it ends with the connection.
func (c *conn) readToEOF(capture *[]byte) error {
	if capture != nil {
		buf := make([]byte, sampleBytes)
		n, err := io.ReadFull(c.br, buf)
		*capture = append(*capture, buf[:n]...)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	_, err := io.Copy(io.Discard, c.br)
	return err
}

// percentile returns the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
