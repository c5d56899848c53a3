package promo

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// evalCase is one rule evaluated in one context.
type evalCase struct {
	name string
	rule Rule
	ctx  RuleContext
	// code is the failure's code, "" when the rule must pass.
	code string
	// reason, when set, is part of the failure's reason.
	reason string
}

// runEvalCases evaluates each case's rule as the one rule of a validation
// rule, which must be valid.
func runEvalCases(t *testing.T, cases []evalCase) {
	t.Helper()
	for _, tt := range cases {
		r := ValidationRule{ID: "val_1", Name: "test", Rules: RuleSet{Rules: map[string]Rule{"1": tt.rule}}}
		if err := r.Validate(); err != nil {
			t.Errorf("%s: Validate: %v", tt.name, err)
			continue
		}
		v, err := r.Evaluate(tt.ctx)
		switch {
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.code == "" && v != nil:
			t.Errorf("%s: fails: %s", tt.name, v.Reason)
		case tt.code != "" && v == nil:
			t.Errorf("%s: passes, want %s", tt.name, tt.code)
		case tt.code != "" && v.Code != tt.code:
			t.Errorf("%s: code %s, want %s (%s)", tt.name, v.Code, tt.code, v.Reason)
		case v != nil && (v.Key != "1" || v.Name != tt.rule.Name || v.RuleID != "val_1" || v.Message != v.Reason || v.Custom):
			t.Errorf("%s: violation %+v", tt.name, v)
		case v != nil && !strings.Contains(v.Reason, tt.reason):
			t.Errorf("%s: reason %q, want one with %q", tt.name, v.Reason, tt.reason)
		}
	}
}

func c(op string, vals ...any) Conditions { return Conditions{op: vals} }

func TestEvaluateOrderAmounts(t *testing.T) {
	t.Parallel()
	amount := func(op string, vals ...any) Rule { return Rule{Name: "order.amount", Conditions: c(op, vals...)} }
	o := func(a int64) RuleContext {
		return RuleContext{Order: &Order{Amount: a, Items: []OrderItem{{Quantity: 1, Price: a}}}}
	}
	bad := EOrderRulesViolated
	runEvalCases(t, []evalCase{
		{"$is", amount(OpIs, 5000), o(5000), "", ""},
		{"$is fails", amount(OpIs, 5000), o(5001), bad, "order.amount is 5001, which fails $is [5000]"},
		{"$is_not", amount(OpIsNot, 5000), o(5001), "", ""},
		{"$is_not fails", amount(OpIsNot, 5000), o(5000), bad, ""},
		{"$in", amount(OpIn, 100, 5000), o(5000), "", ""},
		{"$in fails", amount(OpIn, 100, 200), o(5000), bad, ""},
		{"$not_in", amount(OpNotIn, 100, 200), o(5000), "", ""},
		{"$not_in fails", amount(OpNotIn, 100, 5000), o(5000), bad, ""},
		{"$more_than", amount(OpMoreThan, 4999), o(5000), "", ""},
		{"$more_than at the bound", amount(OpMoreThan, 5000), o(5000), bad, ""},
		{"$more_than_or_equal", amount(OpMoreThanOrEqual, 5000), o(5000), "", ""},
		{"$more_than_or_equal fails", amount(OpMoreThanOrEqual, 5001), o(5000), bad, ""},
		{"$less_than", amount(OpLessThan, 5001), o(5000), "", ""},
		{"$less_than at the bound", amount(OpLessThan, 5000), o(5000), bad, ""},
		{"$less_than_or_equal", amount(OpLessThanOrEqual, 5000), o(5000), "", ""},
		{"$less_than_or_equal fails", amount(OpLessThanOrEqual, 4999), o(5000), bad, ""},
		{"two conditions", Rule{Name: "order.amount", Conditions: Conditions{OpMoreThan: {1000}, OpLessThan: {6000}}}, o(5000), "", ""},
		{"two conditions, one fails", Rule{Name: "order.amount", Conditions: Conditions{OpMoreThan: {1000}, OpLessThan: {5000}}}, o(5000), bad, "$less_than [5000]"},
		{"JSON number", amount(OpMoreThanOrEqual, json.Number("5e3")), o(5000), "", ""},
		{"alias", amount("$greater_than_or_equal", 5000), o(5000), "", ""},
		{"no order", amount(OpMoreThan, 0), RuleContext{}, EMissingAmount, "the order has no amount"},
		{"empty order", amount(OpLessThan, 100), RuleContext{Order: &Order{}}, EMissingAmount, ""},
		{"initial amount", Rule{Name: "order.initial_amount", Conditions: c(OpIs, 6000)}, RuleContext{Order: &Order{Amount: 5000, InitialAmount: 6000}}, "", ""},
		{"initial amount is the amount", Rule{Name: "order.initial_amount", Conditions: c(OpIs, 5000)}, o(5000), "", ""},
	})
}

