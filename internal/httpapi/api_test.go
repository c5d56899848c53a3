package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"promo/internal/engine"
	"promo/internal/httpapi"
	"promo/internal/promo"
	"promo/internal/sqlite"
)

// bundle is one test's server: a real handler stack on its own store, with
// the async worker running.
type bundle struct {
	srv   *httptest.Server
	eng   *engine.Engine
	store *sqlite.Store
	appID string
	token string
}

// setup starts a server; configure, when given, changes its Config.
func setup(t *testing.T, configure ...func(*httpapi.Config)) *bundle {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "promo.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	eng := engine.New(st, engine.Options{Logger: log})
	key, token, err := eng.CreateAPIKey(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	cfg := httpapi.Config{Logger: log, Auth: eng, Ready: st.Ping, MaxBodyBytes: 64 << 10}
	for _, c := range configure {
		c(&cfg)
	}
	api := httpapi.New(cfg)
	httpapi.Register(api, eng)
	srv := httptest.NewServer(api.Handler())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { eng.Run(runCtx); close(done) }()
	t.Cleanup(func() {
		srv.Close()
		stop()
		<-done // the worker must stop with its context
		st.Close()
	})
	return &bundle{srv: srv, eng: eng, store: st, appID: key.ID, token: token}
}

// do sends a request with the bundle's key and returns the status and body.
func (b *bundle) do(t *testing.T, method, path, body string, headers map[string]string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-App-Id", b.appID)
	req.Header.Set("X-App-Token", b.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// must sends a request that must succeed and decodes its JSON answer.
func (b *bundle) must(t *testing.T, method, path, body string) map[string]any {
	t.Helper()
	status, out := b.do(t, method, path, body, nil)
	if status >= 300 {
		t.Fatalf("%s %s: %d %s", method, path, status, out)
	}
	var v map[string]any
	if len(out) > 0 {
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
	return v
}

// wait waits for an async action to end, and returns it.
func (b *bundle) wait(t *testing.T, actionID string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		a := b.must(t, "GET", "/v1/async-actions/"+actionID, "")
		if s := a["status"]; s == promo.ActionDone || s == promo.ActionFailed {
			return a
		}
	}
	t.Fatalf("async action %s did not end", actionID)
	return nil
}

// seed makes the fixtures the scenarios refer to: campaign "Seed Camp" with
// 5 codes, a STATIC campaign "Empty" with none, the standalone voucher
// WELCOME-10, customer cust-1 and order ord-1.
func (b *bundle) seed(t *testing.T) {
	t.Helper()
	c := b.must(t, "POST", "/v1/campaigns", `{"name":"Seed Camp","type":"STATIC","vouchers_count":5,
		"voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"PERCENT","percent_off":10},"code_config":{"pattern":"SEED-####-####"}}}`)
	b.wait(t, c["async_action_id"].(string))
	b.must(t, "POST", "/v1/campaigns", `{"name":"Empty","type":"STATIC","voucher":{"discount":{"type":"AMOUNT","amount_off":100}}}`)
	b.must(t, "POST", "/v1/vouchers/WELCOME-10", `{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":1000},"redemption":{"quantity":3}}`)
	b.must(t, "POST", "/v1/customers", `{"source_id":"cust-1","name":"Ann","email":"ann@example.com"}`)
	b.must(t, "POST", "/v1/orders", `{"source_id":"ord-1","amount":5000,"items":[{"sku_id":"sku-1","quantity":2,"price":2500}]}`)
}

// fingerprint sums the store's objects and audit entries: any change of
// state changes it.
func (b *bundle) fingerprint(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	one := promo.ListParams{Limit: 1, Page: 1}
	var parts []int64
	add := func(_ any, n int64, err error) {
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, n)
	}
	add(b.store.Campaigns(ctx, promo.CampaignFilter{ListParams: one}))
	add(b.store.Vouchers(ctx, promo.VoucherFilter{ListParams: one}))
	add(b.store.Customers(ctx, promo.CustomerFilter{ListParams: one}))
	add(b.store.Orders(ctx, promo.OrderFilter{ListParams: one}))
	add(b.store.Publications(ctx, promo.PublicationFilter{ListParams: one}))
	add(b.store.AsyncActions(ctx, promo.ActionFilter{ListParams: one}))
	add(b.store.Audit(ctx, promo.AuditFilter{ListParams: one}))
	return fmt.Sprint(parts)
}

// scenario is one request against a seeded server and what it must answer.
type scenario struct {
	name    string
	method  string
	url     string
	headers map[string]string // "" deletes a header
	body    string
	status  int
	want    []string // fragments of the response body
}

func run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.seed(t)
			before := b.fingerprint(t)
			status, body := b.do(t, sc.method, sc.url, sc.body, sc.headers)
			if status != sc.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", sc.method, sc.url, status, sc.status, body)
			}
			for _, w := range sc.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %s:\n%s", w, body)
				}
			}
			if status >= 400 {
				if after := b.fingerprint(t); after != before {
					t.Errorf("a refused request changed the store: %s -> %s", before, after)
				}
				if !strings.Contains(body, `"request_id":"v-`) {
					t.Errorf("error without a request id: %s", body)
				}
			}
		})
	}
}

