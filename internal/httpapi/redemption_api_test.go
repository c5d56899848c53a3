package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const springBody = `{"code":"SPRING-AB12","type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100}}`

// spring returns a server holding the voucher SPRING-AB12 (100 off, no
// quantity limit) and ONCE-1 (100 off, one redemption).
func spring(t *testing.T) *bundle {
	t.Helper()
	b := setup(t)
	b.must(t, "POST", "/v1/vouchers", springBody)
	b.must(t, "POST", "/v1/vouchers/ONCE-1", `{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100},"redemption":{"quantity":1}}`)
	return b
}

// redeemBody is a validation or redemption body naming codes.
func redeemBody(amount int, codes ...string) string {
	rs := make([]map[string]string, len(codes))
	for i, c := range codes {
		rs[i] = map[string]string{"object": "voucher", "id": c}
	}
	out, _ := json.Marshal(map[string]any{"redeemables": rs, "order": map[string]any{"amount": amount}})
	return string(out)
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return v
}

// redeemed is a voucher's redemption.redeemed_quantity.
func (b *bundle) redeemed(t *testing.T, code string) float64 {
	t.Helper()
	v := b.must(t, "GET", "/v1/vouchers/"+url.PathEscape(code), "")
	red, _ := v["redemption"].(map[string]any)
	n, ok := red["redeemed_quantity"].(float64)
	if !ok {
		t.Fatalf("voucher %s without redemption.redeemed_quantity: %v", code, v)
	}
	return n
}

// expect checks a request's status and body fragments.
func (b *bundle) expect(t *testing.T, method, path, body string, headers map[string]string, status int, want ...string) string {
	t.Helper()
	got, out := b.do(t, method, path, body, headers)
	if got != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, got, status, out)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("%s %s: body lacks %s:\n%s", method, path, w, out)
		}
	}
	return out
}

// TestCodeNormalization validates spellings of SPRING-AB12. promo.CodeKey
// is codegen.Normalize with every ASCII non-alphanumeric as a separator and
// upper-case folding: whitespace anywhere and any punctuation are removed and
// letters fold to upper case, so all of those name the code. Non-ASCII is
// refused by CodeKey (full-width forms, zero-width and other format
// characters, Cyrillic and Greek look-alikes): the engine keeps such an input
// as a key no code has, and the validation reports it as resource_not_found.
func TestCodeNormalization(t *testing.T) {
	t.Parallel()
	b := spring(t)
	for _, tc := range []struct {
		name, code string
		valid      bool
	}{
		{"exact", "SPRING-AB12", true},
		{"lower case", "spring-ab12", true},
		{"space for the dash", "SPRING AB12", true},
		{"padded", " spring-ab12 ", true},
		{"no separator", "springab12", true},
		{"other separator", "spring_ab.12", true},
		{"tab and newline", "\tSPRING-AB12\n", true},
		{"unicode en dash", "SPRING\u2013AB12", true}, // a Pd dash is a separator when '-' is
		{"full width letters", "ＳＰＲＩＮＧ-ＡＢ12", false},
		{"full width throughout", "ＳＰＲＩＮＧ－ＡＢ１２", false},
		{"one full width digit", "SPRING-AB1２", false},
		{"ideographic space", "SPRING\u3000AB12", false},
		{"zero width space", "SPRING\u200b-AB12", false},
		{"soft hyphen", "SPRING\u00ad-AB12", false},
		{"byte order mark", "\ufeffSPRING-AB12", false},
		{"cyrillic I", "SPRІNG-AB12", false},
		{"cyrillic S", "ЅPRING-AB12", false},
		{"greek A", "SPRING-\u0391B12", false},
		{"another code", "SPRING-AB13", false},
		{"a prefix", "SPRING-AB1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := b.do(t, "POST", "/v1/validations", redeemBody(1000, tc.code), nil)
			if status != http.StatusOK {
				t.Fatalf("status %d: %s", status, out)
			}
			v := decode(t, out)
			if v["valid"] != tc.valid {
				t.Fatalf("valid = %v, want %v: %s", v["valid"], tc.valid, out)
			}
			if tc.valid {
				r := v["redeemables"].([]any)[0].(map[string]any)
				if r["id"] != "SPRING-AB12" || r["status"] != "APPLICABLE" {
					t.Errorf("redeemable %v, want SPRING-AB12 APPLICABLE", r)
				}
				if !strings.Contains(out, `"discount_amount":100`) && !strings.Contains(out, `"total_discount_amount":100`) {
					t.Errorf("no discount of 100 in %s", out)
				}
				return
			}
			inapp, _ := v["inapplicable_redeemables"].([]any)
			if len(inapp) != 1 {
				t.Fatalf("inapplicable_redeemables = %v", v["inapplicable_redeemables"])
			}
			e := inapp[0].(map[string]any)["result"].(map[string]any)["error"].(map[string]any)
			if e["key"] != "resource_not_found" {
				t.Errorf("error key %v, want resource_not_found: %s", e["key"], out)
			}
		})
	}
	if n := b.redeemed(t, "SPRING-AB12"); n != 0 {
		t.Errorf("validations redeemed the code: redeemed_quantity %v", n)
	}
}

