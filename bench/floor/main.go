// Command floor is the baseline of bench/codegen.sh: it writes N codes of the
// pattern SUM-####-#### with characters drawn from crypto/rand and mapped to
// the unambiguous charset, with no uniqueness at all. No generator that also
// guarantees uniqueness can beat it by much; it is what ours is measured
// against.
package main

import (
	"bufio"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
)

const charset = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"

func main() {
	count := flag.Int("count", 10_000_000, "codes to write")
	out := flag.String("o", "/dev/stdout", "output file")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	w := bufio.NewWriterSize(f, 64<<10)
	// Rejection sampling keeps the characters uniform: 248 = 8·31.
	const limit = 256 - 256%len(charset)
	random := make([]byte, 64<<10)
	used := len(random)
	next := func() byte {
		for {
			if used == len(random) {
				rand.Read(random)
				used = 0
			}
			b := random[used]
			used++
			if int(b) < limit {
				return charset[int(b)%len(charset)]
			}
		}
	}
	code := []byte("SUM-####-####\n")
	for range *count {
		for _, at := range [...]int{4, 5, 6, 7, 9, 10, 11, 12} {
			code[at] = next()
		}
		w.Write(code)
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
