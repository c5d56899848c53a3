package promo

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// ruleKind says how a rule is evaluated.
type ruleKind int

const (
	kindOrderInt      ruleKind = iota // a whole number of the order
	kindPrice                         // the unit price of any or every line
	kindItemInt                       // a whole number of a matched item
	kindMeta                          // a metadata value
	kindCountry                       // the customer's country
	kindItems                         // items matching references
	kindHolder                        // the customer holds the code
	kindFirstPurchase                 // the customer has no earlier purchase
	kindLimit                         // a figure the engine counts
)

// metaSource says whose metadata a metadata rule reads.
type metaSource int

const (
	metaOrder metaSource = iota
	metaCustomer
	metaItem
	metaProduct
)

// ruleSpec describes one rule name.
type ruleSpec struct {
	kind     ruleKind
	code     string   // the error code of a failure
	ops      []string // the operators it takes
	property bool     // it needs a property
	nested   bool     // it takes nested item rules

	orderInt func(o *Order) int64                          // kindOrderInt
	amount   bool                                          // kindOrderInt: it needs the order's amount
	every    bool                                          // kindPrice: every line; kindItems: every reference
	itemInt  func(it *OrderItem, group []*OrderItem) int64 // kindItemInt
	meta     metaSource                                    // kindMeta
	object   string                                        // kindItems: what strings name
	none     bool                                          // kindItems: no item may match
	count    string                                        // kindLimit, kindFirstPurchase: the count name
	share    shareKind                                     // kindLimit: what this redemption adds
	customer bool                                          // kindLimit: counted per customer
}

// shareKind is what a redemption adds to a limit's figure.
type shareKind int

const (
	shareOne      shareKind = iota // one redemption
	shareDiscount                  // the discount
	shareAmount                    // the order's amount
)

var (
	cmpOps   = []string{OpIs, OpIsNot, OpIn, OpNotIn, OpMoreThan, OpMoreThanOrEqual, OpLessThan, OpLessThanOrEqual}
	metaOps  = append(slices.Clip(cmpOps), OpStartsWith, OpEndsWith, OpContains, OpExists, OpIsUnknown)
	setOps   = []string{OpIs, OpIsNot, OpIn, OpNotIn}
	matchOps = []string{OpIs, OpIn}
	boolOps  = []string{OpIs, OpIsNot}
)

func orderUnits(o *Order) int64 {
	var n int64
	for i := range o.Items {
		n = satAdd(n, itemUnits(&o.Items[i]))
	}
	return n
}

func itemUnits(it *OrderItem) int64 {
	if it.Quantity > 0 {
		return it.Quantity
	}
	return 1
}

func itemPrice(it *OrderItem) int64 {
	switch {
	case it.Price != 0:
		return it.Price
	case it.SKU != nil && it.SKU.Price != 0:
		return it.SKU.Price
	case it.Product != nil:
		return it.Product.Price
	}
	return 0
}

func itemAmount(it *OrderItem) int64 {
	if it.Amount != 0 {
		return it.Amount
	}
	return satMul(itemPrice(it), itemUnits(it))
}

func groupUnits(_ *OrderItem, g []*OrderItem) int64 {
	var n int64
	for _, it := range g {
		n = satAdd(n, itemUnits(it))
	}
	return n
}

func groupAmount(_ *OrderItem, g []*OrderItem) int64 {
	var n int64
	for _, it := range g {
		n = satAdd(n, itemAmount(it))
	}
	return n
}

func lineUnits(it *OrderItem, _ []*OrderItem) int64 { return itemUnits(it) }
func linePrice(it *OrderItem, _ []*OrderItem) int64 { return itemPrice(it) }

