package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"promo/internal/promo"
)

// decodeJSON reads the request body, which must be one JSON value, into
// dst. Every failure is an *promo.Error for the client: EInvalidPayload
// saying what is wrong and where, ETooLarge past the route's body limit,
// EUnsupportedMedia for a Content-Type other than JSON. Unknown fields are
// ignored.
func decodeJSON(r *http.Request, dst any) error { return decodeBody(r, dst, true) }

// decodeOptionalJSON is decodeJSON for routes whose body may be left out:
// an empty body leaves dst as it is.
func decodeOptionalJSON(r *http.Request, dst any) error { return decodeBody(r, dst, false) }

func decodeBody(r *http.Request, dst any, required bool) error {
	if r.ContentLength != 0 {
		if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
			return err
		}
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err)
	}
	body := bytes.TrimLeft(b, " \t\r\n")
	if len(body) == 0 {
		if required {
			return invalidPayload(nil, "the body is empty: send a JSON object")
		}
		return nil
	}
	if k := valueKind(body[0]); k != "" && wantsObject(dst) {
		return invalidPayload(nil, "the body must be a JSON object, not %s", k)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, len(b))
	}
	if rest := bytes.TrimLeft(b[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return invalidPayload(nil, "unexpected data after the JSON value at byte %d", len(b)-len(rest))
	}
	return nil
}

// bodyError is the error for a body that could not be read.
func bodyError(err error) error {
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return &promo.Error{Code: promo.ETooLarge, Message: "Payload too large",
			Details: fmt.Sprintf("the body is larger than the limit of %d bytes", mbe.Limit), Err: err}
	}
	return invalidPayload(err, "reading the body: %v", err)
}

// checkJSONType accepts a JSON media type (with any parameters) or none.
func checkJSONType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return &promo.Error{Code: promo.EUnsupportedMedia, Message: "Unsupported media type",
		Details: fmt.Sprintf("the body must be application/json, not %q", ct)}
}

func invalidPayload(cause error, format string, args ...any) *promo.Error {
	e := promo.Errorf(promo.EInvalidPayload, format, args...)
	e.Err = cause
	return e
}

// decodeError turns what encoding/json returns into an EInvalidPayload
// error that a client can act on.
func decodeError(err error, size int) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return invalidPayload(err, "malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidPayload(err, "malformed JSON at byte %d: the body ends inside a value", size)
	}
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return invalidPayload(err, "the body must be %s, not %s", wantedKind(te.Type, te.Value), te.Value)
		}
		return invalidPayload(err, "field %s must be %s, not %s", te.Field, wantedKind(te.Type, te.Value), te.Value)
	}
	// An UnmarshalJSON method of a field type, such as promo.Time's, refused
	// its value; its message says why.
	return invalidPayload(err, "%s", err.Error())
}

// wantedKind names the JSON a Go type takes, for an error message that got
// value ("string", "number 1.5", ...) instead.
func wantedKind(t reflect.Type, value string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	number, isNumber := strings.CutPrefix(value, "number")
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !isNumber {
			return "a number"
		}
		if strings.ContainsAny(number, ".eE") {
			return "an integer"
		}
		bits := t.Bits()
		return fmt.Sprintf("an integer from %d to %d", int64(-1)<<(bits-1), int64(math.MaxInt64>>(64-bits)))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !isNumber {
			return "a number"
		}
		if strings.ContainsAny(number, ".eE") {
			return "an integer"
		}
		return fmt.Sprintf("an integer from 0 to %d", uint64(math.MaxUint64>>(64-t.Bits())))
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a value of another type"
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// wantsObject reports whether dst points to a struct or map that decodes
// only from a JSON object: encoding/json would take null for one silently.
func wantsObject(dst any) bool {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer {
		return false
	}
	e := t.Elem()
	return (e.Kind() == reflect.Struct || e.Kind() == reflect.Map) && !t.Implements(unmarshalerType)
}

// valueKind names the JSON value that starts with c, when it is not an
// object; "" for an object or no value at all.
func valueKind(c byte) string {
	switch {
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 'n':
		return "null"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == '-' || '0' <= c && c <= '9':
		return "a number"
	}
	return ""
}