func TestRedeemAndLegacyRedemption(t *testing.T) {
	t.Parallel()
	b := spring(t)
	out := b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "spring ab12"), nil, 200,
		`"result":"SUCCESS"`, `"object":"redemption"`, `"code":"SPRING-AB12"`)
	reds := decode(t, out)["redemptions"].([]any)
	if len(reds) != 1 {
		t.Fatalf("redemptions = %v", reds)
	}
	if n := b.redeemed(t, "SPRING-AB12"); n != 1 {
		t.Fatalf("redeemed_quantity %v after one redemption, want 1", n)
	}
	b.expect(t, "POST", "/v1/vouchers/spring-ab12/redemption", `{"order":{"amount":2000}}`, nil, 200,
		`"result":"SUCCESS"`, `"code":"SPRING-AB12"`)
	if n := b.redeemed(t, "SPRING-AB12"); n != 2 {
		t.Fatalf("redeemed_quantity %v after the legacy redemption, want 2", n)
	}
	// The legacy call without a body.
	b.expect(t, "POST", "/v1/vouchers/SPRING-AB12/redemption", "", nil, 200, `"result":"SUCCESS"`)
	list := b.expect(t, "GET", "/v1/vouchers/SPRING-AB12/redemption", "", nil, 200, `"redeemed_quantity":3`, `"total":3`)
	_ = list
	b.expect(t, "GET", "/v1/redemptions?result=SUCCESS", "", nil, 200, `"total":3`)
	b.expect(t, "POST", "/v1/vouchers/NOPE-1/redemption", `{"order":{"amount":2000}}`, nil, 404)
}

func TestRedeemExhausted(t *testing.T) {
	t.Parallel()
	b := spring(t)
	b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "ONCE-1"), nil, 200, `"result":"SUCCESS"`)
	if n := b.redeemed(t, "ONCE-1"); n != 1 {
		t.Fatalf("redeemed_quantity %v, want 1", n)
	}
	b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "ONCE-1"), nil, 400, `"key":"quantity_exceeded"`, `"request_id":"v-`)
	b.expect(t, "POST", "/v1/vouchers/once-1/redemption", `{"order":{"amount":1000}}`, nil, 400,
		`"key":"quantity_exceeded"`, `"resource_type":"redemption"`)
	if n := b.redeemed(t, "ONCE-1"); n != 1 {
		t.Fatalf("refused redemptions changed redeemed_quantity to %v", n)
	}
	out := b.expect(t, "GET", "/v1/redemptions?result=FAILURE", "", nil, 200, `"result":"FAILURE"`, `quantity_exceeded`)
	for _, r := range decode(t, out)["redemptions"].([]any) {
		if r.(map[string]any)["result"] != "FAILURE" {
			t.Errorf("result=FAILURE lists %v", r)
		}
	}
	b.expect(t, "GET", "/v1/redemptions?result=SUCCESS", "", nil, 200, `"total":1`)
	b.expect(t, "GET", "/v1/redemptions?result=MAYBE", "", nil, 400, `"key":"invalid_query_params"`)
}

