package engine

import (
	"context"
	"strings"

	"promo/internal/promo"
)

// VoucherInput creates or updates a voucher. On update, nil fields keep
// their values.
type VoucherInput struct {
	Code       string `json:"code"`
	Campaign   string `json:"campaign"`
	CampaignID string `json:"campaign_id"`
	Active     *bool  `json:"active"`
	// Canary makes a standalone voucher a canary (promo.VoucherTemplate).
	Canary bool `json:"canary"`
	TemplateInput
}

// Voucher returns a voucher by ID or code; ENotFound.
func (e *Engine) Voucher(ctx context.Context, idOrCode string) (*promo.Voucher, error) {
	return voucher(ctx, e.store, idOrCode)
}

// voucher finds a voucher by ID, then by code. A code that is typed in the
// wrong case for a case-sensitive code is not found.
func voucher(ctx context.Context, r promo.Reader, idOrCode string) (*promo.Voucher, error) {
	if _, ok := promo.VoucherSeq(idOrCode); ok {
		v, err := r.Voucher(ctx, idOrCode)
		if promo.ErrorCode(err) != promo.ENotFound {
			return v, err
		}
	}
	key, err := promo.CodeKey(idOrCode)
	if err != nil {
		return nil, promo.NotFound("voucher", idOrCode)
	}
	v, err := r.VoucherByKey(ctx, key)
	if err != nil {
		if promo.ErrorCode(err) == promo.ENotFound {
			return nil, promo.NotFound("voucher", idOrCode)
		}
		return nil, err
	}
	if !promo.SameCode(idOrCode, v.Code, v.CaseSensitive) {
		return nil, promo.NotFound("voucher", idOrCode)
	}
	return v, nil
}

// CreateVoucher creates one voucher with in.Code, or with a generated code
// when it is empty: in a campaign (in.Campaign or in.CampaignID) the code
// follows the campaign's code config, alone it follows in.CodeConfig. A
// voucher without a campaign needs a discount. EInvalidPayload,
// EInvalidCode, EInvalidVoucher, ENotFound for a missing campaign,
// EDuplicateFound.
func (e *Engine) CreateVoucher(ctx context.Context, in VoucherInput) (*promo.Voucher, error) {
	if in.Type != "" && in.Type != promo.VoucherDiscount {
		return nil, invalid(promo.EInvalidVoucher, "type %q is not supported: use DISCOUNT_VOUCHER", in.Type)
	}
	camp := in.CampaignID
	if camp == "" {
		camp = in.Campaign
	}
	if camp != "" {
		if in.Canary {
			return nil, invalid(promo.EInvalidPayload, "a canary code stands alone: a campaign's pool could hand it out")
		}
		if in.CodeConfig != nil && in.Code == "" {
			return nil, invalid(promo.EInvalidPayload, "a voucher in a campaign follows the campaign's code_config")
		}
		tin := in.TemplateInput
		if in.Code == "" {
			v, _, err := e.AddVouchers(ctx, camp, 1, &tin)
			return v, err
		}
		return e.AddVoucherWithCode(ctx, camp, in.Code, &tin)
	}
	t := promo.VoucherTemplate{Type: promo.VoucherDiscount, Metadata: promo.Metadata{}}
	if err := in.TemplateInput.apply(&t); err != nil {
		return nil, err
	}
	t.Canary = in.Canary
	if t.Discount == nil {
		return nil, invalid(promo.EInvalidVoucher, "a voucher without a campaign needs a discount")
	}
	var out *promo.Voucher
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		code := in.Code
		if code == "" {
			f, err := format(&t)
			if err != nil {
				return err
			}
			if _, err := e.assess(f, 1, 0); err != nil {
				return err
			}
			// Without a campaign there is no tier: the template passed
			// becomes the voucher's own.
			v, err := e.generateOne(ctx, tx, &promo.Campaign{}, &promo.Tier{Template: t})
			if err != nil {
				return err
			}
			if in.Active != nil && !*in.Active {
				v.Active = false
				if err := tx.UpdateVoucher(ctx, v); err != nil {
					return err
				}
			}
			out, err = tx.Voucher(ctx, v.ID)
			return err
		}
		v, err := e.newVoucher(code)
		if err != nil {
			return err
		}
		v.OwnTemplate, v.Template = true, t
		if in.Active != nil {
			v.Active = *in.Active
		}
		ok, err := tx.InsertVouchers(ctx, []*promo.Voucher{v})
		if err != nil {
			return err
		}
		if !ok[0] {
			return promo.Duplicate("voucher", code)
		}
		if err := e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditCreated, ResourceType: "voucher", ResourceID: v.ID,
			VoucherID: v.ID, Details: promo.Metadata{"code": v.Code}}); err != nil {
			return err
		}
		out, err = tx.Voucher(ctx, v.ID)
		return err
	})
	return out, err
}

