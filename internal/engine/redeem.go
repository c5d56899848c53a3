package engine

import (
	"context"
	"fmt"
	"time"

	"promo/internal/promo"
)

// RedeemableInput names one code of a validation or redemption request.
type RedeemableInput struct {
	Object string `json:"object"`
	ID     string `json:"id"`
}

// SessionInput asks a validation to lock the codes it finds valid for a
// session, or a redemption to redeem under the session's lock.
type SessionInput struct {
	Type    string `json:"type"`
	Key     string `json:"key"`
	TTL     int64  `json:"ttl"`
	TTLUnit string `json:"ttl_unit"`
}

// StackingInput is a request's stacking rules and application mode.
type StackingInput struct {
	promo.StackingRules
	// Mode is ALL (the default: one inapplicable code fails the request)
	// or PARTIAL (the applicable codes apply, the others are reported).
	Mode string `json:"redeemables_application_mode"`
}

// Application modes.
const (
	ModeAll     = "ALL"
	ModePartial = "PARTIAL"
)

// RedeemRequest is a validation or a redemption: up to 30 codes against an
// order for a customer.
type RedeemRequest struct {
	Redeemables []RedeemableInput `json:"redeemables"`
	Customer    *CustomerInput    `json:"customer"`
	Order       *OrderInput       `json:"order"`
	Session     *SessionInput     `json:"session"`
	Metadata    promo.Metadata    `json:"metadata"`
	TrackingID  string            `json:"tracking_id"`
	Stacking    *StackingInput    `json:"stacking_rules"`

	// What the API layer knows of the caller: not from the body.
	Channel  string `json:"-"`
	ClientIP string `json:"-"`
	// Idempotency, when set, makes a redemption safe to retry.
	Idempotency *Idempotency `json:"-"`
}

// Idempotency is a request's Idempotency-Key with the hash of what the
// request asks, and how to render the response that a retry gets back.
type Idempotency struct {
	Key  string
	Hash string
	// Render turns the result into the response body stored for retries.
	Render func(result any) ([]byte, error)
}

// RedeemableResult is the decision on one requested code.
type RedeemableResult struct {
	Input   RedeemableInput
	Key     string
	Voucher *promo.Voucher // nil when there is no such code
	// Status is APPLICABLE, INAPPLICABLE or SKIPPED.
	Status string
	// Err says why an INAPPLICABLE code is; Violation, when a validation
	// rule failed.
	Err       *promo.Error
	Violation *promo.RuleViolation
	// SkipReason says why a SKIPPED code is (promo.Skip*).
	SkipReason string
	// Applied is what an APPLICABLE code takes off the order.
	Applied promo.Applied
	// Order is the order as this code leaves it, the earlier ones applied.
	Order promo.CalculatedOrder

	eligible func(int, promo.OrderItem) bool // the items its discount applies to
	// canary is the canary voucher the input named: refused as if it did
	// not exist (Voucher is nil), and flagged.
	canary *promo.Voucher
}

// Validation is the outcome of a validation, and the decision a
// redemption acts on.
type Validation struct {
	ID          string
	Valid       bool
	Redeemables []*RedeemableResult
	// Order is the order with every applicable code applied; OrderObj the
	// order as given (and stored, by a redemption).
	Order    promo.CalculatedOrder
	OrderObj *promo.Order
	// Customer is the customer; nil when the request named none, and
	// without an ID when a validation names one the store does not know.
	Customer   *promo.Customer
	TrackingID string
	Session    *SessionInput
	Stacking   StackingInput
	Metadata   promo.Metadata
}

// Applicable returns the codes that apply.
func (v *Validation) Applicable() []*RedeemableResult {
	var out []*RedeemableResult
	for _, r := range v.Redeemables {
		if r.Status == promo.RedeemableApplicable {
			out = append(out, r)
		}
	}
	return out
}

// FirstError returns the error of the first inapplicable code.
func (v *Validation) FirstError() *promo.Error {
	for _, r := range v.Redeemables {
		if r.Status == promo.RedeemableInapplicable {
			return r.Err
		}
	}
	return nil
}

