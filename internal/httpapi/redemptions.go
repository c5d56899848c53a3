package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"

	"promo/internal/engine"
	"promo/internal/promo"
)

// redeemRequest decodes a validation or redemption body, and fills in what
// the API knows of the caller. With idempotent, an Idempotency-Key header
// makes the request safe to retry; render turns the engine's result into
// the response body a retry gets.
func redeemRequest(r *http.Request, in *engine.RedeemRequest, render func(any) ([]byte, error)) error {
	idem, err := readIdempotent(r, render)
	if err != nil {
		return err
	}
	if err := decodeJSON(r, in); err != nil {
		return err
	}
	in.Idempotency = idem
	in.ClientIP = clientIP(r)
	return nil
}

// readIdempotent reads the body, for its hash, when the request has an
// Idempotency-Key; the body stays readable.
func readIdempotent(r *http.Request, render func(any) ([]byte, error)) (*engine.Idempotency, error) {
	key := r.Header.Get("Idempotency-Key")
	if key == "" || render == nil {
		return nil, nil
	}
	if len(key) > 255 {
		return nil, promo.Errorf(promo.EInvalidPayload, "the Idempotency-Key header has at most 255 bytes")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, bodyError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	io.WriteString(h, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery+"\n")
	h.Write(body)
	return &engine.Idempotency{Key: key, Hash: hex.EncodeToString(h.Sum(nil)), Render: render}, nil
}

// writeRaw writes a stored response body.
func writeRaw(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Idempotent-Replayed", "true")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// renderer returns a Render function that encodes view(result).
func renderer[T any](view func(T) any) func(any) ([]byte, error) {
	return func(result any) ([]byte, error) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		err := enc.Encode(view(result.(T)))
		return buf.Bytes(), err
	}
}

func (h *handlers) validate(w http.ResponseWriter, r *http.Request) error {
	g, err := h.guard(w, r)
	if err != nil {
		return err
	}
	var in engine.RedeemRequest
	if err := redeemRequest(r, &in, nil); err != nil {
		return err
	}
	if err := g.customer(in.Customer); err != nil {
		return err
	}
	val, err := h.eng.Validate(r.Context(), in)
	if err != nil {
		return err
	}
	if err := g.validated(val); err != nil {
		return err
	}
	if byClient(r) {
		writeJSON(w, http.StatusOK, viewClientValidation(val, requestIDOf(r)))
		return nil
	}
	writeJSON(w, http.StatusOK, viewValidation(val, requestIDOf(r)))
	return nil
}

// legacyRequest is the body of the per-code validate and redemption
// calls.
type legacyRequest struct {
	Customer *engine.CustomerInput `json:"customer"`
	Order    *engine.OrderInput    `json:"order"`
	Session  *engine.SessionInput  `json:"session"`
	Metadata promo.Metadata        `json:"metadata"`
}

// legacyRequest reads a per-code request: the code from the path, or from
// the code query parameter (POST /client/v1/redeem?code=).
func (h *handlers) legacyRequest(r *http.Request, render func(any) ([]byte, error)) (engine.RedeemRequest, error) {
	code := r.PathValue("code")
	if code == "" {
		if code = r.URL.Query().Get("code"); code == "" {
			return engine.RedeemRequest{}, promo.Errorf(promo.EInvalidParam, "the code query parameter is required")
		}
	}
	idem, err := readIdempotent(r, render)
	if err != nil {
		return engine.RedeemRequest{}, err
	}
	var body legacyRequest
	if err := decodeOptionalJSON(r, &body); err != nil {
		return engine.RedeemRequest{}, err
	}
	return engine.RedeemRequest{
		Redeemables: []engine.RedeemableInput{{Object: "voucher", ID: code}},
		Customer:    body.Customer, Order: body.Order, Session: body.Session, Metadata: body.Metadata,
		TrackingID: r.URL.Query().Get("tracking_id"), ClientIP: clientIP(r), Idempotency: idem,
	}, nil
}

func (h *handlers) validateCode(w http.ResponseWriter, r *http.Request) error {
	return h.validateLegacy(w, r, func(r *http.Request) (engine.RedeemRequest, error) { return h.legacyRequest(r, nil) })
}

// validateLegacy serves a per-code validation whose request read reads:
// POST /v1/vouchers/{code}/validate and GET /client/v1/validate.
func (h *handlers) validateLegacy(w http.ResponseWriter, r *http.Request, read func(*http.Request) (engine.RedeemRequest, error)) error {
	g, err := h.guard(w, r)
	if err != nil {
		return err
	}
	in, err := read(r)
	if err != nil {
		return err
	}
	if err := g.customer(in.Customer); err != nil {
		return err
	}
	val, err := h.eng.Validate(r.Context(), in)
	if err != nil {
		return err
	}
	if err := g.validated(val); err != nil {
		return err
	}
	if byClient(r) {
		writeJSON(w, http.StatusOK, viewClientLegacyValidation(val, requestIDOf(r)))
		return nil
	}
	writeJSON(w, http.StatusOK, viewLegacyValidation(val, requestIDOf(r)))
	return nil
}

func (h *handlers) redeem(w http.ResponseWriter, r *http.Request) error {
	var in engine.RedeemRequest
	requestID := requestIDOf(r)
	render := renderer(func(res *engine.RedemptionResult) any { return viewRedemptionResult(res, requestID) })
	g, err := h.guard(w, r)
	if err != nil {
		return err
	}
	if err := redeemRequest(r, &in, render); err != nil {
		return err
	}
	if err := g.customer(in.Customer); err != nil {
		return err
	}
	res, replay, err := h.eng.Redeem(r.Context(), in)
	switch {
	case err != nil:
		return g.redeemed(res, err)
	case replay != nil:
		writeRaw(w, replay)
		return nil
	}
	writeJSON(w, http.StatusOK, viewRedemptionResult(res, requestID))
	return nil
}

func (h *handlers) redeemCode(w http.ResponseWriter, r *http.Request) error {
	render := renderer(func(res *engine.RedemptionResult) any { return viewRedemption(res.Redemptions[0], res.Customer) })
	g, err := h.guard(w, r)
	if err != nil {
		return err
	}
	in, err := h.legacyRequest(r, render)
	if err != nil {
		return err
	}
	if err := g.customer(in.Customer); err != nil {
		return err
	}
	res, replay, err := h.eng.Redeem(r.Context(), in)
	switch {
	case err != nil:
		if e, ok := err.(*promo.Error); ok && res != nil && len(res.Failed) > 0 {
			// The reference names the failed redemption in the error.
			e.ResourceID, e.ResourceType = res.Failed[0].ID, "redemption"
		}
		return g.redeemed(res, err)
	case replay != nil:
		writeRaw(w, replay)
		return nil
	}
	writeJSON(w, http.StatusOK, viewRedemption(res.Redemptions[0], res.Customer))
	return nil
}

// rollback serves the rollback of one redemption (single: its answer is
// the rollback) and of a parent redemption (its answer lists the
// rollbacks under the parent rollback).
func (h *handlers) rollback(single bool) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		render := renderer(func(res *engine.RollbackResult) any { return viewRollbackResult(res, single) })
		idem, err := readIdempotent(r, render)
		if err != nil {
			return err
		}
		var in engine.RollbackInput
		if err := decodeOptionalJSON(r, &in); err != nil {
			return err
		}
		q := r.URL.Query()
		if s := q.Get("reason"); s != "" {
			in.Reason = s
		}
		if s := q.Get("tracking_id"); s != "" {
			in.TrackingID = s
		}
		in.Idempotency = idem
		res, replay, err := h.eng.Rollback(r.Context(), r.PathValue("id"), in)
		switch {
		case err != nil:
			return err
		case replay != nil:
			writeRaw(w, replay)
			return nil
		}
		writeJSON(w, http.StatusOK, viewRollbackResult(res, single))
		return nil
	}
}