func TestRedeemRefusedRequests(t *testing.T) {
	t.Parallel()
	b := spring(t)
	many := make([]string, 31)
	for i := range many {
		many[i] = fmt.Sprintf("CODE-%d", i)
	}
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     []string
	}{
		{"duplicated after normalization", "POST", "/v1/redemptions", redeemBody(1000, "SPRING-AB12", "spring ab12"), 400,
			[]string{`"key":"duplicated_redeemables"`}},
		{"duplicated in a validation", "POST", "/v1/validations", redeemBody(1000, "SPRING-AB12", " springab12"), 400,
			[]string{`"key":"duplicated_redeemables"`}},
		{"more than 30", "POST", "/v1/redemptions", redeemBody(1000, many...), 400, nil},
		{"more than 30 validated", "POST", "/v1/validations", redeemBody(1000, many...), 400, nil},
		{"malformed JSON", "POST", "/v1/redemptions", `{"redeemables":[`, 400, []string{`"key":"invalid_payload"`}},
		{"malformed JSON validated", "POST", "/v1/validations", `{"redeemables":`, 400, []string{`"key":"invalid_payload"`}},
		{"malformed legacy JSON", "POST", "/v1/vouchers/SPRING-AB12/redemption", `{"order":`, 400, []string{`"key":"invalid_payload"`}},
		{"wrong-typed amount", "POST", "/v1/redemptions", `{"redeemables":[{"object":"voucher","id":"SPRING-AB12"}],"order":{"amount":"lots"}}`, 400,
			[]string{`"key":"invalid_payload"`}},
		{"no redeemables", "POST", "/v1/redemptions", `{"redeemables":[],"order":{"amount":1000}}`, 400, nil},
		{"rollback unknown", "POST", "/v1/redemptions/r_nope/rollback", "", 404, []string{`"code":404`}},
		{"rollbacks unknown", "POST", "/v1/redemptions/r_nope/rollbacks", "", 404, []string{`"code":404`}},
		{"get unknown", "GET", "/v1/redemptions/r_nope", "", 404, []string{`"code":404`}},
		{"unknown session", "DELETE", "/v1/vouchers/SPRING-AB12/sessions/ssn_nope", "", 404, []string{`"code":404`}},
		{"session of an unknown code", "DELETE", "/v1/vouchers/NOPE-1/sessions/ssn_nope", "", 404, []string{`"code":404`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.fingerprint(t)
			out := b.expect(t, tc.method, tc.path, tc.body, nil, tc.status, tc.want...)
			if !strings.Contains(out, `"request_id":"v-`) {
				t.Errorf("error without a request id: %s", out)
			}
			if after := b.fingerprint(t); after != before {
				t.Errorf("a refused request changed the store: %s -> %s", before, after)
			}
			if n := b.redeemed(t, "SPRING-AB12"); n != 0 {
				t.Errorf("a refused request redeemed: redeemed_quantity %v", n)
			}
		})
	}
	b.expect(t, "GET", "/v1/redemptions", "", nil, 200, `"total":0`)
}

