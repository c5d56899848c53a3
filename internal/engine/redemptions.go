package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"promo/internal/promo"
)

// Redeem validates the request's codes as Validate does and, in the same
// transaction, redeems those that apply: each code's redeemed quantity
// grows by one, its session lock (if the request names the session) is
// used up, and a redemption is stored per code, under a parent redemption
// when there are several. Nothing is acknowledged before it is committed.
//
// In ALL mode (the default) one inapplicable code fails the request: the
// failure is stored (a FAILURE redemption per inapplicable code) and its
// error returned, its key the first failure's code (quantity_exceeded,
// voucher_expired ...). In PARTIAL mode the applicable codes are redeemed
// and the others reported; with none applicable, the request fails as in
// ALL mode.
//
// With in.Idempotency, a retry with the same key and request gets the
// first one's stored response (the second result) and changes nothing;
// the same key with another request fails with EIdempotencyKeyReused.
func (e *Engine) Redeem(ctx context.Context, in RedeemRequest) (*RedemptionResult, []byte, error) {
	keys, err := in.check()
	if err != nil {
		return nil, nil, err
	}
	var (
		out    *RedemptionResult
		replay []byte
		failed *promo.Error
	)
	err = e.store.Update(ctx, func(tx promo.Tx) error {
		out, replay, failed = nil, nil, nil
		if in.Idempotency != nil {
			var done bool
			var err error
			if replay, done, err = e.replay(ctx, tx, in.Idempotency); done || err != nil {
				return err
			}
		}
		now := e.Now()
		val, err := e.evaluate(ctx, tx, tx, &in, keys, now)
		if err != nil {
			return err
		}
		out = &RedemptionResult{Validation: val, Customer: val.Customer}
		if err := e.storeFailures(ctx, tx, out, &in, keys, now); err != nil {
			return err
		}
		if !val.Valid {
			failed = val.FirstError()
		} else if err := e.redeem(ctx, tx, out, &in, now); err != nil {
			return err
		}
		if in.Idempotency != nil {
			return e.remember(ctx, tx, in.Idempotency, out, failed)
		}
		return nil
	})
	if err == nil && replay == nil {
		e.watch(ctx, &in, out.Validation, e.Now())
	}
	switch {
	case err != nil:
		return nil, nil, unreplay(err)
	case replay != nil:
		return nil, replay, nil
	case failed != nil:
		return out, nil, failed
	}
	return out, nil, nil
}

// redeem stores the redemptions of the applicable codes of out.Validation.
func (e *Engine) redeem(ctx context.Context, tx promo.Tx, out *RedemptionResult, in *RedeemRequest, now promo.Time) error {
	val := out.Validation
	// The order is stored with what the codes took off.
	o := val.OrderObj
	if in.Order != nil || o.SourceID != "" {
		o.DiscountAmount = val.Order.TotalDiscountAmount
		if o.InitialAmount == 0 {
			o.InitialAmount = o.Amount
		}
		if o.ID == "" {
			o.ID, o.CreatedAt = promo.NewTimeID(promo.PrefixOrder), now
			if err := tx.CreateOrder(ctx, o); err != nil {
				return err
			}
		} else {
			o.UpdatedAt = &now
			if err := tx.UpdateOrder(ctx, o); err != nil {
				return err
			}
		}
	}
	out.Order = o
	custID := ""
	if val.Customer != nil {
		custID = val.Customer.ID
	}
	applicable := val.Applicable()
	var parent *promo.Redemption
	if len(in.Redeemables) > 1 {
		parent = e.newRedemption(ctx, in, custID, o, now)
		parent.Amount = val.Order.TotalDiscountAmount
		out.Parent = parent
	}
	for _, res := range applicable {
		v := res.Voucher
		v.RedeemedQuantity++
		v.UpdatedAt = &now
		if err := tx.UpdateRedeemedQuantity(ctx, v); err != nil {
			return err
		}
		if in.Session != nil {
			if _, err := tx.DeleteSession(ctx, v.Seq, in.Session.Key); err != nil {
				return err
			}
		}
		r := e.newRedemption(ctx, in, custID, o, now)
		r.Amount = res.Applied.Amount
		r.VoucherID, r.Code, r.CampaignID, r.Campaign = v.ID, v.Code, v.CampaignID, v.Campaign
		d := *v.Template.Discount
		r.Discount = &d
		if in.Session != nil {
			r.SessionKey = in.Session.Key
		}
		if parent != nil {
			r.ParentID = parent.ID
			parent.Children = append(parent.Children, r.ID)
		}
		if err := tx.CreateRedemption(ctx, r); err != nil {
			return err
		}
		if err := tx.AddCounters(ctx, promo.Day(now.Time), promo.Counter{Count: 1, Amount: r.Amount, OrderAmount: o.Amount},
			counterScopes(v, custID)...); err != nil {
			return err
		}
		out.Redemptions = append(out.Redemptions, r)
	}
	if parent != nil {
		return tx.CreateRedemption(ctx, parent)
	}
	return nil
}

