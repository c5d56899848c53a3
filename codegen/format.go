package codegen

import (
	"math"
	"math/big"
	"strings"
)

// DefaultLength is the number of random characters when a Config has neither
// Length nor Pattern: 12 unambiguous characters are 59 bits, enough that ten
// million live codes still leave a random guess odds of about 1 in 80 billion.
const DefaultLength = 12

// MaxCodeLen bounds the length of a code: prefix, pattern, check character
// and postfix together.
const MaxCodeLen = 64

// Placeholder is the pattern character that stands for one random character.
const Placeholder = '#'

// Config describes a family of codes. It is the code_config of the API.
type Config struct {
	// Length is the number of random characters when Pattern is empty;
	// 0 means DefaultLength.
	Length int `json:"length,omitempty"`
	// Charset holds the characters random positions are drawn from; empty
	// means Unambiguous. Named charsets are looked up with Charset.
	Charset string `json:"charset,omitempty"`
	// Prefix and Postfix are literal text before and after the pattern.
	Prefix  string `json:"prefix,omitempty"`
	Postfix string `json:"postfix,omitempty"`
	// Pattern is the code's shape: each '#' is one random character, any
	// other character is literal. It overrides Length.
	Pattern string `json:"pattern,omitempty"`
	// CheckChar appends one check character after the pattern's random
	// characters (before the postfix). See Format.Check for what it catches.
	CheckChar bool `json:"check_char,omitempty"`
}

type slotKind uint8

const (
	slotLiteral   slotKind = iota // a fixed letter or digit, part of the canonical form
	slotSeparator                 // fixed punctuation or space, removed by normalization
	slotRandom                    // one character of the charset
	slotCheck                     // the check character
)

type slot struct {
	kind slotKind
	ch   byte // the literal as written (slotLiteral, slotSeparator)
}

// Format is a compiled, validated Config: it generates, normalizes, formats and
// checks codes. A Format is immutable and safe for concurrent use.
type Format struct {
	cfg     Config // resolved: Pattern filled in, Length = random characters, Charset cleaned
	charset string
	value   [128]int8 // charset character -> its index, -1 if none
	rules   Rules
	display []slot // the code as shown: every slot
	canon   []slot // the code as stored: no separators, literals folded
	random  int    // random characters, the check character not included
	// For generation: the display form with literals in place, and the
	// positions in it of the random characters and the check character.
	template []byte
	places   []int
	prime    bool // len(charset) is an odd prime: see checkchar.go
}

// Compile validates c and returns its Format. Errors are *ConfigError.
func Compile(c Config) (*Format, error) {
	if c.Charset == "" {
		c.Charset = Unambiguous
	}
	chars, err := cleanCharset(c.Charset)
	if err != nil {
		return nil, err
	}
	c.Charset = chars

	if c.Pattern == "" {
		switch {
		case c.Length == 0:
			c.Length = DefaultLength
		case c.Length < 0 || c.Length > MaxCodeLen:
			return nil, configErr("length", "must be between 1 and %d, is %d", MaxCodeLen, c.Length)
		}
		c.Pattern = strings.Repeat(string(Placeholder), c.Length)
	}

	f := &Format{charset: chars, rules: Rules{Case: caseOf(chars)}}
	for i := range f.value {
		f.value[i] = -1
	}
	for i := 0; i < len(chars); i++ {
		f.value[chars[i]] = int8(i)
	}

	var seps []byte
	addLiteral := func(field string, b byte) error {
		switch {
		case b >= 0x80 || b < ' ' || b == 0x7f:
			return configErr(field, "must be printable ASCII, holds %s", quoteByte(b))
		case isAlnum(b):
			f.display = append(f.display, slot{kind: slotLiteral, ch: b})
			return nil
		case f.value[b] >= 0:
			return configErr(field, "separator %q is also in the charset, so codes could not be read back", rune(b))
		}
		f.display = append(f.display, slot{kind: slotSeparator, ch: b})
		if b != ' ' && strings.IndexByte(string(seps), b) < 0 {
			seps = append(seps, b)
		}
		return nil
	}
	for _, part := range []struct{ field, text string }{{"prefix", c.Prefix}, {"pattern", c.Pattern}, {"postfix", c.Postfix}} {
		for i := 0; i < len(part.text); i++ {
			b := part.text[i]
			if b == Placeholder {
				if part.field != "pattern" {
					return nil, configErr(part.field, "must not contain %q; random characters belong in the pattern", Placeholder)
				}
				f.display = append(f.display, slot{kind: slotRandom})
				f.random++
				continue
			}
			if err := addLiteral(part.field, b); err != nil {
				return nil, err
			}
		}
		if part.field == "pattern" && c.CheckChar {
			f.display = append(f.display, slot{kind: slotCheck})
		}
	}
	if f.random == 0 {
		return nil, configErr("pattern", "has no %q; a code needs at least one random character", Placeholder)
	}
	if len(f.display) > MaxCodeLen {
		return nil, configErr("pattern", "makes codes of %d characters, more than the %d allowed", len(f.display), MaxCodeLen)
	}
	c.Length = f.random
	f.cfg = c
	f.prime = isOddPrime(len(chars))
	for i, s := range f.display {
		f.template = append(f.template, s.ch)
		if s.kind == slotRandom || s.kind == slotCheck {
			f.places = append(f.places, i)
		}
	}
	f.rules.Separators = string(seps)
	for _, s := range f.display {
		switch s.kind {
		case slotSeparator:
			continue
		case slotLiteral:
			s.ch = f.rules.Case.fold(s.ch)
		}
		f.canon = append(f.canon, s)
	}
	return f, nil
}

