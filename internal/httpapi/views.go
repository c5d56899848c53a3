package httpapi

import (
	"net/url"
	"time"

	"promo/internal/engine"
	"promo/internal/promo"
)

// The API's shapes of the domain types: what a compatible client expects to
// read, with "object" naming each.

type campaignView struct {
	*promo.Campaign
	BudgetUsage   *engine.BudgetUsage `json:"budget_usage,omitempty"`
	AsyncActionID string              `json:"async_action_id,omitempty"`
	Assignments   emptyListView       `json:"validation_rules_assignments"`
	Object        string              `json:"object"`
}

func viewCampaign(c *promo.Campaign, actionID string) campaignView {
	if c.Metadata == nil {
		c.Metadata = promo.Metadata{}
	}
	return campaignView{Campaign: c, AsyncActionID: actionID, Assignments: newEmptyList(), Object: "campaign"}
}

type emptyListView struct {
	Object  string `json:"object"`
	DataRef string `json:"data_ref"`
	Data    []any  `json:"data"`
	Total   int    `json:"total"`
}

func newEmptyList() emptyListView {
	return emptyListView{Object: "list", DataRef: "data", Data: []any{}}
}

type voucherView struct {
	ID             string             `json:"id"`
	Code           string             `json:"code"`
	Campaign       *string            `json:"campaign"`
	CampaignID     *string            `json:"campaign_id"`
	Category       *string            `json:"category"`
	Type           string             `json:"type"`
	Discount       *promo.Discount    `json:"discount"`
	Gift           any                `json:"gift"`
	LoyaltyCard    any                `json:"loyalty_card"`
	StartDate      *promo.Time        `json:"start_date"`
	ExpirationDate *promo.Time        `json:"expiration_date"`
	Active         bool               `json:"active"`
	State          string             `json:"state"`
	AdditionalInfo *string            `json:"additional_info"`
	Metadata       promo.Metadata     `json:"metadata"`
	IsReferralCode bool               `json:"is_referral_code"`
	CreatedAt      promo.Time         `json:"created_at"`
	UpdatedAt      *promo.Time        `json:"updated_at"`
	HolderID       *string            `json:"holder_id"`
	Redemption     voucherRedemptions `json:"redemption"`
	Publish        voucherPublish     `json:"publish"`
	Assignments    emptyListView      `json:"validation_rules_assignments"`
	Object         string             `json:"object"`
}

type voucherRedemptions struct {
	Quantity         *int64 `json:"quantity"`
	RedeemedQuantity int64  `json:"redeemed_quantity"`
	Object           string `json:"object"`
	URL              string `json:"url"`
}

