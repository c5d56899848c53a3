package httpapi

import (
	"net/http"

	"promo/internal/engine"
	"promo/internal/promo"
)

func (h *handlers) createVoucher(w http.ResponseWriter, r *http.Request) error {
	var in engine.VoucherInput
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	if code := r.PathValue("code"); code != "" {
		in.Code = code
	}
	v, err := h.eng.CreateVoucher(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewVoucher(v, h.now()))
	return nil
}

func (h *handlers) getVoucher(w http.ResponseWriter, r *http.Request) error {
	v, err := h.eng.Voucher(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewVoucher(v, h.now()))
	return nil
}

func (h *handlers) listVouchers(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	f := promo.VoucherFilter{Category: q.get("category")}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	if f.Created, err = timeRange(q.root, "created_at"); err != nil {
		return err
	}
	if f.Active, err = q.boolean("active"); err != nil {
		return err
	}
	// Filters that name something that does not exist match nothing.
	empty := func() error {
		writeList(w, "vouchers", []voucherView{}, 0)
		return nil
	}
	for _, name := range []string{"campaign_id", "campaign"} {
		if s := q.get(name); s != "" {
			c, err := h.eng.Store().Campaign(ctx, s)
			if promo.ErrorCode(err) == promo.ENotFound {
				return empty()
			} else if err != nil {
				return err
			}
			f.CampaignID = c.ID
		}
	}
	if s := q.get("customer"); s != "" {
		c, err := h.eng.Store().Customer(ctx, s)
		if promo.ErrorCode(err) == promo.ENotFound {
			return empty()
		} else if err != nil {
			return err
		}
		f.HolderID = c.ID
	}
	vs, total, err := h.eng.Store().Vouchers(ctx, f)
	if err != nil {
		return err
	}
	now := h.now()
	views := make([]voucherView, len(vs))
	for i, v := range vs {
		views[i] = viewVoucher(v, now)
	}
	writeList(w, "vouchers", views, total)
	return nil
}

func (h *handlers) updateVoucher(w http.ResponseWriter, r *http.Request) error {
	var in engine.VoucherInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	v, err := h.eng.UpdateVoucher(r.Context(), r.PathValue("code"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewVoucher(v, h.now()))
	return nil
}

func (h *handlers) deleteVoucher(w http.ResponseWriter, r *http.Request) error {
	if err := h.eng.DeleteVoucher(r.Context(), r.PathValue("code")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handlers) setVoucherActive(active bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		v, err := h.eng.SetVoucherActive(r.Context(), r.PathValue("code"), active)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, viewVoucher(v, h.now()))
		return nil
	}
}
