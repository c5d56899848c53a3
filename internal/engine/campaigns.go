package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"promo/codegen"
	"promo/internal/promo"
)

// TemplateInput is the voucher part of a campaign request, or the overrides
// of one batch of codes added to a campaign. Nil fields are not given.
type TemplateInput struct {
	Type           string          `json:"type"`
	Code           string          `json:"code"` // a STANDALONE campaign's one code
	Discount       *promo.Discount `json:"discount"`
	Redemption     *promo.Quantity `json:"redemption"`
	CodeConfig     *codegen.Config `json:"code_config"`
	Category       *string         `json:"category"`
	Metadata       promo.Metadata  `json:"metadata"`
	StartDate      *promo.Time     `json:"start_date"`
	ExpirationDate *promo.Time     `json:"expiration_date"`
	AdditionalInfo *string         `json:"additional_info"`
	IsReferralCode *bool           `json:"is_referral_code"`
}

// CampaignInput creates or updates a campaign. On update, nil and empty
// fields keep their values.
type CampaignInput struct {
	Name         string  `json:"name"`
	Description  *string `json:"description"`
	CampaignType string  `json:"campaign_type"`
	Type         string  `json:"type"`
	JoinOnce     *bool   `json:"join_once"`
	AutoJoin     *bool   `json:"auto_join"`
	Exclusive    *bool   `json:"exclusive"`
	Joint        *bool   `json:"joint"`
	// RollbackRestoresQuantity: see promo.Campaign.
	RollbackRestoresQuantity *bool `json:"rollback_restores_quantity"`
	// Budget replaces the campaign's budget; all caps 0 removes it.
	Budget         *promo.Budget  `json:"budget"`
	StartDate      *promo.Time    `json:"start_date"`
	ExpirationDate *promo.Time    `json:"expiration_date"`
	VouchersCount  int64          `json:"vouchers_count"`
	Voucher        *TemplateInput `json:"voucher"`
	Metadata       promo.Metadata `json:"metadata"`
	Category       *string        `json:"category"`
	Active         *bool          `json:"active"`
}

// CampaignResult is a campaign and, when codes are being made for it, the
// async action making them.
type CampaignResult struct {
	Campaign *promo.Campaign
	ActionID string
}

func invalid(code, format string, args ...any) error { return promo.Errorf(code, format, args...) }

// maxNameLen bounds names, codes and other identifiers clients choose.
const maxNameLen = 200

func checkName(field, s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return invalid(promo.EInvalidPayload, "%s is required", field)
	case len(s) > maxNameLen:
		return invalid(promo.EInvalidPayload, "%s is longer than %d bytes", field, maxNameLen)
	case !utf8.ValidString(s):
		return invalid(promo.EInvalidPayload, "%s is not valid UTF-8", field)
	}
	return nil
}

// apply sets the fields in in over t, validating them.
func (in *TemplateInput) apply(t *promo.VoucherTemplate) error {
	if in == nil {
		return nil
	}
	if in.Type != "" && in.Type != promo.VoucherDiscount {
		return invalid(promo.EInvalidPayload, "voucher.type %q is not supported: use DISCOUNT_VOUCHER", in.Type)
	}
	if in.Discount != nil {
		d := *in.Discount
		if err := d.Validate(); err != nil {
			return err
		}
		t.Discount = &d
	}
	if in.Redemption != nil {
		if q := in.Redemption.Quantity; q != nil && *q < 1 {
			return invalid(promo.EInvalidPayload, "voucher.redemption.quantity must be at least 1, or null for unlimited")
		}
		t.Redemption = *in.Redemption
	}
	if in.CodeConfig != nil {
		f, err := (promo.CodeConfig{Config: *in.CodeConfig}).Format()
		if err != nil {
			return err
		}
		t.CodeConfig = &promo.CodeConfig{Config: f.Config()}
	}
	if in.Category != nil {
		t.Category = *in.Category
	}
	if in.Metadata != nil {
		t.Metadata = in.Metadata
	}
	if in.StartDate != nil {
		t.StartDate = in.StartDate
	}
	if in.ExpirationDate != nil {
		t.ExpirationDate = in.ExpirationDate
	}
	if in.AdditionalInfo != nil {
		t.AdditionalInfo = *in.AdditionalInfo
	}
	if in.IsReferralCode != nil {
		t.IsReferralCode = *in.IsReferralCode
	}
	return checkDates(t.StartDate, t.ExpirationDate)
}

