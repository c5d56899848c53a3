package codegen

import (
	"errors"
	"fmt"
)

// The kinds of error this package returns, for errors.Is. Each concrete error
// says more: *ConfigError, *UnsafeError, *CodeError.
var (
	// ErrInvalidConfig: the code config cannot describe codes at all.
	ErrInvalidConfig = errors.New("invalid code config")
	// ErrUnsafe: the config is valid, but generating the requested number of
	// codes with it would make them too easy to guess (or is impossible).
	ErrUnsafe = errors.New("unsafe code config")
	// ErrMalformed: an input is not a well-formed code.
	ErrMalformed = errors.New("malformed code")
	// ErrExhausted: the code space has no unused code left past the
	// generator's index.
	ErrExhausted = errors.New("code space exhausted")
)

// ConfigError says which field of a Config is wrong and why.
type ConfigError struct {
	Field string // "pattern", "charset", "length", "prefix", "postfix", "limits"
	Msg   string
}

func configErr(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

func (e *ConfigError) Error() string { return "invalid code config: " + e.Field + ": " + e.Msg }

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// UnsafeError is a refusal by the safety check; Report holds the numbers.
type UnsafeError struct {
	Report Report
}

func (e *UnsafeError) Error() string { return "unsafe code config: " + e.Report.refusal() }

// Is makes errors.Is(err, ErrUnsafe) true.
func (e *UnsafeError) Is(target error) bool { return target == ErrUnsafe }

// Reason names why an input is not a well-formed code. The values are stable
// and fit for machine use (an API error's details, a CSV import's report).
type Reason string

// The reasons a code is malformed.
const (
	ReasonTooLong     Reason = "too_long"          // input longer than MaxInputLen bytes
	ReasonEmpty       Reason = "empty"             // nothing left after normalization
	ReasonInvalidChar Reason = "invalid_character" // control, invisible, non-ASCII or invalid UTF-8
	ReasonLength      Reason = "wrong_length"      // not as many characters as the format has
	ReasonLiteral     Reason = "wrong_literal"     // a fixed character of the pattern differs
	ReasonCharset     Reason = "not_in_charset"    // a random position holds a character outside the charset
	ReasonCheckChar   Reason = "check_character"   // the check character does not match
)

// CodeError says exactly why an input is not a well-formed code.
type CodeError struct {
	Reason Reason
	// Pos is the 1-based position of the offending character: in the raw
	// input for too_long and invalid_character, in the normalized code for
	// wrong_literal and not_in_charset; 0 where no one character is to blame.
	Pos  int
	Char rune // the offending character, where there is one
	Msg  string
}

func (e *CodeError) Error() string { return "malformed code: " + e.Msg }

// Is makes errors.Is(err, ErrMalformed) true.
func (e *CodeError) Is(target error) bool { return target == ErrMalformed }

func codeErr(reason Reason, pos int, char rune, format string, args ...any) *CodeError {
	return &CodeError{Reason: reason, Pos: pos, Char: char, Msg: fmt.Sprintf(format, args...)}
}
