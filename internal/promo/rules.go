package promo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Prefixes of the identifiers of validation rules and their assignments.
const (
	PrefixValidationRule = "val_"
	PrefixAssignment     = "asgm_"
)

// Error codes of a validation rule that fails, as Voucherify names them.
// Evaluate picks one for each failure; see RuleViolation.
const (
	// EOrderRulesViolated: the order does not meet an order or item rule.
	EOrderRulesViolated = "order_rules_violated"
	// ECustomerRulesViolated: the customer does not meet a customer rule.
	ECustomerRulesViolated = "customer_rules_violated"
	// ERedemptionRulesViolated: a limit rule (a count or a budget) would be
	// exceeded by this redemption.
	ERedemptionRulesViolated = "redemption_rules_violated"
	// EMissingAmount: a rule needs the order's amount and the request has
	// none.
	EMissingAmount = "missing_amount"
	// EMissingOrderItems: a rule needs the order's items and the request has
	// none.
	EMissingOrderItems = "missing_order_items"
)

// Bounds of a validation rule, so that checking one costs little.
const (
	// MaxRules bounds the rules of a validation rule, nested ones included.
	MaxRules = 50
	// MaxRuleDepth bounds how deep rules nest: top-level rules and one level
	// of item rules under them.
	MaxRuleDepth = 2
	// MaxConditionValues bounds the values of one condition.
	MaxConditionValues = 500
	// MaxApplicableItems bounds each list of applicable_to.
	MaxApplicableItems = 500
)

// Operators of conditions.
const (
	OpIs              = "$is"
	OpIsNot           = "$is_not"
	OpIn              = "$in"
	OpNotIn           = "$not_in"
	OpMoreThan        = "$more_than"
	OpMoreThanOrEqual = "$more_than_or_equal"
	OpLessThan        = "$less_than"
	OpLessThanOrEqual = "$less_than_or_equal"
	OpStartsWith      = "$starts_with"
	OpEndsWith        = "$ends_with"
	OpContains        = "$contains"
	OpExists          = "$exists"
	OpIsUnknown       = "$is_unknown"
)

// opAliases are operators Voucherify's own examples use for ours.
var opAliases = map[string]string{
	"$greater_than":          OpMoreThan,
	"$greater_than_or_equal": OpMoreThanOrEqual,
}

// ValidationRule is a named set of rules that a voucher or a campaign it is
// assigned to must pass to be validated or redeemed, and the items its
// discount applies to. Its JSON is Voucherify's.
type ValidationRule struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Rules are the rules and the logic that combines them.
	Rules RuleSet `json:"rules"`
	// Error is the message a failure shows when the failing rule has none.
	Error        RuleError    `json:"error,omitzero"`
	ApplicableTo ApplicableTo `json:"applicable_to"`
	// Type is Voucherify's: "expression" (the default), "basic", "advanced"
	// or "complex". It is kept, and changes nothing here.
	Type string `json:"type"`
	// ContextType is Voucherify's, "global" by default. It is kept, and
	// changes nothing here.
	ContextType string `json:"context_type"`
	CreatedAt   Time   `json:"created_at"`
	UpdatedAt   *Time  `json:"updated_at,omitempty"`
}

// RuleError holds a custom message for a failure.
type RuleError struct {
	Message string `json:"message,omitempty"`
}

// RuleSet is a set of rules numbered from 1 and the logic that combines
// them, such as "1 AND (2 OR 3)". In JSON the numbered rules and "logic" are
// keys of one object, as in Voucherify's API:
// {"1": {...}, "2": {...}, "logic": "1 AND 2"}.
type RuleSet struct {
	// Rules holds the rules by their number: "1", "2" ...
	Rules map[string]Rule
	// Logic combines the rules with AND, OR, NOT (any letter case) and
	// parentheses; NOT binds tighter than AND, and AND than OR. Empty means
	// all the rules.
	Logic string

	// compiled holds the program of a set read from JSON, compiled on
	// first use: rules evaluated on every validation are read once. A set
	// built in code has none and is compiled at each use. The program is
	// not compiled again when Rules or Logic change: replace a set read
	// from JSON rather than change it.
	compiled *compiledSet
}