func checkDates(start, end *promo.Time) error {
	if start != nil && end != nil && !end.After(start.Time) {
		return invalid(promo.EInvalidPayload, "expiration_date must be after start_date")
	}
	return nil
}

// format compiles a template's code config, the default one when it has none.
func format(t *promo.VoucherTemplate) (*codegen.Format, error) {
	cc := promo.CodeConfig{}
	if t.CodeConfig != nil {
		cc = *t.CodeConfig
	}
	return cc.Format()
}

// CreateCampaign creates a campaign and, in the background, its
// VouchersCount codes. EInvalidPayload, EInvalidCodeConfig (with the safety
// numbers when the codes would be guessable), EDuplicateFound.
func (e *Engine) CreateCampaign(ctx context.Context, in CampaignInput) (*CampaignResult, error) {
	if err := checkName("name", in.Name); err != nil {
		return nil, err
	}
	switch in.CampaignType {
	case "", promo.CampaignDiscountCoupons:
	default:
		return nil, invalid(promo.EInvalidCampaign, "campaign_type %q is not supported: use DISCOUNT_COUPONS", in.CampaignType)
	}
	switch in.Type {
	case "":
		in.Type = promo.CampaignAutoUpdate
	case promo.CampaignStatic, promo.CampaignAutoUpdate, promo.CampaignStandalone:
	default:
		return nil, invalid(promo.EInvalidCampaign, "type %q is unknown: use STATIC, AUTO_UPDATE or STANDALONE", in.Type)
	}
	if in.VouchersCount < 0 || in.VouchersCount > e.opt.MaxCampaignCodes {
		return nil, invalid(promo.EInvalidPayload, "vouchers_count must be from 0 to %d", e.opt.MaxCampaignCodes)
	}
	if err := checkDates(in.StartDate, in.ExpirationDate); err != nil {
		return nil, err
	}
	now := e.Now()
	c := &promo.Campaign{
		ID:                       promo.NewID(promo.PrefixCampaign),
		Name:                     in.Name,
		CampaignType:             promo.CampaignDiscountCoupons,
		Type:                     in.Type,
		StartDate:                in.StartDate,
		ExpirationDate:           in.ExpirationDate,
		Active:                   in.Active == nil || *in.Active,
		Metadata:                 in.Metadata,
		CreationStatus:           promo.StatusDone,
		VouchersGenerationStatus: promo.StatusDone,
		CreatedAt:                now,
		Voucher:                  promo.VoucherTemplate{Type: promo.VoucherDiscount},
	}
	if c.Metadata == nil {
		c.Metadata = promo.Metadata{}
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if in.Category != nil {
		c.Category = *in.Category
	}
	c.JoinOnce = in.JoinOnce != nil && *in.JoinOnce
	c.AutoJoin = in.AutoJoin != nil && *in.AutoJoin
	c.Exclusive = in.Exclusive != nil && *in.Exclusive
	c.Joint = in.Joint != nil && *in.Joint
	c.RollbackRestoresQuantity = in.RollbackRestoresQuantity != nil && *in.RollbackRestoresQuantity
	if err := setBudget(c, in.Budget); err != nil {
		return nil, err
	}
	if err := in.Voucher.apply(&c.Voucher); err != nil {
		return nil, err
	}
	c.Voucher.StartDate, c.Voucher.ExpirationDate = c.StartDate, c.ExpirationDate
	if in.Voucher != nil && (in.Voucher.StartDate != nil || in.Voucher.ExpirationDate != nil) {
		return nil, invalid(promo.EInvalidPayload, "a campaign's dates are start_date and expiration_date at its top level")
	}
	if c.Category == "" {
		c.Category = c.Voucher.Category
	}
	c.Voucher.Category = c.Category

	var standaloneCode string
	count := in.VouchersCount
	if c.Type == promo.CampaignStandalone {
		if count > 1 {
			return nil, invalid(promo.EInvalidCampaign, "a STANDALONE campaign has one code, not %d", count)
		}
		count = 1
		if in.Voucher != nil {
			standaloneCode = in.Voucher.Code
		}
	}
	f, err := format(&c.Voucher)
	if err != nil {
		return nil, err
	}
	if c.Voucher.CodeConfig == nil {
		c.Voucher.CodeConfig = &promo.CodeConfig{Config: f.Config()}
	}
	if standaloneCode == "" {
		if _, err := e.assess(f, count, 0); err != nil {
			return nil, err
		}
	}
	res := &CampaignResult{Campaign: c}
	err = e.store.Update(ctx, func(tx promo.Tx) error {
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		tier := &promo.Tier{CampaignID: c.ID, Template: c.Voucher}
		if err := tx.CreateTier(ctx, tier); err != nil {
			return err
		}
		if err := e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditCreated, ResourceType: "campaign", ResourceID: c.ID,
			CampaignID: c.ID, Details: promo.Metadata{"name": c.Name, "vouchers_count": count}}); err != nil {
			return err
		}
		switch {
		case standaloneCode != "":
			_, err := e.insertOne(ctx, tx, c, tier, standaloneCode, false)
			return err
		case count == 1:
			_, err := e.generateOne(ctx, tx, c, tier)
			return err
		case count > 1:
			a, err := e.enqueueGenerate(ctx, tx, c, tier, count)
			if err != nil {
				return err
			}
			res.ActionID = a.ID
			c.CreationStatus, c.VouchersGenerationStatus = promo.StatusInProgress, promo.StatusInProgress
			return tx.UpdateCampaign(ctx, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.signal()
	c, err = e.store.Campaign(ctx, c.ID)
	res.Campaign = c
	return res, err
}

// assess applies the safety maths to adding count codes in f to a campaign
// that has existing ones.
func (e *Engine) assess(f *codegen.Format, count, existing int64) (codegen.Report, error) {
	rep, err := f.Assess(count, existing, e.opt.Limits)
	if err != nil {
		var unsafe *codegen.UnsafeError
		if errors.As(err, &unsafe) {
			return rep, &promo.Error{Code: promo.EInvalidCodeConfig, Message: "Code config is unsafe",
				Details: unsafe.Error(), Err: err}
		}
		return rep, &promo.Error{Code: promo.EInvalidCodeConfig, Message: "Invalid code config", Details: err.Error(), Err: err}
	}
	return rep, nil
}

// Campaign returns a campaign by ID or name; ENotFound.
func (e *Engine) Campaign(ctx context.Context, idOrName string) (*promo.Campaign, error) {
	return e.store.Campaign(ctx, idOrName)
}

// setBudget sets c's budget to b: none when b is nil or has no cap.
func setBudget(c *promo.Campaign, b *promo.Budget) error {
	if b == nil {
		return nil
	}
	if err := b.Validate(); err != nil {
		return err
	}
	if *b == (promo.Budget{}) {
		c.Budget = nil
		return nil
	}
	copied := *b
	c.Budget = &copied
	return nil
}

// BudgetUsage is what a campaign's redemptions have used of its budget.
type BudgetUsage struct {
	Redemptions         int64 `json:"redemptions"`
	DiscountAmount      int64 `json:"discount_amount"`
	DailyRedemptions    int64 `json:"daily_redemptions"`
	DailyDiscountAmount int64 `json:"daily_discount_amount"`
	// Exhausted says why no redemption can pass now ("" when one can): a
	// redemption cap reached, or an amount cap fully given.
	Exhausted string `json:"exhausted,omitempty"`
}

// BudgetUsage returns what c has used of its budget, overall and today.
func (e *Engine) BudgetUsage(ctx context.Context, c *promo.Campaign) (*BudgetUsage, error) {
	total, today, err := e.campaignCounters(ctx, e.store, c, e.Now())
	if err != nil {
		return nil, err
	}
	u := &BudgetUsage{Redemptions: total.Count, DiscountAmount: total.Amount,
		DailyRedemptions: today.Count, DailyDiscountAmount: today.Amount}
	if c.Budget != nil {
		// The smallest discount that still counts is 1.
		u.Exhausted = c.Budget.Exceeded(total, today, 1)
	}
	return u, nil
}

// campaignCounters reads a campaign's counters overall and on now's day.
func (e *Engine) campaignCounters(ctx context.Context, r promo.Reader, c *promo.Campaign, now promo.Time) (total, today promo.Counter, err error) {
	scope := promo.CounterCampaign(c.ID)
	if total, err = r.Counter(ctx, scope, promo.AllTime); err != nil {
		return
	}
	today, err = r.Counter(ctx, scope, promo.Day(now.Time))
	return
}

// editable returns the campaign for a change, refusing while its codes are
// being made.
func editable(ctx context.Context, tx promo.Tx, idOrName string) (*promo.Campaign, error) {
	c, err := tx.Campaign(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	if c.CreationStatus == promo.StatusInProgress || c.VouchersGenerationStatus == promo.StatusInProgress {
		return nil, &promo.Error{Code: promo.ECampaignInProgress, Message: "Campaign is being generated",
			Details:    fmt.Sprintf("campaign %s is still making its codes; try again when its vouchers_generation_status is DONE", c.ID),
			ResourceID: c.ID, ResourceType: "campaign"}
	}
	return c, nil
}

// UpdateCampaign changes a campaign's fields; changes to its voucher
// template (discount, redemption, dates) apply to every tier, so to every
// voucher without a template of its own. ENotFound, EInvalidPayload,
// ECampaignInProgress.
func (e *Engine) UpdateCampaign(ctx context.Context, idOrName string, in CampaignInput) (*promo.Campaign, error) {
	if in.CampaignType != "" && in.CampaignType != promo.CampaignDiscountCoupons {
		return nil, invalid(promo.EInvalidCampaign, "campaign_type cannot change")
	}
	if in.VouchersCount != 0 {
		return nil, invalid(promo.EInvalidPayload, "vouchers_count cannot be updated: add vouchers with POST /v1/campaigns/{id}/vouchers")
	}
	if in.Voucher != nil && (in.Voucher.CodeConfig != nil || in.Voucher.Code != "") {
		return nil, invalid(promo.EInvalidPayload, "voucher.code_config cannot be updated: add a batch of vouchers with its own code_config")
	}
	var id string
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		c, err := editable(ctx, tx, idOrName)
		if err != nil {
			return err
		}
		id = c.ID
		changes := promo.Metadata{}
		if in.Name != "" && in.Name != c.Name {
			if err := checkName("name", in.Name); err != nil {
				return err
			}
			c.Name, changes["name"] = in.Name, in.Name
		}
		switch in.Type {
		case "", c.Type:
		case promo.CampaignStatic, promo.CampaignAutoUpdate:
			if c.Type == promo.CampaignStandalone {
				return invalid(promo.EInvalidCampaign, "a STANDALONE campaign cannot change type")
			}
			c.Type, changes["type"] = in.Type, in.Type
		default:
			return invalid(promo.EInvalidCampaign, "type %q is unknown or not allowed here: use STATIC or AUTO_UPDATE", in.Type)
		}
		if in.Description != nil {
			c.Description, changes["description"] = *in.Description, *in.Description
		}
		if in.Category != nil {
			c.Category, changes["category"] = *in.Category, *in.Category
		}
		if in.JoinOnce != nil {
			c.JoinOnce, changes["join_once"] = *in.JoinOnce, *in.JoinOnce
		}
		if in.Exclusive != nil {
			c.Exclusive, changes["exclusive"] = *in.Exclusive, *in.Exclusive
		}
		if in.Joint != nil {
			c.Joint, changes["joint"] = *in.Joint, *in.Joint
		}
		if in.RollbackRestoresQuantity != nil {
			c.RollbackRestoresQuantity, changes["rollback_restores_quantity"] = *in.RollbackRestoresQuantity, *in.RollbackRestoresQuantity
		}
		if in.Budget != nil {
			if err := setBudget(c, in.Budget); err != nil {
				return err
			}
			changes["budget"] = *in.Budget
		}
		if in.AutoJoin != nil {
			c.AutoJoin, changes["auto_join"] = *in.AutoJoin, *in.AutoJoin
		}
		if in.Active != nil {
			c.Active, changes["active"] = *in.Active, *in.Active
		}
		if in.Metadata != nil {
			c.Metadata, changes["metadata"] = in.Metadata, in.Metadata
		}
		if in.StartDate != nil {
			c.StartDate, changes["start_date"] = in.StartDate, in.StartDate
		}
		if in.ExpirationDate != nil {
			c.ExpirationDate, changes["expiration_date"] = in.ExpirationDate, in.ExpirationDate
		}
		if err := checkDates(c.StartDate, c.ExpirationDate); err != nil {
			return err
		}
		// What changes for every voucher, applied to the campaign's
		// template and to each tier's.
		tin := TemplateInput{StartDate: c.StartDate, ExpirationDate: c.ExpirationDate}
		if in.Category != nil {
			tin.Category = in.Category
		}
		if v := in.Voucher; v != nil {
			tin.Discount, tin.Redemption, tin.AdditionalInfo = v.Discount, v.Redemption, v.AdditionalInfo
			if v.Discount != nil {
				changes["discount"] = v.Discount
			}
			if v.Redemption != nil {
				changes["redemption"] = v.Redemption
			}
		}
		if err := tin.apply(&c.Voucher); err != nil {
			return err
		}
		c.Voucher.StartDate, c.Voucher.ExpirationDate = c.StartDate, c.ExpirationDate
		tiers, err := tx.Tiers(ctx, c.ID)
		if err != nil {
			return err
		}
		for _, t := range tiers {
			if err := tin.apply(&t.Template); err != nil {
				return err
			}
			t.Template.StartDate, t.Template.ExpirationDate = c.StartDate, c.ExpirationDate
			if err := tx.UpdateTier(ctx, t); err != nil {
				return err
			}
		}
		now := e.Now()
		c.UpdatedAt = &now
		if err := tx.UpdateCampaign(ctx, c); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditUpdated, ResourceType: "campaign", ResourceID: c.ID,
			CampaignID: c.ID, Details: changes})
	})
	if err != nil {
		return nil, err
	}
	return e.store.Campaign(ctx, id)
}

