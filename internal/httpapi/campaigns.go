package httpapi

import (
	"net/http"
	"strconv"

	"promo/internal/engine"
	"promo/internal/promo"
)

// asyncView answers a request whose work goes on in an async action.
type asyncView struct {
	AsyncActionID string `json:"async_action_id"`
}

func (h *handlers) createCampaign(w http.ResponseWriter, r *http.Request) error {
	var in engine.CampaignInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	res, err := h.eng.CreateCampaign(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCampaign(res.Campaign, res.ActionID))
	return nil
}

func (h *handlers) getCampaign(w http.ResponseWriter, r *http.Request) error {
	c, err := h.eng.Campaign(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v := viewCampaign(c, "")
	if c.Budget != nil {
		if v.BudgetUsage, err = h.eng.BudgetUsage(r.Context(), c); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (h *handlers) listCampaigns(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	f := promo.CampaignFilter{CampaignType: q.get("campaign_type"), Type: q.get("type")}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	if f.Created, err = timeRange(q.root, "created_at"); err != nil {
		return err
	}
	if f.Active, err = q.boolean("active"); err != nil {
		return err
	}
	cs, total, err := h.eng.Store().Campaigns(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]campaignView, len(cs))
	for i, c := range cs {
		views[i] = viewCampaign(c, "")
	}
	writeList(w, "campaigns", views, total)
	return nil
}

func (h *handlers) updateCampaign(w http.ResponseWriter, r *http.Request) error {
	var in engine.CampaignInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := h.eng.UpdateCampaign(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCampaign(c, ""))
	return nil
}

func (h *handlers) deleteCampaign(w http.ResponseWriter, r *http.Request) error {
	if err := h.eng.DeleteCampaign(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handlers) setCampaignActive(active bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := h.eng.SetCampaignActive(r.Context(), r.PathValue("id"), active)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, viewCampaign(c, ""))
		return nil
	}
}

// addVouchers adds vouchers_count codes (from the query, or the body) to a
// campaign: one at once, more through an async action.
func (h *handlers) addVouchers(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		engine.TemplateInput
		VouchersCount *int64 `json:"vouchers_count"`
	}
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	count := int64(1)
	if in.VouchersCount != nil {
		count = *in.VouchersCount
	}
	if s := r.URL.Query().Get("vouchers_count"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return promo.Errorf(promo.EInvalidParam, "vouchers_count must be a whole number, not %q", s)
		}
		count = n
	}
	v, actionID, err := h.eng.AddVouchers(r.Context(), r.PathValue("id"), count, &in.TemplateInput)
	if err != nil {
		return err
	}
	if v != nil {
		writeJSON(w, http.StatusOK, viewVoucher(v, h.now()))
		return nil
	}
	writeJSON(w, http.StatusAccepted, asyncView{AsyncActionID: actionID})
	return nil
}

func (h *handlers) addVoucherWithCode(w http.ResponseWriter, r *http.Request) error {
	var in engine.TemplateInput
	if err := decodeOptionalJSON(r, &in); err != nil {
		return err
	}
	v, err := h.eng.AddVoucherWithCode(r.Context(), r.PathValue("id"), r.PathValue("code"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewVoucher(v, h.now()))
	return nil
}

// importJSON imports a JSON array of vouchers, into the campaign in the
// path when there is one.
func (h *handlers) importJSON(w http.ResponseWriter, r *http.Request) error {
	var items []engine.ImportItem
	if err := decodeJSON(r, &items); err != nil {
		return err
	}
	a, err := h.eng.Import(r.Context(), r.PathValue("id"), items, false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, asyncView{AsyncActionID: a.ID})
	return nil
}

// importCSV imports the CSV file of a multipart upload (field "file"), or a
// text/csv body.
func (h *handlers) importCSV(w http.ResponseWriter, r *http.Request) error {
	body, err := csvBody(r)
	if err != nil {
		return err
	}
	defer body.Close()
	items, err := engine.ParseImportCSV(body)
	if err != nil {
		return err
	}
	a, err := h.eng.Import(r.Context(), r.PathValue("id"), items, true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, asyncView{AsyncActionID: a.ID})
	return nil
}