func TestEvaluateOrderItems(t *testing.T) {
	t.Parallel()
	order := RuleContext{Order: &Order{Amount: 1100, Items: []OrderItem{
		{ProductID: "prod_a", Quantity: 2, Price: 100, Amount: 200},
		{ProductID: "prod_b", Quantity: 3, Price: 300, Amount: 900},
	}}}
	rule := func(name, op string, vals ...any) Rule { return Rule{Name: name, Conditions: c(op, vals...)} }
	empty := RuleContext{Order: &Order{Amount: 100}}
	bad := EOrderRulesViolated
	runEvalCases(t, []evalCase{
		{"count", rule("order.items.count", OpIs, 2), order, "", ""},
		{"count fails", rule("order.items.count", OpMoreThan, 2), order, bad, "order.items.count is 2"},
		{"count without items", rule("order.items.count", OpMoreThan, 0), empty, EMissingOrderItems, ""},
		{"count without items passes", rule("order.items.count", OpIs, 0), empty, "", ""},
		{"quantity", rule("order.items.quantity", OpIs, 5), order, "", ""},
		{"aggregated quantity", rule("order.items.aggregated_quantity", OpMoreThanOrEqual, 5), order, "", ""},
		{"aggregated quantity fails", rule("order.items.aggregated_quantity", OpMoreThan, 5), order, bad, "is 5"},
		{"a line without quantity is one unit", rule("order.items.aggregated_quantity", OpIs, 1), RuleContext{Order: &Order{Items: []OrderItem{{Price: 5}}}}, "", ""},
		{"aggregated amount", rule("order.items.aggregated_amount", OpIs, 1100), order, "", ""},
		{"price of any", rule("order.items.price_any", OpMoreThan, 200), order, "", ""},
		{"price of any fails", rule("order.items.price_any", OpMoreThan, 300), order, bad, "no item's price meets $more_than [300]"},
		{"price of each", rule("order.items.price_each", OpMoreThanOrEqual, 100), order, "", ""},
		{"price of each fails", rule("order.items.price_each", OpMoreThan, 100), order, bad, "item 0's price is 100"},
		{"price of each without items", rule("order.items.price_each", OpMoreThan, 0), empty, EMissingOrderItems, ""},
	})
}

func TestEvaluateItemRules(t *testing.T) {
	t.Parallel()
	order := RuleContext{Order: &Order{Amount: 1600, Items: []OrderItem{
		{ProductID: "prod_a", SKUID: "sku_a1", Quantity: 1, Price: 100, Amount: 100, Metadata: Metadata{"gift": true}},
		{SourceID: "src-b", Product: &Product{Metadata: Metadata{"brand": "acme"}}, Quantity: 3, Price: 300, Amount: 900},
		{ProductID: "prod_a", SKUID: "sku_a2", Quantity: 2, Price: 300, Amount: 600},
	}}}
	noItems := RuleContext{Order: &Order{Amount: 100}}
	nest := func(r Rule, logic string, nested ...Rule) Rule {
		r.Rules = RuleSet{Logic: logic, Rules: map[string]Rule{}}
		for i, n := range nested {
			r.Rules.Rules[string(rune('1'+i))] = n
		}
		return r
	}
	rule := func(name, op string, vals ...any) Rule { return Rule{Name: name, Conditions: c(op, vals...)} }
	meta := func(name, prop, op string, vals ...any) Rule {
		return Rule{Name: name, Property: prop, Conditions: c(op, vals...)}
	}
	prodRef := func(id string) map[string]any { return map[string]any{"object": "product", "id": id} }
	skuRef := func(src string) map[string]any { return map[string]any{"object": "sku", "source_id": src} }
	bad := EOrderRulesViolated
	runEvalCases(t, []evalCase{
		{"any by id", rule("order.items.any", OpIs, "prod_a"), order, "", ""},
		{"any by source id", rule("order.items.any", OpIn, "nope", "src-b"), order, "", ""},
		{"any by sku id", rule("order.items.any", OpIs, "sku_a2"), order, "", ""},
		{"any by object", rule("order.items.any", OpIs, prodRef("prod_a")), order, "", ""},
		{"any fails", rule("order.items.any", OpIn, "prod_x", "prod_y"), order, bad, `no item matches any of ["prod_x","prod_y"]`},
		{"any of an sku object does not match a product id", rule("order.items.any", OpIs, map[string]any{"object": "sku", "id": "prod_a"}), order, bad, ""},
		{"any without items", rule("order.items.any", OpIs, "prod_a"), noItems, EMissingOrderItems, "the order has no items"},
		{"every", rule("order.items.every", OpIs, "prod_a", "src-b"), order, "", ""},
		{"every fails", rule("order.items.every", OpIs, "prod_a", "prod_x"), order, bad, `no item matches product or SKU "prod_x"`},
		{"every without items", rule("order.items.every", OpIs, "prod_a"), noItems, EMissingOrderItems, ""},
		{"none", rule("order.items.none", OpIs, "prod_x", "sku_zz"), order, "", ""},
		{"none fails", rule("order.items.none", OpIn, "prod_x", "src-b"), order, bad, `item 1 matches product or SKU "src-b"`},
		{"none without items", rule("order.items.none", OpIs, "prod_a"), noItems, "", ""},
		{"product.id", rule("product.id", OpIs, "prod_a"), order, "", ""},
		{"product.id does not name SKUs", rule("product.id", OpIs, "sku_a1"), order, bad, ""},
		{"product.id $not_in", rule("product.id", OpNotIn, "prod_x"), order, "", ""},
		{"product.id $is_not fails", rule("product.id", OpIsNot, "src-b"), order, bad, "item 1 matches product"},
		{"sku.id", rule("sku.id", OpIn, "sku_a2"), order, "", ""},
		{"sku.id by object", rule("sku.id", OpIs, skuRef("nope")), order, bad, ""},
		{"nested quantity", nest(rule("product.id", OpIs, "prod_a"), "", rule("product.quantity", OpMoreThanOrEqual, 2)), order, "", ""},
		{"nested quantity fails", nest(rule("product.id", OpIs, "prod_a"), "", rule("product.quantity", OpMoreThanOrEqual, 3)), order, bad, "and passes the nested rules"},
		{"nested aggregated quantity", nest(rule("product.id", OpIs, "prod_a"), "", rule("order.items.aggregated_quantity", OpIs, 3)), order, "", ""},
		{"nested aggregated amount", nest(rule("order.items.any", OpIs, "prod_a"), "", rule("order.items.aggregated_amount", OpIs, 700)), order, "", ""},
		{"nested price", nest(rule("order.items.any", OpIs, "prod_a"), "", rule("product.price", OpIs, 300)), order, "", ""},
		{"nested price and quantity on one line", nest(rule("order.items.any", OpIs, "prod_a"), "1 AND 2", rule("order.items.price", OpIs, 300), rule("order.items.quantity", OpIs, 1)), order, bad, ""},
		{"nested OR", nest(rule("order.items.any", OpIs, "prod_a"), "1 OR 2", rule("order.items.price", OpIs, 300), rule("order.items.quantity", OpIs, 1)), order, "", ""},
		{"nested NOT", nest(rule("order.items.any", OpIs, "src-b"), "NOT 1", rule("sku.quantity", OpMoreThan, 2)), order, bad, ""},
		{"nested item metadata", nest(rule("order.items.any", OpIs, "prod_a"), "", meta("order.items.metadata", "gift", OpIs, true)), order, "", ""},
		{"nested product metadata", nest(rule("order.items.every", OpIs, "src-b"), "", meta("product.metadata", "brand", OpStartsWith, "ac")), order, "", ""},
		{"nested product metadata without a product", nest(rule("order.items.every", OpIs, "prod_a"), "", meta("product.metadata", "brand", OpExists)), order, bad, ""},
		{"every with nested rules", nest(rule("order.items.every", OpIs, "prod_a", "src-b"), "", rule("order.items.quantity", OpMoreThanOrEqual, 2)), order, "", ""},
		{"every with nested rules fails", nest(rule("order.items.every", OpIs, "prod_a", "src-b"), "", rule("order.items.quantity", OpMoreThanOrEqual, 3)), order, bad, `no item matches product or SKU "prod_a" and passes`},
		{"none with nested rules", nest(rule("order.items.none", OpIs, "prod_a"), "", rule("order.items.quantity", OpMoreThan, 2)), order, "", ""},
		{"none with nested rules fails", nest(rule("order.items.none", OpIs, "prod_a"), "", rule("order.items.quantity", OpMoreThan, 1)), order, bad, "item 2 matches"},
	})
}