// SetCampaignActive enables or disables a campaign; ENotFound.
func (e *Engine) SetCampaignActive(ctx context.Context, idOrName string, active bool) (*promo.Campaign, error) {
	var id string
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		c, err := tx.Campaign(ctx, idOrName)
		if err != nil {
			return err
		}
		id = c.ID
		if c.Active == active {
			return nil
		}
		now := e.Now()
		c.Active, c.UpdatedAt = active, &now
		if err := tx.UpdateCampaign(ctx, c); err != nil {
			return err
		}
		action := promo.AuditDisabled
		if active {
			action = promo.AuditEnabled
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: action, ResourceType: "campaign", ResourceID: c.ID, CampaignID: c.ID})
	})
	if err != nil {
		return nil, err
	}
	return e.store.Campaign(ctx, id)
}

// DeleteCampaign deletes a campaign and its vouchers; ENotFound,
// ECampaignInProgress.
func (e *Engine) DeleteCampaign(ctx context.Context, idOrName string) error {
	return e.store.Update(ctx, func(tx promo.Tx) error {
		c, err := editable(ctx, tx, idOrName)
		if err != nil {
			return err
		}
		n, err := tx.DeleteCampaign(ctx, c.ID)
		if err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditDeleted, ResourceType: "campaign", ResourceID: c.ID,
			CampaignID: c.ID, Details: promo.Metadata{"name": c.Name, "vouchers_deleted": n}})
	})
}

