package codegen

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// collect generates n codes of f with opt and returns them.
func collect(t *testing.T, f *Format, n int64, opt Options) ([]string, Result) {
	t.Helper()
	var codes []string
	res, err := Generate(context.Background(), f, n, opt, func(b Batch) error {
		for i := range b.Len() {
			codes = append(codes, string(b.Code(i)))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Generate(%d of %s): %v", n, f, err)
	}
	if int64(len(codes)) != n || res.Generated != n {
		t.Fatalf("Generate(%d of %s) made %d codes, reported %d", n, f, len(codes), res.Generated)
	}
	return codes, res
}

// randomConfig returns a random valid config: any named or a random custom
// charset, a pattern with random separators and literals or a length,
// sometimes a prefix, postfix and check character.
func randomConfig(rng *rand.Rand) Config {
	var c Config
	names := CharsetNames()
	if rng.IntN(4) == 0 {
		// A custom charset of printable ASCII without separators.
		var b strings.Builder
		for range 2 + rng.IntN(40) {
			ch := byte('!' + rng.IntN('~'-'!'+1))
			if isAlnum(ch) || strings.IndexByte("!$%&*+<=>?@^|~", ch) >= 0 {
				b.WriteByte(ch)
			}
		}
		c.Charset = b.String() + "xy"
	} else {
		c.Charset, _ = Charset(names[rng.IntN(len(names))])
	}
	if rng.IntN(3) == 0 {
		c.Length = 4 + rng.IntN(20)
	} else {
		var p strings.Builder
		for range 4 + rng.IntN(16) {
			switch rng.IntN(8) {
			case 0:
				p.WriteByte("-._ /:"[rng.IntN(6)])
			case 1:
				p.WriteByte("PROMO2026"[rng.IntN(9)])
			default:
				p.WriteByte(Placeholder)
			}
		}
		c.Pattern = p.String() + "####"
	}
	if rng.IntN(3) == 0 {
		c.Prefix = "SALE-"
	}
	if rng.IntN(3) == 0 {
		c.Postfix = ".26"
	}
	c.CheckChar = rng.IntN(2) == 0
	return c
}

func TestGenerateProperties(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 300 {
		cfg := randomConfig(rng)
		n := int64(1 + rng.IntN(3*BatchSize))
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			f := mustCompile(t, cfg)
			if space := f.Space(); space.IsInt64() {
				n = min(n, space.Int64())
			}
			codes, _ := collect(t, f, n, Options{Limits: Limits{MaxDensity: 1}})
			seen := make(map[string]bool, len(codes))
			for _, code := range codes {
				canonical, err := f.Parse(code) // pattern, charset and check character
				if err != nil {
					t.Fatalf("config %+v made %q: %v", cfg, code, err)
				}
				if len(code) != f.Len() || f.Display(canonical) != code {
					t.Fatalf("config %+v made %q, displayed back as %q", cfg, code, f.Display(canonical))
				}
				if seen[canonical] {
					t.Fatalf("config %+v made %q twice", cfg, code)
				}
				seen[canonical] = true
			}
		})
	}
}

// TestGenerateWholeSpace proves the permutation a bijection: small spaces are
// generated to the last code, each exactly once, and then refused.
func TestGenerateWholeSpace(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{Charset: Numbers, Length: 4},                // 10^4, even halves
		{Charset: Numbers, Length: 5},                // 10^5, odd
		{Charset: "abc", Pattern: "#-#-#-#-#-#-#"},   // 3^7
		{Charset: Unambiguous, Length: 3},            // 31^3
		{Charset: Numbers, Length: 1},                // one digit: A is empty
		{Charset: AlphabeticUppercase, Length: 2},    // 26^2
		{Charset: "01", Length: 13, CheckChar: true}, // 2^13
	} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			t.Parallel()
			f := mustCompile(t, cfg)
			space := f.Space().Int64()
			codes, res := collect(t, f, space, Options{Limits: Limits{MaxDensity: 1}})
			seen := map[string]bool{}
			for _, c := range codes {
				if seen[c] {
					t.Fatalf("%q generated twice", c)
				}
				seen[c] = true
			}
			if res.Next != uint64(space) {
				t.Fatalf("Next = %d, want %d", res.Next, space)
			}
			g, err := NewGenerator(f, res.Key, res.Next)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := g.Next(); !errors.Is(err, ErrExhausted) {
				t.Fatalf("past the end: %v, want ErrExhausted", err)
			}
			_, err = Generate(context.Background(), f, space+1, Options{Limits: Limits{MaxDensity: 1}}, func(Batch) error { return nil })
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("more codes than the space: %v, want ErrUnsafe", err)
			}
		})
	}
}

