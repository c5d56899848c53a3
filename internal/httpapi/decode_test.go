package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"promo/internal/promo"
)

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	type small struct {
		N  uint8   `json:"n"`
		I  int16   `json:"i"`
		F  float64 `json:"f"`
		S  string  `json:"s"`
		B  bool    `json:"b"`
		L  []int   `json:"l"`
		By []byte  `json:"by"`
	}
	for _, c := range []struct {
		name, ct, body string
		dst            func() any
		code, details  string
	}{
		{name: "ok", body: `{"n":1,"unknown":{"deep":[1,2]}}`},
		{name: "vendor JSON type", ct: "application/vnd.api+json", body: `{}`},
		{name: "bad media type", ct: "application/json; charset", body: `{}`, code: promo.EUnsupportedMedia},
		{name: "uint overflow", body: `{"n":300}`, code: promo.EInvalidPayload, details: "field n must be an integer from 0 to 255, not number 300"},
		{name: "negative uint", body: `{"n":-1}`, code: promo.EInvalidPayload, details: "field n must be an integer from 0 to 255, not number -1"},
		{name: "int16 overflow", body: `{"i":40000}`, code: promo.EInvalidPayload, details: "field i must be an integer from -32768 to 32767, not number 40000"},
		{name: "string for float", body: `{"f":"1"}`, code: promo.EInvalidPayload, details: "field f must be a number, not string"},
		{name: "number for string", body: `{"s":1}`, code: promo.EInvalidPayload, details: "field s must be a string, not number"},
		{name: "string for bool", body: `{"b":"true"}`, code: promo.EInvalidPayload, details: "field b must be a boolean, not string"},
		{name: "object for list", body: `{"l":{}}`, code: promo.EInvalidPayload, details: "field l must be an array, not object"},
		{name: "number for bytes", body: `{"by":1}`, code: promo.EInvalidPayload, details: "field by must be a base64 string, not number"},
		{name: "bad escape", body: `{"s":"\x"}`, code: promo.EInvalidPayload, details: "malformed JSON at byte 8: invalid character 'x' in string escape code"},
		{name: "not JSON at all", body: `hello`, code: promo.EInvalidPayload, details: "malformed JSON at byte 1: invalid character 'h' looking for beginning of value"},
		{name: "top-level slice", body: `{}`, dst: func() any { return new([]int) }, code: promo.EInvalidPayload, details: "the body must be an array, not object"},
		{name: "top-level number into any", body: `5`, dst: func() any { return new(any) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			dst := any(new(small))
			if c.dst != nil {
				dst = c.dst()
			}
			err := decodeJSON(req, dst)
			if got := promo.ErrorCode(err); got != c.code {
				t.Fatalf("code %q, want %q (%v)", got, c.code, err)
			}
			if c.details != "" {
				if e := err.(*promo.Error); e.Details != c.details {
					t.Errorf("details %q\nwant    %q", e.Details, c.details)
				}
			}
		})
	}
}

func TestDecodeTooLarge(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{"s":"`+strings.Repeat("a", 100)+`"}`))
	req.Body = http.MaxBytesReader(httptest.NewRecorder(), req.Body, 10)
	var v struct{}
	err := decodeJSON(req, &v)
	if promo.ErrorCode(err) != promo.ETooLarge || !strings.Contains(err.Error(), "limit of 10 bytes") {
		t.Errorf("got %v", err)
	}
}
