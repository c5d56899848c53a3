package promo

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"promo/codegen"
)

// Campaign types (the "type" field) and the one campaign_type this engine has.
const (
	CampaignDiscountCoupons = "DISCOUNT_COUPONS"

	CampaignStatic     = "STATIC"      // a fixed pool of codes
	CampaignAutoUpdate = "AUTO_UPDATE" // generates a code when the pool runs dry
	CampaignStandalone = "STANDALONE"  // one generic code
)

// Statuses of a campaign's creation and of its codes' generation.
const (
	StatusDone       = "DONE"
	StatusInProgress = "IN_PROGRESS"
	StatusFailed     = "FAILED"
	StatusDraft      = "DRAFT"
	StatusModifying  = "MODIFYING"
)

// Campaign is a family of vouchers that share a template.
type Campaign struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	CampaignType string          `json:"campaign_type"`
	Type         string          `json:"type"`
	Voucher      VoucherTemplate `json:"voucher"`
	AutoJoin     bool            `json:"auto_join"`
	JoinOnce     bool            `json:"join_once"`
	// Exclusive campaigns' codes apply alone in a stacked request; Joint
	// ones apply beside an exclusive one (see Stack).
	Exclusive bool `json:"exclusive"`
	Joint     bool `json:"joint"`
	// RollbackRestoresQuantity makes a rollback give the redemption back
	// to the code. Off by default: refund chaining (redeem, refund, redeem
	// again) is a known fraud.
	RollbackRestoresQuantity bool  `json:"rollback_restores_quantity"`
	StartDate                *Time `json:"start_date,omitempty"`
	ExpirationDate           *Time `json:"expiration_date,omitempty"`
	// Budget caps the campaign's redemptions; nil for none.
	Budget *Budget `json:"budget,omitempty"`
	// VouchersCount is the number of vouchers the campaign holds now.
	VouchersCount            int64    `json:"vouchers_count"`
	Active                   bool     `json:"active"`
	Metadata                 Metadata `json:"metadata"`
	Category                 string   `json:"category,omitempty"`
	CreationStatus           string   `json:"creation_status"`
	VouchersGenerationStatus string   `json:"vouchers_generation_status"`
	CreatedAt                Time     `json:"created_at"`
	UpdatedAt                *Time    `json:"updated_at,omitempty"`
}

// Budget caps a campaign's successful redemptions and the discount they
// give, overall and per UTC day; a zero cap is no cap. A redemption that
// would pass a cap fails with EBudgetExceeded. Rolled-back redemptions give
// their discount back; they still count as redemptions, unless the
// campaign's rollbacks restore quantity.
type Budget struct {
	Redemptions         int64 `json:"redemptions,omitempty"`
	DiscountAmount      int64 `json:"discount_amount,omitempty"`
	DailyRedemptions    int64 `json:"daily_redemptions,omitempty"`
	DailyDiscountAmount int64 `json:"daily_discount_amount,omitempty"`
}

// Validate checks that b's caps are not negative.
func (b *Budget) Validate() error {
	if b.Redemptions < 0 || b.DiscountAmount < 0 || b.DailyRedemptions < 0 || b.DailyDiscountAmount < 0 {
		return Errorf(EInvalidPayload, "budget: caps must not be negative (0 is no cap)")
	}
	return nil
}

// Exceeded says which cap of b a redemption of discount amount would pass,
// given the campaign's counters overall and today; "" when none.
func (b *Budget) Exceeded(total, today Counter, amount int64) string {
	switch {
	case b.Redemptions > 0 && total.Count+1 > b.Redemptions:
		return fmt.Sprintf("the campaign's %d redemptions are used up", b.Redemptions)
	case b.DailyRedemptions > 0 && today.Count+1 > b.DailyRedemptions:
		return fmt.Sprintf("the campaign's %d redemptions of today are used up", b.DailyRedemptions)
	case b.DiscountAmount > 0 && total.Amount+amount > b.DiscountAmount:
		return fmt.Sprintf("a discount of %d would pass the campaign's budget of %d (%d given)", amount, b.DiscountAmount, total.Amount)
	case b.DailyDiscountAmount > 0 && today.Amount+amount > b.DailyDiscountAmount:
		return fmt.Sprintf("a discount of %d would pass the campaign's daily budget of %d (%d given today)", amount, b.DailyDiscountAmount, today.Amount)
	}
	return ""
}