func TestRollback(t *testing.T) {
	t.Parallel()
	b := spring(t)
	out := b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "ONCE-1"), nil, 200, `"result":"SUCCESS"`)
	red := decode(t, out)["redemptions"].([]any)[0].(map[string]any)
	id := red["id"].(string)
	if red["amount"].(float64) <= 0 {
		t.Errorf("redemption amount %v, want positive", red["amount"])
	}
	if n := b.redeemed(t, "ONCE-1"); n != 1 {
		t.Fatalf("redeemed_quantity %v, want 1", n)
	}
	out = b.expect(t, "POST", "/v1/redemptions/"+id+"/rollback?reason=x", "", nil, 200,
		`"object":"redemption_rollback"`, `"reason":"x"`, `"result":"SUCCESS"`, `"redemption":"`+id+`"`)
	rb := decode(t, out)
	if a, _ := rb["amount"].(float64); a >= 0 {
		t.Errorf("rollback amount %v, want negative", rb["amount"])
	}
	// A standalone code does not get its redemption back (engine.Rollback:
	// only a campaign with RollbackRestoresQuantity gives it back).
	if n := b.redeemed(t, "ONCE-1"); n != 1 {
		t.Errorf("redeemed_quantity %v after the rollback, want 1", n)
	}
	b.expect(t, "GET", "/v1/redemptions/"+id, "", nil, 200, `"status":"ROLLED_BACK"`)

	before := b.fingerprint(t)
	b.expect(t, "POST", "/v1/redemptions/"+id+"/rollback?reason=again", "", nil, 400, `"key":"already_rolled_back"`)
	b.expect(t, "POST", "/v1/redemptions/"+id+"/rollbacks", "", nil, 400, `"key":"already_rolled_back"`)
	if after := b.fingerprint(t); after != before {
		t.Errorf("a refused rollback changed the store: %s -> %s", before, after)
	}
	if n := b.redeemed(t, "ONCE-1"); n != 1 {
		t.Errorf("redeemed_quantity %v after refused rollbacks, want 1", n)
	}
	// No refund chaining: the code stays used up.
	b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "ONCE-1"), nil, 400, `"key":"quantity_exceeded"`)
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	b := spring(t)
	key := map[string]string{"Idempotency-Key": "idem-1"}
	body := redeemBody(1000, "SPRING-AB12")

	req := func(body string, hdr map[string]string) (*http.Response, string) {
		t.Helper()
		r, err := http.NewRequest("POST", b.srv.URL+"/v1/redemptions", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("X-App-Id", b.appID)
		r.Header.Set("X-App-Token", b.token)
		r.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(r)
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
	first, out1 := req(body, key)
	if first.StatusCode != 200 {
		t.Fatalf("first: %d %s", first.StatusCode, out1)
	}
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first answer marked replayed")
	}
	second, out2 := req(body, key)
	if second.StatusCode != 200 {
		t.Fatalf("replay: %d %s", second.StatusCode, out2)
	}
	if got := second.Header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("Idempotent-Replayed = %q, want true", got)
	}
	id1 := decode(t, out1)["redemptions"].([]any)[0].(map[string]any)["id"]
	id2 := decode(t, out2)["redemptions"].([]any)[0].(map[string]any)["id"]
	if id1 != id2 || id1 == nil {
		t.Errorf("replay redemption %v, first %v", id2, id1)
	}
	if n := b.redeemed(t, "SPRING-AB12"); n != 1 {
		t.Errorf("redeemed_quantity %v after a replay, want 1", n)
	}

	before := b.fingerprint(t)
	other, out3 := req(redeemBody(2000, "SPRING-AB12"), key)
	if other.StatusCode != 422 || !strings.Contains(out3, `"key":"idempotency_key_reused"`) {
		t.Errorf("same key, other body: %d %s", other.StatusCode, out3)
	}
	if after := b.fingerprint(t); after != before {
		t.Errorf("a refused request changed the store: %s -> %s", before, after)
	}
	if n := b.redeemed(t, "SPRING-AB12"); n != 1 {
		t.Errorf("redeemed_quantity %v after a reused key, want 1", n)
	}

	// Another key redeems again.
	third, out4 := req(body, map[string]string{"Idempotency-Key": "idem-2"})
	if third.StatusCode != 200 || third.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("other key: %d %v %s", third.StatusCode, third.Header, out4)
	}
	if id3 := decode(t, out4)["redemptions"].([]any)[0].(map[string]any)["id"]; id3 == id1 {
		t.Errorf("another key replayed redemption %v", id3)
	}
	if n := b.redeemed(t, "SPRING-AB12"); n != 2 {
		t.Errorf("redeemed_quantity %v, want 2", n)
	}
	// A too long key is refused.
	long, out5 := req(body, map[string]string{"Idempotency-Key": strings.Repeat("k", 256)})
	if long.StatusCode != 400 {
		t.Errorf("long key: %d %s", long.StatusCode, out5)
	}
}

func TestValidationRules(t *testing.T) {
	t.Parallel()
	b := spring(t)
	rule := b.must(t, "POST", "/v1/validation-rules", `{"name":"min order","rules":{"1":{"name":"order.amount","conditions":{"$more_than":[5000]},"error":{"message":"Spend more than 50"}},"logic":"1"}}`)
	id, _ := rule["id"].(string)
	if id == "" {
		t.Fatalf("rule without id: %v", rule)
	}
	b.expect(t, "POST", "/v1/validation-rules/"+id+"/assignments", `{"voucher":"SPRING-AB12"}`, nil, 200,
		`"object":"validation_rules_assignment"`)
	b.expect(t, "GET", "/v1/validation-rules/"+id, "", nil, 200, `"assignments_count":1`)

	out := b.expect(t, "POST", "/v1/validations", redeemBody(1000, "spring-ab12"), nil, 200, `"valid":false`, `Spend more than 50`)
	inapp := decode(t, out)["inapplicable_redeemables"].([]any)
	res := inapp[0].(map[string]any)["result"].(map[string]any)
	if k := res["error"].(map[string]any)["key"]; k != "order_rules_violated" {
		t.Errorf("error key %v, want order_rules_violated", k)
	}
	if d, _ := res["details"].(map[string]any); d == nil || !strings.Contains(fmt.Sprint(d["message"])+fmt.Sprint(res["error"]), "Spend more than 50") {
		t.Errorf("details lack the rule's message: %v", res)
	}
	b.expect(t, "POST", "/v1/validations", redeemBody(6000, "spring-ab12"), nil, 200, `"valid":true`)

	// A redemption the rule refuses leaves the count alone.
	b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "SPRING-AB12"), nil, 400, `"key":"order_rules_violated"`)
	if n := b.redeemed(t, "SPRING-AB12"); n != 0 {
		t.Errorf("redeemed_quantity %v after a refused redemption", n)
	}
	b.expect(t, "POST", "/v1/redemptions", redeemBody(6000, "SPRING-AB12"), nil, 200, `"result":"SUCCESS"`)

	for _, bad := range []struct{ name, body string }{
		{"malformed", `{"name":`},
		{"no name", `{"rules":{"1":{"name":"order.amount","conditions":{"$more_than":[5000]}},"logic":"1"}}`},
		{"unknown operator", `{"name":"x","rules":{"1":{"name":"order.amount","conditions":{"$bigger":[5000]}},"logic":"1"}}`},
		{"logic names a missing rule", `{"name":"x","rules":{"1":{"name":"order.amount","conditions":{"$more_than":[5000]}},"logic":"1 AND 2"}}`},
		{"wrong-typed rules", `{"name":"x","rules":"all"}`},
	} {
		t.Run(bad.name, func(t *testing.T) {
			before := b.fingerprint(t)
			b.expect(t, "POST", "/v1/validation-rules", bad.body, nil, 400, `"code":400`)
			if after := b.fingerprint(t); after != before {
				t.Errorf("a refused rule changed the store: %s -> %s", before, after)
			}
		})
	}
	b.expect(t, "GET", "/v1/validation-rules", "", nil, 200, `"total":1`)
	b.expect(t, "POST", "/v1/validation-rules/val_nope/assignments", `{"voucher":"SPRING-AB12"}`, nil, 404)
	b.expect(t, "POST", "/v1/validation-rules/"+id+"/assignments", `{"voucher":"NOPE-1"}`, nil, 404)
}

