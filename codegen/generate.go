package codegen

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
)

// KeySize is the size of a generator key in bytes (AES-128).
const KeySize = 16

// NewKey returns a fresh random generator key from crypto/rand.
func NewKey() []byte {
	key := make([]byte, KeySize)
	rand.Read(key) // never fails: it crashes the program rather than return weak bytes
	return key
}

// Generator makes the codes of one format from a secret key: code number i is
// a keyed permutation of i (see perm.go), so the codes of one key are distinct
// by construction, and a generator can resume at any index. Its memory does
// not depend on how many codes it makes. A Generator is not safe for
// concurrent use; two generators with the same key and disjoint index ranges
// make disjoint codes.
type Generator struct {
	f     *Format
	p     *perm
	key   []byte
	next  uint64
	as    [lanes]uint64 // permuted halves; lane pos belongs to index next
	bs    [lanes]uint64
	pos   int                 // the lane of the next code
	ready int                 // lanes of as and bs that hold codes: pos < ready means one is ready
	vals  [MaxCodeLen + 1]int // digits of a code, and room for a check character
}

// NewGenerator returns a generator of f's codes that starts at index start.
// key must be KeySize bytes (24 or 32 are accepted too); keep it secret, as
// it is the codes. Use NewKey for a fresh one, and the same key with the
// index a generator stopped at (Index) to resume it.
func NewGenerator(f *Format, key []byte, start uint64) (*Generator, error) {
	p, err := newPerm(key, len(f.charset), f.random)
	if err != nil {
		return nil, fmt.Errorf("codegen: generator key: %w", err)
	}
	return &Generator{f: f, p: p, key: append([]byte(nil), key...), next: start}, nil
}

// Key returns a copy of the generator's key.
func (g *Generator) Key() []byte { return append([]byte(nil), g.key...) }

// Index returns the index of the next code: the number to resume at.
func (g *Generator) Index() uint64 { return g.next }

// Capacity returns the number of indices the generator has: the format's
// Space, or the largest power of the charset size up to 2^62 when Space is
// larger.
func (g *Generator) Capacity() uint64 { return g.p.size() }

// Append appends the next code, in display form, to dst.
// It returns ErrExhausted when no index is left.
func (g *Generator) Append(dst []byte) ([]byte, error) {
	if g.pos == g.ready {
		if g.next >= g.p.size() {
			return dst, ErrExhausted
		}
		// Permute a whole batch of lanes at once. Past the end of the
		// space the lanes repeat the last index and are never used.
		g.pos, g.ready = 0, int(min(uint64(lanes), g.p.size()-g.next))
		a, b := g.p.split(g.next)
		for i := range lanes {
			g.as[i], g.bs[i] = a, b
			if i+1 < g.ready {
				if b++; b == g.p.mv {
					a, b = a+1, 0
				}
			}
		}
		g.p.permute(&g.as, &g.bs)
	}
	a, b := g.as[g.pos], g.bs[g.pos]
	g.pos++
	x := g.next
	g.next++
	return g.encode(dst, x, a, b), nil
}

// rewind makes index start the next one.
func (g *Generator) rewind(start uint64) { g.next, g.pos, g.ready = start, 0, 0 }

// Next returns the next code in display form.
func (g *Generator) Next() (string, error) {
	b, err := g.Append(nil)
	return string(b), err
}

// encode appends the code of index x, whose permuted halves are a and b, to dst.
func (g *Generator) encode(dst []byte, x, a, b uint64) []byte {
	f := g.f
	vals := g.vals[:f.random+1]
	g.p.digits(a, b, vals)
	if f.random > g.p.j {
		g.p.extra(x, vals[g.p.j:f.random])
	}
	if f.cfg.CheckChar {
		vals[f.random] = checkValue(vals[:f.random], len(f.charset), f.prime)
	}
	n := len(dst)
	dst = append(dst, f.template...)
	code := dst[n:]
	for i, at := range f.places {
		code[at] = f.charset[vals[i]]
	}
	return dst
}

// Exclusion reports which candidate codes are already taken, for example by
// another campaign. Generate calls it once per batch of candidates (up to
// BatchSize), never once per code. The candidates are in canonical form;
// taken must have one entry per candidate.
type Exclusion interface {
	Taken(ctx context.Context, canonical []string) (taken []bool, err error)
}

// Set is an in-memory Exclusion of canonical codes.
type Set map[string]struct{}

// Taken implements Exclusion.
func (s Set) Taken(_ context.Context, canonical []string) ([]bool, error) {
	taken := make([]bool, len(canonical))
	for i, c := range canonical {
		_, taken[i] = s[c]
	}
	return taken, nil
}

// BatchSize is the number of indices a worker makes at a time, and the most
// codes Generate passes to an Exclusion at once.
const BatchSize = 4096

// Options tune Generate.
type Options struct {
	Key    []byte // the generator key; nil means a fresh one from NewKey
	Start  uint64 // the first index, to resume an earlier run with the same key
	Limits Limits // density bounds; zero means the defaults
	// Existing is the number of live codes already in the format's space,
	// for the safety check.
	Existing int64
	// Exclude, if set, filters out codes that are already taken; they are
	// replaced, so the count stays exact.
	Exclude Exclusion
	// Workers is the number of goroutines that make codes; 0 means
	// GOMAXPROCS. Codes come out in index order whatever the number.
	Workers int
}

// Result says what Generate did.
type Result struct {
	Report    Report
	Generated int64  // codes passed to emit
	Skipped   int64  // candidates the Exclusion reported taken
	Key       []byte // the generator key, to resume with
	Next      uint64 // one past the last index used: the index to resume at
}

