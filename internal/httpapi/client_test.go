package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"promo/internal/httpapi"
	"promo/internal/promo"
)

// key is an API key of a bundle's store, with the headers it is sent in.
type key struct {
	kind, id, token string
}

// newKey creates a key through the API, with the bundle's secret key.
func (b *bundle) newKey(t *testing.T, body string) key {
	t.Helper()
	k := b.must(t, "POST", "/v1/api-keys", body)
	return key{kind: k["kind"].(string), id: k["id"].(string), token: k["token"].(string)}
}

// call sends a request with k in the headers its kind uses, from origin.
func (b *bundle) call(t *testing.T, k key, method, path, body, origin string) (*http.Response, string) {
	t.Helper()
	return b.callAs(t, k, k.kind == promo.KeyClient, method, path, body, origin)
}

// callAs sends a request with k in the client routes' headers (client) or
// the /v1 routes' ones, from origin.
func (b *bundle) callAs(t *testing.T, k key, client bool, method, path, body, origin string) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if client {
		req.Header.Set("X-Client-Application-Id", k.id)
		req.Header.Set("X-Client-Token", k.token)
	} else {
		req.Header.Set("X-App-Id", k.id)
		req.Header.Set("X-App-Token", k.token)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(out)
}

// TestKeyKindsOnEveryRoute calls every route with every kind of key: a
// secret key calls every /v1 route, a restricted key the routes of its
// scopes, a client key only the /client/v1 routes, from its origins; any
// other call answers 403.
func TestKeyKindsOnEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	keys := []key{
		{kind: promo.KeySecret, id: b.appID, token: b.token},
		b.newKey(t, `{"name":"checkout","kind":"restricted","scopes":["validations","redemptions"]}`),
		b.newKey(t, `{"name":"web","kind":"client","origins":["https://shop.example"]}`),
	}
	api := httpapi.New(httpapi.Config{Logger: slog.New(slog.DiscardHandler)})
	httpapi.Register(api, b.eng)
	param := regexp.MustCompile(`\{[^}]+\}`)
	n := 0
	for _, rt := range api.Routes() {
		if rt.Public {
			continue
		}
		method, pattern, _ := strings.Cut(rt.Pattern, " ")
		path := param.ReplaceAllString(pattern, "x")
		body := ""
		if method == "POST" || method == "PUT" {
			body = "{}"
		}
		for _, k := range keys {
			var allowed bool
			switch k.kind {
			case promo.KeySecret:
				allowed = !rt.Client
			case promo.KeyRestricted:
				allowed = !rt.Client && slices.Contains([]string{promo.ScopeValidations, promo.ScopeRedemptions}, rt.Scope)
			case promo.KeyClient:
				allowed = rt.Client
			}
			// The key's credentials in the headers the route takes.
			resp, out := b.callAs(t, k, rt.Client, method, path, body, "https://shop.example")
			n++
			switch {
			case allowed && (resp.StatusCode == 401 || resp.StatusCode == 403):
				t.Errorf("%s with a %s key: %d %s, want it allowed", rt.Pattern, k.kind, resp.StatusCode, out)
			case !allowed && (resp.StatusCode != 403 || !strings.Contains(out, `"key":"forbidden"`)):
				t.Errorf("%s with a %s key: %d %s, want 403 forbidden", rt.Pattern, k.kind, resp.StatusCode, out)
			}
		}
	}
	if n < 150 {
		t.Fatalf("only %d calls: the route table is not all there", n)
	}
}

