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
		{"POST", "/v1/campaigns", h.createCampaign, []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"GET", "/v1/campaigns", h.listCampaigns, []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"GET", "/v1/campaigns/{id}", h.getCampaign, []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"PUT", "/v1/campaigns/{id}", h.updateCampaign, []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"DELETE", "/v1/campaigns/{id}", h.deleteCampaign, []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"POST", "/v1/campaigns/{id}/enable", h.setCampaignActive(true), []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"POST", "/v1/campaigns/{id}/disable", h.setCampaignActive(false), []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"POST", "/v1/campaigns/{id}/vouchers", h.addVouchers, []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"POST", "/v1/campaigns/{id}/vouchers/{code}", h.addVoucherWithCode, []RouteOption{Scope(promo.ScopeCampaigns)}},
		{"POST", "/v1/campaigns/{id}/import", h.importJSON, []RouteOption{Upload(), Scope(promo.ScopeCampaigns)}},
		{"POST", "/v1/campaigns/{id}/importCSV", h.importCSV, []RouteOption{Upload(), Scope(promo.ScopeCampaigns)}},
		{"GET", "/v1/campaigns/{id}/audit", h.campaignAudit, []RouteOption{Scope(promo.ScopeCampaigns)}},

		{"POST", "/v1/vouchers", h.createVoucher, []RouteOption{Scope(promo.ScopeVouchers)}},
		{"GET", "/v1/vouchers", h.listVouchers, []RouteOption{Scope(promo.ScopeVouchers)}},
		{"POST", "/v1/vouchers/import", h.importJSON, []RouteOption{Upload(), Scope(promo.ScopeVouchers)}},
		{"POST", "/v1/vouchers/importCSV", h.importCSV, []RouteOption{Upload(), Scope(promo.ScopeVouchers)}},
		{"POST", "/v1/vouchers/{code}", h.createVoucher, []RouteOption{Scope(promo.ScopeVouchers)}},
		{"GET", "/v1/vouchers/{code}", h.getVoucher, []RouteOption{Scope(promo.ScopeVouchers)}},
		{"PUT", "/v1/vouchers/{code}", h.updateVoucher, []RouteOption{Scope(promo.ScopeVouchers)}},
		{"DELETE", "/v1/vouchers/{code}", h.deleteVoucher, []RouteOption{Scope(promo.ScopeVouchers)}},
		{"POST", "/v1/vouchers/{code}/enable", h.setVoucherActive(true), []RouteOption{Scope(promo.ScopeVouchers)}},
		{"POST", "/v1/vouchers/{code}/disable", h.setVoucherActive(false), []RouteOption{Scope(promo.ScopeVouchers)}},
		{"GET", "/v1/vouchers/{code}/audit", h.voucherAudit, []RouteOption{Scope(promo.ScopeVouchers)}},

		{"POST", "/v1/customers", h.createCustomer, []RouteOption{Scope(promo.ScopeCustomers)}},
		{"GET", "/v1/customers", h.listCustomers, []RouteOption{Scope(promo.ScopeCustomers)}},
		{"GET", "/v1/customers/{id}", h.getCustomer, []RouteOption{Scope(promo.ScopeCustomers)}},
		{"PUT", "/v1/customers/{id}", h.updateCustomer, []RouteOption{Scope(promo.ScopeCustomers)}},
		{"DELETE", "/v1/customers/{id}", h.deleteCustomer, []RouteOption{Scope(promo.ScopeCustomers)}},

		{"POST", "/v1/orders", h.createOrder, []RouteOption{Scope(promo.ScopeOrders)}},
		{"GET", "/v1/orders", h.listOrders, []RouteOption{Scope(promo.ScopeOrders)}},
		{"GET", "/v1/orders/{id}", h.getOrder, []RouteOption{Scope(promo.ScopeOrders)}},
		{"PUT", "/v1/orders/{id}", h.updateOrder, []RouteOption{Scope(promo.ScopeOrders)}},

		{"POST", "/v1/publications", h.publish, []RouteOption{Scope(promo.ScopePublications)}},
		{"GET", "/v1/publications", h.listPublications, []RouteOption{Scope(promo.ScopePublications)}},

		{"POST", "/v1/validations", h.validate, []RouteOption{Scope(promo.ScopeValidations)}},
		{"POST", "/v1/redemptions", h.redeem, []RouteOption{Scope(promo.ScopeRedemptions)}},
		{"GET", "/v1/redemptions", h.listRedemptions, []RouteOption{Scope(promo.ScopeRedemptions)}},
		{"GET", "/v1/redemptions/{id}", h.getRedemption, []RouteOption{Scope(promo.ScopeRedemptions)}},
		{"POST", "/v1/redemptions/{id}/rollback", h.rollback(true), []RouteOption{Scope(promo.ScopeRedemptions)}},
		{"POST", "/v1/redemptions/{id}/rollbacks", h.rollback(false), []RouteOption{Scope(promo.ScopeRedemptions)}},
		{"POST", "/v1/vouchers/{code}/validate", h.validateCode, []RouteOption{Scope(promo.ScopeValidations)}},
		{"POST", "/v1/vouchers/{code}/redemption", h.redeemCode, []RouteOption{Scope(promo.ScopeRedemptions)}},
		{"GET", "/v1/vouchers/{code}/redemption", h.voucherRedemptions, []RouteOption{Scope(promo.ScopeRedemptions)}},
		{"DELETE", "/v1/vouchers/{code}/sessions/{key}", h.releaseSession, []RouteOption{Scope(promo.ScopeValidations)}},
		{"GET", "/v1/attempts", h.listAttempts, []RouteOption{Scope(promo.ScopeAttempts)}},

		{"POST", "/v1/validation-rules", h.createRule, []RouteOption{Scope(promo.ScopeValidationRules)}},
		{"GET", "/v1/validation-rules", h.listRules, []RouteOption{Scope(promo.ScopeValidationRules)}},
		{"GET", "/v1/validation-rules/{id}", h.getRule, []RouteOption{Scope(promo.ScopeValidationRules)}},
		{"PUT", "/v1/validation-rules/{id}", h.updateRule, []RouteOption{Scope(promo.ScopeValidationRules)}},
		{"DELETE", "/v1/validation-rules/{id}", h.deleteRule, []RouteOption{Scope(promo.ScopeValidationRules)}},
		{"POST", "/v1/validation-rules/{id}/assignments", h.assignRule, []RouteOption{Scope(promo.ScopeValidationRules)}},
		{"GET", "/v1/validation-rules/{id}/assignments", h.listAssignments, []RouteOption{Scope(promo.ScopeValidationRules)}},
		{"GET", "/v1/validation-rules-assignments", h.listAssignments, []RouteOption{Scope(promo.ScopeValidationRules)}},

		{"GET", "/v1/async-actions", h.listActions, []RouteOption{Scope(promo.ScopeAsyncActions)}},
		{"GET", "/v1/async-actions/{id}", h.getAction, []RouteOption{Scope(promo.ScopeAsyncActions)}},

		{"GET", "/v1/blocklist", h.listBlocks, []RouteOption{Scope(promo.ScopeBlocklist)}},
		{"POST", "/v1/blocklist", h.addBlock, []RouteOption{Scope(promo.ScopeBlocklist)}},
		{"DELETE", "/v1/blocklist/{id}", h.removeBlock, []RouteOption{Scope(promo.ScopeBlocklist)}},
		{"GET", "/v1/flags", h.listFlags, []RouteOption{Scope(promo.ScopeBlocklist)}},

		// API keys: secret keys only.
		{"POST", "/v1/api-keys", h.createKey, nil},
		{"GET", "/v1/api-keys", h.listKeys, nil},
		{"DELETE", "/v1/api-keys/{id}", h.revokeKey, nil},

		// Client side: client keys only, from their origins.
		{"POST", "/client/v1/validations", h.validate, []RouteOption{Client()}},
		{"POST", "/client/v1/redemptions", h.redeem, []RouteOption{Client()}},
		{"GET", "/client/v1/validate", h.clientValidate, []RouteOption{Client()}},
		{"POST", "/client/v1/redeem", h.redeemCode, []RouteOption{Client()}},
		{"POST", "/client/v1/publish", h.clientPublish, []RouteOption{Client()}},
		{"OPTIONS", "/client/v1/", preflight, []RouteOption{Public()}},
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