// compiledSet is a RuleSet's program, compiled once.
type compiledSet struct {
	once sync.Once
	p    *program
	err  error
}

// program compiles s, or returns the program compiled before for a set
// read from JSON; errors are EInvalidPayload.
func (s *RuleSet) program() (*program, error) {
	c := s.compiled
	if c == nil {
		return compileRules(s)
	}
	c.once.Do(func() { c.p, c.err = compileRules(s) })
	return c.p, c.err
}

// Rule is one rule: a name that says what it tests, the metadata key it
// reads when it reads one (Property), conditions its subject must meet, and,
// for item rules, nested rules that a matching item must pass too.
//
// The names, by what they test; a rule's operators are in brackets, and the
// comparison operators are $is, $is_not, $in, $not_in, $more_than,
// $more_than_or_equal, $less_than and $less_than_or_equal. $is (but for
// item rules), $is_not and the ordering operators take one value, $exists
// and $is_unknown none, the others one or more.
//
// The order, with whole numbers (money in minor units) and the comparison
// operators: order.amount; order.initial_amount (the amount before
// discounts, or the amount when there is none); order.items.count (lines);
// order.items.quantity and order.items.aggregated_quantity (both the
// order's units: a line's quantity, or 1 when it has none);
// order.items.aggregated_amount (the sum of the lines' amounts);
// order.items.price_any and order.items.price_each (the unit price of any
// line, of every line).
//
// Metadata, with a Property and the comparison operators, $starts_with,
// $ends_with, $contains (each true when one of its strings matches),
// $exists and $is_unknown (no values): order.metadata and
// customer.metadata. Numbers compare exactly, as decimals: a float64 from a
// JSON decoder counts as the shortest decimal that reads back as it, so 0.1
// equals 0.1, and a json.Number keeps all its digits. Strings and numbers
// never equal each other ("10" is not 10). The ordering operators take a
// number, or a date or time that ParseTime reads, compared with dates and
// times. A list passes when one of its elements does, and $is_not and
// $not_in when none matches. An unset or null property fails every
// operator but $is_not, $not_in and $is_unknown.
//
// Items, whose values name products or SKUs by ID or source ID, as strings
// or as {"object", "id", "source_id"} (see ApplicableItem.Matches):
// order.items.any [$is, $in] (an item matches one of them),
// order.items.every [$is, $in] (each of them is matched by an item),
// order.items.none [$is, $in] (no item matches any); product.id and sku.id
// [$is, $in as any; $is_not, $not_in as none], whose strings name only
// products or only SKUs. They may nest item rules, which an item must pass
// to count as matching: order.items.quantity, product.quantity and
// sku.quantity (the line's units), order.items.aggregated_quantity (the
// units of all the lines that match the same value), order.items.price,
// product.price and sku.price (the unit price), order.items.aggregated_amount
// (the amount of the lines that match the same value), with the comparison
// operators; order.items.metadata and product.metadata (the line's, its
// product's), with a Property and the metadata operators.
//
// The customer: customer.address.country [$is, $is_not, $in, $not_in],
// with two-letter ISO 3166 codes in any letter case; an unknown country
// fails $is and $in and passes the others (our name).
// publication.redeemable_by_linked_customer [$is, $is_not, with true or
// false; no conditions means $is true]: the redeeming customer is the one
// the code is published to. customer.first_purchase [the same]: the
// customer has no earlier purchase, as the engine counts them (our name).
//
// Limits, with whole numbers and the comparison operators, which test the
// figure as it would be with this redemption (see RuleContext.Count):
// redemption.count.per_customer (a customer's redemptions) and
// campaign.redemptions.count, each alone or with a .daily, .weekly or
// .monthly window; redemption.count.daily, .weekly and .monthly (every
// customer's redemptions); campaign.orders.amount_discounted (the
// campaign's budget) and campaign.orders.amount.
//
// Not supported: customer.segment (there are no segments here; test
// customer.metadata instead), custom events, API keys and users, time
// frames, and product collections. $greater_than and
// $greater_than_or_equal, which Voucherify's own examples use, read as
// $more_than and $more_than_or_equal.
type Rule struct {
	Name       string     `json:"name"`
	Property   string     `json:"property,omitempty"`
	Conditions Conditions `json:"conditions"`
	Rules      RuleSet    `json:"rules"`
	Error      RuleError  `json:"error,omitzero"`
}

