package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"promo/internal/promo"
)

// syncBuffer is a log sink that tests read while handlers write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log lines written so far.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(s.b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

type bundle struct {
	api  *API
	logs *syncBuffer
	// ready is what the Ready check returns.
	ready error
}

// voucherBody is what the test's POST /v1/vouchers decodes.
type voucherBody struct {
	Voucher struct {
		Redemption struct {
			Quantity int `json:"quantity"`
		} `json:"redemption"`
	} `json:"voucher"`
	Pct   promo.Percent `json:"pct"`
	Start promo.Time    `json:"start"`
}

var authHeaders = map[string]string{"X-App-Id": "app", "X-App-Token": "secret"}

// setup returns an API with a few dummy routes, small body limits, and an
// authenticator that knows one key.
func setup(t *testing.T) *bundle {
	t.Helper()
	return setupLog(t, false)
}

// setupLog is setup with the request lines written through the Logger, or
// with direct directly to the log (Config.RequestLog), as serve does, and
// the Logger's lines thrown away.
func setupLog(t *testing.T, direct bool) *bundle {
	t.Helper()
	b := &bundle{logs: &syncBuffer{}}
	logger, requestLog := slog.New(slog.NewJSONHandler(b.logs, nil)), io.Writer(nil)
	if direct {
		logger, requestLog = slog.New(slog.DiscardHandler), b.logs
	}
	a := New(Config{
		Logger:     logger,
		RequestLog: requestLog,
		Auth: AuthenticatorFunc(func(ctx context.Context, appID, token string) (*promo.APIKey, error) {
			switch {
			case appID == "app" && token == "secret":
				return &promo.APIKey{ID: "key_1", Kind: promo.KeySecret}, nil
			case appID == "broken":
				return nil, errors.New("keys table is gone")
			case appID == "gone":
				return nil, promo.NotFound("api key", appID)
			}
			return nil, promo.Errorf(promo.EUnauthorized, "wrong key")
		}),
		Ready:           func(context.Context) error { return b.ready },
		MaxBodyBytes:    128,
		ImportBodyBytes: 1024,
	})
	a.Handle("GET", "/v1/campaigns/{id}", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{
			"id":         r.PathValue("id"),
			"key_id":     promo.APIKeyFromContext(r.Context()),
			"request_id": promo.RequestIDFromContext(r.Context()),
		})
		return nil
	})
	a.Handle("POST", "/v1/vouchers", func(w http.ResponseWriter, r *http.Request) error {
		var v voucherBody
		if err := decodeJSON(r, &v); err != nil {
			return err
		}
		writeJSON(w, http.StatusCreated, map[string]int{"quantity": v.Voucher.Redemption.Quantity})
		return nil
	})
	a.Handle("DELETE", "/v1/vouchers/{code}", func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	a.Handle("POST", "/v1/rollback", func(w http.ResponseWriter, r *http.Request) error {
		v := struct {
			Reason string `json:"reason"`
		}{Reason: "none"}
		if err := decodeOptionalJSON(r, &v); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, v)
		return nil
	})
	a.Handle("POST", "/v1/import", func(w http.ResponseWriter, r *http.Request) error {
		var m map[string]any
		if err := decodeJSON(r, &m); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]int{"fields": len(m)})
		return nil
	}, Upload())
	a.Handle("GET", "/v1/vouchers", func(w http.ResponseWriter, r *http.Request) error {
		p, err := listParams(r)
		if err != nil {
			return err
		}
		var items []string
		for range p.Limit {
			items = append(items, "x")
		}
		if p.Page > 1 {
			items = nil
		}
		writeList(w, "vouchers", items, int64(p.Limit))
		return nil
	})
	a.Handle("GET", "/v1/panic", func(w http.ResponseWriter, r *http.Request) error { panic("boom") })
	a.Handle("GET", "/v1/fail", func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("disk I/O error in table vouchers")
	})
	a.Handle("GET", "/v1/missing/{id}", func(w http.ResponseWriter, r *http.Request) error {
		return promo.NotFound("voucher", r.PathValue("id"))
	})
	a.Handle("GET", "/v1/ping", func(w http.ResponseWriter, r *http.Request) error {
		io.WriteString(w, "pong")
		return nil
	}, Public())
	b.api = a
	return b
}