func TestEvaluateMetadata(t *testing.T) {
	t.Parallel()
	md := Metadata{
		"location": "Santorini",
		"visits":   float64(12),
		"ratio":    0.1,
		"exact":    json.Number("0.30000000000000000001"),
		"big":      float64(1e21),
		"vip":      true,
		"tags":     []any{"gold", "early"},
		"nums":     []any{float64(1), nil, float64(7)},
		"since":    "2025-06-01T10:00:00Z",
		"count":    "10",
		"nothing":  nil,
		"obj":      map[string]any{"a": 1},
	}
	ctx := RuleContext{Order: &Order{Amount: 1, Metadata: md}, Customer: &Customer{ID: "cust_1", Metadata: md}}
	m := func(prop, op string, vals ...any) Rule {
		return Rule{Name: "order.metadata", Property: prop, Conditions: c(op, vals...)}
	}
	bad := EOrderRulesViolated
	runEvalCases(t, []evalCase{
		{"string $is", m("location", OpIs, "Santorini"), ctx, "", ""},
		{"string $is is case-sensitive", m("location", OpIs, "santorini"), ctx, bad, `order.metadata "location" is "Santorini", which fails $is ["santorini"]`},
		{"string $is_not", m("location", OpIsNot, "Athens"), ctx, "", ""},
		{"string $in", m("location", OpIn, "Athens", "Santorini"), ctx, "", ""},
		{"string $not_in fails", m("location", OpNotIn, "Athens", "Santorini"), ctx, bad, ""},
		{"$starts_with", m("location", OpStartsWith, "Sant"), ctx, "", ""},
		{"$starts_with any", m("location", OpStartsWith, "X", "San"), ctx, "", ""},
		{"$starts_with fails", m("location", OpStartsWith, "ini"), ctx, bad, ""},
		{"$ends_with", m("location", OpEndsWith, "ini"), ctx, "", ""},
		{"$contains", m("location", OpContains, "tor"), ctx, "", ""},
		{"$contains fails", m("location", OpContains, "xyz"), ctx, bad, ""},
		{"$contains on a number", m("visits", OpContains, "1"), ctx, bad, ""},
		{"number $is", m("visits", OpIs, 12), ctx, "", ""},
		{"number $is from JSON", m("visits", OpIs, json.Number("12.0")), ctx, "", ""},
		{"decimal $is exactly", m("ratio", OpIs, json.Number("0.1")), ctx, "", ""},
		{"decimal $is not the next one", m("ratio", OpIs, json.Number("0.10000000000000001")), ctx, bad, ""},
		{"JSON number keeps its digits", m("exact", OpMoreThan, json.Number("0.3")), ctx, "", ""},
		{"large float", m("big", OpIs, json.Number("1000000000000000000000")), ctx, "", ""},
		{"number $more_than", m("visits", OpMoreThan, 11), ctx, "", ""},
		{"number $more_than fails", m("visits", OpMoreThan, 12), ctx, bad, ""},
		{"number $more_than_or_equal", m("visits", OpMoreThanOrEqual, 12), ctx, "", ""},
		{"number $less_than", m("visits", OpLessThan, json.Number("12.5")), ctx, "", ""},
		{"number $less_than_or_equal fails", m("visits", OpLessThanOrEqual, 11), ctx, bad, ""},
		{"a string is not a number", m("count", OpIs, 10), ctx, bad, ""},
		{"a number is not a string", m("visits", OpIs, "12"), ctx, bad, ""},
		{"a numeric string does not compare", m("count", OpMoreThan, 5), ctx, bad, ""},
		{"bool $is", m("vip", OpIs, true), ctx, "", ""},
		{"bool $is fails", m("vip", OpIs, false), ctx, bad, ""},
		{"list $is an element", m("tags", OpIs, "gold"), ctx, "", ""},
		{"list $in", m("tags", OpIn, "silver", "early"), ctx, "", ""},
		{"list $not_in", m("tags", OpNotIn, "silver"), ctx, "", ""},
		{"list $not_in fails", m("tags", OpNotIn, "early"), ctx, bad, ""},
		{"list $is_not fails", m("tags", OpIsNot, "gold"), ctx, bad, ""},
		{"list $more_than any", m("nums", OpMoreThan, 5), ctx, "", ""},
		{"list $starts_with any", m("tags", OpStartsWith, "ea"), ctx, "", ""},
		{"time $more_than", m("since", OpMoreThan, "2025-01-01"), ctx, "", ""},
		{"time $less_than fails", m("since", OpLessThan, "2025-06-01T09:59:59Z"), ctx, bad, ""},
		{"not a time", m("location", OpLessThan, "2025-06-01"), ctx, bad, ""},
		{"$exists", m("location", OpExists), ctx, "", ""},
		{"$exists with true", m("location", OpExists, true), ctx, "", ""},
		{"$exists fails", m("missing", OpExists), ctx, bad, `order.metadata "missing" is not set, which fails $exists`},
		{"null does not exist", m("nothing", OpExists), ctx, bad, ""},
		{"$is_unknown", m("missing", OpIsUnknown), ctx, "", ""},
		{"$is_unknown of null", m("nothing", OpIsUnknown), ctx, "", ""},
		{"$is_unknown fails", m("vip", OpIsUnknown), ctx, bad, ""},
		{"missing fails $is", m("missing", OpIs, "x"), ctx, bad, ""},
		{"missing passes $is_not", m("missing", OpIsNot, "x"), ctx, "", ""},
		{"missing passes $not_in", m("missing", OpNotIn, "x"), ctx, "", ""},
		{"missing fails $less_than", m("missing", OpLessThan, 5), ctx, bad, ""},
		{"an object equals nothing", m("obj", OpIs, "x"), ctx, bad, ""},
		{"no order", m("location", OpExists), RuleContext{}, bad, "there is no order"},
		{"customer metadata", Rule{Name: "customer.metadata", Property: "tags", Conditions: c(OpIn, "gold")}, ctx, "", ""},
		{"customer metadata fails", Rule{Name: "customer.metadata", Property: "vip", Conditions: c(OpIs, false)}, ctx, ECustomerRulesViolated, ""},
		{"customer metadata without a customer", Rule{Name: "customer.metadata", Property: "vip", Conditions: c(OpIsUnknown)}, RuleContext{}, EMissingCustomer, "there is no customer"},
	})
}