// counterScopes are the counters a redemption of v by the customer adds
// to: those the limit rules and budgets read (see ruleCounter.count).
// They count a campaign's codes by campaign, so a code of a campaign adds
// to no counter of its own: three rows per redemption rather than five.
func counterScopes(v *promo.Voucher, custID string) []string {
	scopes := make([]string, 0, 3)
	switch {
	case v.CampaignID != "":
		scopes = append(scopes, promo.CounterCampaign(v.CampaignID))
		if custID != "" {
			scopes = append(scopes, promo.CounterCampaignCustomer(v.CampaignID, custID))
		}
	default:
		scopes = append(scopes, promo.CounterVoucher(v.ID))
		if custID != "" {
			scopes = append(scopes, promo.CounterVoucherCustomer(v.ID, custID))
		}
	}
	if custID != "" {
		scopes = append(scopes, promo.CounterCustomer(custID))
	}
	return scopes
}

func (e *Engine) newRedemption(ctx context.Context, in *RedeemRequest, custID string, o *promo.Order, now promo.Time) *promo.Redemption {
	r := &promo.Redemption{ID: promo.NewTimeID(promo.PrefixRedemption), Object: promo.ObjectRedemption, Date: now,
		CustomerID: custID, TrackingID: in.TrackingID, Result: promo.ResultSuccess, Status: promo.StatusSucceeded,
		Order: o, Metadata: in.Metadata, APIKeyID: promo.APIKeyFromContext(ctx), ClientIP: in.ClientIP,
		Channel: promo.Channel{ChannelID: promo.APIKeyFromContext(ctx), ChannelType: "API"}}
	if r.Metadata == nil {
		r.Metadata = promo.Metadata{}
	}
	if in.Channel != "" {
		r.Channel.ChannelType = in.Channel
	}
	return r
}

// storeFailures stores a FAILURE redemption and an attempt for each
// inapplicable code.
func (e *Engine) storeFailures(ctx context.Context, tx promo.Tx, out *RedemptionResult, in *RedeemRequest, keys []string, now promo.Time) error {
	val := out.Validation
	custID := ""
	if val.Customer != nil {
		custID = val.Customer.ID
	}
	var attempts []*promo.Attempt
	for i, res := range val.Redeemables {
		if res.Status != promo.RedeemableInapplicable {
			continue
		}
		r := e.newRedemption(ctx, in, custID, val.OrderObj, now)
		r.Result, r.Status = promo.ResultFailure, promo.StatusFailed
		r.FailureCode, r.FailureMessage = res.Err.Code, res.Err.Details
		if r.FailureMessage == "" {
			r.FailureMessage = res.Err.Message
		}
		r.Code = res.Input.ID
		if v := res.Voucher; v != nil {
			r.VoucherID, r.Code, r.CampaignID, r.Campaign = v.ID, v.Code, v.CampaignID, v.Campaign
		}
		if err := tx.CreateRedemption(ctx, r); err != nil {
			return err
		}
		out.Failed = append(out.Failed, r)
		a := newAttempt(ctx, promo.AttemptRedemption, in, val.Customer, val.OrderObj, res.Input.ID, keys[i], now)
		a.Result, a.Reason = promo.AttemptFailure, res.Err.Code
		attempts = append(attempts, a)
	}
	if len(attempts) == 0 {
		return nil
	}
	return tx.AppendAttempts(ctx, attempts)
}

