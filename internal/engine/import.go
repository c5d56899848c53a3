package engine

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"promo/internal/promo"
)

// ImportItem is one code to import, with what it does not share with its
// campaign (or, without a campaign, everything it has).
type ImportItem struct {
	Code           string          `json:"code"`
	Type           string          `json:"type,omitempty"`
	Active         *bool           `json:"active,omitempty"`
	Category       *string         `json:"category,omitempty"`
	Discount       *promo.Discount `json:"discount,omitempty"`
	Redemption     *promo.Quantity `json:"redemption,omitempty"`
	Metadata       promo.Metadata  `json:"metadata,omitempty"`
	StartDate      *promo.Time     `json:"start_date,omitempty"`
	ExpirationDate *promo.Time     `json:"expiration_date,omitempty"`
	AdditionalInfo *string         `json:"additional_info,omitempty"`
}

// MaxImport bounds the codes of one import, as the reference does.
const MaxImport = 100_000

// importParams are an import action's input.
type importParams struct {
	CampaignID string       `json:"campaign_id,omitempty"`
	TierID     int64        `json:"tier_id,omitempty"`
	Items      []ImportItem `json:"items"`
}

// importState is an import action's progress.
type importState struct {
	Pos    int                `json:"pos"`
	Failed []promo.FailedCode `json:"failed,omitempty"`
}

// importBatch is how many items one import transaction writes.
const importBatch = 1000

// Import starts an async action that imports items, into a campaign when
// idOrName is not "", and returns it. Each code is imported or reported in
// the action's failures (malformed, duplicate); the request as a whole is
// refused only when it is empty or too large. ENotFound, EInvalidPayload,
// ECampaignInProgress.
func (e *Engine) Import(ctx context.Context, idOrName string, items []ImportItem, csv bool) (*promo.AsyncAction, error) {
	switch {
	case len(items) == 0:
		return nil, invalid(promo.EInvalidPayload, "nothing to import: give an array of vouchers, each with a code")
	case len(items) > MaxImport:
		return nil, invalid(promo.EInvalidPayload, "an import takes at most %d codes, not %d", MaxImport, len(items))
	}
	var a *promo.AsyncAction
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		p := importParams{Items: items}
		typ := promo.ActionVoucherImport
		if csv {
			typ = promo.ActionVoucherCSV
		}
		if idOrName != "" {
			c, tier, err := codeTaker(ctx, tx, idOrName)
			if err != nil {
				return err
			}
			p.CampaignID, p.TierID = c.ID, tier.ID
			typ = promo.ActionCampaignImport
			if csv {
				typ = promo.ActionCampaignCSV
			}
			c.VouchersGenerationStatus = promo.StatusInProgress
			if err := tx.UpdateCampaign(ctx, c); err != nil {
				return err
			}
		}
		a = &promo.AsyncAction{
			ID:         promo.NewID(promo.PrefixAction),
			Type:       typ,
			Status:     promo.ActionEnqueued,
			CampaignID: p.CampaignID,
			RequestID:  promo.RequestIDFromContext(ctx),
			APIKeyID:   promo.APIKeyFromContext(ctx),
			CreatedAt:  e.Now(),
			Params:     mustJSON(p),
			State:      mustJSON(importState{}),
			Result:     promo.ActionResult{Message: fmt.Sprintf("%d codes to import", len(items))},
		}
		return tx.CreateAsyncAction(ctx, a)
	})
	if err != nil {
		return nil, err
	}
	e.signal()
	return a, nil
}

// runImport imports an action's items, one transaction per batch with the
// action's progress, so a crash resumes after the last committed batch.
func (e *Engine) runImport(ctx context.Context, a *promo.AsyncAction) error {
	var p importParams
	var st importState
	if err := json.Unmarshal(a.Params, &p); err != nil {
		return promo.Errorf(promo.EInvalidAsyncActionArg, "params: %v", err)
	}
	if err := json.Unmarshal(a.State, &st); err != nil {
		return promo.Errorf(promo.EInvalidAsyncActionArg, "state: %v", err)
	}
	var (
		tier *promo.Tier
		c    *promo.Campaign
	)
	if p.CampaignID != "" {
		var err error
		if c, err = e.store.Campaign(ctx, p.CampaignID); err != nil {
			return err
		}
		if tier, err = e.store.Tier(ctx, p.TierID); err != nil {
			return err
		}
	}
	for st.Pos < len(p.Items) {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := p.Items[st.Pos:min(st.Pos+importBatch, len(p.Items))]
		var vs []*promo.Voucher
		var failed []promo.FailedCode
		for _, it := range batch {
			v, err := e.importVoucher(c, tier, it)
			if err != nil {
				failed = append(failed, promo.FailedCode{Code: it.Code, Reason: reason(err)})
				continue
			}
			vs = append(vs, v)
		}
		var done int64
		err := e.store.Update(ctx, func(tx promo.Tx) error {
			ok, err := tx.InsertVouchers(ctx, vs)
			if err != nil {
				return err
			}
			next := importState{Pos: st.Pos + len(batch), Failed: st.Failed}
			res := a.Result
			done = 0
			for i, in := range ok {
				if in {
					done++
				} else {
					failed = append(failed, promo.FailedCode{Code: vs[i].Code, Reason: "duplicate: the code exists already"})
				}
			}
			res.DoneCount += done
			res.FailedCount += int64(len(failed))
			for _, f := range failed {
				if len(next.Failed) < promo.MaxFailedShown {
					next.Failed = append(next.Failed, f)
				}
			}
			res.Failed = next.Failed
			now := e.Now()
			b := *a
			b.Result, b.State, b.UpdatedAt, b.LeaseUntil = res, mustJSON(next), &now, ptr(e.leaseEnd())
			b.Progress = next.Pos * 100 / len(p.Items)
			if err := tx.UpdateAsyncAction(ctx, &b); err != nil {
				return err
			}
			*a, st = b, next
			return nil
		})
		if err != nil {
			return err
		}
	}
	return e.store.Update(ctx, func(tx promo.Tx) error {
		entry := promo.AuditEntry{APIKeyID: a.APIKeyID, Action: promo.AuditImported, ResourceType: "async_action", ResourceID: a.ID,
			Details: promo.Metadata{"imported": a.Result.DoneCount, "failed": a.Result.FailedCount}}
		if c != nil {
			entry.ResourceType, entry.ResourceID, entry.CampaignID = "campaign", c.ID, c.ID
			entry.Details["async_action_id"] = a.ID
		}
		if err := e.audit(ctx, tx, entry); err != nil {
			return err
		}
		return e.finishTx(ctx, tx, a, promo.ActionDone,
			fmt.Sprintf("%d codes imported, %d failed", a.Result.DoneCount, a.Result.FailedCount))
	})
}

