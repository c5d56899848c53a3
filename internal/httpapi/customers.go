package httpapi

import (
	"net/http"

	"promo/internal/engine"
	"promo/internal/promo"
)

func (h *handlers) createCustomer(w http.ResponseWriter, r *http.Request) error {
	var in engine.CustomerInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := h.eng.UpsertCustomer(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCustomer(c))
	return nil
}

func (h *handlers) getCustomer(w http.ResponseWriter, r *http.Request) error {
	c, err := h.eng.Store().Customer(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCustomer(c))
	return nil
}

func (h *handlers) listCustomers(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	f := promo.CustomerFilter{Email: q.get("email")}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	if f.Created, err = timeRange(q.root, "created_at"); err != nil {
		return err
	}
	cs, total, err := h.eng.Store().Customers(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]customerView, len(cs))
	for i, c := range cs {
		views[i] = viewCustomer(c)
	}
	writeListMore(w, "customers", views, total, int64(f.Offset()+len(cs)) < total)
	return nil
}

func (h *handlers) updateCustomer(w http.ResponseWriter, r *http.Request) error {
	var in engine.CustomerInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	c, err := h.eng.UpdateCustomer(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCustomer(c))
	return nil
}

func (h *handlers) deleteCustomer(w http.ResponseWriter, r *http.Request) error {
	if err := h.eng.DeleteCustomer(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handlers) createOrder(w http.ResponseWriter, r *http.Request) error {
	var in engine.OrderInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := h.eng.UpsertOrder(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOrder(o))
	return nil
}

func (h *handlers) getOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := h.eng.Store().Order(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOrder(o))
	return nil
}

func (h *handlers) updateOrder(w http.ResponseWriter, r *http.Request) error {
	var in engine.OrderInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := h.eng.UpdateOrder(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewOrder(o))
	return nil
}

func (h *handlers) listOrders(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	f := promo.OrderFilter{Status: q.get("status")}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	if f.Created, err = timeRange(q.root, "created_at"); err != nil {
		return err
	}
	if s := q.get("customer"); s != "" {
		c, err := h.eng.Store().Customer(r.Context(), s)
		if promo.ErrorCode(err) == promo.ENotFound {
			writeList(w, "orders", []orderView{}, 0)
			return nil
		} else if err != nil {
			return err
		}
		f.CustomerID = c.ID
	}
	os, total, err := h.eng.Store().Orders(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]orderView, len(os))
	for i, o := range os {
		views[i] = viewOrder(o)
	}
	writeList(w, "orders", views, total)
	return nil
}
