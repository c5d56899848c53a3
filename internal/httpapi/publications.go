package httpapi

import (
	"net/http"
	"strconv"

	"promo/internal/engine"
	"promo/internal/promo"
)

func (h *handlers) publish(w http.ResponseWriter, r *http.Request) error {
	now := h.now()
	idem, err := readIdempotent(r, renderer(func(p *engine.Published) any {
		return viewPublication(p.Publication, p.Customer, now)
	}))
	if err != nil {
		return err
	}
	var in engine.PublishInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Idempotency = idem
	if s := r.URL.Query().Get("join_once"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return promo.Errorf(promo.EInvalidParam, "join_once must be true or false, not %q", s)
		}
		in.JoinOnce = &b
	}
	p, replay, err := h.eng.Publish(r.Context(), in)
	switch {
	case err != nil:
		return err
	case replay != nil:
		writeRaw(w, replay)
		return nil
	}
	writeJSON(w, http.StatusOK, viewPublication(p.Publication, p.Customer, now))
	return nil
}

func (h *handlers) listPublications(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	st := h.eng.Store()
	f := promo.PublicationFilter{SourceID: q.get("source_id"), Result: q.get("result")}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	if f.Created, err = timeRange(q.root, "created_at"); err != nil {
		return err
	}
	empty := func() error {
		writeList(w, "publications", []publicationView{}, 0)
		return nil
	}
	if s := q.get("campaign"); s != "" {
		c, err := st.Campaign(ctx, s)
		if promo.ErrorCode(err) == promo.ENotFound {
			return empty()
		} else if err != nil {
			return err
		}
		f.CampaignID = c.ID
	}
	if s := q.get("customer"); s != "" {
		c, err := st.Customer(ctx, s)
		if promo.ErrorCode(err) == promo.ENotFound {
			return empty()
		} else if err != nil {
			return err
		}
		f.CustomerID = c.ID
	}
	if s := q.get("voucher"); s != "" {
		v, err := h.eng.Voucher(ctx, s)
		if promo.ErrorCode(err) == promo.ENotFound {
			return empty()
		} else if err != nil {
			return err
		}
		f.VoucherID = v.ID
	}
	ps, total, err := st.Publications(ctx, f)
	if err != nil {
		return err
	}
	now := h.now()
	views := make([]publicationView, len(ps))
	for i, p := range ps {
		views[i] = viewPublication(p, nil, now)
	}
	writeList(w, "publications", views, total)
	return nil
}

func (h *handlers) getAction(w http.ResponseWriter, r *http.Request) error {
	a, err := h.eng.Store().AsyncAction(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAction(a))
	return nil
}

func (h *handlers) listActions(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	f := promo.ActionFilter{Status: q.get("status"), Type: q.get("type")}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	as, total, err := h.eng.Store().AsyncActions(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]actionView, len(as))
	for i, a := range as {
		views[i] = viewAction(a)
	}
	writeList(w, "async_actions", views, total)
	return nil
}

// campaignAudit lists the audit entries of a campaign and its vouchers.
func (h *handlers) campaignAudit(w http.ResponseWriter, r *http.Request) error {
	c, err := h.eng.Campaign(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.audit(w, r, promo.AuditFilter{CampaignID: c.ID})
}

// voucherAudit lists the audit entries of a voucher.
func (h *handlers) voucherAudit(w http.ResponseWriter, r *http.Request) error {
	v, err := h.eng.Voucher(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	return h.audit(w, r, promo.AuditFilter{VoucherID: v.ID})
}

func (h *handlers) audit(w http.ResponseWriter, r *http.Request, f promo.AuditFilter) error {
	var err error
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	es, total, err := h.eng.Store().Audit(r.Context(), f)
	if err != nil {
		return err
	}
	if es == nil {
		es = []*promo.AuditEntry{}
	}
	writeList(w, "audit_log", es, total)
	return nil
}
