package codegen

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

var upperDash = Rules{Separators: "-", Case: CaseUpper}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		input  string
		rules  Rules
		want   string
		reason Reason
	}{
		{name: "plain", input: "ABC123", rules: upperDash, want: "ABC123"},
		{name: "trims and removes spaces", input: " \tab c-12 3\r\n", rules: upperDash, want: "ABC123"},
		{name: "folds lower", input: "AbC", rules: Rules{Case: CaseLower}, want: "abc"},
		{name: "case-sensitive keeps case", input: "AbC", rules: Rules{}, want: "AbC"},
		{name: "full-width letters and digits", input: "ｓａｖｅ１０", rules: upperDash, want: "SAVE10"},
		{name: "full-width hyphen is a separator", input: "ＡＢ－ＣＤ", rules: upperDash, want: "ABCD"},
		{name: "ideographic and no-break spaces", input: "AB\u3000CD\u00a0EF", rules: upperDash, want: "ABCDEF"},
		{name: "full-width refused when RefuseWide", input: "ｓａｖｅ10", rules: Rules{Separators: "-", Case: CaseUpper, RefuseWide: true}, reason: ReasonInvalidChar},
		{name: "full-width hyphen refused when RefuseWide", input: "AB－CD", rules: Rules{Separators: "-", Case: CaseUpper, RefuseWide: true}, reason: ReasonInvalidChar},
		{name: "ideographic space refused when RefuseWide", input: "AB\u3000CD", rules: Rules{Separators: "-", Case: CaseUpper, RefuseWide: true}, reason: ReasonInvalidChar},
		{name: "no-break space still removed when RefuseWide", input: "AB\u00a0CD", rules: Rules{Separators: "-", Case: CaseUpper, RefuseWide: true}, want: "ABCD"},
		{name: "unicode dashes when '-' separates", input: "AB\u2010CD\u2013EF\u2014GH", rules: upperDash, want: "ABCDEFGH"},
		{name: "minus sign is no dash", input: "AB\u2212CD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "hyphen kept when not a separator", input: "AB-CD", rules: Rules{Case: CaseUpper}, want: "AB-CD"},
		{name: "several separators", input: "A.B_C/D", rules: Rules{Separators: "._/"}, want: "ABCD"},

		{name: "unicode dash when '-' is literal", input: "AB\u2013CD", rules: Rules{Case: CaseUpper}, reason: ReasonInvalidChar},
		{name: "empty", input: "", rules: upperDash, reason: ReasonEmpty},
		{name: "only separators", input: " - - ", rules: upperDash, reason: ReasonEmpty},
		{name: "NUL", input: "AB\x00CD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "DEL", input: "AB\x7fCD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "escape", input: "AB\x1bCD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "zero-width space", input: "AB\u200bCD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "zero-width joiner", input: "AB\u200dCD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "soft hyphen", input: "AB\u00adCD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "byte order mark", input: "\ufeffABCD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "right-to-left override", input: "AB\u202eCD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "next line control", input: "AB\u0085CD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "Cyrillic a", input: "S\u0430VE10", rules: upperDash, reason: ReasonInvalidChar},
		{name: "Cyrillic capital A", input: "\u0410BC", rules: upperDash, reason: ReasonInvalidChar},
		{name: "Greek omicron", input: "C\u039fDE", rules: upperDash, reason: ReasonInvalidChar},
		{name: "long s", input: "\u017fAVE", rules: upperDash, reason: ReasonInvalidChar},
		{name: "Kelvin sign", input: "\u212aEY", rules: upperDash, reason: ReasonInvalidChar},
		{name: "circled digit", input: "AB\u2460", rules: upperDash, reason: ReasonInvalidChar},
		{name: "superscript", input: "AB\u00b2", rules: upperDash, reason: ReasonInvalidChar},
		{name: "invalid UTF-8", input: "AB\xffCD", rules: upperDash, reason: ReasonInvalidChar},
		{name: "too long", input: strings.Repeat("A", MaxInputLen+1), rules: upperDash, reason: ReasonTooLong},
		{name: "10 KB", input: strings.Repeat("ＡＢ", 10<<10/6), rules: upperDash, reason: ReasonTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Normalize(tc.input, tc.rules)
			if tc.reason != "" {
				var ce *CodeError
				if !errors.As(err, &ce) || ce.Reason != tc.reason {
					t.Fatalf("Normalize(%q) = %q, %v; want reason %s", tc.input, got, err, tc.reason)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tc.input, got, err, tc.want)
			}
		})
	}
}

