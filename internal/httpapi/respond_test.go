package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"promo/internal/promo"
)

func TestStatusOf(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int{
		promo.EInternal:              500,
		promo.EInvalidPayload:        400,
		promo.EInvalidParam:          400,
		promo.ENotFound:              404,
		promo.EDuplicateFound:        409,
		promo.EUnauthorized:          401,
		promo.EMethodNotAllowed:      405,
		promo.ETooLarge:              413,
		promo.EUnsupportedMedia:      415,
		promo.EPageOverLimit:         400,
		promo.EInvalidCampaign:       400,
		promo.EInvalidCodeConfig:     400,
		promo.EInvalidCode:           400,
		promo.EInvalidVoucher:        400,
		promo.EInvalidCustomer:       400,
		promo.EInvalidOrder:          400,
		promo.EMissingVouchers:       400,
		promo.EMissingCustomer:       400,
		promo.ENoVoucherSuitable:     400,
		promo.EVoucherPublished:      400,
		promo.EDuplicateSourceID:     400,
		promo.ECampaignInProgress:    409,
		promo.EVoucherDisabled:       400,
		promo.ECampaignDisabled:      400,
		promo.ECodesExhausted:        400,
		promo.EResourceInUse:         409,
		promo.EIdempotencyKeyReused:  422,
		promo.EUnavailable:           503,
		promo.ETooManyRequests:       429,
		promo.EInvalidAsyncActionArg: 400,
		"invalid_something_new":      400,
		"missing_amount":             400,
		"no_such_code":               500,
		"":                           500,
	} {
		if got := statusOf(code); got != want {
			t.Errorf("%q: %d, want %d", code, got, want)
		}
	}
}

func TestWriteError(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest("GET", "/", nil)
	st := &state{}
	req = req.WithContext(context.WithValue(promo.NewContextWithRequestID(req.Context(), "v-1"), stateKey{}, st))
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"not found", promo.NotFound("voucher", "NOPE"),
			`{"code":404,"key":"not_found","message":"Resource not found","details":"Cannot find voucher with id NOPE","request_id":"v-1","resource_id":"NOPE","resource_type":"voucher"}`},
		{"wrapped", fmt.Errorf("publishing: %w", promo.Errorf(promo.ENoVoucherSuitable, "campaign %s has no codes left", "camp_1")),
			`{"code":400,"key":"no_voucher_suitable_for_publication","message":"Couldn't find any voucher suitable for publication","details":"campaign camp_1 has no codes left","request_id":"v-1"}`},
		{"no message", &promo.Error{Code: promo.ETooManyRequests},
			`{"code":429,"key":"too_many_requests","message":"Too many requests","details":"","request_id":"v-1"}`},
		{"plain error", errors.New("constraint failed: UNIQUE"),
			`{"code":500,"key":"internal_error","message":"Internal error","details":"","request_id":"v-1"}`},
		{"internal code", &promo.Error{Code: promo.EInternal, Message: "db", Details: "secret", ResourceID: "x"},
			`{"code":500,"key":"internal_error","message":"Internal error","details":"","request_id":"v-1"}`},
	} {
		rec := httptest.NewRecorder()
		*st = state{}
		writeError(rec, req, c.err)
		if internal := rec.Code == 500; st.internal != internal || st.err != c.err {
			t.Errorf("%s: the log line would get %v (internal %v)", c.name, st.err, st.internal)
		}
		if got := rec.Body.String(); got != c.want+"\n" {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", c.name, ct)
		}
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	writeJSON(rec, http.StatusCreated, map[string]string{"url": "a?b=1&c=<d>"})
	if rec.Code != 201 || rec.Body.String() != `{"url":"a?b=1&c=<d>"}`+"\n" || rec.Header().Get("Content-Length") != "22" {
		t.Errorf("%d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
	rec = httptest.NewRecorder()
	rw := &responseWriter{ResponseWriter: rec, st: &state{requestID: "v-2"}}
	writeJSON(rw, http.StatusOK, map[string]any{"f": func() {}})
	if rec.Code != 500 || rec.Body.String() != `{"code":500,"key":"internal_error","message":"Internal error","details":"","request_id":"v-2"}`+"\n" {
		t.Errorf("unencodable: %d %q", rec.Code, rec.Body.String())
	}
	if !rw.st.internal || !strings.Contains(rw.st.err.Error(), "unsupported type") {
		t.Errorf("the log line would get %v", rw.st.err)
	}
}

func TestWriteList(t *testing.T) {
	t.Parallel()
	type item struct {
		ID string `json:"id"`
	}
	for _, c := range []struct {
		items any
		want  string
	}{
		{[]item{{"v_1"}, {"v_2"}}, `{"object":"list","data_ref":"vouchers","vouchers":[{"id":"v_1"},{"id":"v_2"}],"total":7}`},
		{[]item(nil), `{"object":"list","data_ref":"vouchers","vouchers":[],"total":7}`},
		{nil, `{"object":"list","data_ref":"vouchers","vouchers":[],"total":7}`},
		{[]item{}, `{"object":"list","data_ref":"vouchers","vouchers":[],"total":7}`},
	} {
		rec := httptest.NewRecorder()
		writeList(rec, "vouchers", c.items, 7)
		if got := rec.Body.String(); got != c.want+"\n" {
			t.Errorf("got %s, want %s", got, c.want)
		}
	}
}

// jsonEncoded is what encoding/json writes for v, HTML escaping off.
func jsonEncoded(t testing.TB, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestErrorBodyJSON: the error envelope's hand-written encoding is
// encoding/json's, byte for byte.
func TestErrorBodyJSON(t *testing.T) {
	t.Parallel()
	for _, b := range []errorBody{
		{Code: 429, Key: "too_many_requests", Message: "Too many requests", Details: "retry in 20s", RequestID: "v-1"},
		{Code: 404, Key: "not_found", Message: "Resource not found", Details: `voucher "A\B" <x> & y`, RequestID: "v-2", ResourceID: "A\tB", ResourceType: "voucher"},
		{Code: 400, Details: "ctl \x00\x01\x1f\b\f\n\r\t del\x7f é \u2028 \u2029 bad\xff\xfe end"},
		{},
	} {
		if got, want := string(b.appendJSON(nil)), jsonEncoded(t, b); got != want {
			t.Errorf("appendJSON:\n got %q\nwant %q", got, want)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted\"`, "\x00\x1f\x7f", "é\u2028\u2029", "\xff\xfe", "a\xe2\x80b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendJSONString(nil, s))+"\n", jsonEncoded(t, s); got != want {
			t.Fatalf("appendJSONString(%q) = %q, want %q", s, got, want)
		}
	})
}