func (h *handlers) getRedemption(w http.ResponseWriter, r *http.Request) error {
	red, err := h.eng.Store().Redemption(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewRedemption(red, nil))
	return nil
}

func (h *handlers) listRedemptions(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	f := promo.RedemptionFilter{Result: q.get("result")}
	switch f.Result {
	case "", promo.ResultSuccess, promo.ResultFailure:
	default:
		return promo.Errorf(promo.EInvalidParam, "result must be SUCCESS or FAILURE, not %q", f.Result)
	}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	if f.Created, err = timeRange(q.root, "created_at"); err != nil {
		return err
	}
	list, total, err := h.eng.Redemptions(r.Context(), f, q.get("campaign"), q.get("customer"))
	if err != nil {
		return err
	}
	views := make([]any, len(list))
	for i, red := range list {
		views[i] = viewRedemption(red, nil)
	}
	writeList(w, "redemptions", views, total)
	return nil
}

// voucherRedemptions is GET /v1/vouchers/{code}/redemption: the code's
// quantities and its redemptions.
func (h *handlers) voucherRedemptions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	v, err := h.eng.Voucher(ctx, r.PathValue("code"))
	if err != nil {
		return err
	}
	lp, err := listParams(r)
	if err != nil {
		return err
	}
	list, total, err := h.eng.Store().Redemptions(ctx, promo.RedemptionFilter{VoucherID: v.ID, ListParams: lp})
	if err != nil {
		return err
	}
	views := make([]any, len(list))
	for i, red := range list {
		views[i] = viewRedemption(red, nil)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list", "data_ref": "redemption_entries", "quantity": v.Template.Redemption.Quantity,
		"redeemed_quantity": v.RedeemedQuantity, "redemption_entries": views, "total": total,
	})
	return nil
}