func TestNormalizeReportsPosition(t *testing.T) {
	t.Parallel()
	// Positions count characters of the input, not bytes.
	_, err := Normalize("ＡＢ\u200bC", upperDash)
	var ce *CodeError
	if !errors.As(err, &ce) || ce.Pos != 3 || ce.Char != '\u200b' {
		t.Fatalf("err = %v, want invalid character at 3", err)
	}
}

// normalizeSeeds are the awkward inputs the fuzz targets start from; they run
// as ordinary tests too.
var normalizeSeeds = []string{
	"SUM-ABCD-EFGH",
	"ＳＵＭ－ＡＢＣＤ－ＥＦＧＨ", // full-width
	"SUM\u200b-ABCD",           // zero-width space
	"SUM\u00ad-ABCD",           // soft hyphen
	"\ufeffSUM-ABCD",           // byte order mark
	"S\u0430VE10",              // Cyrillic a
	"\u0405\u0410\u0412\u0415", // Cyrillic Ѕ А В Е
	"\u039f\u039a",             // Greek Ο Κ
	"AB\x00CD",                 // NUL
	"\x00",
	" \t\r\n",
	"AB\u2013CD\u3000EF",
	"\xff\xfe",
	strings.Repeat("ＡＢ－", 10<<10/9), // 10 KB of full-width
	strings.Repeat("A", 10<<10),
	strings.Repeat("\u200b", 3000),
}

// refuseWideBit of FuzzNormalize's fold argument sets Rules.RefuseWide.
const refuseWideBit = 0x80

func FuzzNormalize(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s, "-", uint8(CaseUpper))
		f.Add(s, "", uint8(CaseSensitive))
		f.Add(s, "-", uint8(CaseUpper)|refuseWideBit)
	}
	// fold picks the case rule (fold % 3) and, with refuseWideBit, RefuseWide.
	f.Fuzz(func(t *testing.T, input, seps string, fold uint8) {
		r := Rules{Separators: asciiOnly(seps), Case: Case(fold % 3), RefuseWide: fold&refuseWideBit != 0}
		got, err := Normalize(input, r)
		if len(input) > MaxInputLen {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("input of %d bytes was not refused", len(input))
			}
			return
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if !utf8.ValidString(input) {
			t.Fatalf("invalid UTF-8 %q was accepted as %q", input, got)
		}
		if r.RefuseWide && strings.IndexFunc(input, isWide) >= 0 {
			t.Fatalf("full-width %q was accepted as %q under RefuseWide", input, got)
		}
		for i := 0; i < len(got); i++ {
			b := got[i]
			if b <= ' ' || b >= 0x7f || strings.IndexByte(r.Separators, b) >= 0 || r.Case.fold(b) != b {
				t.Fatalf("Normalize(%q) = %q: byte %q should not survive", input, got, b)
			}
		}
		again, err := Normalize(got, r)
		if err != nil || again != got {
			t.Fatalf("not idempotent: Normalize(%q) = %q, then %q, %v", input, got, again, err)
		}
	})
}

// asciiOnly keeps the printable ASCII of s, as separators must be.
func asciiOnly(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] > ' ' && s[i] < 0x7f {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func FuzzCompile(f *testing.F) {
	f.Add("SUM-####-####", "", "", "", false)
	f.Add("##.##", "X_", "/9", Unambiguous, true)
	f.Add("", "", "", Alphanumeric, true)
	f.Add("#", "#", "", "ab#", false)
	f.Add("ＳＵＭ-####", "\x00", "\u200b", "abc-", true)
	f.Add(strings.Repeat("#-", 40), "", "", Numbers, true)
	f.Fuzz(func(t *testing.T, pattern, prefix, postfix, charset string, check bool) {
		fm, err := Compile(Config{Pattern: pattern, Prefix: prefix, Postfix: postfix, Charset: charset, CheckChar: check})
		if err != nil {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("error %v is not ErrInvalidConfig", err)
			}
			return
		}
		if fm.Len() > MaxCodeLen || fm.RandomChars() < 1 {
			t.Fatalf("format %q has length %d and %d random characters", fm, fm.Len(), fm.RandomChars())
		}
		// Every code the format makes parses back to itself.
		g, err := NewGenerator(fm, make([]byte, KeySize), 0)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			code, err := g.Next()
			if errors.Is(err, ErrExhausted) {
				break
			}
			canonical, err := fm.Parse(code)
			if err != nil {
				t.Fatalf("format %q made %q, which does not parse: %v", fm, code, err)
			}
			if d := fm.Display(canonical); d != code {
				t.Fatalf("Display(%q) = %q, want %q", canonical, d, code)
			}
			if n, _ := fm.Normalize(canonical); n != canonical {
				t.Fatalf("canonical %q normalizes to %q", canonical, n)
			}
		}
	})
}