// reason is an import failure's reason.
func reason(err error) string {
	var pe *promo.Error
	if errors.As(err, &pe) {
		if pe.Details != "" {
			return "malformed: " + pe.Details
		}
		return "malformed: " + pe.Message
	}
	return "malformed: " + err.Error()
}

// importVoucher builds the voucher of one import item.
func (e *Engine) importVoucher(c *promo.Campaign, tier *promo.Tier, it ImportItem) (*promo.Voucher, error) {
	v, err := e.newVoucher(it.Code)
	if err != nil {
		return nil, err
	}
	if it.Active != nil {
		v.Active = *it.Active
	}
	in := TemplateInput{Type: it.Type, Discount: it.Discount, Redemption: it.Redemption, Category: it.Category,
		Metadata: it.Metadata, StartDate: it.StartDate, ExpirationDate: it.ExpirationDate, AdditionalInfo: it.AdditionalInfo}
	if c == nil {
		v.OwnTemplate = true
		v.Template = promo.VoucherTemplate{Type: promo.VoucherDiscount, Metadata: promo.Metadata{}}
		if err := in.apply(&v.Template); err != nil {
			return nil, err
		}
		if v.Template.Discount == nil {
			return nil, invalid(promo.EInvalidVoucher, "a voucher without a campaign needs a discount")
		}
		return v, nil
	}
	v.CampaignID, v.TierID = c.ID, tier.ID
	if in.Discount != nil || in.Redemption != nil || in.Category != nil || in.Metadata != nil ||
		in.StartDate != nil || in.ExpirationDate != nil || in.AdditionalInfo != nil {
		v.OwnTemplate, v.Template = true, tier.Template
		if err := in.apply(&v.Template); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// ParseImportCSV reads codes to import from CSV with a header row. The
// "code" column is required; "category", "active", "redemption_quantity"
// (or "quantity", "redemption_limit"), "start_date", "expiration_date" and
// "additional_info" are read when present, headers compared without case,
// spaces or underscores; every other column becomes a metadata string.
// EInvalidPayload for CSV that cannot be read.
func ParseImportCSV(r io.Reader) ([]ImportItem, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, invalid(promo.EInvalidPayload, "the CSV is empty: it needs a header row with a code column")
	} else if err != nil {
		return nil, invalid(promo.EInvalidPayload, "CSV: %v", err)
	}
	cols := make([]string, len(header))
	codeCol := -1
	for i, h := range header {
		name := strings.ToLower(strings.NewReplacer(" ", "", "_", "", "\ufeff", "").Replace(strings.TrimSpace(h)))
		cols[i] = name
		if name == "code" {
			codeCol = i
		}
	}
	if codeCol < 0 {
		return nil, invalid(promo.EInvalidPayload, "the CSV header has no code column")
	}
	var items []ImportItem
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		} else if err != nil {
			return nil, invalid(promo.EInvalidPayload, "CSV: %v", err)
		}
		if len(items) == MaxImport {
			return nil, invalid(promo.EInvalidPayload, "an import takes at most %d codes", MaxImport)
		}
		it := ImportItem{}
		for i, val := range rec {
			if i >= len(cols) {
				return nil, invalid(promo.EInvalidPayload, "CSV line %d has more fields than the header", line)
			}
			if err := it.set(cols[i], header[i], val); err != nil {
				return nil, invalid(promo.EInvalidPayload, "CSV line %d, column %q: %v", line, header[i], err)
			}
		}
		items = append(items, it)
	}
	return items, nil
}

// set sets one CSV field of an item.
func (it *ImportItem) set(col, header, val string) error {
	val = strings.TrimSpace(val)
	switch col {
	case "code":
		it.Code = val
	case "category":
		it.Category = &val
	case "additionalinfo":
		it.AdditionalInfo = &val
	case "active":
		if val == "" {
			return nil
		}
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%q is not true or false", val)
		}
		it.Active = &b
	case "redemptionquantity", "quantity", "redemptionlimit":
		if val == "" {
			return nil
		}
		q, err := strconv.ParseInt(val, 10, 64)
		if err != nil || q < 1 {
			return fmt.Errorf("%q is not a whole number of at least 1", val)
		}
		it.Redemption = &promo.Quantity{Quantity: &q}
	case "startdate", "expirationdate":
		if val == "" {
			return nil
		}
		t, err := promo.ParseTime(val)
		if err != nil {
			return err
		}
		if col == "startdate" {
			it.StartDate = &t
		} else {
			it.ExpirationDate = &t
		}
	default:
		if it.Metadata == nil {
			it.Metadata = promo.Metadata{}
		}
		it.Metadata[strings.TrimSpace(header)] = val
	}
	return nil
}