// scenario is one request against the whole stack and what must come back.
type scenario struct {
	name        string
	method      string
	url         string
	headers     map[string]string
	body        string
	status      int
	contains    []string // fragments of the response body
	notContains []string
	header      map[string]string // response headers
}

func (s scenario) run(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	req := httptest.NewRequest(s.method, s.url, body)
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	got := rec.Body.String()
	if rec.Code != s.status {
		t.Errorf("status %d, want %d; body %s", rec.Code, s.status, got)
	}
	for _, c := range s.contains {
		if !strings.Contains(got, c) {
			t.Errorf("body lacks %s:\n%s", c, got)
		}
	}
	for _, c := range s.notContains {
		if strings.Contains(got, c) {
			t.Errorf("body has %s:\n%s", c, got)
		}
	}
	for k, v := range s.header {
		if g := rec.Header().Get(k); g != v {
			t.Errorf("header %s: %q, want %q", k, g, v)
		}
	}
	return rec
}

func with(h map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(h)+len(kv)/2)
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

func TestScenarios(t *testing.T) {
	t.Parallel()
	jsonCT := map[string]string{"Content-Type": "application/json; charset=utf-8"}
	for _, s := range []scenario{
		// Authentication.
		{name: "no key", method: "GET", url: "/v1/campaigns/camp_1", status: 401,
			contains: []string{`"code":401`, `"key":"unauthorized"`, `"message":"Unauthorized"`, `X-App-Token headers`, `"request_id":"v-`}},
		{name: "token only", method: "GET", url: "/v1/campaigns/camp_1", headers: map[string]string{"X-App-Token": "secret"}, status: 401,
			contains: []string{`"key":"unauthorized"`}},
		{name: "wrong token", method: "GET", url: "/v1/campaigns/camp_1", headers: with(authHeaders, "X-App-Token", "nope"), status: 401,
			contains: []string{`"key":"unauthorized"`, `"details":"wrong key"`}},
		{name: "authenticator says not found", method: "GET", url: "/v1/campaigns/camp_1", headers: with(authHeaders, "X-App-Id", "gone"), status: 401,
			contains: []string{`"key":"unauthorized"`}, notContains: []string{"api key"}},
		{name: "authenticator fails", method: "GET", url: "/v1/campaigns/camp_1", headers: with(authHeaders, "X-App-Id", "broken"), status: 500,
			contains: []string{`"key":"internal_error"`, `"message":"Internal error"`}, notContains: []string{"keys table"}},
		{name: "right key", method: "GET", url: "/v1/campaigns/camp_1", headers: authHeaders, status: 200,
			contains: []string{`"id":"camp_1"`, `"key_id":"key_1"`}, header: jsonCT},
		{name: "public route", method: "GET", url: "/v1/ping", status: 200, contains: []string{"pong"}},
		{name: "healthz", method: "GET", url: "/healthz", status: 200, contains: []string{`{"status":"ok"}`}},
		{name: "readyz", method: "GET", url: "/readyz", status: 200, contains: []string{`{"status":"ok"}`}},

		// Routing.
		{name: "unknown route", method: "GET", url: "/v1/nope", headers: authHeaders, status: 404,
			contains: []string{`"code":404`, `"key":"not_found"`, `"message":"Resource not found"`, `no route for GET /v1/nope`}, header: jsonCT},
		{name: "unknown route without key", method: "GET", url: "/nope", status: 404, contains: []string{`"key":"not_found"`}},
		{name: "wrong method", method: "PUT", url: "/v1/vouchers", headers: authHeaders, status: 405,
			contains: []string{`"code":405`, `"key":"method_not_allowed"`, `allowed: GET, HEAD, POST`},
			header:   with(jsonCT, "Allow", "GET, HEAD, POST")},
		{name: "handler not found", method: "GET", url: "/v1/missing/NOPE", headers: authHeaders, status: 404,
			contains: []string{`"key":"not_found"`, `"details":"Cannot find voucher with id NOPE"`, `"resource_id":"NOPE"`, `"resource_type":"voucher"`}},
		{name: "internal error", method: "GET", url: "/v1/fail", headers: authHeaders, status: 500,
			contains: []string{`"code":500`, `"key":"internal_error"`, `"message":"Internal error"`}, notContains: []string{"disk", "resource_"}},
		{name: "panic", method: "GET", url: "/v1/panic", headers: authHeaders, status: 500,
			contains: []string{`"key":"internal_error"`, `"message":"Internal error"`}, notContains: []string{"boom"}},

		// Paths.
		{name: "trailing slash", method: "POST", url: "/v1/vouchers/", headers: authHeaders, body: `{}`, status: 201},
		{name: "doubled slash", method: "POST", url: "//v1/vouchers", headers: authHeaders, body: `{}`, status: 201},
		{name: "doubled inner slash", method: "GET", url: "/v1//campaigns/camp_1", headers: authHeaders, status: 200, contains: []string{`"id":"camp_1"`}},
		{name: "name with a space", method: "GET", url: "/v1/campaigns/Black%20Friday", headers: authHeaders, status: 200,
			contains: []string{`"id":"Black Friday"`}},
		{name: "name with a space and a trailing slash", method: "GET", url: "//v1/campaigns/Black%20Friday/", headers: authHeaders, status: 200,
			contains: []string{`"id":"Black Friday"`}},
		{name: "encoded slash in a name", method: "GET", url: "/v1/campaigns/a%2F%2Fb/", headers: authHeaders, status: 200,
			contains: []string{`"id":"a//b"`}},
		{name: "dot segments", method: "GET", url: "/v1/x/../campaigns/camp_1", headers: authHeaders, status: 200,
			contains: []string{`"id":"camp_1"`}},

		// Content types.
		{name: "GET with a JSON content type", method: "GET", url: "/v1/campaigns/camp_1", headers: with(authHeaders, "Content-Type", "application/json"), status: 200},
		{name: "DELETE with a JSON content type", method: "DELETE", url: "/v1/vouchers/CODE", headers: with(authHeaders, "Content-Type", "application/json"), status: 204},
		{name: "JSON with charset", method: "POST", url: "/v1/vouchers", headers: with(authHeaders, "Content-Type", "application/json;charset=UTF-8"), body: `{}`, status: 201},
		{name: "text body", method: "POST", url: "/v1/vouchers", headers: with(authHeaders, "Content-Type", "text/plain"), body: `{}`, status: 415,
			contains: []string{`"code":415`, `"key":"unsupported_media_type"`, `not \"text/plain\"`}},
		{name: "form body", method: "POST", url: "/v1/vouchers", headers: with(authHeaders, "Content-Type", "application/x-www-form-urlencoded"), body: `a=b`, status: 415},

		// Bodies.
		{name: "body", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"voucher":{"redemption":{"quantity":3}},"extra":[1,{"x":2}]}`, status: 201,
			contains: []string{`{"quantity":3}`}},
		{name: "oversized body", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"pad":"` + strings.Repeat("x", 200) + `"}`, status: 413,
			contains: []string{`"code":413`, `"key":"payload_too_large"`, `limit of 128 bytes`}},
		{name: "upload takes more", method: "POST", url: "/v1/import", headers: authHeaders, body: `{"pad":"` + strings.Repeat("x", 200) + `"}`, status: 200,
			contains: []string{`{"fields":1}`}},
		{name: "upload has a limit too", method: "POST", url: "/v1/import", headers: authHeaders, body: `{"pad":"` + strings.Repeat("x", 2000) + `"}`, status: 413,
			contains: []string{`limit of 1024 bytes`}},
		{name: "empty body", method: "POST", url: "/v1/vouchers", headers: authHeaders, status: 400,
			contains: []string{`"code":400`, `"key":"invalid_payload"`, `"message":"Invalid payload"`, `the body is empty`}},
		{name: "blank body", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: " \n", status: 400,
			contains: []string{`the body is empty`}},
		{name: "optional body left out", method: "POST", url: "/v1/rollback", headers: authHeaders, status: 200, contains: []string{`"reason":"none"`}},
		{name: "optional body given", method: "POST", url: "/v1/rollback", headers: authHeaders, body: `{"reason":"refund"}`, status: 200, contains: []string{`"reason":"refund"`}},
		{name: "malformed JSON", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"voucher":}`, status: 400,
			contains: []string{`"key":"invalid_payload"`, `malformed JSON at byte 12: invalid character '}' looking for beginning of value`}},
		{name: "truncated JSON", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"voucher":{`, status: 400,
			contains: []string{`malformed JSON at byte 12`}},
		{name: "wrong-typed field", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"voucher":{"redemption":{"quantity":"3"}}}`, status: 400,
			contains: []string{`"details":"field voucher.redemption.quantity must be a number, not string"`}},
		{name: "fraction for an integer", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"voucher":{"redemption":{"quantity":1.5}}}`, status: 400,
			contains: []string{`field voucher.redemption.quantity must be an integer, not number 1.5`}},
		{name: "huge integer", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"voucher":{"redemption":{"quantity":1e99}}}`, status: 400,
			contains: []string{`field voucher.redemption.quantity must be an integer, not number 1e99`}},
		{name: "object for an integer", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"voucher":{"redemption":{"quantity":{}}}}`, status: 400,
			contains: []string{`field voucher.redemption.quantity must be a number, not object`}},
		{name: "trailing garbage", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{} x`, status: 400,
			contains: []string{`unexpected data after the JSON value at byte 3`}},
		{name: "two objects", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: "{}\n{}", status: 400,
			contains: []string{`unexpected data after the JSON value at byte 3`}},
		{name: "array body", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `[{}]`, status: 400,
			contains: []string{`the body must be a JSON object, not an array`}},
		{name: "null body", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `null`, status: 400,
			contains: []string{`the body must be a JSON object, not null`}},
		{name: "array body for a map", method: "POST", url: "/v1/import", headers: authHeaders, body: `[]`, status: 400,
			contains: []string{`the body must be a JSON object, not an array`}},
		{name: "custom unmarshaler refuses", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"pct":101}`, status: 400,
			contains: []string{`"key":"invalid_payload"`, `percent_off must be a number from 0 to 100`}},
		{name: "bad time", method: "POST", url: "/v1/vouchers", headers: authHeaders, body: `{"start":"soon"}`, status: 400,
			contains: []string{`"key":"invalid_payload"`, `\"soon\" is not a time`}},

		// Lists.
		{name: "list", method: "GET", url: "/v1/vouchers?limit=2", headers: authHeaders, status: 200,
			contains: []string{`{"object":"list","data_ref":"vouchers","vouchers":["x","x"],"total":2}`}},
		{name: "empty list", method: "GET", url: "/v1/vouchers?limit=1&page=2", headers: authHeaders, status: 200,
			contains: []string{`"vouchers":[]`}},
		{name: "bad limit", method: "GET", url: "/v1/vouchers?limit=500", headers: authHeaders, status: 400,
			contains: []string{`"key":"invalid_query_params"`, `limit must be an integer from 1 to 100`}},
		{name: "page over limit", method: "GET", url: "/v1/vouchers?page=1001", headers: authHeaders, status: 400,
			contains: []string{`"key":"page_over_limit"`}},
	} {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			rec := s.run(t, b.api.Handler())
			id := rec.Header().Get("X-Request-Id")
			if !strings.HasPrefix(id, "v-") || len(id) != 20 {
				t.Errorf("X-Request-Id %q", id)
			}
			if rec.Code >= 400 && !strings.Contains(rec.Body.String(), `"request_id":"`+id+`"`) {
				t.Errorf("envelope lacks request_id %s: %s", id, rec.Body.String())
			}
			if n := len(b.logs.lines(t)); n != 1 {
				t.Errorf("%d log lines, want 1", n)
			}
		})
	}
}