// AddVouchers adds count codes to a campaign, in a new tier whose template
// is the campaign's with in's overrides (metadata, code_config, category,
// redemption ...), so one campaign can hold tiers of codes. One code is made
// at once and returned; more are made by an async action whose ID is
// returned. ENotFound, EInvalidPayload, EInvalidCodeConfig,
// ECampaignInProgress.
func (e *Engine) AddVouchers(ctx context.Context, idOrName string, count int64, in *TemplateInput) (*promo.Voucher, string, error) {
	if count < 1 || count > e.opt.MaxCampaignCodes {
		return nil, "", invalid(promo.EInvalidPayload, "vouchers_count must be from 1 to %d", e.opt.MaxCampaignCodes)
	}
	if in != nil && (in.StartDate != nil || in.ExpirationDate != nil || in.Discount != nil) {
		return nil, "", invalid(promo.EInvalidPayload, "a batch of vouchers takes its discount and dates from its campaign")
	}
	var (
		v        *promo.Voucher
		actionID string
	)
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		c, err := editable(ctx, tx, idOrName)
		if err != nil {
			return err
		}
		if c.Type == promo.CampaignStandalone {
			return invalid(promo.EInvalidCampaign, "a STANDALONE campaign has one code")
		}
		tier := &promo.Tier{CampaignID: c.ID, Template: c.Voucher}
		if err := in.apply(&tier.Template); err != nil {
			return err
		}
		f, err := format(&tier.Template)
		if err != nil {
			return err
		}
		if _, err := e.assess(f, count, c.VouchersCount); err != nil {
			return err
		}
		if err := tx.CreateTier(ctx, tier); err != nil {
			return err
		}
		if count == 1 {
			v, err = e.generateOne(ctx, tx, c, tier)
			return err
		}
		a, err := e.enqueueGenerate(ctx, tx, c, tier, count)
		if err != nil {
			return err
		}
		actionID = a.ID
		c.VouchersGenerationStatus = promo.StatusInProgress
		return tx.UpdateCampaign(ctx, c)
	})
	if err != nil {
		return nil, "", err
	}
	e.signal()
	return v, actionID, nil
}