// Tier is one batch of a campaign's vouchers and the template they share:
// the campaign's, with a batch's own metadata, code config and the like.
// Every generated or imported voucher of a campaign belongs to a tier, so a
// million codes share one template row.
type Tier struct {
	ID         int64
	CampaignID string
	Template   VoucherTemplate
}

// Voucher types.
const VoucherDiscount = "DISCOUNT_VOUCHER"

// VoucherTemplate is what the vouchers of a campaign (or of one tier of it)
// have in common.
type VoucherTemplate struct {
	Type           string      `json:"type"`
	Discount       *Discount   `json:"discount,omitempty"`
	Redemption     Quantity    `json:"redemption"`
	CodeConfig     *CodeConfig `json:"code_config,omitempty"`
	Category       string      `json:"category,omitempty"`
	Metadata       Metadata    `json:"metadata,omitempty"`
	StartDate      *Time       `json:"start_date,omitempty"`
	ExpirationDate *Time       `json:"expiration_date,omitempty"`
	IsReferralCode bool        `json:"is_referral_code"`
	AdditionalInfo string      `json:"additional_info,omitempty"`
	// Canary codes are never handed out: they exist to be found where they
	// leaked. Every attempt on one is refused as if it did not exist and
	// raises a flag.
	Canary bool `json:"canary,omitempty"`
}

// Quantity is how many times a voucher can be redeemed; nil is unlimited.
type Quantity struct {
	Quantity *int64 `json:"quantity"`
}

// CodeConfig is a campaign's code_config: codegen's Config as the API shows it.
type CodeConfig struct {
	codegen.Config
}

// MarshalJSON shows every field, empty or not, as the reference does. The
// engine stores configs resolved (codegen's Format.Config), so what shows is
// the charset's characters, the pattern and the random characters' count as
// length. Reading uses codegen.Config's own JSON tags, which match.
func (c CodeConfig) MarshalJSON() ([]byte, error) {
	type shown struct {
		Length    int    `json:"length"`
		Charset   string `json:"charset"`
		Prefix    string `json:"prefix,omitempty"`
		Postfix   string `json:"postfix,omitempty"`
		Pattern   string `json:"pattern"`
		CheckChar bool   `json:"check_char,omitempty"`
	}
	return json.Marshal(shown(c.Config))
}

// Format compiles the config, and refuses separators a code key would not
// remove: a campaign's charset holds letters and digits only.
func (c CodeConfig) Format() (*codegen.Format, error) {
	cfg := c.Config
	if named, ok := codegen.Charset(cfg.Charset); ok {
		cfg.Charset = named
	}
	for i := 0; i < len(cfg.Charset); i++ {
		if strings.IndexByte(keySeparators, cfg.Charset[i]) >= 0 {
			return nil, &Error{Code: EInvalidCodeConfig, Message: messageOf(EInvalidCodeConfig),
				Details: fmt.Sprintf("charset: %q is not a letter or a digit; a charset holds letters and digits only", cfg.Charset[i])}
		}
	}
	f, err := codegen.Compile(cfg)
	if err != nil {
		return nil, &Error{Code: EInvalidCodeConfig, Message: messageOf(EInvalidCodeConfig), Details: err.Error(), Err: err}
	}
	return f, nil
}

// Discount types and effects.
const (
	DiscountAmount  = "AMOUNT"
	DiscountPercent = "PERCENT"
	DiscountFixed   = "FIXED"
	DiscountUnit    = "UNIT"

	EffectApplyToOrder = "APPLY_TO_ORDER"
	EffectApplyToItems = "APPLY_TO_ITEMS"
)

// Discount is what a voucher takes off an order. Money is in minor units.
type Discount struct {
	Type        string  `json:"type"`
	AmountOff   int64   `json:"amount_off,omitempty"`
	PercentOff  Percent `json:"percent_off,omitempty"`
	AmountLimit int64   `json:"amount_limit,omitempty"`
	FixedAmount int64   `json:"fixed_amount,omitempty"`
	UnitOff     int64   `json:"unit_off,omitempty"`
	UnitType    string  `json:"unit_type,omitempty"`
	Effect      string  `json:"effect,omitempty"`
}

