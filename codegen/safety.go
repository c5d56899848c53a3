package codegen

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The default bounds on density: live codes divided by the code space, which
// is also the chance that one random guess of a well-formed code hits a live
// one.
//
// Above DefaultMaxDensity (1 in 10,000) generation is refused: a bot making a
// few thousand guesses would expect a hit. Above DefaultWarnDensity (about
// 2⁻³⁰, 1 in a billion) it is allowed with a warning: a bot farm of 10,000 IPs
// held to 5 failed attempts a minute each makes about 2·10⁹ guesses a month
// and would expect a hit. Below it codes are, for practical purposes,
// unguessable. Ten million SUM-####-#### codes over the unambiguous charset
// have a density of 1.2·10⁻⁵: allowed, with a warning.
const (
	DefaultMaxDensity  = 1e-4
	DefaultWarnDensity = 1e-9
)

// Limits bound the density of live codes. Zero fields take the defaults.
type Limits struct {
	MaxDensity  float64 // refuse above this; in (0, 1]
	WarnDensity float64 // warn above this; in [0, MaxDensity]
}

func (l Limits) resolve() (Limits, error) {
	if l.MaxDensity == 0 {
		l.MaxDensity = DefaultMaxDensity
	}
	if l.WarnDensity == 0 {
		l.WarnDensity = min(DefaultWarnDensity, l.MaxDensity)
	}
	switch {
	case !(l.MaxDensity > 0 && l.MaxDensity <= 1):
		return l, configErr("limits", "max density must be in (0, 1], is %g", l.MaxDensity)
	case !(l.WarnDensity > 0 && l.WarnDensity <= l.MaxDensity):
		return l, configErr("limits", "warn density must be in (0, max density %g], is %g", l.MaxDensity, l.WarnDensity)
	}
	return l, nil
}

// Verdict is the outcome of a safety assessment.
type Verdict string

// The verdicts.
const (
	VerdictSafe    Verdict = "safe"
	VerdictWarn    Verdict = "guessable"
	VerdictRefused Verdict = "refused"
)

// Report holds the safety numbers of generating Count codes in a format that
// already has Existing live codes.
type Report struct {
	Format      string  // the shape, as Format.String
	CharsetSize int     // N
	RandomChars int     // k
	Space       string  // N^k, in decimal
	Bits        float64 // log2(N^k)
	Count       int64   // codes to generate
	Existing    int64   // live codes already in the space
	Density     float64 // (Count+Existing) / N^k: the odds that one random guess hits
	Limits      Limits
	Verdict     Verdict
	// MinRandomChars is the fewest random characters with which the same
	// codes would pass MaxDensity.
	MinRandomChars int
}

// Assess computes the safety numbers of generating count more codes in f when
// existing live codes are already in its space, and refuses, with an
// *UnsafeError that carries the report, what is above lim.MaxDensity or
// impossible. The report of an allowed config says whether it is guessable.
func (f *Format) Assess(count, existing int64, lim Limits) (Report, error) {
	lim, err := lim.resolve()
	if err != nil {
		return Report{}, err
	}
	if count < 0 || existing < 0 {
		return Report{}, configErr("count", "must not be negative")
	}
	n := len(f.charset)
	total := float64(count) + float64(existing)
	r := Report{
		Format:      f.String(),
		CharsetSize: n,
		RandomChars: f.random,
		Space:       f.Space().String(),
		Bits:        f.bits(),
		Count:       count,
		Existing:    existing,
		Density:     total / math.Pow(float64(n), float64(f.random)),
		Limits:      lim,
	}
	r.MinRandomChars = 1
	for total/math.Pow(float64(n), float64(r.MinRandomChars)) > lim.MaxDensity {
		r.MinRandomChars++
	}
	switch {
	case r.Density > lim.MaxDensity:
		r.Verdict = VerdictRefused
		return r, &UnsafeError{Report: r}
	case r.Density > lim.WarnDensity:
		r.Verdict = VerdictWarn
	default:
		r.Verdict = VerdictSafe
	}
	return r, nil
}

// refusal explains a refused report in one line.
func (r Report) refusal() string {
	return fmt.Sprintf("%s codes of %s in a space of %d^%d = %s leave a density of %.3g, above the maximum %g: "+
		"one random guess in %s would hit; use at least %d random characters (the pattern has %d), or a larger charset",
		group(r.Count+r.Existing), r.Format, r.CharsetSize, r.RandomChars, groupString(r.Space), r.Density, r.Limits.MaxDensity,
		oneIn(r.Density), r.MinRandomChars, r.RandomChars)
}

// Warning returns a one-line warning for a guessable config, or "".
func (r Report) Warning() string {
	if r.Verdict != VerdictWarn {
		return ""
	}
	return fmt.Sprintf("warning: codes are guessable: density %.3g (above %g); one random guess in %s hits a live code. "+
		"Protect them with rate limits, or use more random characters",
		r.Density, r.Limits.WarnDensity, oneIn(r.Density))
}

// String returns the report as a few aligned lines, for people.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "format        %s\n", r.Format)
	fmt.Fprintf(&b, "code space    %d^%d = %s (%.1f bits)\n", r.CharsetSize, r.RandomChars, groupString(r.Space), r.Bits)
	fmt.Fprintf(&b, "codes         %s new + %s existing\n", group(r.Count), group(r.Existing))
	fmt.Fprintf(&b, "density       %.3g (refused above %g, warned above %g)\n", r.Density, r.Limits.MaxDensity, r.Limits.WarnDensity)
	fmt.Fprintf(&b, "guess odds    one random guess in %s hits a live code\n", oneIn(r.Density))
	fmt.Fprintf(&b, "verdict       %s", r.Verdict)
	switch r.Verdict {
	case VerdictRefused:
		fmt.Fprintf(&b, ": needs at least %d random characters", r.MinRandomChars)
	case VerdictWarn:
		b.WriteString(": allowed; protect the codes with rate limits")
	}
	b.WriteByte('\n')
	return b.String()
}

// oneIn renders 1/density: "85,289" or "1.2e+15".
func oneIn(density float64) string {
	switch {
	case density <= 0:
		return "never"
	case density >= 1:
		return "1"
	}
	inv := 1 / density
	if inv < 1e12 {
		return group(int64(math.Round(inv)))
	}
	return strconv.FormatFloat(inv, 'g', 3, 64)
}

func group(n int64) string { return groupString(strconv.FormatInt(n, 10)) }

// groupString puts thousands separators into a decimal integer; numbers of
// more than 21 digits are shortened to scientific notation.
func groupString(s string) string {
	if len(s) > 21 {
		return s[:1] + "." + s[1:3] + "e+" + strconv.Itoa(len(s)-1)
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