// replay returns the stored response of an idempotent request, with done
// true, when there is one; EIdempotencyKeyReused when the key was used
// for another request. A stored error is returned as the error.
func (e *Engine) replay(ctx context.Context, tx promo.Tx, idem *Idempotency) ([]byte, bool, error) {
	stored, err := tx.Idempotent(ctx, promo.APIKeyFromContext(ctx), idem.Key)
	switch {
	case promo.ErrorCode(err) == promo.ENotFound:
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case stored.Hash != idem.Hash:
		return nil, true, promo.Errorf(promo.EIdempotencyKeyReused,
			"Idempotency-Key %s was used for another request; use a new key for a new request", idem.Key)
	case stored.Error != nil:
		return nil, true, &replayedError{stored.Error}
	}
	return stored.Result, true, nil
}

// replayedError is a stored error, answered again to a retry: Update must
// still commit nothing, which any error does.
type replayedError struct{ err *promo.Error }

func (r *replayedError) Error() string { return r.err.Error() }
func (r *replayedError) Unwrap() error { return r.err }

// remember stores the outcome of an idempotent request.
func (e *Engine) remember(ctx context.Context, tx promo.Tx, idem *Idempotency, result any, failed *promo.Error) error {
	rec := &promo.IdempotentResult{APIKeyID: promo.APIKeyFromContext(ctx), Key: idem.Key, Hash: idem.Hash, CreatedAt: e.Now()}
	if failed != nil {
		rec.Error = failed
	} else {
		body, err := idem.Render(result)
		if err != nil {
			return fmt.Errorf("engine: render the idempotent response: %w", err)
		}
		rec.Result = body
	}
	return tx.PutIdempotent(ctx, rec)
}

// unreplay turns a replayed stored error back into the error it was.
func unreplay(err error) error {
	if r, ok := err.(*replayedError); ok {
		return r.err
	}
	return err
}

// RollbackInput is a rollback's reason and what else the client says.
type RollbackInput struct {
	Reason     string         `json:"reason"`
	TrackingID string         `json:"tracking_id"`
	Customer   *CustomerInput `json:"customer"`
	Metadata   promo.Metadata `json:"metadata"`

	Idempotency *Idempotency `json:"-"`
}

// RollbackResult is the rollbacks a rollback made: one per redemption
// rolled back, under a parent rollback for a parent redemption.
type RollbackResult struct {
	Rollbacks []*promo.Redemption
	Parent    *promo.Redemption
}

// MaxRollbackAge is how old a redemption may be to be rolled back, as in
// the reference.
const MaxRollbackAge = 92 * 24 * time.Hour