func isAlnum(b byte) bool {
	return ('0' <= b && b <= '9') || ('a' <= b && b <= 'z') || ('A' <= b && b <= 'Z')
}

// Config returns the resolved config: Pattern filled in, Length set to the
// number of random characters, Charset deduplicated.
func (f *Format) Config() Config { return f.cfg }

// Charset returns the characters random positions are drawn from.
func (f *Format) Charset() string { return f.charset }

// RandomChars returns the number of random characters in a code, the check
// character not included.
func (f *Format) RandomChars() int { return f.random }

// Rules returns the normalization rules of this format's codes.
func (f *Format) Rules() Rules { return f.rules }

// Len returns the length of a code as displayed.
func (f *Format) Len() int { return len(f.display) }

// Space returns the number of distinct codes the format can make:
// len(charset) to the power of RandomChars.
func (f *Format) Space() *big.Int {
	n := big.NewInt(int64(len(f.charset)))
	return n.Exp(n, big.NewInt(int64(f.random)), nil)
}

// bits returns log2 of Space.
func (f *Format) bits() float64 { return float64(f.random) * math.Log2(float64(len(f.charset))) }

// Normalize returns the canonical form of input under this format's rules.
// It does not check that input is well formed; Parse does.
func (f *Format) Normalize(input string) (string, error) { return Normalize(input, f.rules) }

// Parse normalizes input and checks it against the format: length, literal
// characters, charset and check character. It returns the canonical form.
// Errors are *CodeError and say exactly what is wrong.
func (f *Format) Parse(input string) (string, error) {
	code, err := f.Normalize(input)
	if err != nil {
		return "", err
	}
	if len(code) != len(f.canon) {
		return "", codeErr(ReasonLength, 0, 0, "%q has %d characters after normalization, the format needs %d", code, len(code), len(f.canon))
	}
	var vals [MaxCodeLen]int
	n := 0
	for i, s := range f.canon {
		b := code[i]
		switch s.kind {
		case slotLiteral:
			if b != s.ch {
				return "", codeErr(ReasonLiteral, i+1, rune(b), "%q: character %d is %q, the format has %q there", code, i+1, rune(b), rune(s.ch))
			}
		case slotRandom, slotCheck:
			if f.value[b] < 0 {
				return "", codeErr(ReasonCharset, i+1, rune(b), "%q: character %d, %q, is not in the %s charset", code, i+1, rune(b), charsetName(f.charset))
			}
			vals[n] = int(f.value[b])
			n++
		}
	}
	if f.cfg.CheckChar && checkValue(vals[:n-1], len(f.charset), f.prime) != vals[n-1] {
		return "", codeErr(ReasonCheckChar, 0, 0, "%q: the check character does not match; a character was mistyped or two were swapped", code)
	}
	return code, nil
}

// Display returns the displayed form of a canonical code, with the format's
// separators and literals as written. It returns canonical unchanged if it
// does not fit the format.
func (f *Format) Display(canonical string) string {
	if len(canonical) != len(f.canon) {
		return canonical
	}
	out := make([]byte, 0, len(f.display))
	j := 0
	for _, s := range f.display {
		switch s.kind {
		case slotSeparator:
			out = append(out, s.ch)
			continue
		case slotLiteral:
			out = append(out, s.ch)
		default:
			out = append(out, canonical[j])
		}
		j++
	}
	return string(out)
}

// String returns the code shape, for messages: "SUM-####-####" plus the
// check character as '+'.
func (f *Format) String() string {
	var b strings.Builder
	for _, s := range f.display {
		switch s.kind {
		case slotRandom:
			b.WriteByte(Placeholder)
		case slotCheck:
			b.WriteByte('+')
		default:
			b.WriteByte(s.ch)
		}
	}
	return b.String()
}
