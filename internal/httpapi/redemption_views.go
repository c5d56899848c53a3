package httpapi

import (
	"net/http"

	"promo/internal/engine"
	"promo/internal/promo"
)

// requestIDOf returns the request's ID, for errors shown inside a 200.
func requestIDOf(r *http.Request) string { return promo.RequestIDFromContext(r.Context()) }

type calculatedOrderView struct {
	promo.CalculatedOrder
	ID       string         `json:"id,omitempty"`
	SourceID string         `json:"source_id,omitempty"`
	Status   string         `json:"status,omitempty"`
	Metadata promo.Metadata `json:"metadata"`
	Object   string         `json:"object"`
}

func viewCalculated(c promo.CalculatedOrder, o *promo.Order) calculatedOrderView {
	v := calculatedOrderView{CalculatedOrder: c, Metadata: promo.Metadata{}, Object: "order"}
	if v.Items == nil {
		v.Items = []promo.CalculatedItem{}
	}
	if o != nil {
		v.ID, v.SourceID, v.Status = o.ID, o.SourceID, o.Status
		if o.Metadata != nil {
			v.Metadata = o.Metadata
		}
	}
	return v
}

// errorView is an error shown inside a 200 answer, as the error envelope.
func errorView(e *promo.Error, requestID string) errorBody {
	b := errorBody{Code: statusOf(e.Code), Key: e.Code, Message: e.Message, Details: e.Details, RequestID: requestID,
		ResourceID: e.ResourceID, ResourceType: e.ResourceType}
	if b.Message == "" {
		b.Message = promo.Errorf(e.Code, "").Message
	}
	return b
}

type redeemableView struct {
	Status         string               `json:"status"`
	ID             string               `json:"id"`
	Object         string               `json:"object"`
	Order          *calculatedOrderView `json:"order,omitempty"`
	ApplicableTo   *emptyListView       `json:"applicable_to,omitempty"`
	InapplicableTo *emptyListView       `json:"inapplicable_to,omitempty"`
	Result         redeemableResultView `json:"result"`
	Metadata       promo.Metadata       `json:"metadata,omitempty"`
	Categories     []any                `json:"categories,omitempty"`
	Campaign       string               `json:"campaign,omitempty"`
	CampaignID     string               `json:"campaign_id,omitempty"`
}

type redeemableResultView struct {
	Discount *promo.Discount `json:"discount,omitempty"`
	Error    *errorBody      `json:"error,omitempty"`
	Details  *keyMessage     `json:"details,omitempty"`
}

type keyMessage struct {
	Key     string `json:"key"`
	Message string `json:"message"`
}

func viewRedeemable(res *engine.RedeemableResult, o *promo.Order, requestID string) redeemableView {
	v := redeemableView{Status: res.Status, ID: res.Input.ID, Object: "voucher"}
	if vc := res.Voucher; vc != nil {
		v.ID, v.Campaign, v.CampaignID = vc.Code, vc.Campaign, vc.CampaignID
	}
	switch res.Status {
	case promo.RedeemableApplicable:
		ord := viewCalculated(res.Order, o)
		empty, empty2 := newEmptyList(), newEmptyList()
		v.Order, v.ApplicableTo, v.InapplicableTo = &ord, &empty, &empty2
		v.Result.Discount = res.Voucher.Template.Discount
		v.Metadata, v.Categories = res.Voucher.Template.Metadata, []any{}
		if v.Metadata == nil {
			v.Metadata = promo.Metadata{}
		}
	case promo.RedeemableInapplicable:
		e := errorView(res.Err, requestID)
		v.Result.Error = &e
		v.Result.Details = &keyMessage{Key: e.Key, Message: e.Details}
	case promo.RedeemableSkipped:
		v.Result.Details = &keyMessage{Key: res.SkipReason, Message: promo.SkipMessage(res.SkipReason)}
	}
	return v
}

type validationView struct {
	ID                      string               `json:"id"`
	Valid                   bool                 `json:"valid"`
	Redeemables             []redeemableView     `json:"redeemables"`
	InapplicableRedeemables []redeemableView     `json:"inapplicable_redeemables,omitempty"`
	SkippedRedeemables      []redeemableView     `json:"skipped_redeemables,omitempty"`
	Order                   calculatedOrderView  `json:"order"`
	TrackingID              string               `json:"tracking_id,omitempty"`
	Session                 *engine.SessionInput `json:"session,omitempty"`
	StackingRules           stackingView         `json:"stacking_rules"`
}

type stackingView struct {
	promo.StackingRules
	Mode        string `json:"redeemables_application_mode"`
	SortingRule string `json:"redeemables_sorting_rule"`
}

func viewValidation(val *engine.Validation, requestID string) validationView {
	v := validationView{ID: val.ID, Valid: val.Valid, Redeemables: []redeemableView{},
		Order: viewCalculated(val.Order, val.OrderObj), TrackingID: val.TrackingID, Session: val.Session,
		StackingRules: stackingView{StackingRules: val.Stacking.StackingRules, Mode: val.Stacking.Mode, SortingRule: "REQUESTED_ORDER"}}
	for _, res := range val.Redeemables {
		rv := viewRedeemable(res, val.OrderObj, requestID)
		v.Redeemables = append(v.Redeemables, rv)
		switch res.Status {
		case promo.RedeemableInapplicable:
			v.InapplicableRedeemables = append(v.InapplicableRedeemables, rv)
		case promo.RedeemableSkipped:
			v.SkippedRedeemables = append(v.SkippedRedeemables, rv)
		}
	}
	return v
}