// Rollback rolls back a redemption, or every redemption of a parent one:
// each is marked ROLLED_BACK and its discount no longer counts against
// its campaign's budget. The code is not given its redemption back unless
// its campaign says so (RollbackRestoresQuantity): refund chaining is a
// known fraud. ENotFound, EAlreadyRolledBack, ERollbackFailed (a failed
// redemption, or one older than MaxRollbackAge), EIdempotencyKeyReused.
func (e *Engine) Rollback(ctx context.Context, id string, in RollbackInput) (*RollbackResult, []byte, error) {
	if len(in.Reason) > 1000 || len(in.TrackingID) > maxNameLen {
		return nil, nil, invalid(promo.EInvalidPayload, "reason has at most 1000 bytes, tracking_id %d", maxNameLen)
	}
	var (
		out    *RollbackResult
		replay []byte
	)
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		out, replay = nil, nil
		if in.Idempotency != nil {
			var done bool
			var err error
			if replay, done, err = e.replay(ctx, tx, in.Idempotency); done || err != nil {
				return err
			}
		}
		r, err := tx.Redemption(ctx, id)
		if err != nil {
			return err
		}
		now := e.Now()
		switch {
		case r.Object != promo.ObjectRedemption:
			return invalid(promo.ERollbackFailed, "%s is a rollback, not a redemption", id)
		case r.Status == promo.StatusRolledBack:
			e := promo.Errorf(promo.EAlreadyRolledBack, "redemption %s was rolled back by %s", r.ID, r.RollbackID)
			e.ResourceID, e.ResourceType = r.ID, "redemption"
			return e
		case r.Result != promo.ResultSuccess:
			return invalid(promo.ERollbackFailed, "redemption %s failed; there is nothing to roll back", r.ID)
		case now.Sub(r.Date.Time) > MaxRollbackAge:
			return invalid(promo.ERollbackFailed, "redemption %s is older than %d days", r.ID, int(MaxRollbackAge.Hours()/24))
		}
		if in.Customer != nil {
			if _, err := e.upsertCustomer(ctx, tx, *in.Customer); err != nil {
				return err
			}
		}
		out = &RollbackResult{}
		children := []*promo.Redemption{r}
		if len(r.Children) > 0 {
			children = children[:0]
			for _, cid := range r.Children {
				c, err := tx.Redemption(ctx, cid)
				if err != nil {
					return err
				}
				if c.Status == promo.StatusRolledBack {
					continue
				}
				children = append(children, c)
			}
			out.Parent = e.newRollback(ctx, r, &in, now)
		}
		for _, c := range children {
			rb, err := e.rollbackOne(ctx, tx, c, &in, now)
			if err != nil {
				return err
			}
			if out.Parent != nil {
				rb.ParentID = out.Parent.ID
				out.Parent.Children = append(out.Parent.Children, rb.ID)
			}
			if err := tx.CreateRedemption(ctx, rb); err != nil {
				return err
			}
			out.Rollbacks = append(out.Rollbacks, rb)
		}
		if p := out.Parent; p != nil {
			p.Amount = 0
			for _, rb := range out.Rollbacks {
				p.Amount += rb.Amount
			}
			r.Status, r.RollbackID = promo.StatusRolledBack, p.ID
			if err := tx.UpdateRedemption(ctx, r); err != nil {
				return err
			}
			if err := tx.CreateRedemption(ctx, p); err != nil {
				return err
			}
		}
		if in.Idempotency != nil {
			return e.remember(ctx, tx, in.Idempotency, out, nil)
		}
		return nil
	})
	if err != nil {
		return nil, nil, unreplay(err)
	}
	return out, replay, nil
}

// rollbackOne rolls back one redemption of a voucher and returns its
// rollback, not yet stored.
func (e *Engine) rollbackOne(ctx context.Context, tx promo.Tx, r *promo.Redemption, in *RollbackInput, now promo.Time) (*promo.Redemption, error) {
	rb := e.newRollback(ctx, r, in, now)
	r.Status, r.RollbackID = promo.StatusRolledBack, rb.ID
	if err := tx.UpdateRedemption(ctx, r); err != nil {
		return nil, err
	}
	delta := promo.Counter{Amount: -r.Amount}
	if r.Order != nil {
		delta.OrderAmount = -r.Order.Amount
	}
	restore := false
	if r.CampaignID != "" {
		c, err := tx.Campaign(ctx, r.CampaignID)
		if err != nil && promo.ErrorCode(err) != promo.ENotFound {
			return nil, err
		}
		restore = c != nil && c.RollbackRestoresQuantity
	}
	if restore {
		delta.Count = -1
		if v, err := tx.Voucher(ctx, r.VoucherID); err == nil && v.RedeemedQuantity > 0 {
			v.RedeemedQuantity--
			v.UpdatedAt = &now
			if err := tx.UpdateRedeemedQuantity(ctx, v); err != nil {
				return nil, err
			}
		} else if err != nil && promo.ErrorCode(err) != promo.ENotFound {
			return nil, err
		}
	}
	v := &promo.Voucher{ID: r.VoucherID, CampaignID: r.CampaignID}
	// The counters are of the redemption's day: its budget is given back.
	if err := tx.AddCounters(ctx, promo.Day(r.Date.Time), delta, counterScopes(v, r.CustomerID)...); err != nil {
		return nil, err
	}
	return rb, nil
}

