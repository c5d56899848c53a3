package httpapi_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"promo/internal/ratelimit"
)

func TestBlocklistAPI(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	b := limited(t, clk, ratelimit.PerSecond(1_000_000), ratelimit.Window{Limit: 1000, Period: time.Minute})
	ip := b.must(t, "POST", "/v1/blocklist", `{"kind":"ip","value":"203.0.113.0/24","reason":"bot farm"}`)
	b.must(t, "POST", "/v1/blocklist", `{"kind":"customer_source_id","value":"fraudster"}`)
	b.expect(t, "POST", "/v1/blocklist", `{"kind":"ip","value":"nope"}`, nil, 400, `"key":"invalid_payload"`)
	b.expect(t, "GET", "/v1/blocklist", "", nil, 200, `"total":2`, `"value":"203.0.113.0/24"`, `"reason":"bot farm"`)

	from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
	good := redeemBody(1000, "SPRING-AB12")
	b.expect(t, "POST", "/v1/validations", good, from("203.0.113.9"), 403, `"key":"forbidden"`, "this IP address may not")
	b.expect(t, "POST", "/v1/redemptions", good, from("203.0.113.9"), 403, `"key":"forbidden"`)
	b.expect(t, "POST", "/v1/validations", good, from("198.51.100.9"), 200, `"valid":true`)
	b.expect(t, "POST", "/v1/redemptions",
		`{"redeemables":[{"object":"voucher","id":"SPRING-AB12"}],"customer":{"source_id":"fraudster"}}`, from("198.51.100.9"),
		403, "this customer may not")
	if n := b.redeemed(t, "SPRING-AB12"); n != 0 {
		t.Fatalf("a blocked redemption redeemed: %v", n)
	}
	b.expect(t, "DELETE", "/v1/blocklist/"+ip["id"].(string), "", nil, 204)
	b.expect(t, "POST", "/v1/validations", good, from("203.0.113.9"), 200, `"valid":true`)
}

func TestCanaryAndFlagsAPI(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(t, "POST", "/v1/vouchers", `{"code":"TRAP-9","canary":true,"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100}}`)
	trap := b.expect(t, "POST", "/v1/validations", redeemBody(1000, "TRAP-9"), nil, 200, `"valid":false`, `"key":"resource_not_found"`)
	nope := b.expect(t, "POST", "/v1/validations", redeemBody(1000, "NOPE-9"), nil, 200, `"valid":false`)
	// Apart from the code and the IDs, a canary answers as a missing code.
	ids := regexp.MustCompile(`"(id|request_id)":"(valid_|v-)[^"]*"`)
	norm := func(s, code string) string {
		return ids.ReplaceAllString(strings.ReplaceAll(s, code, "CODE"), `"$1":"ID"`)
	}
	if norm(trap, "TRAP-9") != norm(nope, "NOPE-9") {
		t.Errorf("a canary's answer differs from a missing code's:\n%s\n%s", trap, nope)
	}
	b.expect(t, "GET", "/v1/flags?kind=canary", "", nil, 200, `"total":1`, `"kind":"canary"`, `"code":"TRAP-9"`, `"client_ip":"127.0.0.1"`)
	b.expect(t, "GET", "/v1/flags?voucher=TRAP-9", "", nil, 200, `"total":1`)
	b.expect(t, "GET", "/v1/flags?kind=other", "", nil, 400, `"key":"invalid_query_params"`)
	b.expect(t, "GET", "/v1/vouchers/TRAP-9/audit", "", nil, 200, `"flagged"`)
	b.expect(t, "POST", "/v1/campaigns", `{"name":"Pool","type":"STATIC","voucher":{"discount":{"type":"AMOUNT","amount_off":100}}}`, nil, 200)
	b.expect(t, "POST", "/v1/vouchers", `{"code":"TRAP-10","canary":true,"campaign":"Pool"}`, nil, 400, "canary code stands alone")
}
