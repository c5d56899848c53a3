package codegen

import (
	"errors"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		cfg       Config
		wantField string // "" for success
		shape     string
		random    int
		rules     Rules
	}{
		{name: "defaults", cfg: Config{}, shape: "############", random: 12, rules: Rules{Case: CaseUpper}},
		{name: "length", cfg: Config{Length: 5}, shape: "#####", random: 5, rules: Rules{Case: CaseUpper}},
		{name: "pattern overrides length", cfg: Config{Length: 5, Pattern: "SUM-####-####"}, shape: "SUM-####-####", random: 8, rules: Rules{Separators: "-", Case: CaseUpper}},
		{name: "prefix postfix and check", cfg: Config{Prefix: "X_", Pattern: "##.##", Postfix: "/9", CheckChar: true}, shape: "X_##.##+/9", random: 4, rules: Rules{Separators: "_./", Case: CaseUpper}},
		{name: "spaces are separators", cfg: Config{Pattern: "## ##"}, shape: "## ##", random: 4, rules: Rules{Case: CaseUpper}},
		{name: "lower-case charset folds lower", cfg: Config{Charset: AlphabeticLowercase, Length: 8}, shape: "########", random: 8, rules: Rules{Case: CaseLower}},
		{name: "mixed-case charset is case-sensitive", cfg: Config{Charset: Alphanumeric, Length: 8}, shape: "########", random: 8, rules: Rules{Case: CaseSensitive}},
		{name: "numbers fold upper", cfg: Config{Charset: Numbers, Pattern: "ab-######"}, shape: "ab-######", random: 6, rules: Rules{Separators: "-", Case: CaseUpper}},
		{name: "custom charset deduplicated", cfg: Config{Charset: "abcabc!?", Length: 10}, shape: "##########", random: 10, rules: Rules{Case: CaseLower}},

		{name: "negative length", cfg: Config{Length: -1}, wantField: "length"},
		{name: "length too long", cfg: Config{Length: MaxCodeLen + 1}, wantField: "length"},
		{name: "code too long", cfg: Config{Prefix: strings.Repeat("P", 60), Pattern: "#####"}, wantField: "pattern"},
		{name: "no placeholder", cfg: Config{Pattern: "SUMMER"}, wantField: "pattern"},
		{name: "placeholder in prefix", cfg: Config{Prefix: "#", Pattern: "####"}, wantField: "prefix"},
		{name: "placeholder in postfix", cfg: Config{Postfix: "#", Pattern: "####"}, wantField: "postfix"},
		{name: "non-ASCII pattern", cfg: Config{Pattern: "€-####"}, wantField: "pattern"},
		{name: "control in prefix", cfg: Config{Prefix: "\x00", Pattern: "####"}, wantField: "prefix"},
		{name: "separator in custom charset", cfg: Config{Charset: "ab-", Pattern: "##-##"}, wantField: "pattern"},
		{name: "hash in custom charset", cfg: Config{Charset: "ab#"}, wantField: "charset"},
		{name: "space in custom charset", cfg: Config{Charset: "ab c"}, wantField: "charset"},
		{name: "non-ASCII charset", cfg: Config{Charset: "abcé"}, wantField: "charset"},
		{name: "one-character charset", cfg: Config{Charset: "aaaa"}, wantField: "charset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := Compile(tc.cfg)
			if tc.wantField != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Field != tc.wantField || !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("Compile(%+v) = %v, want a ConfigError on %q", tc.cfg, err, tc.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("Compile(%+v): %v", tc.cfg, err)
			}
			if got := f.String(); got != tc.shape {
				t.Errorf("shape %q, want %q", got, tc.shape)
			}
			if got := f.RandomChars(); got != tc.random || f.Config().Length != tc.random {
				t.Errorf("random chars %d (config length %d), want %d", got, f.Config().Length, tc.random)
			}
			if got := f.Rules(); got != tc.rules {
				t.Errorf("rules %+v, want %+v", got, tc.rules)
			}
		})
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	sum := mustCompile(t, Config{Pattern: "SUM-####-####"})
	checked := mustCompile(t, Config{Pattern: "SUM-####-####", CheckChar: true})
	code := "SUM-" + "ABCD-EFG" + "H"
	for _, tc := range []struct {
		name   string
		f      *Format
		input  string
		want   string
		reason Reason
		pos    int
	}{
		{name: "display form", f: sum, input: code, want: "SUMABCDEFGH"},
		{name: "lower case, spaces, missing separators", f: sum, input: "  sum abcd efgh\n", want: "SUMABCDEFGH"},
		{name: "full-width", f: sum, input: "ＳＵＭ－ＡＢＣＤ－ＥＦＧＨ", want: "SUMABCDEFGH"},
		{name: "en dash as separator", f: sum, input: "SUM–ABCD–EFGH", want: "SUMABCDEFGH"},
		{name: "too short", f: sum, input: "SUM-ABCD-EFG", reason: ReasonLength},
		{name: "wrong literal", f: sum, input: "SUN-ABCD-EFGH", reason: ReasonLiteral, pos: 3},
		{name: "ambiguous character", f: sum, input: "SUM-AB0D-EFGH", reason: ReasonCharset, pos: 6},
		{name: "Cyrillic look-alike", f: sum, input: "SUM-ABCD-EFGН", reason: ReasonInvalidChar, pos: 13},
		{name: "zero-width space", f: sum, input: "SUM-AB\u200bCD-EFGH", reason: ReasonInvalidChar, pos: 7},
		{name: "bad check character", f: checked, input: "SUM-ABCD-EFGH2", reason: ReasonCheckChar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := tc.f.Parse(tc.input)
			if tc.reason != "" {
				var ce *CodeError
				if !errors.As(err, &ce) || ce.Reason != tc.reason || ce.Pos != tc.pos || !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(%q) = %q, %v; want reason %s at %d", tc.input, got, err, tc.reason, tc.pos)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %q, %v; want %q", tc.input, got, err, tc.want)
			}
			if d := tc.f.Display(got); d != code {
				t.Errorf("Display(%q) = %q, want %q", got, d, code)
			}
		})
	}
}

func TestParseKeepsLiteralCase(t *testing.T) {
	t.Parallel()
	// The prefix is shown as written but compared folded, like the rest.
	f := mustCompile(t, Config{Prefix: "Sum", Pattern: "-####"})
	got, err := f.Parse("SUM-abcd")
	if err != nil || got != "SUMABCD" {
		t.Fatalf("Parse = %q, %v; want SUMABCD", got, err)
	}
	if d := f.Display(got); d != "Sum-ABCD" {
		t.Fatalf("Display = %q, want Sum-ABCD", d)
	}
	// A case-sensitive charset compares exactly.
	cs := mustCompile(t, Config{Charset: Alphanumeric, Pattern: "ab-####"})
	if _, err := cs.Parse("AB-abcd"); !errors.Is(err, ErrMalformed) {
		t.Fatalf("case-sensitive Parse accepted a literal of the other case: %v", err)
	}
}

func mustCompile(t testing.TB, c Config) *Format {
	t.Helper()
	f, err := Compile(c)
	if err != nil {
		t.Fatalf("Compile(%+v): %v", c, err)
	}
	return f
}