// UpdateVoucher changes a voucher; it then has a template of its own, and
// later changes to its campaign's template pass it by. The code and the
// discount type cannot change. ENotFound, EInvalidVoucher.
func (e *Engine) UpdateVoucher(ctx context.Context, idOrCode string, in VoucherInput) (*promo.Voucher, error) {
	if in.CodeConfig != nil {
		return nil, invalid(promo.EInvalidVoucher, "code_config cannot change")
	}
	var out *promo.Voucher
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		v, err := voucher(ctx, tx, idOrCode)
		if err != nil {
			return err
		}
		if in.Code != "" && !strings.EqualFold(in.Code, v.Code) {
			return invalid(promo.EInvalidVoucher, "the code cannot change")
		}
		if (in.Campaign != "" && in.Campaign != v.Campaign) || (in.CampaignID != "" && in.CampaignID != v.CampaignID) {
			return invalid(promo.EInvalidVoucher, "a voucher cannot move to another campaign")
		}
		if d := in.Discount; d != nil && v.Template.Discount != nil && d.Type != v.Template.Discount.Type {
			return invalid(promo.EInvalidVoucher, "the discount type cannot change from %s to %s", v.Template.Discount.Type, d.Type)
		}
		t := v.Template
		if err := in.TemplateInput.apply(&t); err != nil {
			return err
		}
		v.OwnTemplate, v.Template = true, t
		changes := promo.Metadata{}
		if in.Active != nil {
			v.Active, changes["active"] = *in.Active, *in.Active
		}
		for k, val := range map[string]any{"discount": in.Discount, "redemption": in.Redemption, "metadata": in.Metadata,
			"category": in.Category, "start_date": in.StartDate, "expiration_date": in.ExpirationDate, "additional_info": in.AdditionalInfo} {
			if !isNil(val) {
				changes[k] = val
			}
		}
		now := e.Now()
		v.UpdatedAt = &now
		if err := tx.UpdateVoucher(ctx, v); err != nil {
			return err
		}
		if err := e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditUpdated, ResourceType: "voucher", ResourceID: v.ID,
			CampaignID: v.CampaignID, VoucherID: v.ID, Details: changes}); err != nil {
			return err
		}
		out, err = tx.Voucher(ctx, v.ID)
		return err
	})
	return out, err
}

// isNil reports whether v, one of UpdateVoucher's optional fields, is unset.
func isNil(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case *promo.Discount:
		return x == nil
	case *promo.Quantity:
		return x == nil
	case promo.Metadata:
		return x == nil
	case *string:
		return x == nil
	case *promo.Time:
		return x == nil
	}
	return false
}

// SetVoucherActive enables or disables a voucher; ENotFound.
func (e *Engine) SetVoucherActive(ctx context.Context, idOrCode string, active bool) (*promo.Voucher, error) {
	var out *promo.Voucher
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		v, err := voucher(ctx, tx, idOrCode)
		if err != nil {
			return err
		}
		if v.Active != active {
			now := e.Now()
			v.Active, v.UpdatedAt = active, &now
			if err := tx.UpdateVoucher(ctx, v); err != nil {
				return err
			}
			action := promo.AuditDisabled
			if active {
				action = promo.AuditEnabled
			}
			if err := e.audit(ctx, tx, promo.AuditEntry{Action: action, ResourceType: "voucher", ResourceID: v.ID,
				CampaignID: v.CampaignID, VoucherID: v.ID}); err != nil {
				return err
			}
		}
		out, err = tx.Voucher(ctx, v.ID)
		return err
	})
	return out, err
}

// DeleteVoucher deletes a voucher; ENotFound.
func (e *Engine) DeleteVoucher(ctx context.Context, idOrCode string) error {
	return e.store.Update(ctx, func(tx promo.Tx) error {
		v, err := voucher(ctx, tx, idOrCode)
		if err != nil {
			return err
		}
		if err := tx.DeleteVoucher(ctx, v.ID); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditDeleted, ResourceType: "voucher", ResourceID: v.ID,
			CampaignID: v.CampaignID, VoucherID: v.ID, Details: promo.Metadata{"code": v.Code}})
	})
}