// Batch is a run of generated codes, in display form, each followed by '\n'.
type Batch struct {
	lines   []byte
	codeLen int
}

// Len returns the number of codes in the batch.
func (b Batch) Len() int { return len(b.lines) / (b.codeLen + 1) }

// Code returns code i of the batch. The slice is only valid during the call
// to emit: copy it to keep it.
func (b Batch) Code(i int) []byte {
	at := i * (b.codeLen + 1)
	return b.lines[at : at+b.codeLen]
}

// Lines returns the codes as text, one per line.
func (b Batch) Lines() []byte { return b.lines }

// chunk is a run of consecutive indices that one worker turns into codes.
type chunk struct {
	start uint64
	n     int           // indices asked for
	made  int           // codes made: fewer than n where the space ran out
	buf   []byte        // the codes, each followed by '\n'
	ready chan struct{} // receives once the codes are made
}

// Generate checks that n codes of format f are safe to make and, if so, makes
// exactly n distinct codes and passes them, in index order and batches of at
// most BatchSize, to emit as they are made; emit is called from the calling
// goroutine only. Generate refuses an unsafe config with an *UnsafeError
// before it makes any code. It stops at the first error from emit, the
// Exclusion or ctx and returns it with the Result so far, from which a caller
// can resume with the same key at Result.Next.
//
// Memory does not grow with n: at most two batches per worker are in flight,
// 2·Workers·BatchSize·(Len()+1) bytes (229 KB for two workers and 13-character
// codes), plus one batch of canonical strings when there is an Exclusion.
func Generate(ctx context.Context, f *Format, n int64, opt Options, emit func(Batch) error) (res Result, err error) {
	res.Next = opt.Start
	if res.Report, err = f.Assess(n, opt.Existing, opt.Limits); err != nil {
		return res, err
	}
	key := opt.Key
	if key == nil {
		key = NewKey()
	}
	first, err := NewGenerator(f, key, opt.Start)
	if err != nil {
		return res, err
	}
	res.Key = first.Key()
	size := first.Capacity()

	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = int(min(int64(workers), (n+BatchSize-1)/BatchSize, 64))
	jobs := make(chan *chunk, 2*workers)
	var wg sync.WaitGroup
	defer func() {
		close(jobs)
		wg.Wait() // workers finish the chunks they hold and leave
	}()
	for w := range workers {
		g := first
		if w > 0 {
			g, _ = NewGenerator(f, key, 0) // the key was accepted above
		}
		wg.Go(func() {
			for c := range jobs {
				g.rewind(c.start)
				c.buf, c.made = c.buf[:0], 0
				for c.made < c.n {
					b, err := g.Append(c.buf)
					if err != nil {
						break // ErrExhausted: the chunk comes back short
					}
					c.buf = append(b, '\n')
					c.made++
				}
				c.ready <- struct{}{}
			}
		})
	}

	var (
		pending  []*chunk // submitted, in index order
		free     []*chunk
		inflight int64 // indices in pending chunks
		next     = opt.Start
		canon    []string
	)
	line := f.Len() + 1
	for res.Generated < n {
		want := n - res.Generated
		for len(pending) < 2*workers && inflight < want && next < size {
			var c *chunk
			if k := len(free); k > 0 {
				c, free = free[k-1], free[:k-1]
			} else {
				c = &chunk{buf: make([]byte, 0, BatchSize*line), ready: make(chan struct{}, 1)}
			}
			c.start = next
			c.n = int(min(BatchSize, uint64(want-inflight), size-next))
			next += uint64(c.n)
			inflight += int64(c.n)
			pending = append(pending, c)
			jobs <- c
		}
		if len(pending) == 0 {
			return res, ErrExhausted
		}
		c := pending[0]
		select {
		case <-c.ready:
		case <-ctx.Done():
			return res, ctx.Err()
		}
		pending = pending[1:]
		inflight -= int64(c.n)
		free = append(free, c)

		used, kept := c.made, c.made // indices used, codes kept
		if opt.Exclude != nil {
			canon = canon[:0]
			for i := range c.made {
				canon = append(canon, f.canonical(c.buf[i*line:(i+1)*line-1]))
			}
			taken, err := opt.Exclude.Taken(ctx, canon)
			if err != nil {
				return res, err
			}
			if len(taken) != c.made {
				return res, fmt.Errorf("codegen: exclusion answered %d results for %d codes", len(taken), c.made)
			}
			kept, used = 0, 0
			for i := 0; i < c.made && int64(kept) < want; i++ {
				used++
				if taken[i] {
					res.Skipped++
					continue
				}
				copy(c.buf[kept*line:], c.buf[i*line:(i+1)*line])
				kept++
			}
		}
		if int64(kept) > want { // only without exclusion: chunks are sized to want
			kept, used = int(want), int(want)
		}
		if kept > 0 {
			if err := emit(Batch{lines: c.buf[:kept*line], codeLen: line - 1}); err != nil {
				return res, err
			}
		}
		res.Generated += int64(kept)
		res.Next = c.start + uint64(used)
		if err := ctx.Err(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// canonical returns the canonical form of a code this format generated:
// separators dropped, literals folded.
func (f *Format) canonical(display []byte) string {
	out := make([]byte, 0, len(f.canon))
	for i, s := range f.display {
		switch s.kind {
		case slotSeparator:
		case slotLiteral:
			out = append(out, f.rules.Case.fold(display[i]))
		default:
			out = append(out, display[i])
		}
	}
	return string(out)
}
