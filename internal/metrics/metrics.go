// Package metrics is a small registry of counters, histograms and gauges
// that writes them in the Prometheus text exposition format (version 0.0.4).
package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// ContentType is the media type of the exposition format WriteTo produces.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Registry holds named metrics. Its methods are safe for concurrent use.
// Registering a name twice with the same kind and label names returns the
// first metric; any other reuse of a name is a programming error and panics.
type Registry struct {
	mu      sync.Mutex
	metrics map[string]metric
}

// metric is one family: a name, its help text, and its series.
type metric interface {
	describe() *desc
	// write appends the family's sample lines, sorted by label values.
	write(b *bufio.Writer)
}

// desc is what every family has.
type desc struct {
	name   string
	help   string
	kind   string // "counter", "histogram" or "gauge"
	labels []string
}

func (d *desc) describe() *desc { return d }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{metrics: make(map[string]metric)}
}

// register adds the family m or returns the one already registered under
// its name.
func (r *Registry) register(m metric) metric {
	d := m.describe()
	if !validName(d.name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", d.name))
	}
	for i, l := range d.labels {
		if !validName(l) || strings.Contains(l, ":") || strings.HasPrefix(l, "__") || slices.Contains(d.labels[:i], l) {
			panic(fmt.Sprintf("metrics: invalid label name %q for %s", l, d.name))
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.metrics[d.name]; ok {
		od := old.describe()
		if od.kind != d.kind || !slices.Equal(od.labels, d.labels) || d.kind == "gauge" {
			panic(fmt.Sprintf("metrics: %s registered twice", d.name))
		}
		return old
	}
	r.metrics[d.name] = m
	return m
}

// validName reports whether s is a metric or label name: [a-zA-Z_:][a-zA-Z0-9_:]*.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range []byte(s) {
		ok := c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9'
		if !ok {
			return false
		}
	}
	return true
}

// Counter registers and returns a counter family with the given label names.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	c := &CounterVec{desc: desc{name: name, help: help, kind: "counter", labels: slices.Clone(labels)}}
	c.series.m = make(map[string]*Counter)
	got := r.register(c).(*CounterVec)
	if len(labels) == 0 {
		got.With() // a counter without labels exists from the start, at 0
	}
	return got
}

// Histogram registers and returns a histogram family with the given upper
// bucket bounds (sorted, finite; the +Inf bucket is implicit) and label names.
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *HistogramVec {
	b := slices.Clone(buckets)
	if !slices.IsSorted(b) || slices.ContainsFunc(b, func(f float64) bool { return math.IsInf(f, 0) || math.IsNaN(f) }) {
		panic(fmt.Sprintf("metrics: buckets of %s must be sorted and finite", name))
	}
	b = slices.Compact(b)
	h := &HistogramVec{desc: desc{name: name, help: help, kind: "histogram", labels: slices.Clone(labels)}, buckets: b}
	h.series.m = make(map[string]*Histogram)
	got := r.register(h).(*HistogramVec)
	if !slices.Equal(got.buckets, b) {
		panic(fmt.Sprintf("metrics: %s registered twice with other buckets", name))
	}
	if len(labels) == 0 {
		got.With()
	}
	return got
}

// GaugeFunc registers a gauge whose value fn returns each time the registry
// is written. fn must be safe for concurrent use and quick.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.register(&gaugeFunc{desc: desc{name: name, help: help, kind: "gauge"}, fn: fn})
}

// WriteTo writes every metric to w in the text exposition format, families
// sorted by name and series by label values.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	families := make([]metric, 0, len(r.metrics))
	for _, m := range r.metrics {
		families = append(families, m)
	}
	r.mu.Unlock()
	slices.SortFunc(families, func(a, b metric) int { return strings.Compare(a.describe().name, b.describe().name) })

	var buf bytes.Buffer
	b := bufio.NewWriter(&buf)
	for _, m := range families {
		m.write(b)
	}
	b.Flush()
	return buf.WriteTo(w)
}

// ServeHTTP writes the registry, which makes it the handler of /metrics.
func (r *Registry) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", ContentType)
	r.WriteTo(w)
}

// series is a family's children by their joined label values.
type series[T any] struct {
	mu sync.RWMutex
	m  map[string]T
}

// get returns the child for values, creating it with create on first use.
// The lookup does not allocate once the child exists.
func (s *series[T]) get(d *desc, values []string, create func([]string) T) T {
	if len(values) != len(d.labels) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", d.name, len(d.labels), len(values)))
	}
	var stack [256]byte
	key := appendKey(stack[:0], values)
	s.mu.RLock()
	c, ok := s.m[string(key)]
	s.mu.RUnlock()
	if ok {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.m[string(key)]; ok {
		return c
	}
	c = create(slices.Clone(values))
	s.m[string(key)] = c
	return c
}

// appendKey joins values with a byte that is not valid UTF-8, so distinct
// value lists give distinct keys.
func appendKey(b []byte, values []string) []byte {
	for i, v := range values {
		if i > 0 {
			b = append(b, 0xff)
		}
		b = append(b, v...)
	}
	return b
}

