package codegen

import (
	"fmt"
	"slices"
	"strings"
)

// The named charsets. Unambiguous is the default: it leaves out the characters
// people confuse when they read a code aloud or type it from print (0 O 1 I L),
// and its size, 31, is prime, which makes the check character catch every
// adjacent transposition.
const (
	Alphanumeric        = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	Alphabetic          = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	AlphabeticLowercase = "abcdefghijklmnopqrstuvwxyz"
	AlphabeticUppercase = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	Numbers             = "0123456789"
	Unambiguous         = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
)

var namedCharsets = map[string]string{
	"alphanumeric":         Alphanumeric,
	"alphabetic":           Alphabetic,
	"alphabetic_lowercase": AlphabeticLowercase,
	"alphabetic_uppercase": AlphabeticUppercase,
	"numbers":              Numbers,
	"unambiguous":          Unambiguous,
}

// Charset returns the characters of the named charset and whether the name is
// known. Names are matched without regard to case.
func Charset(name string) (string, bool) {
	chars, ok := namedCharsets[strings.ToLower(strings.TrimSpace(name))]
	return chars, ok
}

// CharsetNames returns the names Charset knows, sorted.
func CharsetNames() []string {
	names := make([]string, 0, len(namedCharsets))
	for name := range namedCharsets {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// charsetName returns the name of a named charset, or "custom".
func charsetName(chars string) string {
	for name, c := range namedCharsets {
		if c == chars {
			return name
		}
	}
	return "custom"
}

// Case says how normalization folds letters.
type Case uint8

// The case foldings. A charset whose letters are all of one case (or that has
// no letters) is case-insensitive: input is folded to that case. A charset
// with letters of both cases is case-sensitive and nothing is folded.
const (
	CaseSensitive Case = iota
	CaseUpper
	CaseLower
)

func (c Case) String() string {
	switch c {
	case CaseUpper:
		return "upper"
	case CaseLower:
		return "lower"
	default:
		return "sensitive"
	}
}

func (c Case) fold(b byte) byte {
	switch {
	case c == CaseUpper && 'a' <= b && b <= 'z':
		return b - 'a' + 'A'
	case c == CaseLower && 'A' <= b && b <= 'Z':
		return b - 'A' + 'a'
	}
	return b
}

// caseOf returns the folding that suits a charset.
func caseOf(chars string) Case {
	var upper, lower bool
	for i := 0; i < len(chars); i++ {
		b := chars[i]
		upper = upper || ('A' <= b && b <= 'Z')
		lower = lower || ('a' <= b && b <= 'z')
	}
	switch {
	case upper && lower:
		return CaseSensitive
	case lower:
		return CaseLower
	default:
		return CaseUpper
	}
}

// cleanCharset deduplicates a charset, keeping first occurrences, and checks
// that it is printable ASCII without space or '#'.
func cleanCharset(chars string) (string, error) {
	var seen [128]bool
	out := make([]byte, 0, len(chars))
	for i := 0; i < len(chars); i++ {
		b := chars[i]
		switch {
		case b >= 0x80:
			return "", configErr("charset", "must be printable ASCII; it holds a non-ASCII byte at %d", i+1)
		case b <= ' ' || b == 0x7f:
			return "", configErr("charset", "must be printable ASCII without spaces; it holds %s at %d", quoteByte(b), i+1)
		case b == '#':
			return "", configErr("charset", "must not contain '#', the pattern's placeholder")
		}
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	if len(out) < 2 {
		return "", configErr("charset", "needs at least 2 distinct characters, has %d", len(out))
	}
	return string(out), nil
}

func quoteByte(b byte) string {
	if b < ' ' || b == 0x7f {
		return fmt.Sprintf("control byte 0x%02x", b)
	}
	return fmt.Sprintf("%q", rune(b))
}
