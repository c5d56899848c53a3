package codegen

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxInputLen bounds, in bytes, the input Normalize looks at. Longer input is
// refused before any other work. It leaves room for a code of MaxCodeLen
// characters typed in full-width forms (3 bytes each) with spaces.
const MaxInputLen = 256

// Rules say how Normalize turns what a person typed into a code's canonical
// form. A Format gives the rules for its codes (Format.Rules).
type Rules struct {
	// Separators are ASCII characters removed wherever they stand, such as
	// the '-' of "SUM-####-####". Whitespace is always removed.
	Separators string
	// Case folds letters when the charset is case-insensitive.
	Case Case
	// RefuseWide refuses full-width forms (U+FF01 to U+FF5E) and the
	// ideographic space instead of mapping them to ASCII. A service whose
	// codes are handed out in ASCII sets it, so that every code has one
	// spelling up to case, whitespace and separators, and a full-width
	// look-alike of a code is not that code.
	RefuseWide bool
}

// Normalize returns the canonical form of input under r, the form in which
// codes are stored and compared. It is the one path from user input to a code.
//
// It removes whitespace anywhere (which trims), removes r.Separators, maps
// full-width forms (U+FF01 to U+FF5E, and the ideographic space) to ASCII
// unless r.RefuseWide,
// treats Unicode dashes as '-' when '-' is a separator (so they are removed,
// never kept as part of a code), and folds case as r.Case says. It refuses,
// and never silently maps or drops, control characters, invisible format
// characters (zero-width space, soft hyphen, byte order mark, bidi marks),
// invalid UTF-8, and every other non-ASCII character, look-alikes from
// Cyrillic or Greek included. Input longer than MaxInputLen bytes is refused
// before any other work, as is input with nothing left to keep.
//
// The result is printable ASCII without whitespace or separators, so
// Normalize(Normalize(x)) == Normalize(x).
func Normalize(input string, r Rules) (string, error) {
	if len(input) > MaxInputLen {
		return "", codeErr(ReasonTooLong, 0, 0, "input is %d bytes, more than the %d allowed", len(input), MaxInputLen)
	}
	dashSeparates := strings.IndexByte(r.Separators, '-') >= 0
	out := make([]byte, 0, len(input))
	pos := 0
	for i := 0; i < len(input); {
		c, size := utf8.DecodeRuneInString(input[i:])
		i += size
		pos++
		if c == utf8.RuneError && size == 1 {
			return "", codeErr(ReasonInvalidChar, pos, c, "character %d is not valid UTF-8", pos)
		}
		if isWide(c) {
			if r.RefuseWide {
				return "", codeErr(ReasonInvalidChar, pos, c, "character %d (%q, U+%04X) is a full-width form; type it in ASCII", pos, c, c)
			}
			if c == 0x3000 { // ideographic space
				c = ' '
			} else {
				c -= 0xFEE0
			}
		}
		if c < utf8.RuneSelf {
			b := r.Case.fold(byte(c)) // before the separator test, so that a second pass removes nothing more
			switch {
			case b == ' ' || ('\t' <= b && b <= '\r'):
				continue
			case b < ' ' || b == 0x7f:
				return "", codeErr(ReasonInvalidChar, pos, c, "character %d is a control character (U+%04X)", pos, c)
			case strings.IndexByte(r.Separators, b) >= 0:
				continue
			}
			out = append(out, b)
			continue
		}
		switch {
		case unicode.IsSpace(c) && !unicode.Is(unicode.Cc, c):
			continue
		case dashSeparates && unicode.Is(unicode.Pd, c):
			continue
		}
		return "", codeErr(ReasonInvalidChar, pos, c, "character %d %s", pos, describeRune(c))
	}
	if len(out) == 0 {
		return "", codeErr(ReasonEmpty, 0, 0, "nothing left after removing spaces and separators")
	}
	return string(out), nil
}

// isWide reports whether c is a full-width form of an ASCII character: U+FF01
// to U+FF5E, or the ideographic space U+3000.
func isWide(c rune) bool { return 0xFF01 <= c && c <= 0xFF5E || c == 0x3000 }

// describeRune says why a non-ASCII rune is refused.
func describeRune(c rune) string {
	switch {
	case unicode.Is(unicode.Cc, c):
		return fmt.Sprintf("is a control character (U+%04X)", c)
	case unicode.Is(unicode.Cf, c):
		return fmt.Sprintf("is an invisible formatting character (U+%04X)", c)
	case unicode.In(c, unicode.Cyrillic, unicode.Greek, unicode.Armenian, unicode.Cherokee):
		return fmt.Sprintf("(%q, U+%04X) is not a Latin letter, though it may look like one", c, c)
	case !unicode.IsPrint(c):
		return fmt.Sprintf("is not printable (U+%04X)", c)
	}
	return fmt.Sprintf("(%q, U+%04X) is not ASCII", c, c)
}