func TestNotReady(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.ready = errors.New("database is locked")
	scenario{method: "GET", url: "/readyz", status: 503,
		contains:    []string{`"code":503`, `"key":"service_unavailable"`},
		notContains: []string{"locked"},
	}.run(t, b.api)
	l := b.logs.lines(t)[0]
	if l["level"] != "WARN" || l["cause"] != "database is locked" {
		t.Errorf("log line %v", l)
	}
}

func TestNoAuthenticator(t *testing.T) {
	t.Parallel()
	a := New(Config{Logger: slog.New(slog.DiscardHandler)})
	a.Handle("GET", "/v1/x", func(w http.ResponseWriter, r *http.Request) error { return nil })
	scenario{method: "GET", url: "/v1/x", headers: authHeaders, status: 401}.run(t, a)
	scenario{method: "GET", url: "/healthz", status: 200}.run(t, a)
}

func TestLogLine(t *testing.T) {
	t.Parallel()
	t.Run("slog", func(t *testing.T) { testLogLine(t, setupLog(t, false)) })
	t.Run("direct", func(t *testing.T) { testLogLine(t, setupLog(t, true)) })
}

func testLogLine(t *testing.T, b *bundle) {
	rec := scenario{method: "GET", url: "/v1/campaigns/Black%20Friday", headers: authHeaders, status: 200}.run(t, b.api)
	scenario{method: "GET", url: "/v1/fail", headers: authHeaders, status: 500}.run(t, b.api)
	scenario{method: "GET", url: "/v1/missing/X", headers: authHeaders, status: 404}.run(t, b.api)
	scenario{method: "GET", url: "/v1/panic", headers: authHeaders, status: 500}.run(t, b.api)
	lines := b.logs.lines(t)
	if len(lines) != 4 {
		t.Fatalf("%d lines", len(lines))
	}
	ok := lines[0]
	for k, want := range map[string]any{
		"level": "INFO", "msg": "request", "method": "GET", "route": "GET /v1/campaigns/{id}",
		"status": 200.0, "request_id": rec.Header().Get("X-Request-Id"), "bytes": float64(rec.Body.Len()), "key_id": "key_1",
		"client_ip": "192.0.2.1",
	} {
		if ok[k] != want {
			t.Errorf("%s = %v, want %v", k, ok[k], want)
		}
	}
	if _, has := ok["duration_ms"].(float64); !has {
		t.Errorf("no duration_ms in %v", ok)
	}
	if l := lines[1]; l["level"] != "ERROR" || l["error"] != "disk I/O error in table vouchers" || l["error_key"] != "internal_error" {
		t.Errorf("internal error line %v", l)
	}
	if l := lines[2]; l["level"] != "INFO" || l["error_key"] != "not_found" || l["error"] != nil {
		t.Errorf("not found line %v", l)
	}
	if l := lines[3]; l["level"] != "ERROR" || l["error"] != "panic: boom" || !strings.Contains(l["stack"].(string), "server_test.go") {
		t.Errorf("panic line %v", l)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	scenario{method: "GET", url: "/v1/campaigns/a", headers: authHeaders, status: 200}.run(t, b.api)
	scenario{method: "GET", url: "/v1/campaigns/b", headers: authHeaders, status: 200}.run(t, b.api)
	scenario{method: "GET", url: "/v1/campaigns/c", status: 401}.run(t, b.api)
	scenario{method: "GET", url: "/v1/secret-code-ABC", status: 404}.run(t, b.api)
	scenario{method: "BREW", url: "/v1/vouchers", status: 405}.run(t, b.api)
	rec := scenario{method: "GET", url: "/metrics", status: 200,
		contains: []string{
			`promo_http_requests_total{route="GET /v1/campaigns/{id}",method="GET",status="200"} 2`,
			`promo_http_requests_total{route="GET /v1/campaigns/{id}",method="GET",status="401"} 1`,
			`promo_http_requests_total{route="unmatched",method="GET",status="404"} 1`,
			`promo_http_requests_total{route="unmatched",method="other",status="405"} 1`,
			`promo_http_request_duration_seconds_bucket{route="GET /v1/campaigns/{id}",le="+Inf"} 3`,
			`promo_http_request_duration_seconds_count{route="unmatched"} 2`,
			"# TYPE promo_http_request_duration_seconds histogram",
		},
		notContains: []string{"secret-code", "/v1/campaigns/a"},
	}.run(t, b.api)
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("Content-Type %q", ct)
	}
}