// TestGenerateLongCodes covers formats whose space exceeds what the
// permutation covers, where the last characters come from the stream.
func TestGenerateLongCodes(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{Length: MaxCodeLen}, {Length: MaxCodeLen - 1, CheckChar: true}} {
		longest := mustCompile(t, cfg)
		codes, _ := collect(t, longest, 10, Options{})
		for _, c := range codes {
			if _, err := longest.Parse(c); err != nil || len(c) != MaxCodeLen {
				t.Fatalf("%+v made %q: %v", cfg, c, err)
			}
		}
	}

	f := mustCompile(t, Config{Charset: Alphanumeric, Length: 40, CheckChar: true})
	g, err := NewGenerator(f, NewKey(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if g.p.j >= f.RandomChars() {
		t.Fatalf("permuted digits %d: the test needs a format beyond the permutation", g.p.j)
	}
	codes, _ := collect(t, f, 3*BatchSize, Options{})
	seen := map[string]bool{}
	tails := map[string]bool{} // the streamed characters vary too
	for _, c := range codes {
		if _, err := f.Parse(c); err != nil || seen[c] {
			t.Fatalf("%q: %v (seen before: %v)", c, err, seen[c])
		}
		seen[c] = true
		tails[c[g.p.j:f.RandomChars()]] = true
	}
	if len(tails) != len(codes) {
		t.Fatalf("%d distinct streamed tails in %d codes", len(tails), len(codes))
	}
}

func TestGenerateDeterministicAndResumable(t *testing.T) {
	t.Parallel()
	f := mustCompile(t, Config{Pattern: "SUM-####-####", CheckChar: true})
	key := []byte("0123456789abcdef")
	const n = 3*BatchSize + 17
	whole, res := collect(t, f, n, Options{Key: key, Workers: 1})
	if !slices.Equal(res.Key, key) || res.Next != n {
		t.Fatalf("result key %x next %d", res.Key, res.Next)
	}
	parallel, _ := collect(t, f, n, Options{Key: key, Workers: 5})
	if !slices.Equal(whole, parallel) {
		t.Fatal("5 workers made other codes than 1")
	}
	first, res := collect(t, f, 1000, Options{Key: key})
	rest, _ := collect(t, f, n-1000, Options{Key: key, Start: res.Next})
	if !slices.Equal(whole, append(first, rest...)) {
		t.Fatal("resuming at Next does not continue the sequence")
	}
	g, err := NewGenerator(f, key, 5)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := g.Next(); code != whole[5] || g.Index() != 6 {
		t.Fatalf("generator at index 5 made %q, want %q", code, whole[5])
	}
	other, _ := collect(t, f, 100, Options{})
	if slices.Equal(whole[:100], other) {
		t.Fatal("a fresh key made the same codes")
	}
}

func TestGenerateExclusion(t *testing.T) {
	t.Parallel()
	f := mustCompile(t, Config{Charset: Numbers, Length: 4})
	key := make([]byte, KeySize)
	all, _ := collect(t, f, 10_000, Options{Key: key, Limits: Limits{MaxDensity: 1}})

	// Every other code of the sequence is taken: exactly n others come out.
	taken := Set{}
	for i := 0; i < len(all); i += 2 {
		taken[all[i]] = struct{}{}
	}
	lim := Limits{MaxDensity: 1}
	got, res := collect(t, f, 3000, Options{Key: key, Exclude: taken, Existing: int64(len(taken)), Limits: lim})
	for i, c := range got {
		if _, ok := taken[c]; ok {
			t.Fatalf("excluded code %q generated", c)
		}
		if c != all[2*i+1] {
			t.Fatalf("code %d is %q, want %q", i, c, all[2*i+1])
		}
	}
	if res.Skipped != 3000 || res.Next != 6000 {
		t.Fatalf("skipped %d, next %d; want 3000, 6000", res.Skipped, res.Next)
	}

	// The space runs out: an error, never fewer codes in silence, never a hang.
	_, err := Generate(context.Background(), f, 5001, Options{Key: key, Exclude: taken, Limits: lim}, func(Batch) error { return nil })
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("exhausted space: %v, want ErrExhausted", err)
	}
}