func (e *Engine) newRollback(ctx context.Context, r *promo.Redemption, in *RollbackInput, now promo.Time) *promo.Redemption {
	rb := &promo.Redemption{ID: promo.NewTimeID(promo.PrefixRollback), Object: promo.ObjectRollback, Date: now,
		CustomerID: r.CustomerID, TrackingID: r.TrackingID, Amount: -r.Amount, Result: promo.ResultSuccess,
		Status: promo.StatusSucceeded, Order: r.Order, Metadata: in.Metadata, RedemptionID: r.ID, Reason: in.Reason,
		VoucherID: r.VoucherID, Code: r.Code, CampaignID: r.CampaignID, Campaign: r.Campaign, Discount: r.Discount,
		APIKeyID: promo.APIKeyFromContext(ctx), Channel: r.Channel}
	if in.TrackingID != "" {
		rb.TrackingID = in.TrackingID
	}
	if rb.Metadata == nil {
		rb.Metadata = promo.Metadata{}
	}
	return rb
}

// attemptFlush bounds how long a validation's attempt waits to be written,
// and attemptBatch how many are written in one transaction.
const (
	attemptFlush  = 20 * time.Millisecond
	attemptBatch  = 1024
	attemptBuffer = 16384
)

// recordAttempts logs attempts. While Run runs, they are queued and
// written in batches, within attemptFlush: a validation answers without
// waiting for a commit of its own, and a crash loses at most the last
// batch of validation attempts (failed redemptions are written with the
// redemption, never so). Without Run, or when the queue is full, they are
// written before recordAttempts returns.
func (e *Engine) recordAttempts(ctx context.Context, as []*promo.Attempt) {
	if len(as) == 0 {
		return
	}
	if e.attemptsOn.Load() {
		select {
		case e.attempts <- as:
			return
		default:
		}
	}
	if err := e.store.Update(context.WithoutCancel(ctx), func(tx promo.Tx) error {
		return tx.AppendAttempts(ctx, as)
	}); err != nil {
		e.log.ErrorContext(ctx, "cannot record attempts", "error", err, "attempts", len(as))
	}
}

// writeAttempts writes queued attempts in batches until ctx ends, then
// writes what is left.
func (e *Engine) writeAttempts(ctx context.Context) {
	e.attemptsOn.Store(true)
	var batch []*promo.Attempt
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := e.store.Update(context.WithoutCancel(ctx), func(tx promo.Tx) error {
			return tx.AppendAttempts(ctx, batch)
		}); err != nil {
			e.log.Error("cannot record attempts", "error", err, "attempts", len(batch))
		}
		batch = batch[:0]
	}
	t := time.NewTicker(attemptFlush)
	defer t.Stop()
	for {
		select {
		case as := <-e.attempts:
			batch = append(batch, as...)
			if len(batch) >= attemptBatch {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			e.attemptsOn.Store(false)
			for {
				select {
				case as := <-e.attempts:
					batch = append(batch, as...)
				default:
					flush()
					return
				}
			}
		}
	}
}

// Redemptions lists redemptions and rollbacks; campaign and customer may
// be names or source IDs.
func (e *Engine) Redemptions(ctx context.Context, f promo.RedemptionFilter, campaign, customer string) ([]*promo.Redemption, int64, error) {
	if campaign != "" {
		c, err := e.store.Campaign(ctx, campaign)
		if promo.ErrorCode(err) == promo.ENotFound {
			return []*promo.Redemption{}, 0, nil
		} else if err != nil {
			return nil, 0, err
		}
		f.CampaignID = c.ID
	}
	if customer != "" {
		c, err := e.store.Customer(ctx, customer)
		if promo.ErrorCode(err) == promo.ENotFound {
			return []*promo.Redemption{}, 0, nil
		} else if err != nil {
			return nil, 0, err
		}
		f.CustomerID = c.ID
	}
	return e.store.Redemptions(ctx, f)
}

// RenderJSON is an Idempotency.Render for callers that store the result's
// JSON.
func RenderJSON(result any) ([]byte, error) { return json.Marshal(result) }
