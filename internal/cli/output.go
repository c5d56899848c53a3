package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"promo/codegen"
)

// output is where generated codes go. A regular file is written under a
// temporary name and renamed into place by Commit, so that an interrupted or
// failed run never leaves half a file of codes that looks complete.
type output struct {
	io.Writer
	file *os.File // nil for standard output
	tmp  string   // the temporary name, "" when writing in place
	path string
}

func createOutput(path string, stdout io.Writer) (*output, error) {
	if path == "-" {
		return &output{Writer: stdout}, nil
	}
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		// A device, a pipe or a symbolic link such as /dev/null or
		// /dev/stdout: write through it. Renaming onto it would
		// replace the link or device instead of writing to it.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, err
		}
		return &output{Writer: f, file: f, path: path}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &output{Writer: f, file: f, tmp: f.Name(), path: path}, nil
}

// Commit makes the output durable and visible under its name.
func (o *output) Commit() error {
	if o.file == nil {
		return nil
	}
	if o.tmp == "" {
		return o.file.Close()
	}
	err := o.file.Sync()
	if cerr := o.file.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(o.tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(o.tmp, o.path)
	}
	if err != nil {
		os.Remove(o.tmp)
	}
	return err
}

// Abort discards a partly written output file.
func (o *output) Abort() {
	if o.file == nil {
		return
	}
	o.file.Close()
	if o.tmp != "" {
		os.Remove(o.tmp)
	}
}

// encoder writes batches of codes in one output format.
type encoder struct {
	w      io.Writer
	format string
	quote  bool // csv: codes may hold characters that need quoting
	first  bool
	buf    []byte
}

func newEncoder(format string, w io.Writer, f *codegen.Format) *encoder {
	e := &encoder{w: w, format: format, first: true}
	// A code holds only charset characters and the format's literals.
	shape := f.Charset() + f.Config().Prefix + f.Config().Pattern + f.Config().Postfix
	e.quote = strings.ContainsAny(shape, `,"`)
	return e
}

func (e *encoder) batch(b codegen.Batch) error {
	switch e.format {
	case "txt":
		_, err := e.w.Write(b.Lines())
		return err
	case "csv":
		if e.first {
			e.first = false
			if _, err := io.WriteString(e.w, "code\n"); err != nil {
				return err
			}
		}
		if !e.quote {
			_, err := e.w.Write(b.Lines())
			return err
		}
		e.buf = e.buf[:0]
		for i := range b.Len() {
			e.buf = append(e.buf, '"')
			e.buf = append(e.buf, strings.ReplaceAll(string(b.Code(i)), `"`, `""`)...)
			e.buf = append(e.buf, "\"\n"...)
		}
		_, err := e.w.Write(e.buf)
		return err
	default: // json: an array, one code per line
		e.buf = e.buf[:0]
		for i := range b.Len() {
			if e.first {
				e.buf = append(e.buf, "[\n  "...)
				e.first = false
			} else {
				e.buf = append(e.buf, ",\n  "...)
			}
			// Codes are printable ASCII: only '"' and '\' need escaping.
			e.buf = strconv.AppendQuote(e.buf, string(b.Code(i)))
		}
		_, err := e.w.Write(e.buf)
		return err
	}
}

// end finishes the output: the closing bracket of a JSON array.
func (e *encoder) end() error {
	if e.format != "json" {
		return nil
	}
	end := "\n]\n"
	if e.first {
		end = "[]\n"
	}
	_, err := io.WriteString(e.w, end)
	return err
}

// progressMin is the smallest count that gets a progress bar.
const progressMin = 100_000

// progress draws a bar on a terminal while codes are generated. Its zero
// value (no terminal, or a small count) does nothing.
type progress struct {
	w     io.Writer
	total int64
	done  atomic.Int64
	start time.Time
	quit  chan struct{}
	wg    sync.WaitGroup
}

func startProgress(stderr io.Writer, total int64) *progress {
	p := &progress{}
	if total < progressMin || !isTerminal(stderr) {
		return p
	}
	p.w, p.total, p.start, p.quit = stderr, total, time.Now(), make(chan struct{})
	p.wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				p.draw()
			case <-p.quit:
				return
			}
		}
	})
	return p
}

func (p *progress) add(n int64) { p.done.Add(n) }

func (p *progress) draw() {
	const width = 30
	done := p.done.Load()
	filled := int(done * width / p.total)
	rate := float64(done) / max(time.Since(p.start).Seconds(), 1e-3)
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d codes, %.1fM/s ",
		strings.Repeat("#", filled), strings.Repeat(" ", width-filled),
		done*100/p.total, done, p.total, rate/1e6)
}

func (p *progress) stop(ok bool) {
	if p.quit == nil {
		return
	}
	close(p.quit)
	p.wg.Wait()
	if ok {
		p.draw()
	}
	fmt.Fprintln(p.w)
}

// isTerminal reports whether w is a character device other than /dev/null,
// which for standard error means a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(fi, null)
}