// sorted returns the children ordered by their label values.
func (s *series[T]) sorted() []T {
	s.mu.RLock()
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]T, len(keys))
	for i, k := range keys {
		out[i] = s.m[k]
	}
	s.mu.RUnlock()
	return out
}

// CounterVec is a family of counters, one per combination of label values.
type CounterVec struct {
	desc
	series series[*Counter]
}

// With returns the counter for the label values, in the order of the
// family's label names.
func (v *CounterVec) With(values ...string) *Counter {
	return v.series.get(&v.desc, values, func(values []string) *Counter { return &Counter{values: values} })
}

func (v *CounterVec) write(b *bufio.Writer) {
	children := v.series.sorted()
	if len(children) == 0 {
		return
	}
	writeHeader(b, &v.desc)
	for _, c := range children {
		writeSample(b, v.name, "", v.labels, c.values, "", "", c.Value())
	}
}

// Counter is a value that only goes up.
type Counter struct {
	bits   atomic.Uint64 // a float64
	values []string
}

// Inc adds one.
func (c *Counter) Inc() { c.Add(1) }

// Add adds n, which must not be negative.
func (c *Counter) Add(n float64) {
	if n < 0 {
		panic("metrics: a counter cannot decrease")
	}
	addFloat(&c.bits, n)
}

// Value returns the current count.
func (c *Counter) Value() float64 { return math.Float64frombits(c.bits.Load()) }

// addFloat adds n to the float64 kept in bits.
func addFloat(bits *atomic.Uint64, n float64) {
	for {
		old := bits.Load()
		if bits.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+n)) {
			return
		}
	}
}

// HistogramVec is a family of histograms, one per combination of label
// values, sharing bucket bounds.
type HistogramVec struct {
	desc
	buckets []float64
	series  series[*Histogram]
}

// With returns the histogram for the label values, in the order of the
// family's label names.
func (v *HistogramVec) With(values ...string) *Histogram {
	return v.series.get(&v.desc, values, func(values []string) *Histogram {
		return &Histogram{buckets: v.buckets, counts: make([]atomic.Uint64, len(v.buckets)+1), values: values}
	})
}

func (v *HistogramVec) write(b *bufio.Writer) {
	children := v.series.sorted()
	if len(children) == 0 {
		return
	}
	writeHeader(b, &v.desc)
	for _, h := range children {
		// The count is the sum of the buckets read here, so _count always
		// equals the +Inf bucket; _sum may include an observation or two
		// that the buckets read just before did not.
		var cum uint64
		for i, ub := range v.buckets {
			cum += h.counts[i].Load()
			writeSample(b, v.name, "_bucket", v.labels, h.values, "le", formatFloat(ub), float64(cum))
		}
		cum += h.counts[len(v.buckets)].Load()
		writeSample(b, v.name, "_bucket", v.labels, h.values, "le", "+Inf", float64(cum))
		writeSample(b, v.name, "_sum", v.labels, h.values, "", "", math.Float64frombits(h.sum.Load()))
		writeSample(b, v.name, "_count", v.labels, h.values, "", "", float64(cum))
	}
}

// Histogram counts observations in buckets.
type Histogram struct {
	buckets []float64
	counts  []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum     atomic.Uint64   // a float64
	values  []string
}

// Observe records one value, such as a duration in seconds.
func (h *Histogram) Observe(v float64) {
	i, _ := slices.BinarySearch(h.buckets, v) // first bound >= v
	h.counts[i].Add(1)
	addFloat(&h.sum, v)
}

// gaugeFunc is a gauge read from a callback.
type gaugeFunc struct {
	desc
	fn func() float64
}

func (g *gaugeFunc) write(b *bufio.Writer) {
	writeHeader(b, &g.desc)
	writeSample(b, g.name, "", nil, nil, "", "", g.fn())
}

func writeHeader(b *bufio.Writer, d *desc) {
	b.WriteString("# HELP ")
	b.WriteString(d.name)
	b.WriteByte(' ')
	writeEscaped(b, d.help, false)
	b.WriteString("\n# TYPE ")
	b.WriteString(d.name)
	b.WriteByte(' ')
	b.WriteString(d.kind)
	b.WriteByte('\n')
}

// writeSample writes one line: name+suffix, the labels (plus an extra one,
// such as le, when extraName is set) and the value.
func writeSample(b *bufio.Writer, name, suffix string, labels, values []string, extraName, extraValue string, v float64) {
	b.WriteString(name)
	b.WriteString(suffix)
	if len(labels) > 0 || extraName != "" {
		b.WriteByte('{')
		for i, l := range labels {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(l)
			b.WriteString(`="`)
			writeEscaped(b, values[i], true)
			b.WriteByte('"')
		}
		if extraName != "" {
			if len(labels) > 0 {
				b.WriteByte(',')
			}
			b.WriteString(extraName)
			b.WriteString(`="`)
			b.WriteString(extraValue)
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatFloat(v))
	b.WriteByte('\n')
}

// writeEscaped escapes backslashes and newlines, and double quotes in label
// values, as the format requires.
func writeEscaped(b *bufio.Writer, s string, quote bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '"' && quote:
			b.WriteString(`\"`)
		default:
			b.WriteByte(c)
		}
	}
}

func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	case math.IsNaN(f):
		return "NaN"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