func TestEvaluateCustomerRules(t *testing.T) {
	t.Parallel()
	cust := func(country string) *Customer {
		return &Customer{ID: "cust_1", Address: &Address{Country: country}}
	}
	country := func(op string, vals ...any) Rule {
		return Rule{Name: "customer.address.country", Conditions: c(op, vals...)}
	}
	holder := func(conds Conditions) Rule {
		return Rule{Name: "publication.redeemable_by_linked_customer", Conditions: conds}
	}
	purchases := func(n int64) func(string, time.Time) (int64, error) {
		return func(name string, since time.Time) (int64, error) {
			if name != CountCustomerPurchases || !since.IsZero() {
				return 0, errors.New("unexpected count " + name)
			}
			return n, nil
		}
	}
	first := func(conds Conditions) Rule { return Rule{Name: "customer.first_purchase", Conditions: conds} }
	bad := ECustomerRulesViolated
	runEvalCases(t, []evalCase{
		{"country $is", country(OpIs, "pl"), RuleContext{Customer: cust("PL")}, "", ""},
		{"country in any case", country(OpIs, "PL"), RuleContext{Customer: cust(" pl ")}, "", ""},
		{"country $is fails", country(OpIs, "PL"), RuleContext{Customer: cust("DE")}, bad, `customer.address.country is "DE", which fails $is ["PL"]`},
		{"country $in", country(OpIn, "CZ", "DE"), RuleContext{Customer: cust("de")}, "", ""},
		{"country $not_in", country(OpNotIn, "CZ", "DE"), RuleContext{Customer: cust("PL")}, "", ""},
		{"country $not_in fails", country(OpNotIn, "CZ", "DE"), RuleContext{Customer: cust("DE")}, bad, ""},
		{"country $is_not", country(OpIsNot, "DE"), RuleContext{Customer: cust("PL")}, "", ""},
		{"unknown country fails $is", country(OpIs, "PL"), RuleContext{Customer: &Customer{ID: "cust_1"}}, bad, "is not known"},
		{"unknown country passes $not_in", country(OpNotIn, "PL"), RuleContext{Customer: &Customer{ID: "cust_1"}}, "", ""},
		{"country without customer", country(OpIs, "PL"), RuleContext{}, EMissingCustomer, ""},

		{"holder", holder(nil), RuleContext{Customer: cust(""), HolderID: "cust_1"}, "", ""},
		{"holder $is true", holder(c(OpIs, true)), RuleContext{Customer: cust(""), HolderID: "cust_1"}, "", ""},
		{"not the holder", holder(nil), RuleContext{Customer: cust(""), HolderID: "cust_2"}, bad, "the customer does not hold the code"},
		{"no holder", holder(nil), RuleContext{Customer: cust("")}, bad, "published to no one"},
		{"holder without customer", holder(nil), RuleContext{HolderID: "cust_1"}, EMissingCustomer, ""},
		{"must not be the holder", holder(c(OpIs, false)), RuleContext{Customer: cust(""), HolderID: "cust_2"}, "", ""},
		{"must not be the holder fails", holder(c(OpIsNot, true)), RuleContext{Customer: cust(""), HolderID: "cust_1"}, bad, "the customer holds the code"},

		{"first purchase", first(nil), RuleContext{Customer: cust(""), Count: purchases(0)}, "", ""},
		{"not the first purchase", first(nil), RuleContext{Customer: cust(""), Count: purchases(2)}, bad, "the customer has 2 earlier purchases"},
		{"returning customers only", first(c(OpIs, false)), RuleContext{Customer: cust(""), Count: purchases(1)}, "", ""},
		{"returning customers only fails", first(c(OpIsNot, true)), RuleContext{Customer: cust(""), Count: purchases(0)}, bad, ""},
		{"first purchase without customer", first(nil), RuleContext{Count: purchases(0)}, EMissingCustomer, ""},
	})
}