func TestClientKeyOrigins(t *testing.T) {
	t.Parallel()
	b := spring(t)
	k := b.newKey(t, `{"name":"web","kind":"client","origins":["https://shop.example"]}`)
	body := redeemBody(1000, "SPRING-AB12")
	resp, out := b.call(t, k, "POST", "/client/v1/validations", body, "https://shop.example")
	if resp.StatusCode != 200 || !strings.Contains(out, `"valid":true`) {
		t.Fatalf("from its origin: %d %s", resp.StatusCode, out)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
		t.Errorf("Access-Control-Allow-Origin %q", got)
	}
	for _, origin := range []string{"https://evil.example", ""} {
		if resp, out := b.call(t, k, "POST", "/client/v1/validations", body, origin); resp.StatusCode != 403 {
			t.Errorf("from origin %q: %d %s, want 403", origin, resp.StatusCode, out)
		}
	}
	// A secret key's headers do not work on the client routes.
	if resp, _ := b.call(t, key{kind: promo.KeySecret, id: k.id, token: k.token}, "POST", "/client/v1/validations", body, "https://shop.example"); resp.StatusCode != 401 {
		t.Errorf("a client key in the X-App headers: %d, want 401", resp.StatusCode)
	}
	// Browsers' preflight.
	req, _ := http.NewRequest("OPTIONS", b.srv.URL+"/client/v1/validations", nil)
	req.Header.Set("Origin", "https://shop.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	pre, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	pre.Body.Close()
	if pre.StatusCode != 204 || !strings.Contains(pre.Header.Get("Access-Control-Allow-Headers"), "X-Client-Token") {
		t.Errorf("preflight: %d %v", pre.StatusCode, pre.Header)
	}
	// The legacy client calls and publication.
	if resp, out := b.call(t, k, "GET", "/client/v1/validate?code=spring-ab12&amount=1000", "", "https://shop.example"); resp.StatusCode != 200 || !strings.Contains(out, `"valid":true`) {
		t.Errorf("GET /client/v1/validate: %d %s", resp.StatusCode, out)
	}
	if resp, out := b.call(t, k, "POST", "/client/v1/redeem?code=SPRING-AB12", `{"order":{"amount":1000}}`, "https://shop.example"); resp.StatusCode != 200 || !strings.Contains(out, `"result":"SUCCESS"`) {
		t.Errorf("POST /client/v1/redeem: %d %s", resp.StatusCode, out)
	}
	c := b.must(t, "POST", "/v1/campaigns", `{"name":"Web pool","type":"STATIC","vouchers_count":3,"voucher":{"discount":{"type":"AMOUNT","amount_off":100}}}`)
	b.wait(t, c["async_action_id"].(string))
	if resp, out := b.call(t, k, "POST", "/client/v1/publish?campaign=Web%20pool", `{"customer":{"source_id":"web-1"},"channel":"Voucherify.js"}`, "https://shop.example"); resp.StatusCode != 200 || !strings.Contains(out, `"object":"publication"`) {
		t.Errorf("POST /client/v1/publish: %d %s", resp.StatusCode, out)
	}
}

// TestClientRefusalsAreAlike: a client key gets one answer, equal in
// status, body and headers but for the request ID (and the code it sent,
// echoed), for each of eight reasons to refuse a code; a secret key gets
// eight precise reasons.
func TestClientRefusalsAreAlike(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(t, "POST", "/v1/campaigns", `{"name":"Shop","type":"STATIC","voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100}}}`)
	b.must(t, "POST", "/v1/campaigns", `{"name":"Off","type":"STATIC","voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100}}}`)
	add := func(code, body string) {
		b.must(t, "POST", "/v1/campaigns/Shop/vouchers/"+code, body)
	}
	b.must(t, "POST", "/v1/vouchers/EXPIRED-1", `{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100},"expiration_date":"2020-01-01T00:00:00Z"}`)
	b.must(t, "POST", "/v1/vouchers/LATER-1", `{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100},"start_date":"2099-01-01T00:00:00Z"}`)
	add("DISABLED-1", `{}`)
	b.must(t, "POST", "/v1/vouchers/DISABLED-1/disable", "")
	add("USED-1", `{"redemption":{"quantity":1}}`)
	b.must(t, "POST", "/v1/redemptions", redeemBody(1000, "USED-1"))
	b.must(t, "POST", "/v1/campaigns/Off/vouchers/OFF-1", `{}`)
	b.must(t, "POST", "/v1/campaigns/Off/disable", "")
	add("HELD-1", `{}`)
	b.must(t, "POST", "/v1/publications", `{"voucher":"HELD-1","customer":{"source_id":"someone-else"}}`)
	holder := b.must(t, "POST", "/v1/validation-rules", `{"name":"holder","rules":{"1":{"name":"publication.redeemable_by_linked_customer","conditions":{"$is":[true]}},"logic":"1"}}`)
	b.must(t, "POST", "/v1/validation-rules/"+holder["id"].(string)+"/assignments", `{"related_object_type":"voucher","related_object_id":"HELD-1"}`)
	add("MIN-1", `{}`)
	minOrder := b.must(t, "POST", "/v1/validation-rules", `{"name":"min","rules":{"1":{"name":"order.amount","conditions":{"$more_than":[5000]}},"logic":"1"}}`)
	b.must(t, "POST", "/v1/validation-rules/"+minOrder["id"].(string)+"/assignments", `{"related_object_type":"voucher","related_object_id":"MIN-1"}`)

	refusals := []struct{ code, reason string }{
		{"NOPE-1", "resource_not_found"},
		{"EXPIRED-1", "voucher_expired"},
		{"LATER-1", "voucher_not_active"},
		{"DISABLED-1", "voucher_disabled"},
		{"USED-1", "quantity_exceeded"},
		{"OFF-1", "voucher_disabled"},
		{"HELD-1", "customer_rules_violated"},
		{"MIN-1", "order_rules_violated"},
	}
	web := b.newKey(t, `{"name":"web","kind":"client","origins":["https://shop.example"]}`)
	secret := key{kind: promo.KeySecret, id: b.appID, token: b.token}
	body := func(code string) string {
		return fmt.Sprintf(`{"redeemables":[{"object":"voucher","id":%q}],"customer":{"source_id":"me"},"order":{"amount":1000}}`, code)
	}
	for _, path := range []string{"/client/v1/validations", "/client/v1/redemptions"} {
		var first string
		for _, r := range refusals {
			resp, out := b.call(t, web, "POST", path, body(r.code), "https://shop.example")
			got := normalize(t, resp, out, r.code)
			if first == "" {
				first = got
				if !strings.Contains(got, `"key":"code_not_applicable"`) {
					t.Fatalf("%s: the refusal lacks code_not_applicable: %s", path, got)
				}
				continue
			}
			if got != first {
				t.Errorf("%s: the refusal of %s (%s) differs:\n%s\nfrom the first:\n%s", path, r.code, r.reason, got, first)
			}
		}
	}
	// A secret key is told why.
	for _, r := range refusals {
		_, out := b.call(t, secret, "POST", "/v1/validations", body(r.code), "")
		if !strings.Contains(out, `"key":"`+r.reason+`"`) {
			t.Errorf("secret key, %s: %s, want %s", r.code, out, r.reason)
		}
	}
}

// normalize renders an answer for comparison: its status, its headers but
// X-Request-Id, Date and Content-Length (the codes sent differ in length),
// and its body with request IDs and the echoed code blanked.
func normalize(t *testing.T, resp *http.Response, body, code string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	requestID := regexp.MustCompile(`"request_id":"[^"]*"`)
	body = requestID.ReplaceAllString(body, `"request_id":"R"`)
	body = strings.ReplaceAll(body, code, "CODE")
	h := resp.Header.Clone()
	h.Del("X-Request-Id")
	h.Del("Date")
	h.Del("Content-Length")
	return fmt.Sprintf("%d %v %s", resp.StatusCode, h, body)
}
