package codegen

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestAssess(t *testing.T) {
	t.Parallel()
	sum := mustCompile(t, Config{Pattern: "SUM-####-####"})

	// The seeds' example: 10 million codes, density about 1.2e-5: allowed,
	// with a warning.
	r, err := sum.Assess(10_000_000, 0, Limits{})
	if err != nil {
		t.Fatalf("seeds' example refused: %v", err)
	}
	if r.Verdict != VerdictWarn || r.Warning() == "" {
		t.Fatalf("seeds' example: verdict %s, warning %q; want a warning", r.Verdict, r.Warning())
	}
	if r.Space != "852891037441" || math.Abs(r.Density-1.1725e-5) > 1e-8 || math.Abs(r.Bits-39.63) > 0.01 {
		t.Fatalf("seeds' example: space %s, density %g, bits %.2f", r.Space, r.Density, r.Bits)
	}

	// Plainly unsafe: refused with the numbers and the length that passes.
	r, err = sum.Assess(100_000_000, 0, Limits{}) // density 1.17e-4
	var ue *UnsafeError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnsafe) || r.Verdict != VerdictRefused {
		t.Fatalf("density 1.2e-4: %v, verdict %s; want refused", err, r.Verdict)
	}
	for _, want := range []string{"100,000,000", "31^8", "852,891,037,441", "0.000117", "at least 9 random characters"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	if r.MinRandomChars != 9 {
		t.Errorf("MinRandomChars %d, want 9", r.MinRandomChars)
	}
	// MinRandomChars really is the shortest length that passes.
	if _, err := mustCompile(t, Config{Length: 9}).Assess(100_000_000, 0, Limits{}); err != nil {
		t.Errorf("9 characters refused: %v", err)
	}

	// Existing codes count against the space.
	if _, err := sum.Assess(50_000_000, 50_000_000, Limits{}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("existing codes ignored: %v", err)
	}

	// Long codes are safe without a warning.
	r, err = mustCompile(t, Config{}).Assess(10_000_000, 0, Limits{})
	if err != nil || r.Verdict != VerdictSafe || r.Warning() != "" {
		t.Fatalf("12 characters: %v, verdict %s", err, r.Verdict)
	}

	// The bound is configurable.
	if _, err := sum.Assess(100_000_000, 0, Limits{MaxDensity: 1e-3}); err != nil {
		t.Errorf("raised bound still refuses: %v", err)
	}
	if _, err := sum.Assess(1_000_000, 0, Limits{MaxDensity: 1e-7}); !errors.Is(err, ErrUnsafe) {
		t.Errorf("lowered bound still allows: %v", err)
	}
	r, _ = sum.Assess(1, 0, Limits{WarnDensity: 1e-13})
	if r.Verdict != VerdictWarn {
		t.Errorf("lowered warning bound: verdict %s", r.Verdict)
	}
}

func TestAssessRejectsBadLimits(t *testing.T) {
	t.Parallel()
	f := mustCompile(t, Config{})
	for _, lim := range []Limits{
		{MaxDensity: -1},
		{MaxDensity: 2},
		{MaxDensity: math.NaN()},
		{MaxDensity: 1e-6, WarnDensity: 1e-3},
		{WarnDensity: -1},
	} {
		if _, err := f.Assess(1, 0, lim); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("limits %+v: %v, want ErrInvalidConfig", lim, err)
		}
	}
	if _, err := f.Assess(-1, 0, Limits{}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("negative count: %v", err)
	}
}

func TestReportString(t *testing.T) {
	t.Parallel()
	r, _ := mustCompile(t, Config{Length: 40}).Assess(5, 0, Limits{})
	s := r.String()
	for _, want := range []string{"31^40 = 4.51e+59 (198.2 bits)", "5 new + 0 existing", "verdict       safe"} {
		if !strings.Contains(s, want) {
			t.Errorf("report does not say %q:\n%s", want, s)
		}
	}
}
