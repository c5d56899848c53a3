package promo

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// createBody is the request body of Voucherify's example for POST
// /v1/validation-rules (reference/openapi/validation-rules.json).
const createBody = `{"name": "Set of Validation Rules", "error": {"message": "Your order does not meet at least one of the required criteria."}, "applicable_to": {"included_all": false, "excluded": [{"object": "product", "id": "prod_0bae45ffc7003ffc52", "source_id": "second_product", "effect": "APPLY_TO_EVERY"}], "included": [{"object": "product", "id": "prod_0b72b00ffed198e344", "source_id": null, "effect": "APPLY_TO_MOST_EXPENSIVE", "quantity_limit": 1}, {"object": "products_collection", "id": "pc_4ndRXAsTOzwSdHcQcxf489uU", "source_id": null, "effect": "APPLY_TO_EVERY", "quantity_limit": 5}]}, "rules": {"1": {"name": "order.metadata", "property": "location", "rules": {}, "conditions": {"$is": ["Santorini"]}, "error": {"message": "Your order must be placed at one of our Santorini shops."}}, "2": {"name": "custom_event.metadata", "property": "test", "rules": {}, "conditions": {"$greater_than_or_equal": [1]}}, "3": {"name": "order.items.every", "rules": {"1": {"name": "order.items.metadata", "property": "test", "rules": {}, "conditions": {"$greater_than_or_equal": [1]}}}, "conditions": {"$is": [{"id": "<PROD_ID>", "effect": "APPLY_TO_EVERY", "object": "product", "source_id": "<SOURCE_ID>"}]}}, "logic": "1 or 2"}}`

// getBody is the response of Voucherify's example for GET
// /v1/validation-rules/{id}, less "object", which the HTTP layer adds.
const getBody = `{"id": "val_TU4de3EP4dlL", "name": "Order is less than $40", "rules": {"1": {"name": "order.amount", "property": null, "conditions": {"$less_than": [4000]}, "rules": {}}, "logic": "1"}, "applicable_to": {"excluded": [], "included": [], "included_all": false}, "created_at": "2022-08-11T16:42:13.630Z", "type": "advanced", "context_type": "reward_assignment.pay_with_points"}`

// withoutNulls returns v with the object members that are null removed:
// null and a left-out member mean the same.
func withoutNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if e != nil {
				out[k] = withoutNulls(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutNulls(e)
		}
		return out
	}
	return v
}

