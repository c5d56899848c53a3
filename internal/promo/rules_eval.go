package promo

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Count names: the figures limit rules need, which the engine counts (see
// RuleContext.Count). Each limit rule's count name is its own name; the
// .daily, .weekly and .monthly names count only since CountSince.
const (
	CountRedemptionsPerCustomer = "redemption.count.per_customer"
	CountRedemptions            = "redemption.count"
	CountCampaignRedemptions    = "campaign.redemptions.count"
	CountCampaignDiscounted     = "campaign.orders.amount_discounted"
	CountCampaignOrdersAmount   = "campaign.orders.amount"
	CountCustomerPurchases      = "customer.purchases.count"
)

// Suffixes of count names that count within a window.
const (
	CountDaily   = ".daily"
	CountWeekly  = ".weekly"
	CountMonthly = ".monthly"
)

// RuleContext is what a validation rule is evaluated against: one attempt
// to validate or redeem one code.
type RuleContext struct {
	// Now is the time of the attempt. It fixes the windows of the .daily,
	// .weekly and .monthly limits: see CountSince.
	Now time.Time
	// Order is the order the code is applied to; nil when the request has
	// none, and then the rules that need one fail.
	Order *Order
	// Customer is the redeeming customer, with the ID the store gave it;
	// nil when the request has none, and then the rules that need one fail
	// with EMissingCustomer.
	Customer *Customer
	// HolderID is the ID of the customer the code is published to; "" when
	// it is published to no one.
	HolderID string
	// Discount is what this redemption would take off the order, in minor
	// units: what campaign.orders.amount_discounted adds to its figure.
	Discount int64
	// Count returns a figure the limit rules need, counted by the engine
	// inside the transaction that redeems, and not counting this attempt.
	// name is a count name (see ValidationRule.CountNames) and since is
	// CountSince(name, Now): only what happened at or after since counts,
	// and the zero since counts everything. The figures:
	//
	//   - redemption.count.per_customer[.daily|.weekly|.monthly]: the
	//     customer's successful redemptions, not rolled back, of the object
	//     the rule is assigned to (the voucher, or any voucher of the
	//     campaign).
	//   - redemption.count.daily|.weekly|.monthly: every customer's
	//     successful redemptions, not rolled back, of that object.
	//   - campaign.redemptions.count[.daily|.weekly|.monthly]: the
	//     successful redemptions, not rolled back, of the campaign's vouchers.
	//   - campaign.orders.amount_discounted: the sum of the discounts of
	//     those redemptions, in minor units.
	//   - campaign.orders.amount: the sum of the amounts of their orders.
	//   - customer.purchases.count: the customer's earlier successful
	//     purchases (paid orders or redemptions, as the engine counts them).
	//
	// A limit rule compares the figure as it would be with this redemption:
	// the count plus one, or the amount plus this redemption's discount or
	// order amount. So "redemption.count.per_customer" with
	// {"$less_than_or_equal": [3]} allows a customer's first, second and
	// third redemption and refuses the fourth, as {"$less_than": [4]} does;
	// and a budget of {"$less_than_or_equal": [100000]} refuses a discount
	// that would take the campaign's total past 100000, whole: it is not cut
	// down to what is left.
	Count func(name string, since time.Time) (int64, error)
}

// CountSince returns the start of the window that the count name covers at
// now: midnight UTC of now's day for a .daily name, of the Monday of its ISO
// week for .weekly, of the first of its month for .monthly; the zero Time,
// which means all time, for the others.
func CountSince(name string, now time.Time) time.Time {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case strings.HasSuffix(name, CountDaily):
		return day
	case strings.HasSuffix(name, CountWeekly):
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		return day.AddDate(0, 0, -back)
	case strings.HasSuffix(name, CountMonthly):
		return time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Time{}
}

// CountScope returns a count name without its window suffix: what is
// counted, whatever the window.
func CountScope(name string) string {
	for _, w := range []string{CountDaily, CountWeekly, CountMonthly} {
		if s, ok := strings.CutSuffix(name, w); ok {
			return s
		}
	}
	return name
}

// RuleViolation is why a validation rule fails: the top-level rule to
// blame and what to answer.
type RuleViolation struct {
	// RuleID is the validation rule's ID.
	RuleID string
	// Key is the failing rule's number, "1", "2" ...; Name is its name.
	Key  string
	Name string
	// Code is the error code to answer: EOrderRulesViolated for the order
	// and item rules, ECustomerRulesViolated for the customer rules,
	// ERedemptionRulesViolated for the limits; but EMissingCustomer when a
	// rule needs a customer and there is none, EMissingAmount when it needs
	// the order's amount and there is none, and EMissingOrderItems when an
	// item rule fails on an order without items.
	Code string
	// Message is for the client: the failing rule's error.message, else the
	// validation rule's, else Reason.
	Message string
	// Custom reports whether Message is one of the error.messages, which
	// the API shows as the error's "error": {"message"}.
	Custom bool
	// Reason says what failed, always generated: "order.amount is 3000,
	// which fails $more_than [5000]".
	Reason string
}

// Err returns v as an *Error: v.Code, the code's standard message, v.Message
// as details, and v.Reason as the cause for logs.
func (v *RuleViolation) Err() *Error {
	return &Error{Code: v.Code, Message: ruleCodeMessage(v.Code), Details: v.Message, Err: errors.New(v.Reason)}
}

// ruleCodeMessage gives the error codes of rules their fixed messages.
func ruleCodeMessage(code string) string {
	switch code {
	case EOrderRulesViolated:
		return "Order does not match validation rules"
	case ECustomerRulesViolated:
		return "Customer does not match validation rules"
	case ERedemptionRulesViolated:
		return "Redemption does not match validation rules"
	case EMissingAmount:
		return "Missing amount"
	case EMissingOrderItems:
		return "Missing order items"
	}
	return messageOf(code)
}

// CountNames returns the count names r's rules ask RuleContext.Count for,
// sorted: only those of rules its logic uses, so the engine counts nothing
// more. It returns nil when r needs none or is not valid.
func (r *ValidationRule) CountNames() []string {
	p, err := r.Rules.program()
	if err != nil || p.logic == nil {
		return nil
	}
	var names []string
	p.logic.rules(func(n int) {
		if c := p.rules[n-1].spec.count; c != "" && !slices.Contains(names, c) {
			names = append(names, c)
		}
	})
	slices.Sort(names)
	return names
}

// Evaluate evaluates r's rules in c. It returns a nil violation and a nil
// error when they pass, the violation when they fail, and an error when
// Count fails or r is not valid (EInvalidPayload, as from Validate).
// Evaluation is deterministic: AND and OR are evaluated left to right and
// stop at the first operand that decides them; a failing AND blames the
// failure of its first failing operand, a failing OR that of its first
// operand, and a failing NOT the first rule under it.
//
// Applicable_to plays no part here: see ApplicableTo.Eligible.
func (r *ValidationRule) Evaluate(c RuleContext) (*RuleViolation, error) {
	p, err := r.Rules.program()
	if err != nil {
		return nil, err
	}
	if p.logic == nil {
		return nil, nil
	}
	e := &evaluator{c: &c, memo: make([]*outcome, len(p.rules)), counts: map[string]int64{}}
	ok, f, err := e.eval(p, p.logic, nil)
	if err != nil || ok {
		return nil, err
	}
	cr := p.rules[f.rule-1]
	v := &RuleViolation{RuleID: r.ID, Key: cr.key, Name: cr.rule.Name, Code: f.code, Reason: f.reason}
	if v.Code == "" {
		v.Code = cr.spec.code
	}
	switch {
	case cr.rule.Error.Message != "":
		v.Message, v.Custom = cr.rule.Error.Message, true
	case r.Error.Message != "":
		v.Message, v.Custom = r.Error.Message, true
	default:
		v.Message = v.Reason
	}
	return v, nil
}

// outcome is a rule's result.
type outcome struct {
	ok     bool
	code   string // when failing: the error code, "" for the rule's own
	reason string // when failing: why
}

// failure is the rule to blame for a failing expression.
type failure struct {
	rule   int
	code   string
	reason string
}

// evaluator evaluates one validation rule in one context.
type evaluator struct {
	c      *RuleContext
	memo   []*outcome // the top-level rules' outcomes
	counts map[string]int64
}

// itemEnv is the item that nested rules are evaluated on and the lines that
// match the same reference.
type itemEnv struct {
	item  *OrderItem
	group []*OrderItem
}

// eval evaluates n over p's rules, on an item for nested rules (env), and
// blames a rule when n fails.
func (e *evaluator) eval(p *program, n *logicNode, env *itemEnv) (bool, *failure, error) {
	switch n.op {
	case logicRule:
		o, err := e.rule(p, n.rule, env)
		if err != nil {
			return false, nil, err
		}
		if o.ok {
			return true, nil, nil
		}
		return false, &failure{rule: n.rule, code: o.code, reason: o.reason}, nil
	case logicNot:
		ok, _, err := e.eval(p, n.kids[0], env)
		if err != nil || !ok {
			return true, nil, err
		}
		first := n.kids[0].firstRule()
		return false, &failure{rule: first, reason: fmt.Sprintf("the logic wants NOT %s, and %s holds", n.kids[0].operand(), n.kids[0])}, nil
	case logicAnd:
		for _, k := range n.kids {
			ok, f, err := e.eval(p, k, env)
			if err != nil || !ok {
				return false, f, err
			}
		}
		return true, nil, nil
	}
	var first *failure
	for _, k := range n.kids {
		ok, f, err := e.eval(p, k, env)
		if err != nil || ok {
			return ok, nil, err
		}
		if first == nil {
			first = f
		}
	}
	return false, first, nil
}

// rule evaluates rule number n of p; top-level outcomes are kept, so a
// rule the logic names twice costs once.
func (e *evaluator) rule(p *program, n int, env *itemEnv) (*outcome, error) {
	if env == nil && e.memo[n-1] != nil {
		return e.memo[n-1], nil
	}
	o, err := e.ruleOutcome(p.rules[n-1], env)
	if err != nil {
		return nil, err
	}
	if env == nil {
		e.memo[n-1] = o
	}
	return o, nil
}

func pass() (*outcome, error) { return &outcome{ok: true}, nil }

func fail(code, format string, args ...any) (*outcome, error) {
	return &outcome{code: code, reason: fmt.Sprintf(format, args...)}, nil
}

// ruleOutcome evaluates one rule.
func (e *evaluator) ruleOutcome(r *compiledRule, env *itemEnv) (*outcome, error) {
	c, s, name := e.c, r.spec, r.rule.Name
	switch s.kind {
	case kindOrderInt, kindPrice:
		o := c.Order
		if s.amount && (o == nil || o.Amount == 0 && o.InitialAmount == 0 && len(o.Items) == 0) {
			return fail(EMissingAmount, "%s: the order has no amount", name)
		}
		if o == nil {
			o = &Order{}
		}
		code := ""
		if !s.amount && len(o.Items) == 0 {
			code = EMissingOrderItems
		}
		if s.kind == kindOrderInt {
			x := s.orderInt(o)
			if cond := firstFailing(r.conds, func(cd *condition) bool { return intHolds(cd, x) }); cond != nil {
				return fail(code, "%s is %d, which fails %s", name, x, cond)
			}
			return pass()
		}
		if len(o.Items) == 0 {
			return fail(code, "%s: the order has no items", name)
		}
		for i := range o.Items {
			x := itemPrice(&o.Items[i])
			cond := firstFailing(r.conds, func(cd *condition) bool { return intHolds(cd, x) })
			if s.every && cond != nil {
				return fail(code, "%s: item %d's price is %d, which fails %s", name, i, x, cond)
			}
			if !s.every && cond == nil {
				return pass()
			}
		}
		if s.every {
			return pass()
		}
		return fail(code, "%s: no item's price meets %s", name, showConds(r.conds))

	case kindItemInt:
		x := s.itemInt(env.item, env.group)
		if cond := firstFailing(r.conds, func(cd *condition) bool { return intHolds(cd, x) }); cond != nil {
			return fail("", "%s is %d, which fails %s", name, x, cond)
		}
		return pass()

	case kindMeta:
		var md Metadata
		switch s.meta {
		case metaOrder:
			if c.Order == nil {
				return fail("", "%s %q: there is no order", name, r.rule.Property)
			}
			md = c.Order.Metadata
		case metaCustomer:
			if c.Customer == nil {
				return fail(EMissingCustomer, "%s %q: there is no customer", name, r.rule.Property)
			}
			md = c.Customer.Metadata
		case metaItem:
			md = env.item.Metadata
		case metaProduct:
			if env.item.Product != nil {
				md = env.item.Product.Metadata
			}
		}
		v, present := md[r.rule.Property]
		present = present && v != nil
		if cond := firstFailing(r.conds, func(cd *condition) bool { return metaHolds(cd, v, present) }); cond != nil {
			if !present {
				return fail("", "%s %q is not set, which fails %s", name, r.rule.Property, cond)
			}
			return fail("", "%s %q is %s, which fails %s", name, r.rule.Property, showValue(v), cond)
		}
		return pass()

	case kindCountry:
		if c.Customer == nil {
			return fail(EMissingCustomer, "%s: there is no customer", name)
		}
		country := ""
		if c.Customer.Address != nil {
			country = strings.ToUpper(strings.TrimSpace(c.Customer.Address.Country))
		}
		if cond := firstFailing(r.conds, func(cd *condition) bool { return countryHolds(cd, country) }); cond != nil {
			if country == "" {
				return fail("", "%s is not known, which fails %s", name, cond)
			}
			return fail("", "%s is %q, which fails %s", name, country, cond)
		}
		return pass()

	case kindHolder:
		if c.Customer == nil {
			return fail(EMissingCustomer, "%s: there is no customer", name)
		}
		holder := c.HolderID != "" && c.Customer.ID == c.HolderID
		if cond := firstFailing(r.conds, func(cd *condition) bool { return boolHolds(cd, holder) }); cond != nil {
			switch {
			case c.HolderID == "":
				return fail("", "%s: the code is published to no one, which fails %s", name, cond)
			case holder:
				return fail("", "%s: the customer holds the code, which fails %s", name, cond)
			}
			return fail("", "%s: the customer does not hold the code, which fails %s", name, cond)
		}
		return pass()

	case kindFirstPurchase:
		if c.Customer == nil {
			return fail(EMissingCustomer, "%s: there is no customer", name)
		}
		n, err := e.count(s.count)
		if err != nil {
			return nil, err
		}
		first := n == 0
		if cond := firstFailing(r.conds, func(cd *condition) bool { return boolHolds(cd, first) }); cond != nil {
			return fail("", "%s: the customer has %d earlier purchases, which fails %s", name, n, cond)
		}
		return pass()

	case kindLimit:
		if s.customer && c.Customer == nil {
			return fail(EMissingCustomer, "%s counts per customer, and there is no customer", name)
		}
		var share int64 = 1
		switch s.share {
		case shareDiscount:
			share = c.Discount
		case shareAmount:
			if c.Order == nil || c.Order.Amount == 0 && len(c.Order.Items) == 0 {
				return fail(EMissingAmount, "%s: the order has no amount", name)
			}
			share = c.Order.Amount
		}
		n, err := e.count(s.count)
		if err != nil {
			return nil, err
		}
		x := satAdd(n, share)
		if cond := firstFailing(r.conds, func(cd *condition) bool { return intHolds(cd, x) }); cond != nil {
			return fail("", "%s would be %d with this redemption (%d before it), which fails %s", name, x, n, cond)
		}
		return pass()

	case kindItems:
		return e.items(r)
	}
	return nil, fmt.Errorf("promo: rule %s has no evaluation", name)
}

// count returns a count, asking Count once per evaluation.
func (e *evaluator) count(name string) (int64, error) {
	if n, ok := e.counts[name]; ok {
		return n, nil
	}
	if e.c.Count == nil {
		return 0, fmt.Errorf("promo: a rule needs the count %s and the context has no Count", name)
	}
	n, err := e.c.Count(name, CountSince(name, e.c.Now))
	if err != nil {
		return 0, fmt.Errorf("counting %s: %w", name, err)
	}
	if n < 0 {
		return 0, fmt.Errorf("promo: the count %s is negative: %d", name, n)
	}
	e.counts[name] = n
	return n, nil
}

// items evaluates an item rule: each condition's references are matched
// against the order's items, and an item matches only when it also passes
// the nested rules.
func (e *evaluator) items(r *compiledRule) (*outcome, error) {
	var items []OrderItem
	if e.c.Order != nil {
		items = e.c.Order.Items
	}
	for i := range r.conds {
		o, err := e.itemsCondition(r, &r.conds[i], items)
		if err != nil || !o.ok {
			return o, err
		}
	}
	return pass()
}

// itemsCondition evaluates one condition of an item rule. $is and $in of
// order.items.any, product.id and sku.id hold when an item matches one of
// the references; of order.items.every, when each reference is matched;
// of order.items.none, and $is_not and $not_in, when no item matches any.
func (e *evaluator) itemsCondition(r *compiledRule, cd *condition, items []OrderItem) (*outcome, error) {
	name := r.rule.Name
	code := ""
	if len(items) == 0 {
		code = EMissingOrderItems
	}
	with := ""
	if r.nested != nil {
		with = " and passes the nested rules"
	}
	none := r.spec.none || cd.op == OpIsNot || cd.op == OpNotIn
	for i := range cd.vals {
		ref := cd.vals[i].ref
		at, err := e.matching(r, ref, items)
		if err != nil {
			return nil, err
		}
		switch {
		case none && at >= 0:
			return fail("", "%s: item %d matches %s%s, which fails %s", name, at, showRef(ref), with, cd)
		case none:
		case r.spec.every && at < 0 && len(items) == 0:
			return fail(code, "%s: the order has no items, which fails %s", name, cd)
		case r.spec.every && at < 0:
			return fail(code, "%s: no item matches %s%s, which fails %s", name, showRef(ref), with, cd)
		case !r.spec.every && at >= 0:
			return pass()
		}
	}
	switch {
	case none || r.spec.every:
		return pass()
	case len(items) == 0:
		return fail(code, "%s: the order has no items, which fails %s", name, cd)
	}
	return fail(code, "%s: no item matches any of %s%s, which fails %s", name, showValue(cd.raw), with, cd)
}

// matching returns the index of the first item that matches ref and passes
// r's nested rules, or -1.
func (e *evaluator) matching(r *compiledRule, ref ApplicableItem, items []OrderItem) (int, error) {
	var group []*OrderItem
	for i := range items {
		if ref.Matches(&items[i]) {
			group = append(group, &items[i])
		}
	}
	for _, it := range group {
		ok := true
		if r.nested != nil {
			var err error
			ok, _, err = e.eval(r.nested, r.nested.logic, &itemEnv{item: it, group: group})
			if err != nil {
				return -1, err
			}
		}
		if ok {
			return indexOfItem(items, it), nil
		}
	}
	return -1, nil
}

func indexOfItem(items []OrderItem, it *OrderItem) int {
	for i := range items {
		if &items[i] == it {
			return i
		}
	}
	return -1
}

func showRef(ref ApplicableItem) string {
	what := ref.Object
	if what == "" {
		what = "product or SKU"
	}
	switch {
	case ref.ID != "" && ref.ID == ref.SourceID:
		return fmt.Sprintf("%s %q", what, ref.ID)
	case ref.ID != "" && ref.SourceID != "":
		return fmt.Sprintf("%s %q (source_id %q)", what, ref.ID, ref.SourceID)
	case ref.ID != "":
		return fmt.Sprintf("%s %q", what, ref.ID)
	}
	return fmt.Sprintf("%s with source_id %q", what, ref.SourceID)
}

// String writes c as in the rule: "$more_than [5000]".
func (c *condition) String() string {
	if len(c.raw) == 0 {
		return c.as
	}
	return c.as + " " + showValue(c.raw)
}

func showConds(conds []condition) string {
	parts := make([]string, len(conds))
	for i := range conds {
		parts[i] = conds[i].String()
	}
	return strings.Join(parts, " and ")
}

// firstFailing returns the first condition that does not hold, or nil.
func firstFailing(conds []condition, holds func(*condition) bool) *condition {
	for i := range conds {
		if !holds(&conds[i]) {
			return &conds[i]
		}
	}
	return nil
}

// positive returns the operator that op negates, if it is a negative one.
func positive(op string) (string, bool) {
	switch op {
	case OpIsNot:
		return OpIs, true
	case OpNotIn:
		return OpIn, true
	}
	return op, false
}

// intHolds tests a whole number.
func intHolds(c *condition, x int64) bool {
	op, neg := positive(c.op)
	var ok bool
	switch op {
	case OpIs, OpIn:
		for _, v := range c.vals {
			ok = ok || x == v.i
		}
	case OpMoreThan:
		ok = x > c.vals[0].i
	case OpMoreThanOrEqual:
		ok = x >= c.vals[0].i
	case OpLessThan:
		ok = x < c.vals[0].i
	case OpLessThanOrEqual:
		ok = x <= c.vals[0].i
	}
	return ok != neg
}

func boolHolds(c *condition, x bool) bool {
	_, neg := positive(c.op)
	return (x == c.vals[0].b) != neg
}

func countryHolds(c *condition, country string) bool {
	_, neg := positive(c.op)
	ok := false
	for _, v := range c.vals {
		ok = ok || country != "" && country == v.s
	}
	return ok != neg
}

// metaHolds tests a metadata value. A value that is not set fails every
// operator but the negative ones and $is_unknown. A list holds for an
// operator when one of its elements does, and for a negative operator when
// none holds for the positive one. Strings and numbers never equal each
// other: "10" is not 10.
func metaHolds(c *condition, v any, present bool) bool {
	switch c.op {
	case OpExists:
		return present
	case OpIsUnknown:
		return !present
	}
	op, neg := positive(c.op)
	if !present {
		return neg
	}
	ok := false
	if list, isList := v.([]any); isList {
		for _, el := range list {
			ok = ok || el != nil && scalarHolds(op, c.vals, el)
		}
	} else {
		ok = scalarHolds(op, c.vals, v)
	}
	return ok != neg
}

// scalarHolds tests one value with a positive operator.
func scalarHolds(op string, vals []value, x any) bool {
	switch op {
	case OpIs, OpIn:
		for i := range vals {
			if equalValue(&vals[i], x) {
				return true
			}
		}
		return false
	case OpStartsWith, OpEndsWith, OpContains:
		s, ok := x.(string)
		if !ok {
			return false
		}
		for _, v := range vals {
			if op == OpStartsWith && strings.HasPrefix(s, v.s) ||
				op == OpEndsWith && strings.HasSuffix(s, v.s) ||
				op == OpContains && strings.Contains(s, v.s) {
				return true
			}
		}
		return false
	}
	cmp, ok := compareValue(&vals[0], x)
	if !ok {
		return false
	}
	switch op {
	case OpMoreThan:
		return cmp > 0
	case OpMoreThanOrEqual:
		return cmp >= 0
	case OpLessThan:
		return cmp < 0
	case OpLessThanOrEqual:
		return cmp <= 0
	}
	return false
}

func equalValue(v *value, x any) bool {
	switch v.kind {
	case valString:
		s, ok := x.(string)
		return ok && s == v.s
	case valBool:
		b, ok := x.(bool)
		return ok && b == v.b
	case valNumber:
		n, ok := ratValue(x)
		return ok && n.Cmp(v.n) == 0
	}
	return false
}

// compareValue compares x with v: a number with a number, a time with a
// time; ok is false when they cannot be compared.
func compareValue(v *value, x any) (int, bool) {
	if v.hasTime {
		s, ok := x.(string)
		if !ok {
			return 0, false
		}
		t, err := ParseTime(s)
		if err != nil {
			return 0, false
		}
		return t.Compare(v.t.Time), true
	}
	n, ok := ratValue(x)
	if !ok || v.n == nil {
		return 0, false
	}
	return n.Cmp(v.n), true
}