// viewLegacyValidation is the per-code validate call's flat answer.
func viewLegacyValidation(val *engine.Validation, requestID string) any {
	res := val.Redeemables[0]
	code := res.Input.ID
	if res.Voucher != nil {
		code = res.Voucher.Code
	}
	if res.Status != promo.RedeemableApplicable {
		e := errorView(res.Err, requestID)
		return map[string]any{"valid": false, "reason": e.Details, "error": e, "code": code,
			"tracking_id": val.TrackingID, "metadata": val.Metadata}
	}
	ord := viewCalculated(val.Order, val.OrderObj)
	out := map[string]any{"valid": true, "code": code, "discount": res.Voucher.Template.Discount, "order": ord,
		"tracking_id": val.TrackingID, "metadata": val.Metadata, "applicable_to": newEmptyList(), "inapplicable_to": newEmptyList(),
		"campaign": res.Voucher.Campaign, "campaign_id": res.Voucher.CampaignID}
	if val.Session != nil {
		out["session"] = val.Session
	}
	return out
}

type redemptionVoucherView struct {
	ID             string          `json:"id"`
	Code           string          `json:"code"`
	Discount       *promo.Discount `json:"discount,omitempty"`
	Type           string          `json:"type"`
	Campaign       string          `json:"campaign,omitempty"`
	CampaignID     string          `json:"campaign_id,omitempty"`
	IsReferralCode bool            `json:"is_referral_code"`
}

type redemptionView struct {
	ID                string                 `json:"id"`
	Object            string                 `json:"object"`
	Date              promo.Time             `json:"date"`
	CustomerID        *string                `json:"customer_id"`
	TrackingID        string                 `json:"tracking_id,omitempty"`
	Amount            int64                  `json:"amount"`
	Result            string                 `json:"result"`
	Status            string                 `json:"status"`
	FailureCode       string                 `json:"failure_code,omitempty"`
	FailureMessage    string                 `json:"failure_message,omitempty"`
	Order             *promo.Order           `json:"order,omitempty"`
	Customer          *customerView          `json:"customer,omitempty"`
	Metadata          promo.Metadata         `json:"metadata"`
	Channel           promo.Channel          `json:"channel"`
	Reason            string                 `json:"reason,omitempty"`
	Redemption        *string                `json:"redemption"`
	RelatedObjectType string                 `json:"related_object_type,omitempty"`
	RelatedObjectID   string                 `json:"related_object_id,omitempty"`
	Voucher           *redemptionVoucherView `json:"voucher,omitempty"`
	RollbackID        string                 `json:"rollback_id,omitempty"`
	Session           *keyOnly               `json:"session,omitempty"`
}

type keyOnly struct {
	Key string `json:"key"`
}

func viewRedemption(r *promo.Redemption, c *promo.Customer) redemptionView {
	v := redemptionView{ID: r.ID, Object: r.Object, Date: r.Date, CustomerID: optional(r.CustomerID), TrackingID: r.TrackingID,
		Amount: r.Amount, Result: r.Result, Status: r.Status, FailureCode: r.FailureCode, FailureMessage: r.FailureMessage,
		Order: r.Order, Metadata: r.Metadata, Channel: r.Channel, Reason: r.Reason, RollbackID: r.RollbackID}
	if v.Metadata == nil {
		v.Metadata = promo.Metadata{}
	}
	if c != nil {
		cv := viewCustomer(c)
		v.Customer = &cv
	}
	switch {
	case r.Object == promo.ObjectRollback:
		v.Redemption = optional(r.RedemptionID)
	case r.ParentID != "":
		v.Redemption = optional(r.ParentID)
	}
	if r.Code != "" {
		v.RelatedObjectType, v.RelatedObjectID = "voucher", r.VoucherID
		v.Voucher = &redemptionVoucherView{ID: r.VoucherID, Code: r.Code, Discount: r.Discount, Type: promo.VoucherDiscount,
			Campaign: r.Campaign, CampaignID: r.CampaignID}
	} else if len(r.Children) > 0 {
		v.RelatedObjectType, v.RelatedObjectID = "redemption", r.ID
	}
	if r.SessionKey != "" {
		v.Session = &keyOnly{r.SessionKey}
	}
	return v
}

func viewRedemptionResult(res *engine.RedemptionResult, requestID string) any {
	out := map[string]any{}
	reds := make([]redemptionView, len(res.Redemptions))
	for i, r := range res.Redemptions {
		reds[i] = viewRedemption(r, res.Customer)
	}
	out["redemptions"] = reds
	if res.Parent != nil {
		out["parent_redemption"] = viewRedemption(res.Parent, res.Customer)
	}
	val := viewValidation(res.Validation, requestID)
	out["order"] = val.Order
	out["inapplicable_redeemables"] = orEmpty(val.InapplicableRedeemables)
	out["skipped_redeemables"] = orEmpty(val.SkippedRedeemables)
	return out
}

func orEmpty(rs []redeemableView) []redeemableView {
	if rs == nil {
		return []redeemableView{}
	}
	return rs
}

func viewRollbackResult(res *engine.RollbackResult, single bool) any {
	if single && res.Parent == nil {
		return viewRedemption(res.Rollbacks[0], nil)
	}
	rbs := make([]redemptionView, len(res.Rollbacks))
	for i, r := range res.Rollbacks {
		rbs[i] = viewRedemption(r, nil)
	}
	out := map[string]any{"rollbacks": rbs}
	if res.Parent != nil {
		out["parent_rollback"] = viewRedemption(res.Parent, nil)
		out["order"] = res.Parent.Order
	}
	return out
}
