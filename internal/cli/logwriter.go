package cli

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// logWriter buffers log lines and writes them out at least every
// flushEvery, or when a buffer's worth has gathered. Written line by line,
// the request log cost a system call per request, and its lock held every
// request behind the one writing. A line waits at most flushEvery; lines
// still buffered when the process is killed are lost, the price of a log
// that keeps up with tens of thousands of requests a second. Close flushes.
type logWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

const (
	logBuffer  = 64 << 10
	flushEvery = 100 * time.Millisecond
)

// newLogWriter returns a logWriter on w; Close it to flush and stop its
// goroutine.
func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{w: bufio.NewWriterSize(w, logBuffer), stop: make(chan struct{}), done: make(chan struct{})}
	go l.flusher()
	return l
}

// Write buffers p; the buffer writes itself out when p does not fit.
func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *logWriter) flusher() {
	defer close(l.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.Flush()
		}
	}
}

// Flush writes out what is buffered.
func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

// Close stops the periodic flushes and flushes what is left. Writes after
// Close are still buffered, and written by a later Flush.
func (l *logWriter) Close() error {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	return l.Flush()
}