// contains reports whether got has every member want has, with equal values.
func contains(got, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, e := range w {
			if !contains(g[k], e) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !contains(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

func decodeAny(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return withoutNulls(v)
}

func TestValidationRuleJSONRoundTrip(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{"create": createBody, "get": getBody} {
		var r ValidationRule
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, want := decodeAny(t, out), decodeAny(t, []byte(body)); !contains(got, want) {
			t.Errorf("%s: the JSON written back\n%s\nlacks some of\n%s", name, out, body)
		}
		var again ValidationRule
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(again, r) {
			t.Errorf("%s: read back\n%+v\nwant\n%+v", name, again, r)
		}
	}
	// The get example is whole: nothing is added to it but what is empty.
	var r ValidationRule
	if err := json.Unmarshal([]byte(getBody), &r); err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	out, _ := json.Marshal(r)
	if got, want := decodeAny(t, out), decodeAny(t, []byte(getBody)); !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%s\nwant\n%s", out, getBody)
	}
	if v, err := r.Evaluate(RuleContext{Order: &Order{Amount: 3999}}); v != nil || err != nil {
		t.Errorf("3999 < 4000: %+v, %v", v, err)
	}
	if v, err := r.Evaluate(RuleContext{Order: &Order{Amount: 4000}}); v == nil || err != nil {
		t.Errorf("4000 < 4000 passes: %v", err)
	}
}

func TestRuleSetJSON(t *testing.T) {
	t.Parallel()
	s := RuleSet{Logic: "1 AND 10", Rules: map[string]Rule{}}
	for _, k := range []string{"1", "2", "10", "3", "9"} {
		s.Rules[k] = amountRule(OpMoreThan, 1)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	got := string(b)
	var at []int
	for _, k := range []string{`"1":`, `"2":`, `"3":`, `"9":`, `"10":`, `"logic":`} {
		at = append(at, strings.Index(got, k))
	}
	for i := 1; i < len(at); i++ {
		if at[i-1] < 0 || at[i] <= at[i-1] {
			t.Fatalf("keys out of number order, or logic not last: %s", got)
		}
	}
	if b, _ := json.Marshal(RuleSet{}); string(b) != "{}" {
		t.Errorf("empty rule set: %s", b)
	}
	if b, _ := json.Marshal(Rule{Name: "order.amount"}); string(b) != `{"name":"order.amount","conditions":{},"rules":{}}` {
		t.Errorf("bare rule: %s", b)
	}

	// Numbers keep every digit.
	var r Rule
	if err := json.Unmarshal([]byte(`{"name":"order.metadata","property":"p","conditions":{"$is":[12345678901234567890.5]}}`), &r); err != nil {
		t.Fatal(err)
	}
	if n, ok := r.Conditions[OpIs][0].(json.Number); !ok || n != "12345678901234567890.5" {
		t.Errorf("value %#v", r.Conditions[OpIs][0])
	}

	bad := []struct{ body, want string }{
		{`[]`, "rules must be an object"},
		{`{"logic": 5}`, "rules.logic must be a string"},
		{`{"1": {"name": "order.amount", "conditions": {"$is": 5}}}`, "conditions.$is must be an array"},
		{`{"1": {"name": "order.amount", "conditions": []}}`, "conditions must be an object"},
		{`{"1": 7}`, "rules.1"},
		{strings.Repeat(`{"1":{"rules":`, 20) + "{}" + strings.Repeat("}}", 20), "nest too deep"},
	}
	for _, tt := range bad {
		var s RuleSet
		if err := json.Unmarshal([]byte(tt.body), &s); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one with %q", tt.body, err, tt.want)
		}
	}
}

func TestValidateDefaults(t *testing.T) {
	t.Parallel()
	r := ValidationRule{Name: "defaults", Rules: RuleSet{Rules: map[string]Rule{
		"1": amountRule(OpMoreThan, 100),
		"2": amountRule(OpLessThan, 1000),
		"3": {Name: "order.items.any", Conditions: Conditions{OpIs: {"prod_1"}}, Rules: RuleSet{Rules: map[string]Rule{
			"1": {Name: "product.quantity", Conditions: Conditions{OpMoreThan: {1}}},
			"2": {Name: "product.price", Conditions: Conditions{OpMoreThan: {1}}},
		}}},
	}}}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if r.Rules.Logic != "1 AND 2 AND 3" {
		t.Errorf("logic %q", r.Rules.Logic)
	}
	if l := r.Rules.Rules["3"].Rules.Logic; l != "1 AND 2" {
		t.Errorf("nested logic %q", l)
	}
	if r.Type != "expression" || r.ContextType != "global" {
		t.Errorf("type %q, context_type %q", r.Type, r.ContextType)
	}
	if r.ApplicableTo.Included == nil || r.ApplicableTo.Excluded == nil {
		t.Errorf("applicable_to lists left nil")
	}
	// A rule set without rules passes whatever the order.
	empty := ValidationRule{Name: "empty"}
	if err := empty.Validate(); err != nil || empty.Rules.Logic != "" {
		t.Fatalf("%v, logic %q", err, empty.Rules.Logic)
	}
	if v, err := empty.Evaluate(RuleContext{}); v != nil || err != nil {
		t.Errorf("empty: %+v, %v", v, err)
	}
}

func TestValidateErrors(t *testing.T) {
	t.Parallel()
	one := func(r Rule) RuleSet { return RuleSet{Rules: map[string]Rule{"1": r}} }
	cond := func(name, op string, vals ...any) Rule {
		return Rule{Name: name, Conditions: Conditions{op: vals}}
	}
	meta := func(name, op string, vals ...any) Rule {
		r := cond(name, op, vals...)
		r.Property = "p"
		return r
	}
	many := RuleSet{Rules: map[string]Rule{}}
	for i := 1; i <= MaxRules+1; i++ {
		many.Rules[strconv.Itoa(i)] = amountRule(OpMoreThan, 1)
	}
	tests := []struct {
		name string
		r    ValidationRule
		want string
	}{
		{"no name", ValidationRule{}, "name is required"},
		{"bad type", ValidationRule{Name: "x", Type: "fancy"}, `type "fancy" is unknown`},
		{"bad context", ValidationRule{Name: "x", ContextType: "Hello World"}, "context_type"},
		{"unknown rule", ValidationRule{Name: "x", Rules: one(cond("custom_event.metadata", OpIs, "x"))}, `rules.1: unknown rule name "custom_event.metadata"`},
		{"segment", ValidationRule{Name: "x", Rules: one(cond("customer.segment", OpIs, "seg_1"))}, `unknown rule name "customer.segment"`},
		{"no rule name", ValidationRule{Name: "x", Rules: one(Rule{Conditions: Conditions{OpIs: {1}}})}, "rules.1: name is required"},
		{"item rule at the top", ValidationRule{Name: "x", Rules: one(cond("product.quantity", OpIs, 1))}, "is an item rule: nest it under"},
		{"top rule nested", ValidationRule{Name: "x", Rules: one(Rule{Name: "order.items.any", Conditions: Conditions{OpIs: {"p"}}, Rules: one(amountRule(OpIs, 1))})}, "rules.1.rules.1: order.amount cannot be nested"},
		{"nested under a plain rule", ValidationRule{Name: "x", Rules: one(Rule{Name: "order.amount", Conditions: Conditions{OpIs: {1}}, Rules: one(cond("product.quantity", OpIs, 1))})}, "order.amount takes no nested rules"},
		{"too deep", ValidationRule{Name: "x", Rules: one(Rule{Name: "order.items.any", Conditions: Conditions{OpIs: {"p"}}, Rules: one(Rule{Name: "product.quantity", Conditions: Conditions{OpIs: {1}}, Rules: one(cond("product.price", OpIs, 1))})})}, "rules nest at most 2 levels deep"},
		{"unknown operator", ValidationRule{Name: "x", Rules: one(cond("order.amount", "$about", 1))}, `unknown operator "$about"`},
		{"operator not taken", ValidationRule{Name: "x", Rules: one(cond("order.amount", OpStartsWith, "1"))}, "order.amount does not take $starts_with"},
		{"no conditions", ValidationRule{Name: "x", Rules: one(Rule{Name: "order.amount"})}, "order.amount needs conditions"},
		{"no value", ValidationRule{Name: "x", Rules: one(cond("order.amount", OpIs))}, "$is needs a value"},
		{"two values for $is", ValidationRule{Name: "x", Rules: one(cond("order.amount", OpIs, 1, 2))}, "$is takes one value, not 2"},
		{"fraction of money", ValidationRule{Name: "x", Rules: one(cond("order.amount", OpMoreThan, json.Number("12.5")))}, "12.5 is not a whole number"},
		{"string for money", ValidationRule{Name: "x", Rules: one(cond("order.amount", OpMoreThan, "100"))}, `"100" is not a whole number`},
		{"huge number", ValidationRule{Name: "x", Rules: one(cond("order.amount", OpMoreThan, json.Number("1e500")))}, "not a whole number"},
		{"string op with number", ValidationRule{Name: "x", Rules: one(meta("order.metadata", OpStartsWith, 5))}, "5 is not a string"},
		{"ordering a word", ValidationRule{Name: "x", Rules: one(meta("order.metadata", OpMoreThan, "gold"))}, "neither a number nor a date"},
		{"object for $is", ValidationRule{Name: "x", Rules: one(meta("customer.metadata", OpIs, map[string]any{"a": 1}))}, "is not a string, a number or true or false"},
		{"$exists with a value", ValidationRule{Name: "x", Rules: one(meta("customer.metadata", OpExists, "x"))}, "$exists takes no values"},
		{"missing property", ValidationRule{Name: "x", Rules: one(cond("order.metadata", OpIs, "x"))}, "order.metadata needs a property"},
		{"property where none is taken", ValidationRule{Name: "x", Rules: one(meta("order.amount", OpIs, 1))}, "order.amount takes no property"},
		{"country name", ValidationRule{Name: "x", Rules: one(cond("customer.address.country", OpIs, "Poland"))}, "two-letter ISO 3166"},
		{"holder with a string", ValidationRule{Name: "x", Rules: one(cond("publication.redeemable_by_linked_customer", OpIs, "yes"))}, "is not true or false"},
		{"empty reference", ValidationRule{Name: "x", Rules: one(cond("order.items.any", OpIs, ""))}, "names no product or SKU"},
		{"collection", ValidationRule{Name: "x", Rules: one(cond("order.items.any", OpIs, map[string]any{"object": "products_collection", "id": "pc_1"}))}, "product collections are not supported"},
		{"sku in product.id", ValidationRule{Name: "x", Rules: one(cond("product.id", OpIs, map[string]any{"object": "sku", "id": "sku_1"}))}, "this rule names products"},
		{"reference without id", ValidationRule{Name: "x", Rules: one(cond("order.items.any", OpIs, map[string]any{"object": "product"}))}, "id or source_id is required"},
		{"$is_not for any", ValidationRule{Name: "x", Rules: one(cond("order.items.any", OpIsNot, "p"))}, "order.items.any does not take $is_not"},
		{"key not a number", ValidationRule{Name: "x", Rules: RuleSet{Rules: map[string]Rule{"one": amountRule(OpIs, 1)}}}, `key "one" is not a rule number`},
		{"key with a zero", ValidationRule{Name: "x", Rules: RuleSet{Rules: map[string]Rule{"01": amountRule(OpIs, 1)}}}, `key "01" is not a rule number`},
		{"gap in keys", ValidationRule{Name: "x", Rules: RuleSet{Rules: map[string]Rule{"1": amountRule(OpIs, 1), "3": amountRule(OpIs, 1)}}}, "numbered 1 to 2, not 3"},
		{"logic names a missing rule", ValidationRule{Name: "x", Rules: RuleSet{Logic: "1 AND 2", Rules: map[string]Rule{"1": amountRule(OpIs, 1)}}}, `rules.logic "1 AND 2": at byte 7: it names rule 2, but the rules are numbered 1 to 1`},
		{"logic does not parse", ValidationRule{Name: "x", Rules: RuleSet{Logic: "1 AND (", Rules: map[string]Rule{"1": amountRule(OpIs, 1)}}}, "expected a rule number"},
		{"logic without rules", ValidationRule{Name: "x", Rules: RuleSet{Logic: "1"}}, "there are no rules"},
		{"too many rules", ValidationRule{Name: "x", Rules: many}, "the limit is 50"},
		{"applicable_to without object", ValidationRule{Name: "x", ApplicableTo: ApplicableTo{Included: []ApplicableItem{{ID: "prod_1"}}}}, "applicable_to.included[0]: object is required"},
		{"applicable_to collection", ValidationRule{Name: "x", ApplicableTo: ApplicableTo{Excluded: []ApplicableItem{{Object: "products_collection", ID: "pc_1"}}}}, "applicable_to.excluded[0]: product collections"},
		{"applicable_to effect", ValidationRule{Name: "x", ApplicableTo: ApplicableTo{Included: []ApplicableItem{{Object: "sku", ID: "s", Effect: "APPLY_TO_ALL"}}}}, `effect "APPLY_TO_ALL" is unknown`},
	}
	for _, tt := range tests {
		err := tt.r.Validate()
		if ErrorCode(err) != EInvalidPayload || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %s with %q", tt.name, err, EInvalidPayload, tt.want)
		}
		// Evaluate refuses what Validate refuses about the rules.
		if strings.HasPrefix(err.(*Error).Details, "rules") {
			if _, err := tt.r.Evaluate(RuleContext{}); ErrorCode(err) != EInvalidPayload {
				t.Errorf("%s: Evaluate: %v", tt.name, err)
			}
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	t.Parallel()
	rules := []Rule{
		{Name: "order.amount", Conditions: Conditions{OpMoreThanOrEqual: {json.Number("1e3")}}},
		{Name: "order.metadata", Property: "p", Conditions: Conditions{"$greater_than_or_equal": {1}}},
		{Name: "order.metadata", Property: "p", Conditions: Conditions{OpExists: {}}},
		{Name: "order.metadata", Property: "p", Conditions: Conditions{OpIsUnknown: nil}},
		{Name: "order.metadata", Property: "p", Conditions: Conditions{OpLessThan: {"2026-01-31"}}},
		{Name: "customer.metadata", Property: "p", Conditions: Conditions{OpIn: {"a", 1, true, json.Number("2.5")}}},
		{Name: "publication.redeemable_by_linked_customer"},
		{Name: "customer.first_purchase", Conditions: Conditions{OpIs: {false}}},
		{Name: "customer.address.country", Conditions: Conditions{OpNotIn: {"pl", "DE"}}},
		{Name: "order.items.every", Conditions: Conditions{OpIs: {"a", map[string]any{"object": "sku", "source_id": "b"}, ApplicableItem{Object: "product", ID: "c"}}}},
		{Name: "sku.id", Conditions: Conditions{OpNotIn: {"sku_1"}}, Rules: RuleSet{Rules: map[string]Rule{"1": {Name: "sku.quantity", Conditions: Conditions{OpMoreThan: {1}}}}}},
		{Name: "redemption.count.per_customer.monthly", Conditions: Conditions{OpLessThanOrEqual: {3}}},
		{Name: "campaign.orders.amount_discounted", Conditions: Conditions{OpLessThanOrEqual: {100000}}},
	}
	for _, r := range rules {
		vr := ValidationRule{Name: "ok", Rules: RuleSet{Rules: map[string]Rule{"1": r}}}
		if err := vr.Validate(); err != nil {
			t.Errorf("%s %v: %v", r.Name, r.Conditions, err)
		}
	}
}

func TestApplicableToEligible(t *testing.T) {
	t.Parallel()
	order := &Order{Items: []OrderItem{
		{ProductID: "prod_a", SKUID: "sku_a1", Quantity: 1, Price: 100},
		{SourceID: "src-b", RelatedObject: "product", Quantity: 2, Price: 200},
		{SourceID: "src-c1", RelatedObject: "sku", Product: &Product{ID: "prod_c", SourceID: "src-c"}, Quantity: 1, Price: 300},
		{SKU: &Product{ID: "sku_d1", SourceID: "src-d1"}, Quantity: 1, Price: 400},
	}}
	prod := func(id, src string) ApplicableItem {
		return ApplicableItem{Object: ObjectProduct, ID: id, SourceID: src}
	}
	sku := func(id, src string) ApplicableItem { return ApplicableItem{Object: ObjectSKU, ID: id, SourceID: src} }
	tests := []struct {
		name string
		a    ApplicableTo
		want []bool
	}{
		{"nothing named", ApplicableTo{}, []bool{true, true, true, true}},
		{"included all", ApplicableTo{IncludedAll: true}, []bool{true, true, true, true}},
		{"product by id", ApplicableTo{Included: []ApplicableItem{prod("prod_a", "")}}, []bool{true, false, false, false}},
		{"product by source id", ApplicableTo{Included: []ApplicableItem{prod("", "src-b")}}, []bool{false, true, false, false}},
		{"a SKU's product", ApplicableTo{Included: []ApplicableItem{prod("prod_c", "")}}, []bool{false, false, true, false}},
		{"a SKU's source id is not its product's", ApplicableTo{Included: []ApplicableItem{prod("", "src-c1")}}, []bool{false, false, false, false}},
		{"sku by source id", ApplicableTo{Included: []ApplicableItem{sku("", "src-c1"), sku("", "src-d1")}}, []bool{false, false, true, true}},
		{"sku by id", ApplicableTo{Included: []ApplicableItem{sku("sku_a1", "")}}, []bool{true, false, false, false}},
		{"excluded from all", ApplicableTo{IncludedAll: true, Excluded: []ApplicableItem{prod("prod_a", ""), sku("sku_d1", "")}}, []bool{false, true, true, false}},
		{"excluded only", ApplicableTo{Excluded: []ApplicableItem{prod("", "src-b")}}, []bool{true, false, true, true}},
		{"excluded wins", ApplicableTo{Included: []ApplicableItem{prod("prod_a", "")}, Excluded: []ApplicableItem{sku("sku_a1", "")}}, []bool{false, false, false, false}},
		{"either id matches", ApplicableTo{Included: []ApplicableItem{prod("prod_x", "src-b")}}, []bool{false, true, false, false}},
		{"empty ids match nothing", ApplicableTo{Included: []ApplicableItem{{Object: ObjectProduct}}}, []bool{false, false, false, false}},
	}
	for _, tt := range tests {
		if got := tt.a.Eligible(order); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
		f := tt.a.Eligibility()
		if (f == nil) != (len(tt.a.Included) == 0 && len(tt.a.Excluded) == 0) {
			t.Errorf("%s: Eligibility() nil is %v", tt.name, f == nil)
		}
		for i, it := range order.Items {
			if f != nil && f(i, it) != tt.want[i] {
				t.Errorf("%s: Eligibility()(%d) = %v", tt.name, i, f(i, it))
			}
		}
	}
	if got := (ApplicableTo{}).Eligible(nil); got != nil {
		t.Errorf("nil order: %v", got)
	}
	if (ApplicableItem{ID: "sku_d1"}).Matches(&order.Items[3]) != true {
		t.Errorf("a reference without an object names SKUs too")
	}
}

// FuzzValidationRuleJSON checks that no body makes decoding, Validate or
// Evaluate panic, that a valid rule evaluates without error, and that what
// Validate accepts is written back to JSON that reads and validates the same.
func FuzzValidationRuleJSON(f *testing.F) {
	f.Add([]byte(createBody))
	f.Add([]byte(getBody))
	f.Add([]byte(`{"name":"x","rules":{"1":{"name":"order.items.any","conditions":{"$in":["a",{"object":"sku","id":"b"}]},"rules":{"1":{"name":"product.quantity","conditions":{"$more_than":[1]}},"logic":"NOT 1"}},"2":{"name":"customer.metadata","property":"p","conditions":{"$is":[1.5]}},"logic":"1 or not 2"}}`))
	f.Add([]byte(`{"name":"x","rules":{"1":{"name":"redemption.count.per_customer.daily","conditions":{"$less_than_or_equal":[3]}},"2":{"name":"publication.redeemable_by_linked_customer"}}}`))
	ctx := RuleContext{
		Now:      time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC),
		Order:    &Order{Amount: 1000, Items: []OrderItem{{ProductID: "a", Quantity: 2, Price: 500, Metadata: Metadata{"p": 1.5}}}, Metadata: Metadata{"location": "Santorini"}},
		Customer: &Customer{ID: "cust_1", Metadata: Metadata{"p": json.Number("1.5")}, Address: &Address{Country: "PL"}},
		HolderID: "cust_1",
		Discount: 100,
		Count:    func(string, time.Time) (int64, error) { return 2, nil },
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r ValidationRule
		if json.Unmarshal(body, &r) != nil {
			return
		}
		r.CountNames()
		_, evalErr := r.Evaluate(ctx)
		if r.Validate() != nil {
			return
		}
		if evalErr != nil {
			t.Fatalf("Evaluate before Validate: %v", evalErr)
		}
		v, err := r.Evaluate(ctx)
		if err != nil {
			t.Fatalf("Evaluate: %v", err)
		}
		if v != nil && (v.Code == "" || v.Message == "" || v.Reason == "" || v.Key == "") {
			t.Fatalf("violation %+v", v)
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("Marshal: %v", err)
		}
		var again ValidationRule
		if err := json.Unmarshal(out, &again); err != nil {
			t.Fatalf("Unmarshal(%s): %v", out, err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("Validate(%s): %v", out, err)
		}
		if v2, err := again.Evaluate(ctx); err != nil || (v == nil) != (v2 == nil) {
			t.Fatalf("evaluates differently after a round trip: %+v, %+v, %v", v, v2, err)
		}
	})
}
