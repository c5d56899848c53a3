package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"promo/internal/engine"
	"promo/internal/promo"
)

// The client-side routes serve browsers and apps with client keys, which
// anyone can read from a page. So that such a key is no oracle for guessing
// codes, every refusal of a code it asks about looks the same: a code that
// does not exist, has expired, is not active yet, is disabled, is used up,
// is skipped by stacking rules, is another customer's or misses the order's
// rules gets one answer, equal in status, body and headers to the byte but
// for the request ID. Secret and restricted keys get the precise reason.

// refused is the one error a client key gets for a refused code.
func refused() *promo.Error {
	return &promo.Error{Code: promo.ECodeNotApplicable, Message: "Code not applicable",
		Details: "This code cannot be used here."}
}

// maskRedeemable hides why a code was refused from a client key.
func maskRedeemable(rv redeemableView, requestID string) redeemableView {
	return redeemableView{Status: promo.RedeemableInapplicable, ID: rv.ID, Object: rv.Object,
		Result: redeemableResultView{Error: ptr(errorView(refused(), requestID))}}
}

func ptr[T any](v T) *T { return &v }

// clientRefusal is a client key's answer to a validation that found no code
// it may use: only what the client sent, and the refusal.
type clientRefusal struct {
	Valid                   bool             `json:"valid"`
	Redeemables             []redeemableView `json:"redeemables"`
	InapplicableRedeemables []redeemableView `json:"inapplicable_redeemables"`
	TrackingID              string           `json:"tracking_id,omitempty"`
}

// viewClientValidation is viewValidation for a client key.
func viewClientValidation(val *engine.Validation, requestID string) any {
	v := viewValidation(val, requestID)
	var masked []redeemableView
	for i, rv := range v.Redeemables {
		if rv.Status != promo.RedeemableApplicable {
			v.Redeemables[i] = maskRedeemable(rv, requestID)
			masked = append(masked, v.Redeemables[i])
		}
	}
	v.InapplicableRedeemables, v.SkippedRedeemables = masked, nil
	if !val.Valid {
		return clientRefusal{Redeemables: v.Redeemables, InapplicableRedeemables: masked, TrackingID: val.TrackingID}
	}
	return v
}

// viewClientLegacyValidation is viewLegacyValidation for a client key.
func viewClientLegacyValidation(val *engine.Validation, requestID string) any {
	if val.Redeemables[0].Status == promo.RedeemableApplicable {
		return viewLegacyValidation(val, requestID)
	}
	e := errorView(refused(), requestID)
	return map[string]any{"valid": false, "reason": e.Details, "error": e, "code": val.Redeemables[0].Input.ID,
		"tracking_id": val.TrackingID}
}

// clientError is the error a client key gets for a failed redemption: the
// refusal when the engine refused a code (res is set), err otherwise.
func clientError(res *engine.RedemptionResult, err error) error {
	if res != nil {
		return refused()
	}
	return err
}

// clientValidate is the legacy GET /client/v1/validate?code=&amount=, with
// customer[source_id] or customer[id] and tracking_id.
func (h *handlers) clientValidate(w http.ResponseWriter, r *http.Request) error {
	return h.validateLegacy(w, r, clientRequest)
}

// clientRequest reads a legacy client validation from the query string.
func clientRequest(r *http.Request) (engine.RedeemRequest, error) {
	q := r.URL.Query()
	code := q.Get("code")
	if code == "" {
		return engine.RedeemRequest{}, promo.Errorf(promo.EInvalidParam, "the code query parameter is required")
	}
	in := engine.RedeemRequest{
		Redeemables: []engine.RedeemableInput{{Object: "voucher", ID: code}},
		TrackingID:  q.Get("tracking_id"), ClientIP: clientIP(r),
	}
	if s := q.Get("amount"); s != "" {
		amount, err := strconv.ParseInt(s, 10, 64)
		if err != nil || amount < 0 {
			return in, promo.Errorf(promo.EInvalidParam, "amount must be a whole number of minor units, not %q", s)
		}
		in.Order = &engine.OrderInput{Amount: &amount}
	}
	if id, src := q.Get("customer[id]"), q.Get("customer[source_id]"); id != "" || src != "" {
		in.Customer = &engine.CustomerInput{ID: id}
		if src != "" {
			in.Customer.SourceID = &src
		}
	}
	return in, nil
}

// clientPublish is POST /client/v1/publish?campaign=NAME with
// {customer, channel, metadata}: a code of the campaign for the customer.
// A client key publishes from a campaign's pool only, never a named code.
func (h *handlers) clientPublish(w http.ResponseWriter, r *http.Request) error {
	campaign := r.URL.Query().Get("campaign")
	if campaign == "" {
		return promo.Errorf(promo.EInvalidParam, "the campaign query parameter is required")
	}
	var body struct {
		Customer *engine.CustomerInput `json:"customer"`
		Channel  string                `json:"channel"`
		Metadata promo.Metadata        `json:"metadata"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	p, _, err := h.eng.Publish(r.Context(), engine.PublishInput{Campaign: &engine.CampaignRef{Name: campaign},
		Customer: body.Customer, Channel: body.Channel, Metadata: body.Metadata})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewPublication(p.Publication, p.Customer, h.now()))
	return nil
}

// preflight answers browsers' CORS checks of the client routes. It allows
// any origin to ask: each request is checked against its key's origins.
func preflight(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	if origin := r.Header.Get("Origin"); origin != "" {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	}
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", "Content-Type, X-Client-Application-Id, X-Client-Token, "+
		"X-Voucherify-Channel, X-Voucherify-API-Version, Idempotency-Key")
	h.Set("Access-Control-Max-Age", strconv.Itoa(int((10 * time.Minute).Seconds())))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// API keys, for secret keys.

type keyView struct {
	ID        string      `json:"id"`
	Name      string      `json:"name"`
	Kind      string      `json:"kind"`
	Scopes    []string    `json:"scopes,omitempty"`
	Origins   []string    `json:"origins,omitempty"`
	Token     string      `json:"token,omitempty"`
	CreatedAt promo.Time  `json:"created_at"`
	RevokedAt *promo.Time `json:"revoked_at,omitempty"`
	Object    string      `json:"object"`
}

func viewKey(k *promo.APIKey, token string) keyView {
	return keyView{ID: k.ID, Name: k.Name, Kind: k.Kind, Scopes: k.Scopes, Origins: k.Origins, Token: token,
		CreatedAt: k.CreatedAt, RevokedAt: k.RevokedAt, Object: "api_key"}
}

// createKey makes a key; the answer holds its token, shown only then.
func (h *handlers) createKey(w http.ResponseWriter, r *http.Request) error {
	var in engine.KeyInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	k, token, err := h.eng.CreateKey(r.Context(), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewKey(k, token))
	return nil
}

func (h *handlers) listKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := h.eng.Store().APIKeys(r.Context())
	if err != nil {
		return err
	}
	views := make([]any, len(keys))
	for i, k := range keys {
		views[i] = viewKey(k, "")
	}
	writeList(w, "api_keys", views, int64(len(views)))
	return nil
}

func (h *handlers) revokeKey(w http.ResponseWriter, r *http.Request) error {
	if err := h.eng.RevokeAPIKey(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