// RedemptionResult is the outcome of a redemption.
type RedemptionResult struct {
	Validation *Validation
	// Parent groups the redemptions of a request of several codes.
	Parent      *promo.Redemption
	Redemptions []*promo.Redemption // the successful ones
	Failed      []*promo.Redemption
	Order       *promo.Order
	Customer    *promo.Customer
}

// Limits of a request.
const (
	maxRedeemables = promo.MaxRedeemablesLimit
	maxSessionKey  = 200
)

// check validates the request's shape, and returns the codes' keys.
func (in *RedeemRequest) check() ([]string, error) {
	switch {
	case len(in.Redeemables) == 0:
		return nil, invalid(promo.EInvalidPayload, "redeemables: give at least one, as {\"object\":\"voucher\",\"id\":CODE}")
	case len(in.Redeemables) > maxRedeemables:
		return nil, invalid(promo.EInvalidPayload, "redeemables: at most %d in one request, not %d", maxRedeemables, len(in.Redeemables))
	case len(in.TrackingID) > maxNameLen || len(in.Channel) > maxNameLen:
		return nil, invalid(promo.EInvalidPayload, "tracking_id and channel have at most %d bytes", maxNameLen)
	}
	if in.Stacking == nil {
		in.Stacking = &StackingInput{}
	}
	switch in.Stacking.Mode {
	case "":
		in.Stacking.Mode = ModeAll
	case ModeAll, ModePartial:
	default:
		return nil, invalid(promo.EInvalidPayload, "stacking_rules.redeemables_application_mode %q is unknown: use ALL or PARTIAL", in.Stacking.Mode)
	}
	if err := in.Stacking.StackingRules.Validate(); err != nil {
		return nil, err
	}
	if s := in.Session; s != nil {
		if s.Type != "" && s.Type != "LOCK" {
			return nil, invalid(promo.EInvalidPayload, "session.type %q is unknown: use LOCK", s.Type)
		}
		if s.Key == "" || len(s.Key) > maxSessionKey {
			return nil, invalid(promo.EInvalidPayload, "session.key is required, at most %d bytes", maxSessionKey)
		}
		if _, err := promo.SessionTTL(s.TTL, s.TTLUnit); err != nil {
			return nil, err
		}
	}
	keys := make([]string, len(in.Redeemables))
	for i, r := range in.Redeemables {
		switch r.Object {
		case "", "voucher":
		default:
			return nil, invalid(promo.EInvalidRedeemables, "redeemables[%d]: object %q is not supported: use voucher", i, r.Object)
		}
		if r.ID == "" {
			return nil, invalid(promo.EInvalidRedeemables, "redeemables[%d]: id is required", i)
		}
		if len(r.ID) > maxNameLen {
			return nil, invalid(promo.EInvalidRedeemables, "redeemables[%d]: id has at most %d bytes", i, maxNameLen)
		}
		// A code that does not normalize is no code of this store: it
		// stays in the request, to be reported as not found.
		key, err := promo.CodeKey(r.ID)
		if err != nil {
			key = "\x00" + r.ID
		}
		keys[i] = key
	}
	if i := promo.FirstDuplicate(keys); i >= 0 {
		e := promo.Errorf(promo.EDuplicatedRedeemables, "redeemables[%d] (%s) repeats an earlier code of the request", i, in.Redeemables[i].ID)
		return nil, e
	}
	return keys, nil
}

// Validate decides whether the request's codes apply to its order and
// customer, and what they take off. It writes nothing but, when the
// request has a session, the codes' locks; the attempt is logged. Invalid
// codes are a result (Valid false), not an error. EInvalidPayload and
// friends for a malformed request.
func (e *Engine) Validate(ctx context.Context, in RedeemRequest) (*Validation, error) {
	keys, err := in.check()
	if err != nil {
		return nil, err
	}
	now := e.Now()
	var val *Validation
	if in.Session == nil {
		val, err = e.evaluate(ctx, e.store, nil, &in, keys, now)
	} else {
		err = e.store.Update(ctx, func(tx promo.Tx) error {
			var err error
			if val, err = e.evaluate(ctx, tx, tx, &in, keys, now); err != nil {
				return err
			}
			return e.lock(ctx, tx, val, in.Session, now)
		})
	}
	if err != nil {
		return nil, err
	}
	e.recordAttempts(ctx, validationAttempts(ctx, val, &in, keys, now))
	e.watch(ctx, &in, val, now)
	return val, nil
}

