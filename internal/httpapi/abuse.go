package httpapi

import (
	"net/http"

	"promo/internal/promo"
)

// The blocklist and the flags, for secret keys and keys with the
// blocklist scope.

func (h *handlers) listBlocks(w http.ResponseWriter, r *http.Request) error {
	list, err := h.eng.Store().Blocklist(r.Context())
	if err != nil {
		return err
	}
	views := make([]any, len(list))
	for i, b := range list {
		views[i] = blockView{b, "block_entry"}
	}
	writeList(w, "blocklist", views, int64(len(views)))
	return nil
}

type blockView struct {
	*promo.BlockEntry
	Object string `json:"object"`
}

func (h *handlers) addBlock(w http.ResponseWriter, r *http.Request) error {
	var in promo.BlockEntry
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	b, err := h.eng.AddBlock(r.Context(), promo.BlockEntry{Kind: in.Kind, Value: in.Value, Reason: in.Reason})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, blockView{b, "block_entry"})
	return nil
}

func (h *handlers) removeBlock(w http.ResponseWriter, r *http.Request) error {
	if err := h.eng.RemoveBlock(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listFlags is GET /v1/flags?kind=leak|canary&voucher=CODE_OR_ID.
func (h *handlers) listFlags(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	f := promo.FlagFilter{Kind: q.get("kind")}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	if code := q.get("voucher"); code != "" {
		v, err := h.eng.Voucher(r.Context(), code)
		if promo.ErrorCode(err) == promo.ENotFound {
			writeList(w, "flags", []any{}, 0)
			return nil
		} else if err != nil {
			return err
		}
		f.VoucherID = v.ID
	}
	list, total, err := h.eng.Flags(r.Context(), f)
	if err != nil {
		return err
	}
	views := make([]any, len(list))
	for i, fl := range list {
		views[i] = flagView{fl, "flag"}
	}
	writeList(w, "flags", views, total)
	return nil
}

type flagView struct {
	*promo.Flag
	Object string `json:"object"`
}