const envelope404 = `"code":404,"key":"not_found"`

func TestCampaignScenarios(t *testing.T) {
	t.Parallel()
	run(t, []scenario{
		{name: "create", method: "POST", url: "/v1/campaigns", status: 200,
			body: `{"name":"Black Friday","campaign_type":"DISCOUNT_COUPONS","type":"AUTO_UPDATE","join_once":true,"metadata":{"region":"EU"},
				"start_date":"2026-11-27T00:00:00Z","expiration_date":"2026-11-30","voucher":{"type":"DISCOUNT_VOUCHER",
				"discount":{"type":"PERCENT","percent_off":12.5,"amount_limit":2000},"redemption":{"quantity":1},"code_config":{"pattern":"BF-######"}}}`,
			want: []string{`"object":"campaign"`, `"id":"camp_`, `"name":"Black Friday"`, `"percent_off":12.5`, `"amount_limit":2000`,
				`"pattern":"BF-######"`, `"length":6`, `"start_date":"2026-11-27T00:00:00.000Z"`, `"expiration_date":"2026-11-30T00:00:00.000Z"`,
				`"creation_status":"DONE"`, `"vouchers_count":0`, `"join_once":true`, `"metadata":{"region":"EU"}`}},
		{name: "create with codes is async", method: "POST", url: "/v1/campaigns", status: 200,
			body: `{"name":"Many","vouchers_count":50,"voucher":{"discount":{"type":"AMOUNT","amount_off":500}}}`,
			want: []string{`"creation_status":"IN_PROGRESS"`, `"async_action_id":"aa_`}},
		{name: "create without a name", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"type":"STATIC"}`, want: []string{`"key":"invalid_payload"`, `name is required`}},
		{name: "create with a wrong-typed count", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":"X","vouchers_count":"ten"}`, want: []string{`"key":"invalid_payload"`, `vouchers_count`}},
		{name: "create with an unknown type", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":"X","type":"WEEKLY"}`, want: []string{`"key":"invalid_campaign"`, `WEEKLY`}},
		{name: "create with an unknown discount type", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":"X","voucher":{"discount":{"type":"BOGO"}}}`, want: []string{`"key":"invalid_payload"`, `BOGO`}},
		{name: "create with a percent over 100", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":"X","voucher":{"discount":{"type":"PERCENT","percent_off":150}}}`, want: []string{`"key":"invalid_payload"`}},
		{name: "create with a duplicate name", method: "POST", url: "/v1/campaigns", status: 409,
			body: `{"name":"Seed Camp"}`, want: []string{`"key":"duplicate_found"`}},
		{name: "create with malformed JSON", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":`, want: []string{`"key":"invalid_payload"`}},
		{name: "create with an oversized body", method: "POST", url: "/v1/campaigns", status: 413,
			body: `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, want: []string{`"key":"payload_too_large"`}},
		{name: "create with a guessable code config", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":"Short","vouchers_count":5000,"voucher":{"code_config":{"pattern":"####"}}}`,
			want: []string{`"key":"invalid_code_config"`, `density`}},
		{name: "create with a bad charset", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":"X","voucher":{"code_config":{"charset":"AB-"}}}`, want: []string{`"key":"invalid_code_config"`}},
		{name: "create with dates backwards", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":"X","start_date":"2026-02-01","expiration_date":"2026-01-01"}`, want: []string{`"key":"invalid_payload"`}},
		{name: "create with a bad date", method: "POST", url: "/v1/campaigns", status: 400,
			body: `{"name":"X","start_date":"next week"}`, want: []string{`"key":"invalid_payload"`, `next week`}},
		{name: "get by name with a space", method: "GET", url: "/v1/campaigns/Seed%20Camp", status: 200,
			headers: map[string]string{"Content-Type": "application/json"},
			want:    []string{`"name":"Seed Camp"`, `"vouchers_count":5`, `"vouchers_generation_status":"DONE"`}},
		{name: "get unknown", method: "GET", url: "/v1/campaigns/nope", status: 404, want: []string{envelope404, `"resource_type":"campaign"`}},
		{name: "list", method: "GET", url: "/v1/campaigns?limit=1&page=2&order=created_at", status: 200,
			want: []string{`"object":"list","data_ref":"campaigns","campaigns":[{"id":"camp_`, `"total":2`}},
		{name: "list past the end", method: "GET", url: "/v1/campaigns?page=9", status: 200,
			want: []string{`"campaigns":[],"total":2`}},
		{name: "list with a bad limit", method: "GET", url: "/v1/campaigns?limit=1000", status: 400, want: []string{`"key":"invalid_query_params"`}},
		{name: "update", method: "PUT", url: "/v1/campaigns/Seed%20Camp", status: 200,
			body: `{"description":"spring","voucher":{"redemption":{"quantity":2}}}`,
			want: []string{`"description":"spring"`, `"redemption":{"quantity":2}`}},
		{name: "update unknown", method: "PUT", url: "/v1/campaigns/nope", body: `{}`, status: 404, want: []string{envelope404}},
		{name: "update the code config", method: "PUT", url: "/v1/campaigns/Seed%20Camp", status: 400,
			body: `{"voucher":{"code_config":{"length":20}}}`, want: []string{`"key":"invalid_payload"`}},
		{name: "disable", method: "POST", url: "/v1/campaigns/Seed%20Camp/disable", status: 200, want: []string{`"active":false`}},
		{name: "delete", method: "DELETE", url: "/v1/campaigns/Seed%20Camp?force=true", status: 204,
			headers: map[string]string{"Content-Type": "application/json"}},
		{name: "delete unknown", method: "DELETE", url: "/v1/campaigns/nope", status: 404, want: []string{envelope404}},
		{name: "add one voucher", method: "POST", url: "/v1/campaigns/Seed%20Camp/vouchers", status: 200,
			body: `{"metadata":{"tier":"premium"}}`, want: []string{`"object":"voucher"`, `"code":"SEED-`, `"metadata":{"tier":"premium"}`}},
		{name: "add vouchers with a code config of their own", method: "POST", url: "/v1/campaigns/Seed%20Camp/vouchers?vouchers_count=3", status: 202,
			body: `{"metadata":{"tier":"standard"},"code_config":{"pattern":"STD-########"}}`, want: []string{`"async_action_id":"aa_`}},
		{name: "add a negative count", method: "POST", url: "/v1/campaigns/Seed%20Camp/vouchers?vouchers_count=-1", status: 400,
			want: []string{`"key":"invalid_payload"`}},
		{name: "add a count that is not a number", method: "POST", url: "/v1/campaigns/Seed%20Camp/vouchers?vouchers_count=many", status: 400,
			want: []string{`"key":"invalid_query_params"`}},
		{name: "add a specific code", method: "POST", url: "/v1/campaigns/Seed%20Camp/vouchers/MY-CODE-1", status: 200,
			want: []string{`"code":"MY-CODE-1"`, `"campaign":"Seed Camp"`}},
		{name: "add a code that exists in another form", method: "POST", url: "/v1/campaigns/Seed%20Camp/vouchers/welcome%2010", status: 409,
			want: []string{`"key":"duplicate_found"`}},
		{name: "add a code with an invisible character", method: "POST", url: "/v1/campaigns/Seed%20Camp/vouchers/AB%E2%80%8BCD", status: 400,
			want: []string{`"key":"invalid_code"`}},
		{name: "import", method: "POST", url: "/v1/campaigns/Seed%20Camp/import", status: 202,
			body: `[{"code":"IMP-1"},{"code":"IMP-2","redemption":{"quantity":5},"metadata":{"a":1}}]`, want: []string{`"async_action_id":"aa_`}},
		{name: "import an object", method: "POST", url: "/v1/campaigns/Seed%20Camp/import", status: 400,
			body: `{"code":"IMP-1"}`, want: []string{`"key":"invalid_payload"`}},
		{name: "import nothing", method: "POST", url: "/v1/campaigns/Seed%20Camp/import", status: 400,
			body: `[]`, want: []string{`"key":"invalid_payload"`}},
		{name: "import into an unknown campaign", method: "POST", url: "/v1/campaigns/nope/import", status: 404,
			body: `[{"code":"IMP-1"}]`, want: []string{envelope404}},
		{name: "audit", method: "GET", url: "/v1/campaigns/Seed%20Camp/audit", status: 200,
			want: []string{`"data_ref":"audit_log"`, `"action":"generated"`, `"action":"created"`, `"api_key_id":"app_`}},
	})
}

func TestVoucherScenarios(t *testing.T) {
	t.Parallel()
	run(t, []scenario{
		{name: "create with a generated code (trailing slash)", method: "POST", url: "/v1/vouchers/", status: 200,
			body: `{"type":"DISCOUNT_VOUCHER","discount":{"type":"FIXED","fixed_amount":999},"code_config":{"pattern":"FX-######"}}`,
			want: []string{`"code":"FX-`, `"fixed_amount":999`, `"campaign":null`}},
		{name: "create with a code (doubled slash)", method: "POST", url: "//v1/vouchers/Summer-5", status: 200,
			body: `{"discount":{"type":"UNIT","unit_off":1,"unit_type":"sku-1"},"metadata":{"k":"v"},"expiration_date":"2027-01-01T00:00:00Z"}`,
			want: []string{`"code":"Summer-5"`, `"unit_off":1`, `"state":"ACTIVE"`, `"redemption":{"quantity":null,"redeemed_quantity":0`}},
		{name: "create without a discount", method: "POST", url: "/v1/vouchers/NODISC", status: 400,
			body: `{"type":"DISCOUNT_VOUCHER"}`, want: []string{`"key":"invalid_voucher"`}},
		{name: "create a duplicate", method: "POST", url: "/v1/vouchers/welcome-10", status: 409,
			body: `{"discount":{"type":"AMOUNT","amount_off":1}}`, want: []string{`"key":"duplicate_found"`}},
		{name: "create with an unknown type", method: "POST", url: "/v1/vouchers/GIFT1", status: 400,
			body: `{"type":"GIFT_VOUCHER","discount":{"type":"AMOUNT","amount_off":1}}`, want: []string{`"key":"invalid_voucher"`}},
		{name: "create with a zero quantity", method: "POST", url: "/v1/vouchers/Q0", status: 400,
			body: `{"discount":{"type":"AMOUNT","amount_off":1},"redemption":{"quantity":0}}`, want: []string{`"key":"invalid_payload"`}},
		{name: "get by code typed loosely", method: "GET", url: "/v1/vouchers/%20welcome%2010%20", status: 200,
			headers: map[string]string{"Content-Type": "application/json"},
			want:    []string{`"code":"WELCOME-10"`, `"amount_off":1000`, `"redemption":{"quantity":3,"redeemed_quantity":0`, `"publish":{"object":"list","count":0`}},
		{name: "get unknown", method: "GET", url: "/v1/vouchers/NOPE-1", status: 404, want: []string{envelope404, `"resource_type":"voucher"`, `"resource_id":"NOPE-1"`}},
		{name: "list a campaign's", method: "GET", url: "/v1/vouchers?campaign=Seed%20Camp&limit=2", status: 200,
			want: []string{`"data_ref":"vouchers","vouchers":[{`, `"total":5`, `"campaign":"Seed Camp"`}},
		{name: "list an unknown campaign's", method: "GET", url: "/v1/vouchers?campaign=nope", status: 200, want: []string{`"vouchers":[],"total":0`}},
		{name: "list created after", method: "GET", url: "/v1/vouchers?created_at[after]=2000-01-01T00:00:00Z", status: 200, want: []string{`"total":6`}},
		{name: "list with a bad time", method: "GET", url: "/v1/vouchers?created_at[after]=yesterday", status: 400, want: []string{`"key":"invalid_query_params"`}},
		{name: "list with a bad active", method: "GET", url: "/v1/vouchers?active=perhaps", status: 400, want: []string{`"key":"invalid_query_params"`}},
		{name: "update", method: "PUT", url: "/v1/vouchers/WELCOME-10", status: 200,
			body: `{"metadata":{"x":1},"redemption":{"quantity":9}}`, want: []string{`"metadata":{"x":1}`, `"quantity":9`}},
		{name: "update the discount type", method: "PUT", url: "/v1/vouchers/WELCOME-10", status: 400,
			body: `{"discount":{"type":"PERCENT","percent_off":5}}`, want: []string{`"key":"invalid_voucher"`}},
		{name: "update unknown", method: "PUT", url: "/v1/vouchers/NOPE", status: 404, body: `{}`, want: []string{envelope404}},
		{name: "disable", method: "POST", url: "/v1/vouchers/WELCOME-10/disable", status: 200, want: []string{`"active":false`, `"state":"DISABLED"`}},
		{name: "enable unknown", method: "POST", url: "/v1/vouchers/NOPE/enable", status: 404, want: []string{envelope404}},
		{name: "delete", method: "DELETE", url: "/v1/vouchers/WELCOME-10?force=true", status: 204},
		{name: "import", method: "POST", url: "/v1/vouchers/import", status: 202,
			body: `[{"code":"A-1","discount":{"type":"AMOUNT","amount_off":1}}]`, want: []string{`"async_action_id":"aa_`}},
		{name: "import a wrong-typed field", method: "POST", url: "/v1/vouchers/import", status: 400,
			body: `[{"code":5}]`, want: []string{`"key":"invalid_payload"`, `code`}},
		{name: "audit", method: "GET", url: "/v1/vouchers/WELCOME-10/audit", status: 200, want: []string{`"action":"created"`, `"resource_type":"voucher"`}},
	})
}

func TestCustomerOrderScenarios(t *testing.T) {
	t.Parallel()
	run(t, []scenario{
		{name: "create upserts by source_id", method: "POST", url: "/v1/customers", status: 200,
			body: `{"source_id":"cust-1","name":"Ann B","address":{"country":"PL"}}`,
			want: []string{`"object":"customer"`, `"name":"Ann B"`, `"email":"ann@example.com"`, `"country":"PL"`, `"summary":{`}},
		{name: "create", method: "POST", url: "/v1/customers", status: 200, body: `{"source_id":"cust-2"}`, want: []string{`"id":"cust_`}},
		{name: "create with a wrong-typed metadata", method: "POST", url: "/v1/customers", status: 400,
			body: `{"source_id":"x","metadata":[1]}`, want: []string{`"key":"invalid_payload"`, `metadata`}},
		{name: "get by source_id", method: "GET", url: "/v1/customers/cust-1", status: 200, want: []string{`"source_id":"cust-1"`}},
		{name: "get unknown", method: "GET", url: "/v1/customers/nobody", status: 404, want: []string{envelope404}},
		{name: "update by source_id", method: "PUT", url: "/v1/customers/cust-1", status: 200,
			body: `{"email":"new@example.com"}`, want: []string{`"email":"new@example.com"`, `"name":"Ann"`}},
		{name: "list", method: "GET", url: "/v1/customers", status: 200, want: []string{`"data_ref":"customers"`, `"total":1`, `"has_more":false`}},
		{name: "delete", method: "DELETE", url: "/v1/customers/cust-1", status: 204},
		{name: "delete unknown", method: "DELETE", url: "/v1/customers/nobody", status: 404, want: []string{envelope404}},
		{name: "order create", method: "POST", url: "/v1/orders", status: 200,
			body: `{"source_id":"ord-2","items":[{"product_id":"p1","quantity":3,"price":1000}],"customer":{"source_id":"cust-9"}}`,
			want: []string{`"object":"order"`, `"amount":3000`, `"status":"CREATED"`, `"customer_id":"cust_`}},
		{name: "order with an unknown status", method: "POST", url: "/v1/orders", status: 400,
			body: `{"source_id":"ord-3","status":"LOST"}`, want: []string{`"key":"invalid_order"`}},
		{name: "order with a negative price", method: "POST", url: "/v1/orders", status: 400,
			body: `{"items":[{"quantity":1,"price":-5}]}`, want: []string{`"key":"invalid_order"`}},
		{name: "order with a fractional amount", method: "POST", url: "/v1/orders", status: 400,
			body: `{"amount":10.5}`, want: []string{`"key":"invalid_payload"`, `amount`}},
		{name: "order get", method: "GET", url: "/v1/orders/ord-1", status: 200, want: []string{`"amount":5000`, `"sku_id":"sku-1"`}},
		{name: "order update", method: "PUT", url: "/v1/orders/ord-1", status: 200, body: `{"status":"PAID"}`, want: []string{`"status":"PAID"`}},
		{name: "order get unknown", method: "GET", url: "/v1/orders/nope", status: 404, want: []string{envelope404}},
		{name: "order list", method: "GET", url: "/v1/orders", status: 200, want: []string{`"data_ref":"orders"`, `"total":1`}},
	})
}

func TestPublicationScenarios(t *testing.T) {
	t.Parallel()
	run(t, []scenario{
		{name: "publish from a campaign", method: "POST", url: "/v1/publications", status: 200,
			body: `{"campaign":{"name":"Seed Camp","count":1},"customer":{"source_id":"new-1","email":"n@example.com"},"channel":"API","source_id":"pub-1","metadata":{"k":"v"}}`,
			want: []string{`"object":"publication"`, `"id":"pub_`, `"result":"SUCCESS"`, `"code":"SEED-`, `"holder_id":"cust_`, `"tracking_id":"new-1"`, `"vouchers_id":["v_`}},
		{name: "publish by campaign name string", method: "POST", url: "/v1/publications", status: 200,
			body: `{"campaign":"Seed Camp","customer":{"source_id":"cust-1"}}`, want: []string{`"code":"SEED-`}},
		{name: "publish three", method: "POST", url: "/v1/publications", status: 200,
			body: `{"campaign":{"name":"Seed Camp","count":3},"customer":{"source_id":"cust-1"}}`, want: []string{`"vouchers":["SEED-`}},
		{name: "publish a specific voucher", method: "POST", url: "/v1/publications", status: 200,
			body: `{"voucher":"welcome-10","customer":{"source_id":"cust-1"}}`, want: []string{`"code":"WELCOME-10"`}},
		{name: "publish without a campaign or voucher", method: "POST", url: "/v1/publications", status: 400,
			body: `{"customer":{"source_id":"cust-1"}}`, want: []string{`"key":"missing_vouchers"`}},
		{name: "publish without a customer", method: "POST", url: "/v1/publications", status: 400,
			body: `{"campaign":"Seed Camp"}`, want: []string{`"key":"missing_customer"`}},
		{name: "publish from an unknown campaign", method: "POST", url: "/v1/publications", status: 404,
			body: `{"campaign":"nope","customer":{"source_id":"new-2"}}`, want: []string{envelope404}},
		{name: "publish from an empty pool", method: "POST", url: "/v1/publications", status: 400,
			body: `{"campaign":"Empty","customer":{"source_id":"new-2"}}`, want: []string{`"key":"no_voucher_suitable_for_publication"`}},
		{name: "publish more than the pool", method: "POST", url: "/v1/publications", status: 400,
			body: `{"campaign":{"name":"Seed Camp","count":6},"customer":{"source_id":"new-2"}}`, want: []string{`"key":"no_voucher_suitable_for_publication"`}},
		{name: "publish with a bad count", method: "POST", url: "/v1/publications", status: 400,
			body: `{"campaign":{"name":"Seed Camp","count":-1},"customer":{"source_id":"new-2"}}`, want: []string{`"key":"invalid_payload"`}},
		{name: "publish with a bad join_once", method: "POST", url: "/v1/publications?join_once=maybe", status: 400,
			body: `{"campaign":"Seed Camp","customer":{"source_id":"new-2"}}`, want: []string{`"key":"invalid_query_params"`}},
		{name: "publish an unknown voucher", method: "POST", url: "/v1/publications", status: 404,
			body: `{"voucher":"NOPE","customer":{"source_id":"new-2"}}`, want: []string{envelope404}},
		{name: "list", method: "GET", url: "/v1/publications?campaign=Seed%20Camp", status: 200,
			want: []string{`"data_ref":"publications","publications":[]`, `"total":0`}},
		{name: "actions list", method: "GET", url: "/v1/async-actions", status: 200,
			want: []string{`"data_ref":"async_actions"`, `"type":"CAMPAIGN.VOUCHERS_GENERATE"`, `"status":"DONE"`, `"progress":100`}},
		{name: "action unknown", method: "GET", url: "/v1/async-actions/aa_nope", status: 404, want: []string{envelope404}},
		{name: "no credentials", method: "GET", url: "/v1/campaigns", status: 401,
			headers: map[string]string{"X-App-Id": "", "X-App-Token": ""}, want: []string{`"code":401,"key":"unauthorized"`}},
		{name: "a wrong token", method: "POST", url: "/v1/campaigns", body: `{"name":"X"}`, status: 401,
			headers: map[string]string{"X-App-Token": "0000"}, want: []string{`"key":"unauthorized"`}},
	})
}

// TestPublicationFlow follows codes through publication, a duplicate
// source_id, the list filters, join_once and the audit log.
func TestPublicationFlow(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.seed(t)
	p := b.must(t, "POST", "/v1/publications", `{"campaign":"Seed Camp","customer":{"source_id":"c1"},"source_id":"ext-1"}`)
	code := p["voucher"].(map[string]any)["code"].(string)
	status, body := b.do(t, "POST", "/v1/publications", `{"campaign":"Seed Camp","customer":{"source_id":"c2"},"source_id":"ext-1"}`, nil)
	if status != 400 || !strings.Contains(body, `"key":"duplicate_source_id"`) {
		t.Fatalf("duplicate source_id: %d %s", status, body)
	}
	list := b.must(t, "GET", "/v1/publications?customer=c1", "")
	if list["total"].(float64) != 1 {
		t.Fatalf("publications of c1: %v", list)
	}
	v := b.must(t, "GET", "/v1/vouchers/"+code, "")
	if v["holder_id"] != p["customer_id"] || v["publish"].(map[string]any)["count"].(float64) != 1 {
		t.Fatalf("published voucher %v", v)
	}
	held := b.must(t, "GET", "/v1/vouchers?customer=c1", "")
	if held["total"].(float64) != 1 {
		t.Fatalf("vouchers of c1: %v", held)
	}
	again := b.must(t, "POST", "/v1/publications?join_once=true", `{"campaign":"Seed Camp","customer":{"source_id":"c1"}}`)
	if again["voucher"].(map[string]any)["code"] != code {
		t.Fatalf("join_once gave %v, want %s", again["voucher"], code)
	}
	audit := b.must(t, "GET", "/v1/vouchers/"+code+"/audit", "")
	if !strings.Contains(fmt.Sprint(audit), "published") {
		t.Fatalf("the voucher's audit lacks its publication: %v", audit)
	}
}

// TestConcurrentPublications: 200 customers race for a pool of 150 codes,
// and 50 requests of one customer race with join_once.
func TestConcurrentPublications(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.must(t, "POST", "/v1/campaigns", `{"name":"Race","type":"STATIC","vouchers_count":150,"voucher":{"discount":{"type":"AMOUNT","amount_off":100}}}`)
	b.wait(t, c["async_action_id"].(string))
	once := b.must(t, "POST", "/v1/campaigns", `{"name":"Once","type":"STATIC","vouchers_count":60,"voucher":{"discount":{"type":"AMOUNT","amount_off":100}}}`)
	b.wait(t, once["async_action_id"].(string))
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		codes     = map[string]int{}
		statuses  = map[string]int{}
		onceCodes = map[string]int{}
	)
	for i := range 200 {
		wg.Go(func() {
			status, body := b.do(t, "POST", "/v1/publications", fmt.Sprintf(`{"campaign":"Race","customer":{"source_id":"r%d"}}`, i), nil)
			var p struct {
				Key     string `json:"key"`
				Voucher struct{ Code string }
			}
			json.Unmarshal([]byte(body), &p)
			mu.Lock()
			defer mu.Unlock()
			statuses[fmt.Sprint(status, p.Key)]++
			if status == 200 {
				codes[p.Voucher.Code]++
			}
		})
	}
	for range 50 {
		wg.Go(func() {
			status, body := b.do(t, "POST", "/v1/publications?join_once=true", `{"campaign":"Once","customer":{"source_id":"same"}}`, nil)
			if status != 200 {
				t.Errorf("join_once publication: %d %s", status, body)
			}
			var p struct{ Voucher struct{ Code string } }
			json.Unmarshal([]byte(body), &p)
			mu.Lock()
			onceCodes[p.Voucher.Code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(codes) != 150 || statuses["200"] != 150 || statuses["400no_voucher_suitable_for_publication"] != 50 || len(statuses) != 2 {
		t.Fatalf("%d distinct codes; answers %v; want 150 distinct codes, 150 x 200 and 50 x no_voucher_suitable_for_publication", len(codes), statuses)
	}
	if len(onceCodes) != 1 {
		t.Fatalf("join_once gave %d codes (%v), want 1", len(onceCodes), onceCodes)
	}
}

// TestPublicationIdempotency: 20 concurrent retries of one publication with
// one Idempotency-Key publish one code, and all get the same answer; the
// key with another body answers 422 and changes nothing.
func TestPublicationIdempotency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.must(t, "POST", "/v1/campaigns", `{"name":"Idem","type":"STATIC","vouchers_count":10,"voucher":{"discount":{"type":"AMOUNT","amount_off":100}}}`)
	b.wait(t, c["async_action_id"].(string))
	key := map[string]string{"Idempotency-Key": "pub-key-1"}
	body := `{"campaign":"Idem","customer":{"source_id":"idem-customer"}}`
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers = map[string]int{}
	)
	for range 20 {
		wg.Go(func() {
			status, out := b.do(t, "POST", "/v1/publications", body, key)
			mu.Lock()
			defer mu.Unlock()
			if status != 200 {
				t.Errorf("publication: %d %s", status, out)
				return
			}
			answers[out]++
		})
	}
	wg.Wait()
	if len(answers) != 1 {
		t.Fatalf("%d different answers to one idempotent publication: %v", len(answers), answers)
	}
	pubs := b.must(t, "GET", "/v1/publications?campaign=Idem", "")
	if pubs["total"] != float64(1) {
		t.Fatalf("%v publications after 20 retries, want 1", pubs["total"])
	}
	before := b.must(t, "GET", "/v1/campaigns/Idem", "")
	status, out := b.do(t, "POST", "/v1/publications", `{"campaign":"Idem","customer":{"source_id":"someone-else"}}`, key)
	if status != 422 || !strings.Contains(out, `"key":"idempotency_key_reused"`) {
		t.Fatalf("same key, other body: %d %s", status, out)
	}
	if pubs := b.must(t, "GET", "/v1/publications?campaign=Idem", ""); pubs["total"] != float64(1) {
		t.Fatalf("a reused key published: %v publications", pubs["total"])
	}
	if after := b.must(t, "GET", "/v1/campaigns/Idem", ""); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a reused key changed the campaign:\n%v\n%v", before, after)
	}
	// Another key publishes another code.
	status, out = b.do(t, "POST", "/v1/publications", body, map[string]string{"Idempotency-Key": "pub-key-2"})
	if status != 200 {
		t.Fatalf("another key: %d %s", status, out)
	}
	if _, seen := answers[out]; seen {
		t.Errorf("another key replayed the first answer")
	}
}

// TestImportCSVUpload imports a multipart CSV upload and reports per-code
// failures in the async action.
func TestImportCSVUpload(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.seed(t)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "codes.csv")
	fmt.Fprint(fw, "code,quantity,tier\nCSV-1,2,gold\nCSV-2,,silver\nwelcome 10,,\nbad\u200bone,,\n")
	mw.Close()
	status, body := b.do(t, "POST", "/v1/campaigns/Seed%20Camp/importCSV", buf.String(), map[string]string{"Content-Type": mw.FormDataContentType()})
	if status != 202 {
		t.Fatalf("importCSV: %d %s", status, body)
	}
	var res struct {
		AsyncActionID string `json:"async_action_id"`
	}
	json.Unmarshal([]byte(body), &res)
	a := b.wait(t, res.AsyncActionID)
	r := a["result"].(map[string]any)
	if a["type"] != promo.ActionCampaignCSV || r["done_count"].(float64) != 2 || r["failed_count"].(float64) != 2 {
		t.Fatalf("import action %v", a)
	}
	failed := fmt.Sprint(r["failed"])
	if !strings.Contains(failed, "duplicate") || !strings.Contains(failed, "malformed") {
		t.Fatalf("failures %s name neither duplicate nor malformed", failed)
	}
	v := b.must(t, "GET", "/v1/vouchers/csv-1", "")
	if v["metadata"].(map[string]any)["tier"] != "gold" || v["redemption"].(map[string]any)["quantity"].(float64) != 2 {
		t.Fatalf("imported voucher %v", v)
	}
	if c := b.must(t, "GET", "/v1/campaigns/Seed%20Camp", ""); c["vouchers_count"].(float64) != 7 {
		t.Fatalf("campaign after import: %v", c["vouchers_count"])
	}
}
