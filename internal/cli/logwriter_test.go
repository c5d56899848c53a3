package cli

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flusher and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestLogWriterKeepsEveryLineWhole(t *testing.T) {
	var out syncBuffer
	lw := newLogWriter(&out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				fmt.Fprintf(lw, "{\"g\":%d,\"i\":%d,\"pad\":%q}\n", g, i, strings.Repeat("x", i%97))
			}
		})
	}
	wg.Wait()
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*2000 {
		t.Fatalf("got %d lines, want %d", len(lines), 8*2000)
	}
	seen := make(map[string]bool)
	for _, l := range lines {
		var g, i int
		var pad string
		if _, err := fmt.Sscanf(l, "{\"g\":%d,\"i\":%d,\"pad\":%q}", &g, &i, &pad); err != nil || len(pad) != i%97 {
			t.Fatalf("line %q is not whole: %v", l, err)
		}
		seen[l] = true
	}
	if len(seen) != len(lines) {
		t.Fatalf("%d distinct lines of %d", len(seen), len(lines))
	}
}

func TestLogWriterFlushesWithoutClose(t *testing.T) {
	var out syncBuffer
	lw := newLogWriter(&out)
	defer lw.Close()
	fmt.Fprintln(lw, "listening")
	// The flusher writes the line out within flushEvery; a generous
	// deadline keeps a loaded machine from failing the test.
	for deadline := time.Now().Add(10 * time.Second); out.String() != "listening\n"; {
		if time.Now().After(deadline) {
			t.Fatalf("the line was not flushed within 10 s: %q", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