func TestAttempts(t *testing.T) {
	t.Parallel()
	b := spring(t)
	b.expect(t, "POST", "/v1/validations", redeemBody(1000, "spring ab12"), nil, 200, `"valid":true`)
	b.expect(t, "POST", "/v1/validations", redeemBody(1000, "SPRING-ZZ99"), nil, 200, `"valid":false`)

	// Attempts are written by the engine's Run loop: poll until they show.
	poll := func(path string, want int) map[string]any {
		t.Helper()
		var last map[string]any
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			last = b.must(t, "GET", path, "")
			if n, _ := last["total"].(float64); int(n) >= want {
				return last
			}
		}
		t.Fatalf("GET %s: %v, want %d attempts", path, last, want)
		return nil
	}
	got := poll("/v1/attempts?code="+url.QueryEscape("SPRING-AB12"), 1)
	if n := got["total"].(float64); n != 1 {
		t.Errorf("attempts of SPRING-AB12: %v", got)
	}
	// The code's other spellings find the same attempts.
	poll("/v1/attempts?code="+url.QueryEscape("springab12"), 1)
	poll("/v1/attempts?code=SPRING-ZZ99", 1)
	poll("/v1/attempts", 2)
	// A code that cannot normalize has no attempts.
	b.expect(t, "GET", "/v1/attempts?code="+url.QueryEscape("SPRІNG"), "", nil, 200, `"total":0`)
	b.expect(t, "GET", "/v1/attempts?customer=nobody", "", nil, 200, `"total":0`)
}

// TestCampaignBudget: a campaign's budget over HTTP: created with it,
// redemptions past it fail with campaign_budget_exceeded, and the campaign
// shows its usage.
func TestCampaignBudget(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.must(t, "POST", "/v1/campaigns", `{"name":"Capped","type":"STATIC","budget":{"redemptions":2},"voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100}}}`)
	for i := range 3 {
		b.must(t, "POST", fmt.Sprintf("/v1/campaigns/Capped/vouchers/CAPPED-%d", i), `{}`)
	}
	b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "CAPPED-0"), nil, 200, `"result":"SUCCESS"`)
	b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "CAPPED-1"), nil, 200, `"result":"SUCCESS"`)
	b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "CAPPED-2"), nil, 400,
		`"key":"campaign_budget_exceeded"`, `redemptions are used up`)
	b.expect(t, "GET", "/v1/campaigns/Capped", "", nil, 200,
		`"budget":{"redemptions":2}`, `"budget_usage":{"redemptions":2,"discount_amount":200`, `"exhausted":"the campaign's 2 redemptions are used up"`)
	b.expect(t, "POST", "/v1/campaigns", `{"name":"Bad","budget":{"discount_amount":-1}}`, nil, 400, `"key":"invalid_payload"`, "must not be negative")
	// Lifting the budget.
	b.expect(t, "PUT", "/v1/campaigns/Capped", `{"budget":{}}`, nil, 200)
	b.expect(t, "POST", "/v1/redemptions", redeemBody(1000, "CAPPED-2"), nil, 200, `"result":"SUCCESS"`)
}
