package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"promo/codegen"
)

const codesUsage = `Usage:
  promo codes generate --count N [config flags] [--format txt|csv|json] [-o FILE] [--explain]
  promo codes check CODE [config flags]

Run "promo codes generate -h" or "promo codes check -h" for the flags.
`

func runCodes(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, codesUsage)
		return ExitUsage
	}
	switch args[0] {
	case "generate":
		return runGenerate(ctx, args[1:], stdout, stderr)
	case "check":
		return runCheck(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, codesUsage)
		return ExitOK
	default:
		fmt.Fprintf(stderr, "promo codes: unknown command %q\n\n%s", args[0], codesUsage)
		return ExitUsage
	}
}

// configFlags are the code config flags that generate and check share.
type configFlags struct {
	pattern, charset, custom, prefix, postfix string
	length                                    int
	checkChar                                 bool
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.pattern, "pattern", "", "code shape: each '#' is a random character, anything else is literal (overrides --length)")
	fs.IntVar(&c.length, "length", 0, fmt.Sprintf("random characters, without a pattern (default %d)", codegen.DefaultLength))
	fs.StringVar(&c.charset, "charset", "", "named charset: "+strings.Join(codegen.CharsetNames(), ", ")+" (default unambiguous)")
	fs.StringVar(&c.custom, "charset-custom", "", "custom charset: printable ASCII characters, no spaces, separators or '#'")
	fs.StringVar(&c.prefix, "prefix", "", "literal text before the pattern")
	fs.StringVar(&c.postfix, "postfix", "", "literal text after the pattern")
	fs.BoolVar(&c.checkChar, "check-char", false, "append a check character that catches typos")
}

// format compiles the flags into a Format.
func (c *configFlags) format(fs *flag.FlagSet) (*codegen.Format, error) {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["pattern"] && set["length"] {
		return nil, errors.New("--pattern and --length exclude each other: a pattern sets the length")
	}
	if set["charset"] && set["charset-custom"] {
		return nil, errors.New("--charset and --charset-custom exclude each other")
	}
	if set["length"] && c.length <= 0 {
		return nil, fmt.Errorf("--length must be positive, is %d", c.length)
	}
	if set["pattern"] && c.pattern == "" {
		return nil, errors.New("--pattern must not be empty")
	}
	cfg := codegen.Config{
		Length:    c.length,
		Pattern:   c.pattern,
		Prefix:    c.prefix,
		Postfix:   c.postfix,
		CheckChar: c.checkChar,
		Charset:   c.custom,
	}
	if set["charset-custom"] && c.custom == "" {
		return nil, errors.New("--charset-custom must not be empty")
	}
	if set["charset"] {
		chars, ok := codegen.Charset(c.charset)
		if !ok {
			return nil, fmt.Errorf("unknown charset %q; known: %s", c.charset, strings.Join(codegen.CharsetNames(), ", "))
		}
		cfg.Charset = chars
	}
	return codegen.Compile(cfg)
}

const generateUsage = `
Usage: promo codes generate --count N [flags]

Generates N distinct codes and writes them as they come: one per line (txt),
a CSV with a "code" header, or a JSON array. The codes come from a secret
random key through a keyed permutation, so they are unique by construction
and memory stays small for any N. Before any code is made, the safety check
refuses a config whose codes would be too easy to guess and says which length
would pass; a config that is allowed but guessable gets a warning.
`