// counter is a Count that serves figures by name and records what it is
// asked for.
type counter struct {
	figures map[string]int64
	asked   []string
	since   map[string]time.Time
}

func (c *counter) count(name string, since time.Time) (int64, error) {
	c.asked = append(c.asked, name)
	if c.since == nil {
		c.since = map[string]time.Time{}
	}
	c.since[name] = since
	n, ok := c.figures[name]
	if !ok {
		return 0, errors.New("no figure for " + name)
	}
	return n, nil
}

func TestEvaluateLimits(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 12, 15, 4, 5, 0, time.UTC) // a Thursday
	cust := &Customer{ID: "cust_1"}
	order := &Order{Amount: 5000}
	limit := func(name string, conds Conditions) Rule { return Rule{Name: name, Conditions: conds} }
	with := func(name string, n int64, discount int64) RuleContext {
		cn := &counter{figures: map[string]int64{name: n}}
		return RuleContext{Now: now, Customer: cust, Order: order, Discount: discount, Count: cn.count}
	}
	bad := ERedemptionRulesViolated
	// A limit of 3 per customer allows the 1st, 2nd and 3rd redemption and
	// refuses the 4th.
	perCustomer := limit(CountRedemptionsPerCustomer, c(OpLessThanOrEqual, 3))
	lessThan := limit(CountRedemptionsPerCustomer, c(OpLessThan, 4))
	cases := []evalCase{
		{"1st of 3", perCustomer, with(CountRedemptionsPerCustomer, 0, 0), "", ""},
		{"2nd of 3", perCustomer, with(CountRedemptionsPerCustomer, 1, 0), "", ""},
		{"3rd of 3", perCustomer, with(CountRedemptionsPerCustomer, 2, 0), "", ""},
		{"4th of 3", perCustomer, with(CountRedemptionsPerCustomer, 3, 0), bad,
			"redemption.count.per_customer would be 4 with this redemption (3 before it), which fails $less_than_or_equal [3]"},
		{"3rd under 4", lessThan, with(CountRedemptionsPerCustomer, 2, 0), "", ""},
		{"4th under 4", lessThan, with(CountRedemptionsPerCustomer, 3, 0), bad, ""},
		{"per customer without a customer", perCustomer, RuleContext{Now: now, Count: (&counter{}).count}, EMissingCustomer, ""},
		{"daily per customer", limit("redemption.count.per_customer.daily", c(OpLessThanOrEqual, 1)), with("redemption.count.per_customer.daily", 1, 0), bad, ""},
		{"campaign count", limit(CountCampaignRedemptions, c(OpLessThanOrEqual, 700)), with(CountCampaignRedemptions, 699, 0), "", ""},
		{"campaign count spent", limit(CountCampaignRedemptions, c(OpLessThanOrEqual, 700)), with(CountCampaignRedemptions, 700, 0), bad, ""},
		{"campaign count without a customer", limit("campaign.redemptions.count.weekly", c(OpLessThan, 10)),
			RuleContext{Now: now, Count: (&counter{figures: map[string]int64{"campaign.redemptions.count.weekly": 3}}).count}, "", ""},
		{"redemptions a day", limit("redemption.count.daily", c(OpLessThanOrEqual, 100)), with("redemption.count.daily", 99, 0), "", ""},
		{"budget", limit(CountCampaignDiscounted, c(OpLessThanOrEqual, 100000)), with(CountCampaignDiscounted, 99000, 1000), "", ""},
		{"budget spent by this discount", limit(CountCampaignDiscounted, c(OpLessThanOrEqual, 100000)), with(CountCampaignDiscounted, 99001, 1000), bad,
			"campaign.orders.amount_discounted would be 100001 with this redemption (99001 before it)"},
		{"orders amount", limit(CountCampaignOrdersAmount, c(OpLessThanOrEqual, 10000)), with(CountCampaignOrdersAmount, 5000, 0), "", ""},
		{"orders amount passed", limit(CountCampaignOrdersAmount, c(OpLessThan, 10000)), with(CountCampaignOrdersAmount, 5000, 0), bad, ""},
		{"orders amount without an order", limit(CountCampaignOrdersAmount, c(OpLessThan, 10000)), RuleContext{Count: (&counter{}).count}, EMissingAmount, ""},
		{"a huge count does not wrap", perCustomer, with(CountRedemptionsPerCustomer, 1<<63-1, 0), bad, ""},
	}
	runEvalCases(t, cases)

	// The windows come from Now.
	for name, want := range map[string]time.Time{
		"redemption.count.per_customer.daily":   time.Date(2026, 3, 12, 0, 0, 0, 0, time.UTC),
		"redemption.count.per_customer.weekly":  time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC),
		"redemption.count.per_customer.monthly": time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
		CountRedemptionsPerCustomer:             {},
	} {
		cn := &counter{figures: map[string]int64{name: 0}}
		r := ValidationRule{Name: "w", Rules: RuleSet{Rules: map[string]Rule{"1": limit(name, c(OpLessThan, 5))}}}
		if v, err := r.Evaluate(RuleContext{Now: now, Customer: cust, Count: cn.count}); v != nil || err != nil {
			t.Fatalf("%s: %+v, %v", name, v, err)
		}
		if got := cn.since[name]; !got.Equal(want) {
			t.Errorf("%s: since %v, want %v", name, got, want)
		}
	}
}

