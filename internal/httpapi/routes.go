package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"promo/internal/engine"
	"promo/internal/promo"
)

// handlers serve the /v1 resources over an engine.
type handlers struct {
	eng    *engine.Engine
	now    func() time.Time
	limits *Limits
}

// Register adds the /v1 routes, served by eng, to a.
func Register(a *API, eng *engine.Engine) {
	h := &handlers{eng: eng, now: a.Now, limits: &a.Limits}
	routes := []struct {
		method, pattern string
		h               HandlerFunc
		opts            []RouteOption
	}{
		{"POST", "/v1/campaigns", h.createCampaign, nil},
		{"GET", "/v1/campaigns", h.listCampaigns, nil},
		{"GET", "/v1/campaigns/{id}", h.getCampaign, nil},
		{"PUT", "/v1/campaigns/{id}", h.updateCampaign, nil},
		{"DELETE", "/v1/campaigns/{id}", h.deleteCampaign, nil},
		{"POST", "/v1/campaigns/{id}/enable", h.setCampaignActive(true), nil},
		{"POST", "/v1/campaigns/{id}/disable", h.setCampaignActive(false), nil},
		{"POST", "/v1/campaigns/{id}/vouchers", h.addVouchers, nil},
		{"POST", "/v1/campaigns/{id}/vouchers/{code}", h.addVoucherWithCode, nil},
		{"POST", "/v1/campaigns/{id}/import", h.importJSON, []RouteOption{Upload()}},
		{"POST", "/v1/campaigns/{id}/importCSV", h.importCSV, []RouteOption{Upload()}},
		{"GET", "/v1/campaigns/{id}/audit", h.campaignAudit, nil},

		{"POST", "/v1/vouchers", h.createVoucher, nil},
		{"GET", "/v1/vouchers", h.listVouchers, nil},
		{"POST", "/v1/vouchers/import", h.importJSON, []RouteOption{Upload()}},
		{"POST", "/v1/vouchers/importCSV", h.importCSV, []RouteOption{Upload()}},
		{"POST", "/v1/vouchers/{code}", h.createVoucher, nil},
		{"GET", "/v1/vouchers/{code}", h.getVoucher, nil},
		{"PUT", "/v1/vouchers/{code}", h.updateVoucher, nil},
		{"DELETE", "/v1/vouchers/{code}", h.deleteVoucher, nil},
		{"POST", "/v1/vouchers/{code}/enable", h.setVoucherActive(true), nil},
		{"POST", "/v1/vouchers/{code}/disable", h.setVoucherActive(false), nil},
		{"GET", "/v1/vouchers/{code}/audit", h.voucherAudit, nil},

		{"POST", "/v1/customers", h.createCustomer, nil},
		{"GET", "/v1/customers", h.listCustomers, nil},
		{"GET", "/v1/customers/{id}", h.getCustomer, nil},
		{"PUT", "/v1/customers/{id}", h.updateCustomer, nil},
		{"DELETE", "/v1/customers/{id}", h.deleteCustomer, nil},

		{"POST", "/v1/orders", h.createOrder, nil},
		{"GET", "/v1/orders", h.listOrders, nil},
		{"GET", "/v1/orders/{id}", h.getOrder, nil},
		{"PUT", "/v1/orders/{id}", h.updateOrder, nil},

		{"POST", "/v1/publications", h.publish, nil},
		{"GET", "/v1/publications", h.listPublications, nil},

		{"POST", "/v1/validations", h.validate, nil},
		{"POST", "/v1/redemptions", h.redeem, nil},
		{"GET", "/v1/redemptions", h.listRedemptions, nil},
		{"GET", "/v1/redemptions/{id}", h.getRedemption, nil},
		{"POST", "/v1/redemptions/{id}/rollback", h.rollback(true), nil},
		{"POST", "/v1/redemptions/{id}/rollbacks", h.rollback(false), nil},
		{"POST", "/v1/vouchers/{code}/validate", h.validateCode, nil},
		{"POST", "/v1/vouchers/{code}/redemption", h.redeemCode, nil},
		{"GET", "/v1/vouchers/{code}/redemption", h.voucherRedemptions, nil},
		{"DELETE", "/v1/vouchers/{code}/sessions/{key}", h.releaseSession, nil},
		{"GET", "/v1/attempts", h.listAttempts, nil},

		{"POST", "/v1/validation-rules", h.createRule, nil},
		{"GET", "/v1/validation-rules", h.listRules, nil},
		{"GET", "/v1/validation-rules/{id}", h.getRule, nil},
		{"PUT", "/v1/validation-rules/{id}", h.updateRule, nil},
		{"DELETE", "/v1/validation-rules/{id}", h.deleteRule, nil},
		{"POST", "/v1/validation-rules/{id}/assignments", h.assignRule, nil},
		{"GET", "/v1/validation-rules/{id}/assignments", h.listAssignments, nil},
		{"GET", "/v1/validation-rules-assignments", h.listAssignments, nil},

		{"GET", "/v1/async-actions", h.listActions, nil},
		{"GET", "/v1/async-actions/{id}", h.getAction, nil},
	}
	for _, rt := range routes {
		a.Handle(rt.method, rt.pattern, rt.h, rt.opts...)
	}
}

// query is a request's parsed query string.
type query struct{ root *queryNode }

func parseRequestQuery(r *http.Request) (query, error) {
	n, err := parseQuery(r.URL.RawQuery)
	return query{n}, err
}

// get returns the value of a plain parameter, or "".
func (q query) get(name string) string {
	if n := q.root.get(name); n != nil {
		return n.value()
	}
	return ""
}

// boolean reads an optional true/false parameter.
func (q query) boolean(name string) (*bool, error) {
	s := q.get(name)
	if s == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return nil, promo.Errorf(promo.EInvalidParam, "%s must be true or false, not %q", name, s)
	}
	return &b, nil
}