// Validate checks d and fills in its default effect.
func (d *Discount) Validate() error {
	bad := func(format string, args ...any) error {
		return Errorf(EInvalidPayload, "discount: "+format, args...)
	}
	nonNegative := map[string]int64{"amount_off": d.AmountOff, "amount_limit": d.AmountLimit, "fixed_amount": d.FixedAmount, "unit_off": d.UnitOff}
	for name, v := range nonNegative {
		if v < 0 {
			return bad("%s must not be negative", name)
		}
	}
	switch d.Type {
	case DiscountAmount:
		if d.AmountOff <= 0 {
			return bad("an AMOUNT discount needs amount_off > 0, in minor units")
		}
	case DiscountPercent:
		if d.PercentOff <= 0 || d.PercentOff > 100*PercentUnit {
			return bad("a PERCENT discount needs 0 < percent_off <= 100")
		}
	case DiscountFixed:
		if d.FixedAmount <= 0 {
			return bad("a FIXED discount needs fixed_amount > 0, in minor units")
		}
	case DiscountUnit:
		if d.UnitOff <= 0 {
			return bad("a UNIT discount needs unit_off > 0")
		}
	case "":
		return bad("type is required: AMOUNT, PERCENT, FIXED or UNIT")
	default:
		return bad("unknown type %q: use AMOUNT, PERCENT, FIXED or UNIT", d.Type)
	}
	switch d.Effect {
	case "":
		if d.Type == DiscountUnit {
			d.Effect = "ADD_MISSING_ITEMS"
		} else {
			d.Effect = EffectApplyToOrder
		}
	case EffectApplyToOrder, EffectApplyToItems, "APPLY_TO_ITEMS_PROPORTIONALLY", "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY",
		"APPLY_TO_ITEMS_BY_QUANTITY", "ADD_MISSING_ITEMS", "ADD_NEW_ITEMS", "ADD_MANY_ITEMS":
	default:
		return bad("unknown effect %q", d.Effect)
	}
	return nil
}

// Percent is a percentage in hundredths of a percent: 1050 is 10.5%. It
// reads and writes as a JSON number with up to two decimals, so no float
// ever reaches discount maths.
type Percent int64

// PercentUnit is one percent.
const PercentUnit = 100

// MarshalJSON writes p as a decimal number.
func (p Percent) MarshalJSON() ([]byte, error) {
	s := strconv.FormatInt(int64(p)/100, 10)
	if frac := int64(p) % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return []byte(s), nil
}

// UnmarshalJSON reads a number with at most two decimals.
func (p *Percent) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || f < 0 || f > 100 {
		return fmt.Errorf("percent_off must be a number from 0 to 100")
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(strings.TrimRight(frac, "0")) > 2 || strings.ContainsAny(s, "eE") {
		return fmt.Errorf("percent_off takes at most two decimals")
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	frac = (frac + "00")[:2]
	fv, _ := strconv.ParseInt(frac, 10, 64)
	*p = Percent(w*100 + fv)
	return nil
}

// Clone returns a copy of c that shares nothing mutable with it.
func (c *Campaign) Clone() *Campaign {
	d := *c
	d.Voucher = c.Voucher.Clone()
	d.Metadata = c.Metadata.Clone()
	d.StartDate = cloneTime(c.StartDate)
	d.ExpirationDate = cloneTime(c.ExpirationDate)
	d.UpdatedAt = cloneTime(c.UpdatedAt)
	if c.Budget != nil {
		b := *c.Budget
		d.Budget = &b
	}
	return &d
}

// cloneTime returns a copy of *t, or nil.
func cloneTime(t *Time) *Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// Clone returns a copy of t that shares nothing mutable with it: its
// pointers point to copies, and its metadata is copied down to nested maps
// and slices.
func (t VoucherTemplate) Clone() VoucherTemplate {
	c := t
	if t.Discount != nil {
		d := *t.Discount
		c.Discount = &d
	}
	if t.Redemption.Quantity != nil {
		q := *t.Redemption.Quantity
		c.Redemption.Quantity = &q
	}
	if t.CodeConfig != nil {
		cc := *t.CodeConfig
		c.CodeConfig = &cc
	}
	if t.StartDate != nil {
		s := *t.StartDate
		c.StartDate = &s
	}
	if t.ExpirationDate != nil {
		e := *t.ExpirationDate
		c.ExpirationDate = &e
	}
	c.Metadata = t.Metadata.Clone()
	return c
}

// Clone returns a deep copy of m: nested maps and slices, as JSON decoding
// makes them, are copied too.
func (m Metadata) Clone() Metadata {
	if m == nil {
		return nil
	}
	c := make(Metadata, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = cloneValue(e)
		}
		return c
	case Metadata:
		return v.Clone()
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = cloneValue(e)
		}
		return c
	}
	return v
}