func TestEvaluateCountErrors(t *testing.T) {
	t.Parallel()
	r := ValidationRule{Name: "limits", Rules: RuleSet{Rules: map[string]Rule{
		"1": {Name: CountCampaignRedemptions, Conditions: c(OpLessThan, 5)},
	}}}
	boom := errors.New("boom")
	if _, err := r.Evaluate(RuleContext{Count: func(string, time.Time) (int64, error) { return 0, boom }}); !errors.Is(err, boom) {
		t.Errorf("a failing Count: %v", err)
	}
	if _, err := r.Evaluate(RuleContext{}); err == nil || !strings.Contains(err.Error(), "no Count") {
		t.Errorf("no Count: %v", err)
	}
	if _, err := r.Evaluate(RuleContext{Count: func(string, time.Time) (int64, error) { return -1, nil }}); err == nil {
		t.Errorf("a negative count: no error")
	}
}

func TestEvaluateCountsOnce(t *testing.T) {
	t.Parallel()
	r := ValidationRule{Name: "twice", Rules: RuleSet{Logic: "(1 AND 2) OR (1 AND 3)", Rules: map[string]Rule{
		"1": {Name: CountCampaignRedemptions, Conditions: c(OpLessThan, 5)},
		"2": {Name: "order.amount", Conditions: c(OpMoreThan, 9000)},
		"3": {Name: CountCampaignRedemptions, Conditions: c(OpLessThan, 10)},
	}}}
	cn := &counter{figures: map[string]int64{CountCampaignRedemptions: 1}}
	if v, err := r.Evaluate(RuleContext{Order: &Order{Amount: 100}, Count: cn.count}); v != nil || err != nil {
		t.Fatalf("%+v, %v", v, err)
	}
	if len(cn.asked) != 1 {
		t.Errorf("Count asked %v", cn.asked)
	}
	// A rule the logic does not reach is not counted.
	short := ValidationRule{Name: "short", Rules: RuleSet{Logic: "1 AND 2", Rules: map[string]Rule{
		"1": {Name: "order.amount", Conditions: c(OpMoreThan, 9000)},
		"2": {Name: CountCampaignRedemptions, Conditions: c(OpLessThan, 5)},
	}}}
	cn = &counter{}
	if v, err := short.Evaluate(RuleContext{Order: &Order{Amount: 100}, Count: cn.count}); v == nil || err != nil || len(cn.asked) != 0 {
		t.Errorf("%+v, %v, asked %v", v, err, cn.asked)
	}
}