// lock takes a session lock of one redemption on each applicable code.
func (e *Engine) lock(ctx context.Context, tx promo.Tx, val *Validation, s *SessionInput, now promo.Time) error {
	ttl, err := promo.SessionTTL(s.TTL, s.TTLUnit)
	if err != nil {
		return err
	}
	for _, r := range val.Applicable() {
		if err := tx.PutSession(ctx, &promo.Session{VoucherSeq: r.Voucher.Seq, Key: s.Key, Quantity: 1,
			ExpiresAt: promo.NewTime(now.Add(ttl)), CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// ReleaseSession deletes a session's lock on a code; ENotFound when the
// code or the lock does not exist.
func (e *Engine) ReleaseSession(ctx context.Context, code, key string) error {
	return e.store.Update(ctx, func(tx promo.Tx) error {
		v, err := voucher(ctx, tx, code)
		if err != nil {
			return err
		}
		ok, err := tx.DeleteSession(ctx, v.Seq, key)
		if err != nil {
			return err
		}
		if !ok {
			return promo.NotFound("session", key)
		}
		return nil
	})
}

// evaluate decides on each code of the request, in a snapshot (r) or in
// the redeeming transaction (tx non-nil: the codes are locked and the
// customer is upserted). The decisions depend only on the store's state,
// the request and now, so a validation and a redemption of the same
// basket decide alike.
func (e *Engine) evaluate(ctx context.Context, r promo.Reader, tx promo.Tx, in *RedeemRequest, keys []string, now promo.Time) (*Validation, error) {
	val := &Validation{ID: promo.NewID("valid_"), TrackingID: in.TrackingID, Session: in.Session,
		Stacking: *in.Stacking, Metadata: in.Metadata}
	if val.Metadata == nil {
		val.Metadata = promo.Metadata{}
	}
	cust, err := e.requestCustomer(ctx, r, tx, in)
	if err != nil {
		return nil, err
	}
	val.Customer = cust
	order, err := e.requestOrder(ctx, r, in, cust)
	if err != nil {
		return nil, err
	}
	val.OrderObj = order
	basket, err := promo.NewBasket(order)
	if err != nil {
		return nil, err
	}
	campaigns := map[string]*promo.Campaign{}
	stack := make([]promo.Stackable, len(keys))
	for i, key := range keys {
		res := &RedeemableResult{Input: in.Redeemables[i], Key: key, Status: promo.RedeemableApplicable}
		val.Redeemables = append(val.Redeemables, res)
		c, err := e.decide(ctx, r, tx, in, res, order, basket, cust, campaigns, now)
		if err != nil {
			return nil, err
		}
		stack[i] = promo.Stackable{Applicable: res.Status == promo.RedeemableApplicable}
		if c != nil {
			stack[i].Exclusive, stack[i].Joint = c.Exclusive, c.Joint
		}
	}
	decisions, err := promo.Stack(stack, val.Stacking.StackingRules)
	if err != nil {
		return nil, err
	}
	failed := false
	for i, d := range decisions {
		res := val.Redeemables[i]
		switch d.Status {
		case promo.RedeemableSkipped:
			res.Status, res.SkipReason = promo.RedeemableSkipped, d.Reason
		case promo.RedeemableInapplicable:
			failed = true
		}
	}
	if failed && val.Stacking.Mode == ModeAll {
		// One inapplicable code fails them all: the others are skipped.
		for _, res := range val.Redeemables {
			if res.Status != promo.RedeemableInapplicable {
				res.Status, res.SkipReason = promo.RedeemableSkipped, promo.SkipPrecedingValidationFailed
			}
		}
	}
	for _, res := range val.Redeemables {
		if res.Status != promo.RedeemableApplicable {
			continue
		}
		// Applied for real, in the requested order, each on what the
		// earlier ones left.
		applied, err := basket.Apply(*res.Voucher.Template.Discount, res.eligible)
		if err != nil {
			return nil, err
		}
		res.Applied, res.Order = applied, basket.Result()
		val.Valid = true
	}
	val.Order = basket.Result()
	return val, nil
}

// requestCustomer returns the request's customer: upserted in a
// redemption; in a validation, the stored one or, for one the store does
// not know, the request's without an ID.
func (e *Engine) requestCustomer(ctx context.Context, r promo.Reader, tx promo.Tx, in *RedeemRequest) (*promo.Customer, error) {
	if in.Customer == nil || (in.Customer.ID == "" && (in.Customer.SourceID == nil || *in.Customer.SourceID == "")) {
		if in.Customer != nil && tx != nil {
			return nil, invalid(promo.EMissingCustomer, "customer needs an id or a source_id")
		}
		return nil, nil
	}
	if tx != nil {
		return e.upsertCustomer(ctx, tx, *in.Customer)
	}
	idOrSource := in.Customer.ID
	if idOrSource == "" {
		idOrSource = *in.Customer.SourceID
	}
	c, err := r.Customer(ctx, idOrSource)
	switch {
	case err == nil:
		// What the request says of the customer holds for this validation.
		if _, err := in.Customer.apply(c); err != nil {
			return nil, err
		}
		return c, nil
	case promo.ErrorCode(err) != promo.ENotFound:
		return nil, err
	case in.Customer.ID != "":
		return nil, err
	}
	c = &promo.Customer{SourceID: *in.Customer.SourceID, Metadata: promo.Metadata{}}
	if _, err := in.Customer.apply(c); err != nil {
		return nil, err
	}
	return c, nil
}

// requestOrder returns the request's order: the stored one it names with
// what the request changes, or a new one. Nothing is stored here.
func (e *Engine) requestOrder(ctx context.Context, r promo.Reader, in *RedeemRequest, cust *promo.Customer) (*promo.Order, error) {
	o := &promo.Order{Status: promo.OrderCreated, Metadata: promo.Metadata{}, Items: []promo.OrderItem{}}
	oi := in.Order
	if oi == nil {
		return o, nil
	}
	ref := oi.ID
	if ref == "" && oi.SourceID != nil {
		ref = *oi.SourceID
	}
	if ref != "" {
		stored, err := r.Order(ctx, ref)
		switch {
		case err == nil && (oi.ID != "" || stored.SourceID == ref):
			o = stored
		case err == nil || promo.ErrorCode(err) == promo.ENotFound:
			if oi.ID != "" {
				return nil, err
			}
			o.SourceID = ref
		default:
			return nil, err
		}
	}
	oi.apply(o)
	if cust != nil {
		o.CustomerID = cust.ID
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return o, nil
}

// decide checks one code: that it exists, is active and live, has
// redemptions left, and passes its validation rules; res says the outcome.
// It returns the code's campaign, if any.
func (e *Engine) decide(ctx context.Context, r promo.Reader, tx promo.Tx, in *RedeemRequest, res *RedeemableResult,
	order *promo.Order, basket *promo.Basket, cust *promo.Customer, campaigns map[string]*promo.Campaign, now promo.Time) (*promo.Campaign, error) {
	fail := func(code, format string, args ...any) (*promo.Campaign, error) {
		res.Status = promo.RedeemableInapplicable
		res.Err = promo.Errorf(code, format, args...)
		res.Err.ResourceID, res.Err.ResourceType = res.Input.ID, "voucher"
		return nil, nil
	}
	var (
		v   *promo.Voucher
		err error
	)
	if res.Key[0] != 0 {
		if tx != nil {
			v, err = tx.LockVoucher(ctx, res.Key)
		} else {
			v, err = r.VoucherByKey(ctx, res.Key)
		}
	}
	if v == nil || (err == nil && !promo.SameCode(res.Input.ID, v.Code, v.CaseSensitive)) {
		if err != nil && promo.ErrorCode(err) != promo.ENotFound {
			return nil, err
		}
		return fail(promo.EResourceNotFound, "Cannot find voucher with id %s", res.Input.ID)
	}
	if err != nil {
		return nil, err
	}
	if v.Template.Canary {
		res.canary = v
		return fail(promo.EResourceNotFound, "Cannot find voucher with id %s", res.Input.ID)
	}
	res.Voucher = v
	var c *promo.Campaign
	if v.CampaignID != "" {
		if c = campaigns[v.CampaignID]; c == nil {
			if c, err = r.Campaign(ctx, v.CampaignID); err != nil {
				return nil, err
			}
			campaigns[v.CampaignID] = c
		}
	}
	t := &v.Template
	switch {
	case !v.Active:
		return fail(promo.EVoucherDisabled, "voucher %s is disabled", v.Code)
	case c != nil && !c.Active:
		return fail(promo.EVoucherDisabled, "the campaign of voucher %s is disabled", v.Code)
	case t.Discount == nil:
		return fail(promo.EVoucherDisabled, "voucher %s has no discount", v.Code)
	}
	// Start inclusive, expiration exclusive: a code starting at 10:00 is
	// valid at 10:00:00.000, one expiring at 10:00 is not.
	for _, s := range []*promo.Time{t.StartDate, campaignTime(c, true)} {
		if s != nil && now.Before(s.Time) {
			return fail(promo.EVoucherNotActive, "voucher %s is not active before %s", v.Code, s.Format(time.RFC3339))
		}
	}
	for _, x := range []*promo.Time{t.ExpirationDate, campaignTime(c, false)} {
		if x != nil && !now.Before(x.Time) {
			return fail(promo.EVoucherExpired, "voucher %s expired at %s", v.Code, x.Format(time.RFC3339))
		}
	}
	if q := t.Redemption.Quantity; q != nil {
		locked, err := lockedByOthers(ctx, r, v, in.Session, now)
		if err != nil {
			return nil, err
		}
		if v.RedeemedQuantity+locked >= *q {
			if locked > 0 && v.RedeemedQuantity < *q {
				return fail(promo.EQuantityExceeded, "voucher %s is locked by another session", v.Code)
			}
			return fail(promo.EQuantityExceeded, "voucher %s has been redeemed %d of %d times", v.Code, v.RedeemedQuantity, *q)
		}
	}
	ids := []string{v.ID}
	if c != nil {
		ids = append(ids, c.ID)
	}
	rules, err := r.RulesOf(ctx, ids...)
	if err != nil {
		return nil, err
	}
	// The items the discount applies to: those every rule's applicable_to
	// admits; nil (the whole order) when no rule names any.
	var filters []func(int, promo.OrderItem) bool
	for _, rule := range rules {
		if f := rule.ApplicableTo.Eligibility(); f != nil {
			filters = append(filters, f)
		}
	}
	var eligible func(int, promo.OrderItem) bool
	switch len(filters) {
	case 0:
	case 1:
		eligible = filters[0]
	default:
		eligible = func(i int, it promo.OrderItem) bool {
			for _, f := range filters {
				if !f(i, it) {
					return false
				}
			}
			return true
		}
	}
	res.eligible = eligible
	if c != nil && c.Budget != nil {
		var amount int64
		if c.Budget.DiscountAmount > 0 || c.Budget.DailyDiscountAmount > 0 {
			trial, err := basket.Clone().Apply(*t.Discount, eligible)
			if err != nil {
				return nil, err
			}
			amount = trial.Amount
		}
		total, today, err := e.campaignCounters(ctx, r, c, now)
		if err != nil {
			return nil, err
		}
		if why := c.Budget.Exceeded(total, today, amount); why != "" {
			return fail(promo.EBudgetExceeded, "voucher %s: %s", v.Code, why)
		}
	}
	if len(rules) == 0 {
		return c, nil
	}
	// The discount this code would give on the order as requested, for
	// the budget rules; codes are applied for real once stacking decides.
	trial, err := basket.Clone().Apply(*t.Discount, eligible)
	if err != nil {
		return nil, err
	}
	counter := &ruleCounter{ctx: ctx, r: r, v: v, c: c, cust: cust}
	for _, rule := range rules {
		violation, err := rule.Evaluate(promo.RuleContext{Now: now.Time, Order: order, Customer: cust,
			HolderID: v.HolderID, Discount: trial.Amount, Count: counter.count})
		if err != nil {
			return nil, err
		}
		if violation != nil {
			res.Status, res.Violation = promo.RedeemableInapplicable, violation
			res.Err = violation.Err()
			res.Err.ResourceID, res.Err.ResourceType = res.Input.ID, "voucher"
			return c, nil
		}
	}
	return c, nil
}

// campaignTime returns a campaign's start (start true) or expiration.
func campaignTime(c *promo.Campaign, start bool) *promo.Time {
	switch {
	case c == nil:
		return nil
	case start:
		return c.StartDate
	}
	return c.ExpirationDate
}

// lockedByOthers counts the redemptions of v that live session locks of
// other sessions hold.
func lockedByOthers(ctx context.Context, r promo.Reader, v *promo.Voucher, s *SessionInput, now promo.Time) (int64, error) {
	sessions, err := r.Sessions(ctx, v.Seq, now)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, ss := range sessions {
		if s == nil || ss.Key != s.Key {
			n += ss.Quantity
		}
	}
	return n, nil
}

// ruleCounter answers the limit rules' counts from the store's counters,
// the scopes counterScopes adds to.
type ruleCounter struct {
	ctx  context.Context
	r    promo.Reader
	v    *promo.Voucher
	c    *promo.Campaign
	cust *promo.Customer
}

func (rc *ruleCounter) count(name string, since time.Time) (int64, error) {
	from := int64(promo.AllTime)
	if !since.IsZero() {
		from = promo.Day(since)
	}
	scope := promo.CountScope(name)
	custID := ""
	if rc.cust != nil {
		custID = rc.cust.ID
	}
	var key string
	switch scope {
	case promo.CountRedemptionsPerCustomer:
		if custID == "" {
			return 0, nil // a customer the store does not know has redeemed nothing
		}
		key = promo.CounterVoucherCustomer(rc.v.ID, custID)
		if rc.c != nil {
			key = promo.CounterCampaignCustomer(rc.c.ID, custID)
		}
	case promo.CountRedemptions:
		key = promo.CounterVoucher(rc.v.ID)
		if rc.c != nil {
			key = promo.CounterCampaign(rc.c.ID)
		}
	case promo.CountCampaignRedemptions, promo.CountCampaignDiscounted, promo.CountCampaignOrdersAmount:
		key = promo.CounterVoucher(rc.v.ID)
		if rc.c != nil {
			key = promo.CounterCampaign(rc.c.ID)
		}
	case promo.CountCustomerPurchases:
		if custID == "" {
			return 0, nil
		}
		key = promo.CounterCustomer(custID)
	default:
		return 0, fmt.Errorf("engine: no counter for %q", name)
	}
	c, err := rc.r.Counter(rc.ctx, key, from)
	if err != nil {
		return 0, err
	}
	switch scope {
	case promo.CountCampaignDiscounted:
		return c.Amount, nil
	case promo.CountCampaignOrdersAmount:
		return c.OrderAmount, nil
	}
	return c.Count, nil
}

// validationAttempts are what a validation logs: one attempt per code.
func validationAttempts(ctx context.Context, val *Validation, in *RedeemRequest, keys []string, now promo.Time) []*promo.Attempt {
	out := make([]*promo.Attempt, 0, len(val.Redeemables))
	for i, res := range val.Redeemables {
		a := newAttempt(ctx, promo.AttemptValidation, in, val.Customer, val.OrderObj, res.Input.ID, keys[i], now)
		a.Result = promo.AttemptValid
		if res.Status == promo.RedeemableInapplicable {
			a.Result, a.Reason = promo.AttemptInvalid, res.Err.Code
		}
		out = append(out, a)
	}
	return out
}

func newAttempt(ctx context.Context, kind string, in *RedeemRequest, cust *promo.Customer, o *promo.Order, code, key string, now promo.Time) *promo.Attempt {
	a := &promo.Attempt{ID: promo.NewID(promo.PrefixAttempt), Time: now, Kind: kind, Code: code, APIKeyID: promo.APIKeyFromContext(ctx),
		Channel: in.Channel, ClientIP: in.ClientIP}
	if key != "" && key[0] != 0 {
		a.Key = key
	}
	if cust != nil {
		a.CustomerID, a.SourceID = cust.ID, cust.SourceID
	}
	if o != nil {
		a.Amount = o.Amount
	}
	return a
}