// topRules are the rules of a validation rule's top level.
var topRules = func() map[string]*ruleSpec {
	order := func(f func(o *Order) int64, amount bool) *ruleSpec {
		return &ruleSpec{kind: kindOrderInt, code: EOrderRulesViolated, ops: cmpOps, orderInt: f, amount: amount}
	}
	m := map[string]*ruleSpec{
		"order.amount": order(func(o *Order) int64 { return o.Amount }, true),
		"order.initial_amount": order(func(o *Order) int64 {
			if o.InitialAmount != 0 {
				return o.InitialAmount
			}
			return o.Amount
		}, true),
		"order.items.count":               order(func(o *Order) int64 { return int64(len(o.Items)) }, false),
		"order.items.quantity":            order(orderUnits, false),
		"order.items.aggregated_quantity": order(orderUnits, false),
		"order.items.aggregated_amount": order(func(o *Order) int64 {
			var n int64
			for i := range o.Items {
				n = satAdd(n, itemAmount(&o.Items[i]))
			}
			return n
		}, false),
		"order.items.price_any":  {kind: kindPrice, code: EOrderRulesViolated, ops: cmpOps},
		"order.items.price_each": {kind: kindPrice, code: EOrderRulesViolated, ops: cmpOps, every: true},
		"order.metadata":         {kind: kindMeta, code: EOrderRulesViolated, ops: metaOps, property: true, meta: metaOrder},
		"order.items.any":        {kind: kindItems, code: EOrderRulesViolated, ops: matchOps, nested: true},
		"order.items.every":      {kind: kindItems, code: EOrderRulesViolated, ops: matchOps, nested: true, every: true},
		"order.items.none":       {kind: kindItems, code: EOrderRulesViolated, ops: matchOps, nested: true, none: true},
		"product.id":             {kind: kindItems, code: EOrderRulesViolated, ops: setOps, nested: true, object: ObjectProduct},
		"sku.id":                 {kind: kindItems, code: EOrderRulesViolated, ops: setOps, nested: true, object: ObjectSKU},

		"customer.metadata":                         {kind: kindMeta, code: ECustomerRulesViolated, ops: metaOps, property: true, meta: metaCustomer},
		"customer.address.country":                  {kind: kindCountry, code: ECustomerRulesViolated, ops: setOps},
		"publication.redeemable_by_linked_customer": {kind: kindHolder, code: ECustomerRulesViolated, ops: boolOps},
		"customer.first_purchase":                   {kind: kindFirstPurchase, code: ECustomerRulesViolated, ops: boolOps, count: CountCustomerPurchases},

		CountCampaignDiscounted:   {kind: kindLimit, code: ERedemptionRulesViolated, ops: cmpOps, count: CountCampaignDiscounted, share: shareDiscount},
		CountCampaignOrdersAmount: {kind: kindLimit, code: ERedemptionRulesViolated, ops: cmpOps, count: CountCampaignOrdersAmount, share: shareAmount},
	}
	limit := func(name string, perCustomer bool) {
		m[name] = &ruleSpec{kind: kindLimit, code: ERedemptionRulesViolated, ops: cmpOps, count: name, customer: perCustomer}
	}
	for _, w := range []string{"", CountDaily, CountWeekly, CountMonthly} {
		limit(CountRedemptionsPerCustomer+w, true)
		limit(CountCampaignRedemptions+w, false)
		if w != "" {
			limit(CountRedemptions+w, false)
		}
	}
	return m
}()

// itemRules are the rules nested under an item rule.
var itemRules = func() map[string]*ruleSpec {
	item := func(f func(*OrderItem, []*OrderItem) int64) *ruleSpec {
		return &ruleSpec{kind: kindItemInt, code: EOrderRulesViolated, ops: cmpOps, itemInt: f}
	}
	return map[string]*ruleSpec{
		"order.items.quantity":            item(lineUnits),
		"product.quantity":                item(lineUnits),
		"sku.quantity":                    item(lineUnits),
		"order.items.aggregated_quantity": item(groupUnits),
		"order.items.price":               item(linePrice),
		"product.price":                   item(linePrice),
		"sku.price":                       item(linePrice),
		"order.items.aggregated_amount":   item(groupAmount),
		"order.items.metadata":            {kind: kindMeta, code: EOrderRulesViolated, ops: metaOps, property: true, meta: metaItem},
		"product.metadata":                {kind: kindMeta, code: EOrderRulesViolated, ops: metaOps, property: true, meta: metaProduct},
	}
}()