// Conditions maps operators ("$is", "$more_than" ...) to their values. A
// rule passes when every one of its conditions holds. Numbers read from JSON
// are json.Number, so they keep every digit.
type Conditions map[string][]any

// ApplicableTo says which items of an order a discount applies to: the
// included ones (or all of them, with IncludedAll or when nothing is
// included) less the excluded ones.
type ApplicableTo struct {
	Included    []ApplicableItem `json:"included"`
	Excluded    []ApplicableItem `json:"excluded"`
	IncludedAll bool             `json:"included_all"`
}

// ApplicableItem names a product or a SKU, by its ID or its source ID. The
// effect and limits are kept for the discount maths; Eligible does not use
// them.
type ApplicableItem struct {
	// Object is "product" or "sku". In the values of item rules it may be
	// left out: the reference then names either.
	Object                  string `json:"object,omitempty"`
	ID                      string `json:"id,omitempty"`
	SourceID                string `json:"source_id,omitempty"`
	Effect                  string `json:"effect,omitempty"`
	QuantityLimit           int64  `json:"quantity_limit,omitempty"`
	AggregatedQuantityLimit int64  `json:"aggregated_quantity_limit,omitempty"`
	AmountLimit             int64  `json:"amount_limit,omitempty"`
	AggregatedAmountLimit   int64  `json:"aggregated_amount_limit,omitempty"`
}

// Objects an ApplicableItem names.
const (
	ObjectProduct = "product"
	ObjectSKU     = "sku"
)

// ValidationRuleAssignment links a validation rule to the campaign or the
// voucher that must pass it.
type ValidationRuleAssignment struct {
	ID                string `json:"id"`
	RuleID            string `json:"rule_id"`
	RelatedObjectType string `json:"related_object_type"`
	RelatedObjectID   string `json:"related_object_id"`
	CreatedAt         Time   `json:"created_at"`
}

// Objects a validation rule can be assigned to.
const (
	AssignmentCampaign = "campaign"
	AssignmentVoucher  = "voucher"
)

// MarshalJSON writes the rules in number order, then the logic.
func (s RuleSet) MarshalJSON() ([]byte, error) {
	keys := make([]string, 0, len(s.Rules))
	for k := range s.Rules {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		rb, err := json.Marshal(s.Rules[k])
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		b.Write(rb)
	}
	if s.Logic != "" {
		if len(keys) > 0 {
			b.WriteByte(',')
		}
		lb, _ := json.Marshal(s.Logic)
		b.WriteString(`"logic":`)
		b.Write(lb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// maxRulesJSONDepth bounds the nesting of a rule set's JSON: far more than
// the deepest valid one, and little enough that decoding nested sets (each
// of which rescans its bytes) stays linear.
const maxRulesJSONDepth = 24

// UnmarshalJSON reads numbered rules and "logic" from one object. Keys are
// checked by Validate, not here.
func (s *RuleSet) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*s = RuleSet{}
		return nil
	}
	if jsonDepth(b) > maxRulesJSONDepth {
		return fmt.Errorf("rules nest too deep: rules nest at most %d levels", MaxRuleDepth)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf(`rules must be an object of numbered rules and a logic, such as {"1": {...}, "logic": "1"}`)
	}
	out := RuleSet{}
	for k, v := range raw {
		if k == "logic" {
			var l *string
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("rules.logic must be a string such as %q", "1 AND (2 OR 3)")
			}
			if l != nil {
				out.Logic = *l
			}
			continue
		}
		var r Rule
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("rules.%s: %w", clip(k), err)
		}
		if out.Rules == nil {
			out.Rules = make(map[string]Rule, len(raw))
		}
		out.Rules[k] = r
	}
	out.compiled = &compiledSet{}
	*s = out
	return nil
}

