package engine

import (
	"context"

	"promo/internal/promo"
)

// CreateValidationRule checks and stores a new validation rule;
// EInvalidPayload.
func (e *Engine) CreateValidationRule(ctx context.Context, r promo.ValidationRule) (*promo.ValidationRule, error) {
	if err := checkName("name", r.Name); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	r.ID, r.CreatedAt, r.UpdatedAt = promo.NewID(promo.PrefixValidationRule), e.Now(), nil
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		if err := tx.CreateValidationRule(ctx, &r); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditCreated, ResourceType: "validation_rule", ResourceID: r.ID,
			Details: promo.Metadata{"name": r.Name}})
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// UpdateValidationRule replaces a rule's name, rules, error and
// applicable_to; ENotFound, EInvalidPayload.
func (e *Engine) UpdateValidationRule(ctx context.Context, id string, r promo.ValidationRule) (*promo.ValidationRule, error) {
	if err := checkName("name", r.Name); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		old, err := tx.ValidationRule(ctx, id)
		if err != nil {
			return err
		}
		now := e.Now()
		r.ID, r.CreatedAt, r.UpdatedAt = old.ID, old.CreatedAt, &now
		if err := tx.UpdateValidationRule(ctx, &r); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditUpdated, ResourceType: "validation_rule", ResourceID: r.ID,
			Details: promo.Metadata{"name": r.Name}})
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// DeleteValidationRule deletes a rule and its assignments; ENotFound.
func (e *Engine) DeleteValidationRule(ctx context.Context, id string) error {
	return e.store.Update(ctx, func(tx promo.Tx) error {
		if err := tx.DeleteValidationRule(ctx, id); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditDeleted, ResourceType: "validation_rule", ResourceID: id})
	})
}

// AssignmentInput names what a rule is assigned to: a campaign (by ID or
// name) or a voucher (by ID or code).
type AssignmentInput struct {
	Campaign string `json:"campaign"`
	Voucher  string `json:"voucher"`
	// Related object form: {"related_object_type":"campaign","related_object_id":"camp_..."}.
	ObjectType string `json:"related_object_type"`
	ObjectID   string `json:"related_object_id"`
}

// AssignRule assigns a rule to a campaign or a voucher; ENotFound,
// EDuplicateFound when it is assigned there already, EInvalidPayload.
func (e *Engine) AssignRule(ctx context.Context, ruleID string, in AssignmentInput) (*promo.ValidationRuleAssignment, error) {
	switch {
	case in.Campaign != "" && in.Voucher == "" && in.ObjectID == "":
		in.ObjectType, in.ObjectID = promo.AssignmentCampaign, in.Campaign
	case in.Voucher != "" && in.Campaign == "" && in.ObjectID == "":
		in.ObjectType, in.ObjectID = promo.AssignmentVoucher, in.Voucher
	case in.ObjectID != "" && in.Campaign == "" && in.Voucher == "" &&
		(in.ObjectType == promo.AssignmentCampaign || in.ObjectType == promo.AssignmentVoucher):
	default:
		return nil, invalid(promo.EInvalidPayload, "give one of campaign, voucher, or related_object_type (campaign or voucher) with related_object_id")
	}
	a := &promo.ValidationRuleAssignment{ID: promo.NewID(promo.PrefixAssignment), RuleID: ruleID,
		RelatedObjectType: in.ObjectType, CreatedAt: e.Now()}
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		if _, err := tx.ValidationRule(ctx, ruleID); err != nil {
			return err
		}
		switch in.ObjectType {
		case promo.AssignmentCampaign:
			c, err := tx.Campaign(ctx, in.ObjectID)
			if err != nil {
				return err
			}
			a.RelatedObjectID = c.ID
		default:
			v, err := voucher(ctx, tx, in.ObjectID)
			if err != nil {
				return err
			}
			a.RelatedObjectID = v.ID
		}
		if err := tx.CreateRuleAssignment(ctx, a); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditUpdated, ResourceType: "validation_rule", ResourceID: ruleID,
			Details: promo.Metadata{"assigned_to": a.RelatedObjectID}})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}