type failingExclusion struct{ calls int }

func (e *failingExclusion) Taken(_ context.Context, c []string) ([]bool, error) {
	e.calls++
	if e.calls == 2 {
		return nil, errors.New("database down")
	}
	return make([]bool, len(c)), nil
}

func TestGenerateStopsOnErrors(t *testing.T) {
	t.Parallel()
	f := mustCompile(t, Config{})
	ctx := context.Background()

	excl := &failingExclusion{}
	res, err := Generate(ctx, f, 10*BatchSize, Options{Exclude: excl}, func(Batch) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "database down") || res.Generated != BatchSize || res.Next != BatchSize {
		t.Fatalf("exclusion failure: %v after %d codes, next %d", err, res.Generated, res.Next)
	}

	boom := errors.New("disk full")
	calls := 0
	res, err = Generate(ctx, f, 10*BatchSize, Options{}, func(Batch) error {
		if calls++; calls == 3 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || res.Generated != 2*BatchSize {
		t.Fatalf("emit failure: %v after %d codes", err, res.Generated)
	}

	cctx, cancel := context.WithCancel(ctx)
	res, err = Generate(cctx, f, 1_000_000, Options{}, func(Batch) error { cancel(); return nil })
	if !errors.Is(err, context.Canceled) || res.Generated >= 1_000_000 {
		t.Fatalf("cancelled: %v after %d codes", err, res.Generated)
	}

	called := false
	tiny := mustCompile(t, Config{Length: 3})
	_, err = Generate(ctx, tiny, 1000, Options{}, func(Batch) error { called = true; return nil })
	var ue *UnsafeError
	if !errors.As(err, &ue) || called {
		t.Fatalf("unsafe config: %v (emit called: %v)", err, called)
	}

	if _, err := Generate(ctx, f, 1, Options{Key: []byte("short")}, func(Batch) error { return nil }); err == nil {
		t.Fatal("a 5-byte key was accepted")
	}
}

// TestGenerateUniform checks that every position of generated codes draws
// its characters uniformly: Pearson's chi-square of the character counts at
// each position stays below the 0.999 quantile of the chi-square
// distribution with len(charset)-1 degrees of freedom. Keys are fixed, so the
// test is deterministic; a biased generator fails it for any key.
func TestGenerateUniform(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		charset string
		length  int
		bound   float64 // chi-square 0.999 quantile for len(charset)-1 degrees of freedom
	}{
		{Unambiguous, 8, 59.703},   // 30 degrees of freedom
		{Numbers, 9, 27.877},       // 9
		{Alphanumeric, 12, 100.89}, // 61
		{Alphanumeric, 30, 100.89}, // 61, with streamed characters
	} {
		t.Run(fmt.Sprintf("%d-of-%d", tc.length, len(tc.charset)), func(t *testing.T) {
			t.Parallel()
			f := mustCompile(t, Config{Charset: tc.charset, Length: tc.length, CheckChar: true})
			const n = 200_000
			codes, _ := collect(t, f, n, Options{Key: []byte("chi-square key 1"), Limits: Limits{MaxDensity: 1}})
			k := len(tc.charset)
			for pos := range tc.length + 1 { // the check character too
				counts := make([]int, k)
				for _, c := range codes {
					counts[strings.IndexByte(tc.charset, c[pos])]++
				}
				expected := float64(n) / float64(k)
				chi := 0.0
				for _, o := range counts {
					d := float64(o) - expected
					chi += d * d / expected
				}
				if chi > tc.bound {
					t.Errorf("position %d: chi-square %.1f above %.1f: counts %v", pos, chi, tc.bound, counts)
				}
			}
		})
	}
}
