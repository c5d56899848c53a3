package codegen

import (
	"math/rand/v2"
	"testing"
)

// TestCheckCharCatches proves what checkchar.go documents, exhaustively for
// random codes: every single substitution, the check character included, is
// caught; every adjacent transposition is caught, except, for a charset size
// that is not an odd prime, swapping its first and last characters.
func TestCheckCharCatches(t *testing.T) {
	t.Parallel()
	charsets := map[string]string{"prime-7": "abcdefg", "composite-12": "abcdefghijkl", "two": "xy"}
	for _, name := range CharsetNames() {
		charsets[name], _ = Charset(name)
	}
	for name, chars := range charsets {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := mustCompile(t, Config{Charset: chars, Length: 9, CheckChar: true})
			n := len(f.Charset())
			rng := rand.New(rand.NewPCG(1, uint64(n)))
			g, err := NewGenerator(f, make([]byte, KeySize), 0)
			if err != nil {
				t.Fatal(err)
			}
			for range 200 {
				code, err := g.Next()
				if err != nil {
					t.Fatal(err)
				}
				if rng.IntN(2) == 0 { // also codes where first and last characters meet
					b := []byte(code)
					at := rng.IntN(len(b) - 2)
					b[at], b[at+1] = chars[0], chars[n-1]
					code = withCheck(f, b[:len(b)-1])
				}
				if _, err := f.Parse(code); err != nil {
					t.Fatalf("valid code %q rejected: %v", code, err)
				}
				for i := range code {
					for j := range n {
						if f.Charset()[j] == code[i] {
							continue
						}
						bad := []byte(code)
						bad[i] = f.Charset()[j]
						if _, err := f.Parse(string(bad)); err == nil {
							t.Fatalf("substitution %q -> %q not caught", code, bad)
						}
					}
				}
				for i := 0; i+1 < len(code); i++ {
					a, b := code[i], code[i+1]
					if a == b {
						continue
					}
					bad := []byte(code)
					bad[i], bad[i+1] = b, a
					_, err := f.Parse(string(bad))
					exempt := !f.prime && (a == chars[0] && b == chars[n-1] || a == chars[n-1] && b == chars[0])
					if err == nil && !exempt {
						t.Fatalf("transposition %q -> %q not caught", code, bad)
					}
					if err != nil && exempt && n > 2 {
						t.Fatalf("transposition %q -> %q caught, but documented as missed", code, bad)
					}
				}
			}
		})
	}
}

// withCheck returns the random characters b with their check character.
func withCheck(f *Format, b []byte) string {
	vals := make([]int, len(b))
	for i, c := range b {
		vals[i] = int(f.value[c])
	}
	return string(append(b, f.Charset()[checkValue(vals, len(f.Charset()), f.prime)]))
}

func TestIsOddPrime(t *testing.T) {
	t.Parallel()
	var got []int
	for n := range 40 {
		if isOddPrime(n) {
			got = append(got, n)
		}
	}
	want := []int{3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37}
	if len(got) != len(want) {
		t.Fatalf("odd primes below 40: %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("odd primes below 40: %v, want %v", got, want)
		}
	}
}