// TestServerSurvivesPanics runs a real server: a panic before the response
// begins is a 500 envelope, one after it cuts the connection, and the
// server goes on serving.
func TestServerSurvivesPanics(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.Handle("GET", "/v1/half", func(w http.ResponseWriter, r *http.Request) error {
		io.WriteString(w, `{"partial":`)
		w.(http.Flusher).Flush()
		panic("mid-body")
	})
	srv := httptest.NewServer(b.api)
	t.Cleanup(srv.Close)
	get := func(path string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for k, v := range authHeaders {
			req.Header.Set(k, v)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	for range 3 {
		resp, body, err := get("/v1/panic")
		if err != nil || resp.StatusCode != 500 || !bytes.Contains(body, []byte(`"key":"internal_error"`)) {
			t.Fatalf("panic: %v %v %s", resp, err, body)
		}
		if _, _, err := get("/v1/half"); err == nil {
			t.Errorf("a panic after the response began should cut it")
		}
		resp, body, err = get("/v1/campaigns/after")
		if err != nil || resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"id":"after"`)) {
			t.Fatalf("after the panics: %v %v %s", resp, err, body)
		}
	}
}

func TestHandlerErrorAfterWrite(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.api.Handle("GET", "/v1/late", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return errors.New("after the fact")
	})
	scenario{method: "GET", url: "/v1/late", headers: authHeaders, status: 200,
		contains: []string{`{"ok":true}`}, notContains: []string{"internal_error"}}.run(t, b.api)
	if l := b.logs.lines(t)[0]; l["level"] != "ERROR" || l["error"] != "after the fact" {
		t.Errorf("log line %v", l)
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	t.Parallel()
	b := setup(t)
	seen := map[string]bool{}
	for range 100 {
		rec := scenario{method: "GET", url: "/healthz", status: 200}.run(t, b.api)
		id := rec.Header().Get("X-Request-Id")
		if seen[id] {
			t.Fatalf("request ID %s twice", id)
		}
		seen[id] = true
	}
}

func TestCleanURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, path, raw string }{
		{"/v1/vouchers", "/v1/vouchers", ""},
		{"/", "/", ""},
		{"//v1/vouchers", "/v1/vouchers", "/v1/vouchers"},
		{"/v1/vouchers/", "/v1/vouchers", "/v1/vouchers"},
		{"/v1///vouchers//", "/v1/vouchers", "/v1/vouchers"},
		{"/v1/campaigns/Black%20Friday/", "/v1/campaigns/Black Friday", "/v1/campaigns/Black%20Friday"},
		{"/v1/campaigns/a%2Fb", "/v1/campaigns/a/b", "/v1/campaigns/a%2Fb"},
		{"/v1/campaigns/a%2F%2Fb//", "/v1/campaigns/a//b", "/v1/campaigns/a%2F%2Fb"},
	} {
		req := httptest.NewRequest("GET", c.in, nil)
		u := cleanURL(req.URL)
		if u.Path != c.path || u.RawPath != c.raw {
			t.Errorf("%s: Path %q RawPath %q, want %q %q", c.in, u.Path, u.RawPath, c.path, c.raw)
		}
		if c.raw == "" && u != req.URL {
			t.Errorf("%s: a clean URL should be returned as it is", c.in)
		}
	}
}

// discardWriter is the cheapest ResponseWriter, for benchmarks.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkTrivialHandler measures the whole stack around an authenticated
// route that writes a small JSON object: request ID, path cleaning, auth,
// the log line (JSON, discarded) and the metrics.
func BenchmarkTrivialHandler(b *testing.B) {
	a := New(Config{
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Auth: AuthenticatorFunc(func(ctx context.Context, appID, token string) (*promo.APIKey, error) {
			return &promo.APIKey{ID: "key_1", Kind: promo.KeySecret}, nil
		}),
	})
	a.Handle("GET", "/v1/campaigns/{id}", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
		return nil
	})
	req := httptest.NewRequest("GET", "/v1/campaigns/camp_1", nil)
	req.Header.Set("X-App-Id", "app")
	req.Header.Set("X-App-Token", "secret")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: make(http.Header)}
		for pb.Next() {
			clear(w.h)
			a.ServeHTTP(w, req)
		}
	})
}

func TestLogSampler(t *testing.T) {
	t.Parallel()
	var s logSampler
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, step := range []struct {
		after   time.Duration
		ok      bool
		skipped int64
	}{
		{0, true, 0},
		{100 * time.Millisecond, false, 0},
		{900 * time.Millisecond, false, 0},
		{time.Second, true, 2},
		{1500 * time.Millisecond, false, 0},
		{5 * time.Second, true, 1},
	} {
		ok, skipped := s.allow(t0.Add(step.after))
		if ok != step.ok || skipped != step.skipped {
			t.Fatalf("at +%v: %v, %d; want %v, %d", step.after, ok, skipped, step.ok, step.skipped)
		}
	}
}