func ruleNames(m map[string]*ruleSpec) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// program is a compiled rule set.
type program struct {
	logic *logicNode      // nil when there are no rules: the set passes
	rules []*compiledRule // rule n at n-1
}

// compiledRule is a checked rule with its values read.
type compiledRule struct {
	key    string
	rule   Rule
	spec   *ruleSpec
	conds  []condition
	nested *program // nil when it has no nested rules
}

// condition is one operator of a rule with its values read.
type condition struct {
	op   string // the operator, aliases resolved
	as   string // the operator as written
	raw  []any
	vals []value
}

// valueKind is the type of a condition's value.
type valueKind int

const (
	valString valueKind = iota
	valNumber
	valBool
	valRef
)

// value is a condition's value, read.
type value struct {
	kind    valueKind
	s       string   // valString; upper case for countries
	n       *big.Rat // valNumber
	i       int64    // valNumber of whole-number rules
	b       bool     // valBool
	t       Time     // valString that is a time, for ordering operators
	hasTime bool     // t is set
	ref     ApplicableItem
}

// compileRules checks a rule set and reads it for evaluation; errors are
// EInvalidPayload.
func compileRules(s *RuleSet) (*program, error) {
	total := 0
	p, err := compileSet(s, "rules", 1, &total)
	if err != nil {
		return nil, Errorf(EInvalidPayload, "%v", err)
	}
	return p, nil
}

func compileSet(s *RuleSet, path string, depth int, total *int) (*program, error) {
	n := len(s.Rules)
	if n == 0 {
		if strings.TrimSpace(s.Logic) == "" {
			return &program{}, nil
		}
		if _, err := parseLogic(s.Logic, 0); err != nil {
			return nil, fmt.Errorf("%s.logic %q: %v", path, clip(s.Logic), err)
		}
	}
	if depth > MaxRuleDepth {
		return nil, fmt.Errorf("%s: rules nest at most %d levels deep", path, MaxRuleDepth)
	}
	if *total += n; *total > MaxRules {
		return nil, fmt.Errorf("%s: there are more than %d rules; the limit is %d, nested rules included", path, MaxRules, MaxRules)
	}
	p := &program{rules: make([]*compiledRule, n)}
	for k := range s.Rules {
		i, err := strconv.Atoi(k)
		if err != nil || k[0] == '0' || k[0] == '+' {
			return nil, fmt.Errorf("%s: key %q is not a rule number: rules are numbered 1, 2, 3 ..., beside \"logic\"", path, clip(k))
		}
		if i < 1 || i > n {
			return nil, fmt.Errorf("%s: there are %d rules, so they are numbered 1 to %d, not %s", path, n, n, k)
		}
	}
	for i := range p.rules {
		key := strconv.Itoa(i + 1)
		r, err := compileRule(s.Rules[key], path+"."+key, depth, total)
		if err != nil {
			return nil, err
		}
		r.key = key
		p.rules[i] = r
	}
	logic := s.Logic
	if strings.TrimSpace(logic) == "" {
		logic = defaultLogic(n)
	}
	l, err := parseLogic(logic, n)
	if err != nil {
		return nil, fmt.Errorf("%s.logic %q: %v", path, clip(logic), err)
	}
	p.logic = l
	return p, nil
}