func (h *handlers) releaseSession(w http.ResponseWriter, r *http.Request) error {
	if err := h.eng.ReleaseSession(r.Context(), r.PathValue("code"), r.PathValue("key")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *handlers) listAttempts(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	f := promo.AttemptFilter{ClientIP: q.get("ip"), Result: q.get("result")}
	if code := q.get("code"); code != "" {
		key, err := promo.CodeKey(code)
		if err != nil {
			writeList(w, "attempts", []any{}, 0)
			return nil
		}
		f.Key = key
	}
	if s := q.get("customer"); s != "" {
		c, err := h.eng.Store().Customer(r.Context(), s)
		if promo.ErrorCode(err) == promo.ENotFound {
			writeList(w, "attempts", []any{}, 0)
			return nil
		} else if err != nil {
			return err
		}
		f.CustomerID = c.ID
	}
	if f.ListParams, err = listParams(r); err != nil {
		return err
	}
	if f.Created, err = timeRange(q.root, "created_at"); err != nil {
		return err
	}
	list, total, err := h.eng.Store().Attempts(r.Context(), f)
	if err != nil {
		return err
	}
	writeList(w, "attempts", list, total)
	return nil
}

// Validation rules.

type ruleView struct {
	*promo.ValidationRule
	AssignmentsCount int64  `json:"assignments_count"`
	Object           string `json:"object"`
}

func (h *handlers) createRule(w http.ResponseWriter, r *http.Request) error {
	var in promo.ValidationRule
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rule, err := h.eng.CreateValidationRule(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ruleView{ValidationRule: rule, Object: "validation_rules"})
	return nil
}

func (h *handlers) getRule(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rule, err := h.eng.Store().ValidationRule(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	_, n, err := h.eng.Store().RuleAssignments(ctx, rule.ID, "", promo.ListParams{Limit: 1, Page: 1})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ruleView{ValidationRule: rule, AssignmentsCount: n, Object: "validation_rules"})
	return nil
}

func (h *handlers) listRules(w http.ResponseWriter, r *http.Request) error {
	lp, err := listParams(r)
	if err != nil {
		return err
	}
	list, total, err := h.eng.Store().ValidationRules(r.Context(), lp)
	if err != nil {
		return err
	}
	views := make([]ruleView, len(list))
	for i, rule := range list {
		views[i] = ruleView{ValidationRule: rule, Object: "validation_rules"}
	}
	writeList(w, "data", views, total)
	return nil
}

func (h *handlers) updateRule(w http.ResponseWriter, r *http.Request) error {
	var in promo.ValidationRule
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rule, err := h.eng.UpdateValidationRule(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ruleView{ValidationRule: rule, Object: "validation_rules"})
	return nil
}

func (h *handlers) deleteRule(w http.ResponseWriter, r *http.Request) error {
	if err := h.eng.DeleteValidationRule(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type assignmentView struct {
	*promo.ValidationRuleAssignment
	Object string `json:"object"`
}

func (h *handlers) assignRule(w http.ResponseWriter, r *http.Request) error {
	var in engine.AssignmentInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := h.eng.AssignRule(r.Context(), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, assignmentView{a, "validation_rules_assignment"})
	return nil
}

func (h *handlers) listAssignments(w http.ResponseWriter, r *http.Request) error {
	q, err := parseRequestQuery(r)
	if err != nil {
		return err
	}
	lp, err := listParams(r)
	if err != nil {
		return err
	}
	ruleID := r.PathValue("id")
	if ruleID == "" {
		ruleID = q.get("rule")
	}
	list, total, err := h.eng.Store().RuleAssignments(r.Context(), ruleID, q.get("related_object_id"), lp)
	if err != nil {
		return err
	}
	views := make([]assignmentView, len(list))
	for i, a := range list {
		views[i] = assignmentView{a, "validation_rules_assignment"}
	}
	writeList(w, "data", views, total)
	return nil
}