type voucherPublish struct {
	Object string `json:"object"`
	Count  int64  `json:"count"`
	URL    string `json:"url"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func viewVoucher(v *promo.Voucher, now time.Time) voucherView {
	t := &v.Template
	md := t.Metadata
	if md == nil {
		md = promo.Metadata{}
	}
	typ := t.Type
	if typ == "" {
		typ = promo.VoucherDiscount
	}
	path := "/v1/vouchers/" + url.PathEscape(v.Code)
	return voucherView{
		ID:             v.ID,
		Code:           v.Code,
		Campaign:       optional(v.Campaign),
		CampaignID:     optional(v.CampaignID),
		Category:       optional(t.Category),
		Type:           typ,
		Discount:       t.Discount,
		StartDate:      t.StartDate,
		ExpirationDate: t.ExpirationDate,
		Active:         v.Active,
		State:          v.State(now),
		AdditionalInfo: optional(t.AdditionalInfo),
		Metadata:       md,
		IsReferralCode: t.IsReferralCode,
		CreatedAt:      v.CreatedAt,
		UpdatedAt:      v.UpdatedAt,
		HolderID:       optional(v.HolderID),
		Redemption: voucherRedemptions{Quantity: t.Redemption.Quantity, RedeemedQuantity: v.RedeemedQuantity,
			Object: "list", URL: path + "/redemptions?page=1&limit=10"},
		Publish:     voucherPublish{Object: "list", Count: v.PublishCount, URL: path + "/publications?page=1&limit=10"},
		Assignments: newEmptyList(),
		Object:      "voucher",
	}
}

type customerView struct {
	*promo.Customer
	Summary customerSummary `json:"summary"`
	Object  string          `json:"object"`
}

// customerSummary is filled in by the redemption engine; until then a
// customer has redeemed nothing through this API.
type customerSummary struct {
	Redemptions struct {
		TotalRedeemed   int64 `json:"total_redeemed"`
		TotalFailed     int64 `json:"total_failed"`
		TotalSucceeded  int64 `json:"total_succeeded"`
		TotalRolledBack int64 `json:"total_rolled_back"`
	} `json:"redemptions"`
	Orders struct {
		TotalAmount   int64 `json:"total_amount"`
		TotalCount    int64 `json:"total_count"`
		AverageAmount int64 `json:"average_amount"`
	} `json:"orders"`
}

func viewCustomer(c *promo.Customer) customerView {
	if c.Metadata == nil {
		c.Metadata = promo.Metadata{}
	}
	return customerView{Customer: c, Object: "customer"}
}

type orderView struct {
	*promo.Order
	TotalAmount         int64  `json:"total_amount"`
	TotalDiscountAmount int64  `json:"total_discount_amount"`
	Object              string `json:"object"`
}

func viewOrder(o *promo.Order) orderView {
	if o.Metadata == nil {
		o.Metadata = promo.Metadata{}
	}
	if o.Items == nil {
		o.Items = []promo.OrderItem{}
	}
	return orderView{Order: o, TotalAmount: max(0, o.Amount-o.DiscountAmount), TotalDiscountAmount: o.DiscountAmount, Object: "order"}
}

type publicationView struct {
	ID         string         `json:"id"`
	Object     string         `json:"object"`
	CreatedAt  promo.Time     `json:"created_at"`
	CustomerID string         `json:"customer_id"`
	TrackingID string         `json:"tracking_id,omitempty"`
	Metadata   promo.Metadata `json:"metadata"`
	Channel    string         `json:"channel"`
	SourceID   *string        `json:"source_id"`
	Result     string         `json:"result"`
	CampaignID *string        `json:"campaign_id,omitempty"`
	Customer   *customerView  `json:"customer,omitempty"`
	Voucher    *voucherView   `json:"voucher,omitempty"`
	VouchersID []string       `json:"vouchers_id"`
	Vouchers   []string       `json:"vouchers,omitempty"`
}

func viewPublication(p *promo.Publication, c *promo.Customer, now time.Time) publicationView {
	pv := publicationView{
		ID:         p.ID,
		Object:     "publication",
		CreatedAt:  p.CreatedAt,
		CustomerID: p.CustomerID,
		Metadata:   p.Metadata,
		Channel:    p.Channel,
		SourceID:   optional(p.SourceID),
		Result:     p.Result,
		CampaignID: optional(p.CampaignID),
		VouchersID: []string{},
	}
	if pv.Metadata == nil {
		pv.Metadata = promo.Metadata{}
	}
	if c != nil {
		cv := viewCustomer(c)
		pv.Customer = &cv
		pv.TrackingID = c.SourceID
	}
	for i, v := range p.Vouchers {
		pv.VouchersID = append(pv.VouchersID, v.ID)
		if i == 0 {
			vv := viewVoucher(v, now)
			pv.Voucher = &vv
		}
	}
	if len(p.Vouchers) > 1 {
		for _, v := range p.Vouchers {
			pv.Vouchers = append(pv.Vouchers, v.Code)
		}
	}
	return pv
}

type actionView struct {
	*promo.AsyncAction
	Object string `json:"object"`
}

func viewAction(a *promo.AsyncAction) actionView {
	return actionView{AsyncAction: a, Object: "async_action"}
}