func compileRule(r Rule, path string, depth int, total *int) (*compiledRule, error) {
	specs, other := topRules, itemRules
	if depth > 1 {
		specs, other = itemRules, topRules
	}
	spec, ok := specs[r.Name]
	switch {
	case ok:
	case r.Name == "":
		return nil, fmt.Errorf("%s: name is required", path)
	case other[r.Name] != nil && depth > 1:
		return nil, fmt.Errorf("%s: %s cannot be nested; nested rules are item rules: %s", path, r.Name, ruleNames(itemRules))
	case other[r.Name] != nil:
		return nil, fmt.Errorf("%s: %s is an item rule: nest it under order.items.any, order.items.every, order.items.none, product.id or sku.id", path, r.Name)
	default:
		return nil, fmt.Errorf("%s: unknown rule name %q; the names are: %s", path, clip(r.Name), ruleNames(specs))
	}
	switch {
	case spec.property && r.Property == "":
		return nil, fmt.Errorf("%s: %s needs a property: the metadata key it tests", path, r.Name)
	case !spec.property && r.Property != "":
		return nil, fmt.Errorf("%s: %s takes no property", path, r.Name)
	case len(r.Property) > 200:
		return nil, fmt.Errorf("%s: property is %d bytes long; the limit is 200", path, len(r.Property))
	case len(r.Error.Message) > 1000:
		return nil, fmt.Errorf("%s: error.message is %d bytes long; the limit is 1000", path, len(r.Error.Message))
	}
	c := &compiledRule{rule: r, spec: spec}
	if len(r.Rules.Rules) > 0 || strings.TrimSpace(r.Rules.Logic) != "" {
		switch {
		case depth+1 > MaxRuleDepth:
			return nil, fmt.Errorf("%s.rules: rules nest at most %d levels deep", path, MaxRuleDepth)
		case !spec.nested:
			return nil, fmt.Errorf("%s: %s takes no nested rules; only order.items.any, order.items.every, order.items.none, product.id and sku.id do", path, r.Name)
		}
		nested, err := compileSet(&r.Rules, path+".rules", depth+1, total)
		if err != nil {
			return nil, err
		}
		if nested.logic != nil {
			c.nested = nested
		}
	}
	conds := r.Conditions
	if len(conds) == 0 {
		if spec.kind != kindHolder && spec.kind != kindFirstPurchase {
			return nil, fmt.Errorf("%s: %s needs conditions, such as {%q: [...]}; it takes %s", path, r.Name, spec.ops[0], strings.Join(spec.ops, ", "))
		}
		conds = Conditions{OpIs: {true}}
	}
	ops := make([]string, 0, len(conds))
	for op := range conds {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	for _, as := range ops {
		op := as
		if a, ok := opAliases[as]; ok {
			op = a
		}
		if !slices.Contains(metaOps, op) {
			return nil, fmt.Errorf("%s.conditions: unknown operator %q; %s takes %s", path, clip(as), r.Name, strings.Join(spec.ops, ", "))
		}
		if !slices.Contains(spec.ops, op) {
			return nil, fmt.Errorf("%s.conditions: %s does not take %s; it takes %s", path, r.Name, as, strings.Join(spec.ops, ", "))
		}
		cond, err := compileCondition(spec, op, as, conds[as])
		if err != nil {
			return nil, fmt.Errorf("%s.conditions.%s: %v", path, as, err)
		}
		c.conds = append(c.conds, cond)
	}
	return c, nil
}

func compileCondition(spec *ruleSpec, op, as string, raw []any) (condition, error) {
	c := condition{op: op, as: as, raw: raw}
	n := len(raw)
	switch {
	case op == OpExists || op == OpIsUnknown:
		if n > 1 || n == 1 && raw[0] != true {
			return c, fmt.Errorf("%s takes no values: use []", as)
		}
		return c, nil
	case n == 0:
		return c, fmt.Errorf("%s needs a value, such as [%s]", as, exampleValue(spec))
	case n > MaxConditionValues:
		return c, fmt.Errorf("%s has %d values; the limit is %d", as, n, MaxConditionValues)
	case n > 1 && (op == OpIsNot || op == OpMoreThan || op == OpMoreThanOrEqual || op == OpLessThan || op == OpLessThanOrEqual ||
		op == OpIs && spec.kind != kindItems):
		return c, fmt.Errorf("%s takes one value, not %d; use $in or $not_in for a list", as, n)
	}
	for _, v := range raw {
		val, err := readValue(spec, op, v)
		if err != nil {
			return c, err
		}
		c.vals = append(c.vals, val)
	}
	return c, nil
}

func exampleValue(spec *ruleSpec) string {
	switch spec.kind {
	case kindMeta:
		return `"gold"`
	case kindCountry:
		return `"PL"`
	case kindItems:
		return `"prod_1"`
	case kindHolder, kindFirstPurchase:
		return "true"
	}
	return "5000"
}

// readValue reads one value of a condition of a rule of spec.
func readValue(spec *ruleSpec, op string, v any) (value, error) {
	switch spec.kind {
	case kindOrderInt, kindPrice, kindItemInt, kindLimit:
		i, ok := intValue(v)
		if !ok {
			return value{}, fmt.Errorf("%s is not a whole number: this rule compares whole numbers (money in minor units, 1000 for 10.00)", showValue(v))
		}
		return value{kind: valNumber, i: i, n: new(big.Rat).SetInt64(i)}, nil
	case kindHolder, kindFirstPurchase:
		b, ok := v.(bool)
		if !ok {
			return value{}, fmt.Errorf("%s is not true or false", showValue(v))
		}
		return value{kind: valBool, b: b}, nil
	case kindCountry:
		s, ok := v.(string)
		if !ok || len(s) != 2 || !isLetter(s[0]) || !isLetter(s[1]) {
			return value{}, fmt.Errorf("%s is not a two-letter ISO 3166 country code such as \"PL\"", showValue(v))
		}
		return value{kind: valString, s: strings.ToUpper(s)}, nil
	case kindItems:
		ref, err := readRef(spec, v)
		if err != nil {
			return value{}, err
		}
		return value{kind: valRef, ref: ref}, nil
	}
	// Metadata.
	switch op {
	case OpStartsWith, OpEndsWith, OpContains:
		s, ok := v.(string)
		if !ok {
			return value{}, fmt.Errorf("%s is not a string", showValue(v))
		}
		return value{kind: valString, s: s}, nil
	case OpMoreThan, OpMoreThanOrEqual, OpLessThan, OpLessThanOrEqual:
		if n, ok := ratValue(v); ok {
			return value{kind: valNumber, n: n}, nil
		}
		if s, ok := v.(string); ok {
			if t, err := ParseTime(s); err == nil {
				return value{kind: valString, s: s, t: t, hasTime: true}, nil
			}
		}
		return value{}, fmt.Errorf("%s is neither a number nor a date or time such as \"2026-01-31T00:00:00Z\"", showValue(v))
	}
	switch x := v.(type) {
	case string:
		return value{kind: valString, s: x}, nil
	case bool:
		return value{kind: valBool, b: x}, nil
	}
	if n, ok := ratValue(v); ok {
		return value{kind: valNumber, n: n}, nil
	}
	return value{}, fmt.Errorf("%s is not a string, a number or true or false", showValue(v))
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// readRef reads a reference to a product or a SKU: a string, which names by
// ID or source ID the objects the rule's strings name, or an object with
// "object", "id" and "source_id".
func readRef(spec *ruleSpec, v any) (ApplicableItem, error) {
	var ref ApplicableItem
	switch x := v.(type) {
	case string:
		if x == "" {
			return ref, fmt.Errorf(`"" names no product or SKU`)
		}
		return ApplicableItem{Object: spec.object, ID: x, SourceID: x}, nil
	case ApplicableItem:
		ref = x
	case *ApplicableItem:
		if x != nil {
			ref = *x
		}
	case map[string]any:
		for _, f := range []struct {
			key string
			to  *string
		}{{"object", &ref.Object}, {"id", &ref.ID}, {"source_id", &ref.SourceID}} {
			switch s := x[f.key].(type) {
			case string:
				*f.to = s
			case nil:
			default:
				return ref, fmt.Errorf("%s: %s is not a string", showValue(v), f.key)
			}
		}
	default:
		return ref, fmt.Errorf("%s names no product or SKU: use an ID, a source ID or {\"object\": \"product\", \"id\": ...}", showValue(v))
	}
	if spec.object != "" && ref.Object != "" && ref.Object != spec.object {
		return ref, fmt.Errorf("%s is a %s; this rule names %ss", showValue(v), ref.Object, spec.object)
	}
	if ref.Object == "" {
		ref.Object = spec.object
	}
	ref.Effect, ref.QuantityLimit, ref.AggregatedQuantityLimit, ref.AmountLimit, ref.AggregatedAmountLimit = "", 0, 0, 0, 0
	if err := ref.validate(true); err != nil {
		return ref, fmt.Errorf("%s: %v", showValue(v), err)
	}
	return ref, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// showValue writes v as JSON, shortened.
func showValue(v any) string {
	b, err := json.Marshal(v)
	s := string(b)
	if err != nil {
		s = fmt.Sprintf("%v", v)
	}
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

// ratValue reads a number exactly: a json.Number by its digits, a float64
// as the shortest decimal that reads back as it (what a JSON decoder read it
// from, for any number of up to 15 significant digits), and integers as
// they are. Strings, even numeric ones, are not numbers.
func ratValue(v any) (*big.Rat, bool) {
	switch x := v.(type) {
	case json.Number:
		return parseDecimal(string(x))
	case float64:
		return parseDecimal(strconv.FormatFloat(x, 'g', -1, 64))
	case float32:
		return parseDecimal(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case int:
		return new(big.Rat).SetInt64(int64(x)), true
	case int8:
		return new(big.Rat).SetInt64(int64(x)), true
	case int16:
		return new(big.Rat).SetInt64(int64(x)), true
	case int32:
		return new(big.Rat).SetInt64(int64(x)), true
	case int64:
		return new(big.Rat).SetInt64(x), true
	case uint:
		return new(big.Rat).SetUint64(uint64(x)), true
	case uint8:
		return new(big.Rat).SetUint64(uint64(x)), true
	case uint16:
		return new(big.Rat).SetUint64(uint64(x)), true
	case uint32:
		return new(big.Rat).SetUint64(uint64(x)), true
	case uint64:
		return new(big.Rat).SetUint64(x), true
	}
	return nil, false
}

// intValue reads a whole number that fits an int64, exactly.
func intValue(v any) (int64, bool) {
	r, ok := ratValue(v)
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		return 0, false
	}
	return r.Num().Int64(), true
}

// parseDecimal reads a number in JSON's syntax exactly. It refuses long
// numbers and large exponents, which would cost big.Rat time and memory.
func parseDecimal(s string) (*big.Rat, bool) {
	if len(s) == 0 || len(s) > 400 {
		return nil, false
	}
	i := 0
	digits := func() bool {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i > start
	}
	if s[i] == '-' {
		i++
	}
	if !digits() {
		return nil, false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return nil, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		if !digits() {
			return nil, false
		}
		if e, err := strconv.Atoi(s[start:i]); err != nil || e > 400 {
			return nil, false
		}
	}
	if i != len(s) {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// satAdd returns a+b, held at the int64 bounds.
func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return 1<<63 - 1
	case a < 0 && b < 0 && s >= 0:
		return -1 << 63
	}
	return s
}

// satMul returns a*b for a, b >= 0, held at the int64 bound.
func satMul(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > (1<<63-1)/b {
		return 1<<63 - 1
	}
	return a * b
}