func TestEvaluateBlame(t *testing.T) {
	t.Parallel()
	// Rule k passes when the order's metadata "rk" is true.
	tests := []struct {
		logic string
		bits  []bool
		key   string // "" when it passes
	}{
		{"1 AND (2 OR 3)", []bool{true, false, true}, ""},
		{"1 AND (2 OR 3)", []bool{true, false, false}, "2"},
		{"1 AND (2 OR 3)", []bool{false, false, false}, "1"},
		{"1 AND (3 OR 2)", []bool{true, false, false}, "3"},
		{"1 OR 2 OR 3", []bool{false, false, false}, "1"},
		{"(1 OR 2) AND (3 OR 1)", []bool{false, true, false}, "3"},
		{"(1 or 2) and not 3", []bool{false, true, true}, "3"},
		{"(1 or 2) and not 3", []bool{false, true, false}, ""},
		{"NOT (2 AND 3)", []bool{false, true, true}, "2"},
		{"NOT (2 AND 3)", []bool{false, true, false}, ""},
		{"3 AND 2 AND 1", []bool{false, false, false}, "3"},
	}
	for _, tt := range tests {
		r, o := switchRules(3, tt.logic, tt.bits)
		v, err := r.Evaluate(RuleContext{Order: o})
		switch {
		case err != nil:
			t.Errorf("%s %v: %v", tt.logic, tt.bits, err)
		case tt.key == "" && v != nil:
			t.Errorf("%s %v: blames %s", tt.logic, tt.bits, v.Key)
		case tt.key != "" && (v == nil || v.Key != tt.key):
			t.Errorf("%s %v: %+v, want rule %s blamed", tt.logic, tt.bits, v, tt.key)
		}
	}
	r, o := switchRules(3, "NOT (2 AND 3)", []bool{false, true, true})
	v, _ := r.Evaluate(RuleContext{Order: o})
	if v == nil || v.Reason != "the logic wants NOT (2 AND 3), and 2 AND 3 holds" || v.Code != EOrderRulesViolated {
		t.Errorf("NOT: %+v", v)
	}
}

func TestEvaluateMessages(t *testing.T) {
	t.Parallel()
	rules := func(withOwn bool) RuleSet {
		r := Rule{Name: "order.amount", Conditions: c(OpMoreThan, 5000)}
		if withOwn {
			r.Error.Message = "Spend more than 50.00."
		}
		return RuleSet{Rules: map[string]Rule{"1": r}}
	}
	ctx := RuleContext{Order: &Order{Amount: 100}}
	tests := []struct {
		r      ValidationRule
		want   string
		custom bool
	}{
		{ValidationRule{Name: "x", Rules: rules(true), Error: RuleError{Message: "Not for this order."}}, "Spend more than 50.00.", true},
		{ValidationRule{Name: "x", Rules: rules(false), Error: RuleError{Message: "Not for this order."}}, "Not for this order.", true},
		{ValidationRule{Name: "x", Rules: rules(false)}, "order.amount is 100, which fails $more_than [5000]", false},
	}
	for _, tt := range tests {
		v, err := tt.r.Evaluate(ctx)
		if err != nil || v == nil {
			t.Fatalf("%+v, %v", v, err)
		}
		if v.Message != tt.want || v.Custom != tt.custom || v.Reason != "order.amount is 100, which fails $more_than [5000]" {
			t.Errorf("%+v, want message %q", v, tt.want)
		}
		e := v.Err()
		if e.Code != EOrderRulesViolated || e.Message != "Order does not match validation rules" || e.Details != tt.want || e.Err.Error() != v.Reason {
			t.Errorf("Err() = %+v", e)
		}
	}
	for code, want := range map[string]string{
		ECustomerRulesViolated:   "Customer does not match validation rules",
		ERedemptionRulesViolated: "Redemption does not match validation rules",
		EMissingAmount:           "Missing amount",
		EMissingOrderItems:       "Missing order items",
		EMissingCustomer:         messageOf(EMissingCustomer),
	} {
		if got := (&RuleViolation{Code: code}).Err().Message; got != want {
			t.Errorf("%s: message %q, want %q", code, got, want)
		}
	}
}

func TestCountNames(t *testing.T) {
	t.Parallel()
	r := ValidationRule{Name: "limits", Rules: RuleSet{Logic: "1 AND (2 OR 4) AND 5 AND 6", Rules: map[string]Rule{
		"1": {Name: "redemption.count.per_customer.daily", Conditions: c(OpLessThanOrEqual, 1)},
		"2": {Name: CountCampaignDiscounted, Conditions: c(OpLessThanOrEqual, 100000)},
		"3": {Name: CountCampaignRedemptions, Conditions: c(OpLessThanOrEqual, 700)}, // unused
		"4": {Name: "customer.first_purchase"},
		"5": {Name: "order.amount", Conditions: c(OpMoreThan, 0)},
		"6": {Name: "redemption.count.per_customer.daily", Conditions: c(OpMoreThan, 0)},
	}}}
	want := []string{CountCampaignDiscounted, CountCustomerPurchases, "redemption.count.per_customer.daily"}
	if got := r.CountNames(); !slices.Equal(got, want) {
		t.Errorf("CountNames() = %v, want %v", got, want)
	}
	if got := (&ValidationRule{Name: "none"}).CountNames(); got != nil {
		t.Errorf("no rules: %v", got)
	}
	bad := ValidationRule{Name: "bad", Rules: RuleSet{Rules: map[string]Rule{"1": {Name: "nope"}}}}
	if got := bad.CountNames(); got != nil {
		t.Errorf("invalid: %v", got)
	}
}

