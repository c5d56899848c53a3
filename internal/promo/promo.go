// Package promo is Promo's domain: campaigns, vouchers, customers, orders,
// publications and async actions, the Error type with its codes, and the Store
// interface every storage engine implements. It imports only the standard
// library and codegen.
package promo

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"promo/codegen"
)

// TimeLayout is how times appear in the API: UTC, RFC 3339, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Time is a point in time as the API shows it. It is kept with millisecond
// precision in UTC, which is also what the stores keep.
type Time struct{ time.Time }

// NewTime returns t truncated to milliseconds, in UTC.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }

// TimeFromMillis returns the Time ms milliseconds after the Unix epoch.
func TimeFromMillis(ms int64) Time { return Time{time.UnixMilli(ms).UTC()} }

// Millis returns t as milliseconds after the Unix epoch, the stores' form.
func (t Time) Millis() int64 { return t.UnixMilli() }

// MarshalJSON writes t in TimeLayout.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON reads RFC 3339 (with or without fractions and zone) or a bare
// date, which means midnight UTC.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a time must be a string such as %q", "2026-01-31T00:00:00Z")
	}
	v, err := ParseTime(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// ParseTime reads a time as the API accepts it: RFC 3339, or a date.
func ParseTime(s string) (Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if v, err := time.Parse(layout, s); err == nil {
			return NewTime(v), nil
		}
	}
	return Time{}, fmt.Errorf("%q is not a time: use RFC 3339, such as %q", s, "2026-01-31T00:00:00Z")
}

// Metadata is free-form data a client attaches to an object. It is kept and
// returned as given.
type Metadata map[string]any

// NewID returns a fresh identifier with prefix, such as "camp_" or "cust_":
// 20 random base-62 characters (119 bits) from crypto/rand.
func NewID(prefix string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [20]byte
	rand.Read(b[:])
	out := make([]byte, len(prefix)+len(b))
	copy(out, prefix)
	for i, c := range b {
		// 256 = 4*62 + 8: the bias of c%62 is below 1 in 30, and these
		// identifiers name objects; they are never secrets.
		out[len(prefix)+i] = alphabet[int(c)%len(alphabet)]
	}
	return string(out)
}

// NewTimeID returns a fresh identifier with prefix, as NewID does, whose
// first 8 of 20 base-62 characters are the time in milliseconds and the
// other 12 random (71 bits): identifiers made later sort after earlier
// ones, so an index of them grows at its end instead of at a random page,
// which is what rows written at a high rate (customers, orders,
// redemptions) want.
func NewTimeID(prefix string) string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	id := []byte(NewID(prefix))
	// 62^8 milliseconds is about 6,900 years from 1970.
	ms := time.Now().UnixMilli()
	for i := len(prefix) + 7; i >= len(prefix); i-- {
		id[i] = alphabet[ms%62]
		ms /= 62
	}
	return string(id)
}

// Prefixes of identifiers, as in the API.
const (
	PrefixCampaign    = "camp_"
	PrefixVoucher     = "v_"
	PrefixCustomer    = "cust_"
	PrefixOrder       = "ord_"
	PrefixPublication = "pub_"
	PrefixAction      = "aa_"
	PrefixAPIKey      = "app_"
	PrefixRequest     = "v-"
)

// keySeparators are the characters CodeKey removes: every ASCII character that
// is neither a letter nor a digit. Campaign code configs may use them as
// separators and nowhere else.
var keySeparators = func() string {
	var b strings.Builder
	for c := byte('!'); c <= '~'; c++ {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			b.WriteByte(c)
		}
	}
	return b.String()
}()

// KeyRules are the normalization rules of CodeKey. They refuse full-width
// forms: codes are handed out in ASCII, so a full-width spelling is a
// look-alike, and each code keeps a single spelling up to case, whitespace
// and separators.
var KeyRules = codegen.Rules{Separators: keySeparators, Case: codegen.CaseUpper, RefuseWide: true}

// CodeKey returns the key under which a code is stored and looked up: the
// codegen normalization with every separator removed and letters folded to
// upper case. Two codes with the same key cannot both exist in a store, so
// "sum-ab12" and "SUM AB12" name one code. A case-sensitive code (one whose
// charset has both cases) still matches only when its case matches too: see
// SameCode. It fails with EInvalidCode when input is not a possible code.
func CodeKey(input string) (string, error) {
	k, err := codegen.Normalize(input, KeyRules)
	if err != nil {
		return "", &Error{Code: EInvalidCode, Message: "Invalid code", Details: err.Error(), Err: err}
	}
	return k, nil
}

// SameCode reports whether input names code, which has the same key: always
// for a case-insensitive code, and only with the same letter case otherwise.
func SameCode(input, code string, caseSensitive bool) bool {
	if !caseSensitive {
		return true
	}
	rules := codegen.Rules{Separators: keySeparators, RefuseWide: true}
	a, err1 := codegen.Normalize(input, rules)
	b, err2 := codegen.Normalize(code, rules)
	return err1 == nil && err2 == nil && a == b
}