// AddVoucherWithCode adds one voucher with a chosen code to a campaign.
// ENotFound, EInvalidCode, EDuplicateFound.
func (e *Engine) AddVoucherWithCode(ctx context.Context, idOrName, code string, in *TemplateInput) (*promo.Voucher, error) {
	var v *promo.Voucher
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		c, tier, err := codeTaker(ctx, tx, idOrName)
		if err != nil {
			return err
		}
		own := in != nil && (in.Metadata != nil || in.Redemption != nil || in.Category != nil || in.AdditionalInfo != nil)
		if own {
			tier = &promo.Tier{ID: tier.ID, CampaignID: c.ID, Template: tier.Template}
			if err := in.apply(&tier.Template); err != nil {
				return err
			}
		}
		v, err = e.insertOne(ctx, tx, c, tier, code, own)
		return err
	})
	return v, err
}

// codeTaker returns a campaign that can take more codes, and its first
// tier, whose template is the campaign's own; ENotFound,
// ECampaignInProgress, EInvalidCampaign for a STANDALONE campaign.
func codeTaker(ctx context.Context, tx promo.Tx, idOrName string) (*promo.Campaign, *promo.Tier, error) {
	c, err := editable(ctx, tx, idOrName)
	if err != nil {
		return nil, nil, err
	}
	if c.Type == promo.CampaignStandalone {
		return nil, nil, invalid(promo.EInvalidCampaign, "a STANDALONE campaign has one code")
	}
	tiers, err := tx.Tiers(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	return c, tiers[0], nil
}

// insertOne inserts one voucher with a given code in a campaign's tier;
// with own, the tier's template (as passed) becomes the voucher's own.
func (e *Engine) insertOne(ctx context.Context, tx promo.Tx, c *promo.Campaign, tier *promo.Tier, code string, own bool) (*promo.Voucher, error) {
	v, err := e.newVoucher(code)
	if err != nil {
		return nil, err
	}
	v.CampaignID, v.TierID = c.ID, tier.ID
	if own {
		v.OwnTemplate, v.Template = true, tier.Template
	}
	ok, err := tx.InsertVouchers(ctx, []*promo.Voucher{v})
	if err != nil {
		return nil, err
	}
	if !ok[0] {
		return nil, promo.Duplicate("voucher", code)
	}
	if err := e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditCreated, ResourceType: "voucher", ResourceID: v.ID,
		CampaignID: c.ID, VoucherID: v.ID, Details: promo.Metadata{"code": v.Code}}); err != nil {
		return nil, err
	}
	return tx.Voucher(ctx, v.ID)
}

// newVoucher returns an active voucher with a client's code, refusing codes
// that are not possible codes.
func (e *Engine) newVoucher(code string) (*promo.Voucher, error) {
	code = strings.TrimSpace(code)
	if len(code) > codegen.MaxCodeLen {
		return nil, invalid(promo.EInvalidCode, "a code has at most %d characters", codegen.MaxCodeLen)
	}
	key, err := promo.CodeKey(code)
	if err != nil {
		return nil, err
	}
	for i := 0; i < len(code); i++ {
		if code[i] < ' ' || code[i] > '~' {
			return nil, invalid(promo.EInvalidCode, "a code is printable ASCII")
		}
	}
	return &promo.Voucher{
		Code:          code,
		Key:           key,
		CaseSensitive: strings.ToUpper(code) != code && strings.ToLower(code) != code,
		Active:        true,
		CreatedAt:     e.Now(),
	}, nil
}