func runGenerate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("promo codes generate", generateUsage, stderr)
	var (
		cf      configFlags
		count   int64
		format  string
		out     string
		explain bool
		exclude string
		limits  codegen.Limits
	)
	cf.register(fs)
	fs.Int64Var(&count, "count", 0, "number of codes to generate (required)")
	fs.StringVar(&format, "format", "txt", "output format: txt, csv or json")
	fs.StringVar(&out, "o", "-", "output file; - is standard output. A file appears only once complete")
	fs.BoolVar(&explain, "explain", false, "print the safety report instead of codes")
	fs.StringVar(&exclude, "exclude", "", "file of existing codes, one per line, that must not be generated again")
	fs.Float64Var(&limits.MaxDensity, "max-density", codegen.DefaultMaxDensity, "refuse when live codes / code space is above this")
	fs.Float64Var(&limits.WarnDensity, "warn-density", codegen.DefaultWarnDensity, "warn when live codes / code space is above this")
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "promo codes generate: %v\n", err)
		return ExitFailure
	}
	usageErr := func(format string, args ...any) int {
		fmt.Fprintf(stderr, "promo codes generate: "+format+"\n", args...)
		return ExitUsage
	}
	switch {
	case len(rest) > 0:
		return usageErr("unexpected argument %q", rest[0])
	case count <= 0:
		return usageErr("--count must be a positive number of codes")
	case format != "txt" && format != "csv" && format != "json":
		return usageErr("--format must be txt, csv or json, not %q", format)
	}
	f, err := cf.format(fs)
	if err != nil {
		return usageErr("%v", err)
	}

	opt := codegen.Options{Limits: limits}
	if exclude != "" {
		set, err := readExclusion(exclude, f)
		if err != nil {
			return fail(err)
		}
		opt.Exclude, opt.Existing = set, int64(len(set))
	}
	report, err := f.Assess(count, opt.Existing, limits)
	if explain {
		fmt.Fprint(stdout, report)
		if err != nil {
			return fail(err)
		}
		return ExitOK
	}
	if err != nil {
		return fail(err)
	}
	if w := report.Warning(); w != "" {
		fmt.Fprintln(stderr, w)
	}

	dst, err := createOutput(out, stdout)
	if err != nil {
		return fail(err)
	}
	w := bufio.NewWriterSize(dst, 256<<10)
	enc := newEncoder(format, w, f)
	bar := startProgress(stderr, count)
	_, err = codegen.Generate(ctx, f, count, opt, func(b codegen.Batch) error {
		bar.add(int64(b.Len()))
		return enc.batch(b)
	})
	if err == nil {
		err = enc.end()
	}
	if err == nil {
		err = w.Flush()
	}
	bar.stop(err == nil)
	if err == nil {
		err = dst.Commit()
	} else {
		dst.Abort()
	}
	if errors.Is(err, context.Canceled) {
		return fail(errors.New("interrupted; no file written"))
	}
	if err != nil {
		return fail(err)
	}
	return ExitOK
}

// readExclusion reads the codes of a file, one per line, that parse in format
// f; others cannot collide with its codes and are left out.
func readExclusion(path string, f *codegen.Format) (codegen.Set, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	set := codegen.Set{}
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if code, err := f.Parse(sc.Text()); err == nil {
			set[code] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return set, nil
}

const checkUsage = `
Usage: promo codes check CODE [config flags]

Normalizes CODE as every entry point of Promo does (spaces and separators
removed, case folded where the charset allows, full-width forms mapped to
ASCII; invisible, control and look-alike characters refused), then checks it
against the code config: length, literal characters, charset and check
character. Prints the canonical and display forms, or says exactly why the
code is malformed and exits 1.
`

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("promo codes check", checkUsage, stderr)
	var cf configFlags
	cf.register(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "promo codes check: want exactly one CODE, got %d arguments\n", len(rest))
		return ExitUsage
	}
	f, err := cf.format(fs)
	if err != nil {
		fmt.Fprintf(stderr, "promo codes check: %v\n", err)
		return ExitUsage
	}
	canonical, err := f.Parse(rest[0])
	if err != nil {
		fmt.Fprintf(stdout, "malformed: %s\n", strings.TrimPrefix(err.Error(), "malformed code: "))
		var ce *codegen.CodeError
		if errors.As(err, &ce) {
			fmt.Fprintf(stdout, "reason:    %s\n", ce.Reason)
		}
		return ExitFailure
	}
	fmt.Fprintf(stdout, "ok:        %s\ncanonical: %s\nformat:    %s\n", f.Display(canonical), canonical, f)
	return ExitOK
}