// jsonDepth returns how deep objects and arrays nest in b.
func jsonDepth(b []byte) int {
	depth, most := 0, 0
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			most = max(most, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return most
}

// MarshalJSON writes nil conditions as {} and no values as [].
func (c Conditions) MarshalJSON() ([]byte, error) {
	m := make(map[string][]any, len(c))
	for op, vals := range c {
		if vals == nil {
			vals = []any{}
		}
		m[op] = vals
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads each operator's values as an array, numbers as
// json.Number.
func (c *Conditions) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		*c = nil
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf(`conditions must be an object such as {"$more_than": [5000]}`)
	}
	out := make(Conditions, len(raw))
	for op, v := range raw {
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var vals []any
		if err := dec.Decode(&vals); err != nil {
			return fmt.Errorf("conditions.%s must be an array of values, such as [5000]", op)
		}
		out[op] = vals
	}
	*c = out
	return nil
}

// MarshalJSON writes empty lists as [], as the reference does.
func (a ApplicableTo) MarshalJSON() ([]byte, error) {
	type plain ApplicableTo
	p := plain(a)
	if p.Included == nil {
		p.Included = []ApplicableItem{}
	}
	if p.Excluded == nil {
		p.Excluded = []ApplicableItem{}
	}
	return json.Marshal(p)
}

// Eligible reports for each item of o whether a discount may apply to it:
// every item when a includes all or names nothing to include, else the items
// an included entry matches; less, in both cases, the items an excluded entry
// matches. It returns nil for a nil order.
func (a ApplicableTo) Eligible(o *Order) []bool {
	if o == nil {
		return nil
	}
	out := make([]bool, len(o.Items))
	for i := range o.Items {
		out[i] = a.eligible(&o.Items[i])
	}
	return out
}

// Eligibility returns a as Basket.Apply takes it: nil when a names no item,
// so that the discount applies to the whole order, and else a function that
// says of each item what Eligible says.
func (a ApplicableTo) Eligibility() func(i int, item OrderItem) bool {
	if len(a.Included) == 0 && len(a.Excluded) == 0 {
		return nil
	}
	return func(_ int, it OrderItem) bool { return a.eligible(&it) }
}

func (a ApplicableTo) eligible(it *OrderItem) bool {
	ok := a.IncludedAll || len(a.Included) == 0
	for j := 0; !ok && j < len(a.Included); j++ {
		ok = a.Included[j].Matches(it)
	}
	for j := 0; ok && j < len(a.Excluded); j++ {
		ok = !a.Excluded[j].Matches(it)
	}
	return ok
}

// Matches reports whether the item is the product or SKU ref names. A
// product reference matches the item's product (its product_id, product.id,
// product.source_id, or its source_id unless related_object is "sku"); a SKU
// reference its SKU (sku_id, sku.id, sku.source_id, or its source_id when
// related_object is "sku"); a reference without an object either. ID and
// SourceID are each compared with the matching identifier; either matching
// is enough.
func (ref ApplicableItem) Matches(it *OrderItem) bool {
	if it == nil {
		return false
	}
	product := func() bool {
		id, src := it.ProductID, ""
		if it.Product != nil {
			if id == "" {
				id = it.Product.ID
			}
			src = it.Product.SourceID
		}
		if src == "" && it.RelatedObject != ObjectSKU {
			src = it.SourceID
		}
		return sameID(ref.ID, id) || sameID(ref.SourceID, src)
	}
	sku := func() bool {
		id, src := it.SKUID, ""
		if it.SKU != nil {
			if id == "" {
				id = it.SKU.ID
			}
			src = it.SKU.SourceID
		}
		if src == "" && it.RelatedObject == ObjectSKU {
			src = it.SourceID
		}
		return sameID(ref.ID, id) || sameID(ref.SourceID, src)
	}
	switch ref.Object {
	case ObjectProduct:
		return product()
	case ObjectSKU:
		return sku()
	case "":
		return product() || sku()
	}
	return false
}

func sameID(want, have string) bool { return want != "" && want == have }

// Validate checks r and fills in its defaults: the logic of every rule set
// that leaves it out (all its rules: "1 AND 2 AND ... n"), the type, the
// context type and empty applicable_to lists. It fails with EInvalidPayload,
// saying where and what, for a missing name; an unknown rule name, or one
// used where it cannot be (an item rule at the top, say); an unknown
// operator, or one the rule does not take; a value of the wrong type or the
// wrong number of values; a missing property where the rule needs one; rule
// keys that are not 1 to n; a logic that does not parse or names a rule that
// does not exist; more than MaxRules rules; rules nested more than
// MaxRuleDepth deep; and applicable_to entries that do not name a product or
// a SKU. Rule's comment lists the rule names and their operators.
func (r *ValidationRule) Validate() error {
	bad := func(format string, args ...any) error { return Errorf(EInvalidPayload, format, args...) }
	switch n := len(strings.TrimSpace(r.Name)); {
	case n == 0:
		return bad("name is required")
	case len(r.Name) > 500:
		return bad("name is %d bytes long; the limit is 500", len(r.Name))
	}
	if len(r.Error.Message) > 1000 {
		return bad("error.message is %d bytes long; the limit is 1000", len(r.Error.Message))
	}
	switch r.Type {
	case "":
		r.Type = "expression"
	case "expression", "basic", "advanced", "complex":
	default:
		return bad("type %q is unknown: use expression, basic, advanced or complex", clip(r.Type))
	}
	if r.ContextType == "" {
		r.ContextType = "global"
	}
	if len(r.ContextType) > 100 || strings.Trim(r.ContextType, "abcdefghijklmnopqrstuvwxyz0123456789._") != "" {
		return bad("context_type %q is not a context type such as %q", clip(r.ContextType), "global")
	}
	if err := r.ApplicableTo.validate(); err != nil {
		return err
	}
	fillLogic(&r.Rules, 1)
	_, err := compileRules(&r.Rules)
	return err
}

// fillLogic sets the logic of s and of the sets nested in it, where it is
// missing, to all their rules.
func fillLogic(s *RuleSet, depth int) {
	if depth > MaxRuleDepth+1 {
		return
	}
	if strings.TrimSpace(s.Logic) == "" && len(s.Rules) > 0 {
		s.Logic = defaultLogic(len(s.Rules))
	}
	for k, r := range s.Rules {
		if len(r.Rules.Rules) > 0 {
			fillLogic(&r.Rules, depth+1)
			s.Rules[k] = r
		}
	}
}

func (a *ApplicableTo) validate() error {
	if a.Included == nil {
		a.Included = []ApplicableItem{}
	}
	if a.Excluded == nil {
		a.Excluded = []ApplicableItem{}
	}
	for _, list := range []struct {
		name  string
		items []ApplicableItem
	}{{"included", a.Included}, {"excluded", a.Excluded}} {
		if len(list.items) > MaxApplicableItems {
			return Errorf(EInvalidPayload, "applicable_to.%s has %d entries; the limit is %d", list.name, len(list.items), MaxApplicableItems)
		}
		for i, it := range list.items {
			if err := it.validate(false); err != nil {
				return Errorf(EInvalidPayload, "applicable_to.%s[%d]: %v", list.name, i, err)
			}
		}
	}
	return nil
}

// validate checks that ref names a product or a SKU; in a rule's values
// (inRule) the object may be left out.
func (ref ApplicableItem) validate(inRule bool) error {
	switch ref.Object {
	case ObjectProduct, ObjectSKU:
	case "products_collection":
		return fmt.Errorf("product collections are not supported: name products or SKUs")
	case "":
		if !inRule {
			return fmt.Errorf(`object is required: "product" or "sku"`)
		}
	default:
		return fmt.Errorf(`object %q is unknown: use "product" or "sku"`, clip(ref.Object))
	}
	if ref.ID == "" && ref.SourceID == "" {
		return fmt.Errorf("id or source_id is required")
	}
	switch ref.Effect {
	case "", "APPLY_TO_EVERY", "APPLY_TO_CHEAPEST", "APPLY_FROM_CHEAPEST", "APPLY_TO_MOST_EXPENSIVE", "APPLY_FROM_MOST_EXPENSIVE":
	default:
		return fmt.Errorf("effect %q is unknown", clip(ref.Effect))
	}
	if ref.QuantityLimit < 0 || ref.AggregatedQuantityLimit < 0 || ref.AmountLimit < 0 || ref.AggregatedAmountLimit < 0 {
		return fmt.Errorf("limits must not be negative")
	}
	return nil
}