func TestCountSince(t *testing.T) {
	t.Parallel()
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, now, want string
	}{
		{"campaign.redemptions.count.daily", "2026-03-12T23:59:59+00:00", "2026-03-12T00:00:00Z"},
		{"campaign.redemptions.count.daily", "2026-03-12T23:30:00-02:00", "2026-03-13T00:00:00Z"}, // UTC days
		{"redemption.count.weekly", "2026-03-09T00:00:00Z", "2026-03-09T00:00:00Z"},               // a Monday
		{"redemption.count.weekly", "2026-03-15T23:00:00Z", "2026-03-09T00:00:00Z"},               // a Sunday
		{"redemption.count.per_customer.monthly", "2026-03-31T12:00:00Z", "2026-03-01T00:00:00Z"},
		{"redemption.count.monthly", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"},
	}
	for _, tt := range tests {
		if got := CountSince(tt.name, at(tt.now)); !got.Equal(at(tt.want)) {
			t.Errorf("CountSince(%s, %s) = %v, want %s", tt.name, tt.now, got, tt.want)
		}
	}
	if got := CountSince(CountCampaignDiscounted, time.Now()); !got.IsZero() {
		t.Errorf("all-time count: %v", got)
	}
	for name, want := range map[string]string{
		"redemption.count.per_customer.daily": CountRedemptionsPerCustomer,
		"campaign.redemptions.count.monthly":  CountCampaignRedemptions,
		CountCampaignDiscounted:               CountCampaignDiscounted,
	} {
		if got := CountScope(name); got != want {
			t.Errorf("CountScope(%s) = %s", name, got)
		}
	}
}

// BenchmarkEvaluate evaluates a typical validation rule: a minimum amount,
// a product with a nested quantity, customer metadata, a country and a
// per-customer limit, on a 10-line order.
func BenchmarkEvaluate(b *testing.B) {
	r := ValidationRule{Name: "bench", Rules: RuleSet{Logic: "1 AND 2 AND (3 OR 4) AND 5", Rules: map[string]Rule{
		"1": {Name: "order.amount", Conditions: c(OpMoreThanOrEqual, 5000)},
		"2": {Name: "product.id", Conditions: c(OpIn, "prod_9", "prod_x"), Rules: RuleSet{Rules: map[string]Rule{
			"1": {Name: "product.quantity", Conditions: c(OpMoreThanOrEqual, 2)},
		}}},
		"3": {Name: "customer.metadata", Property: "tier", Conditions: c(OpIn, "gold", "silver")},
		"4": {Name: "customer.address.country", Conditions: c(OpIn, "PL", "CZ")},
		"5": {Name: CountRedemptionsPerCustomer, Conditions: c(OpLessThanOrEqual, 3)},
	}}}
	if err := r.Validate(); err != nil {
		b.Fatal(err)
	}
	o := &Order{Amount: 10000}
	for i := range 10 {
		o.Items = append(o.Items, OrderItem{ProductID: "prod_" + string(rune('0'+i)), Quantity: 2, Price: 500})
	}
	ctx := RuleContext{
		Now: time.Now(), Order: o,
		Customer: &Customer{ID: "cust_1", Metadata: Metadata{"tier": "bronze"}, Address: &Address{Country: "PL"}},
		Count:    func(string, time.Time) (int64, error) { return 1, nil },
	}
	b.ReportAllocs()
	for b.Loop() {
		if v, err := r.Evaluate(ctx); v != nil || err != nil {
			b.Fatal(v, err)
		}
	}
}

// TestRuleSetCompiledOnce: a rule set read from JSON is compiled on its
// first evaluation and not again, whoever evaluates it at once; the
// program it keeps decides as a fresh compilation does.
func TestRuleSetCompiledOnce(t *testing.T) {
	var r ValidationRule
	body := `{"id":"val_1","name":"over 20","rules":{"1":{"name":"order.amount","conditions":{"$more_than":[2000]}},"logic":"1"}}`
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	if r.Rules.compiled == nil {
		t.Fatal("a rule set read from JSON keeps no program")
	}
	over := RuleContext{Order: &Order{Amount: 5000}}
	under := RuleContext{Order: &Order{Amount: 1000}}
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				if v, err := r.Evaluate(over); v != nil || err != nil {
					t.Errorf("5000 > 2000 fails: %+v, %v", v, err)
				}
				if v, err := r.Evaluate(under); v == nil || err != nil {
					t.Errorf("1000 > 2000 passes: %v", err)
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
	p, _ := r.Rules.program()
	if q, _ := r.Rules.program(); p == nil || p != q {
		t.Fatalf("the program is compiled again: %p, then %p", p, q)
	}
	// A set built in code has no program kept, and decides alike.
	built := ValidationRule{ID: "val_2", Rules: RuleSet{Rules: r.Rules.Rules, Logic: r.Rules.Logic}}
	if p, _ := built.Rules.program(); p == nil || p == r.Rules.compiled.p {
		t.Fatalf("a built set shares the program of another: %p", p)
	}
	if v, err := built.Evaluate(under); v == nil || err != nil {
		t.Errorf("built: 1000 > 2000 passes: %v", err)
	}
}
