package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"promo/codegen"
	"promo/internal/promo"
)

// generateParams are a generation action's input.
type generateParams struct {
	TierID int64 `json:"tier_id"`
	Count  int64 `json:"count"`
}

// generateState is a generation action's progress. Key is the generator key:
// it is the codes, so it is kept only while the action runs and erased when
// it ends. Codes are made a chunk at a time from generator index Next, sorted
// by key and written in that order, Pos of them so far; Chunk is the chunk's
// size, 0 before one starts.
type generateState struct {
	Key   []byte `json:"key,omitempty"`
	Next  uint64 `json:"next"`
	Chunk int    `json:"chunk,omitempty"`
	Pos   int    `json:"pos,omitempty"`
	Done  int64  `json:"done"`
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are marshalled
	}
	return b
}

// enqueueGenerate stores an action that will add count codes to a tier.
func (e *Engine) enqueueGenerate(ctx context.Context, tx promo.Tx, c *promo.Campaign, tier *promo.Tier, count int64) (*promo.AsyncAction, error) {
	a := &promo.AsyncAction{
		ID:         promo.NewID(promo.PrefixAction),
		Type:       promo.ActionGenerate,
		Status:     promo.ActionEnqueued,
		CampaignID: c.ID,
		RequestID:  promo.RequestIDFromContext(ctx),
		APIKeyID:   promo.APIKeyFromContext(ctx),
		CreatedAt:  e.Now(),
		Params:     mustJSON(generateParams{TierID: tier.ID, Count: count}),
		State:      mustJSON(generateState{Key: codegen.NewKey()}),
		Result:     promo.ActionResult{Message: fmt.Sprintf("%d codes to generate", count)},
	}
	return a, tx.CreateAsyncAction(ctx, a)
}

// generateOne adds one generated code to a tier, at once.
func (e *Engine) generateOne(ctx context.Context, tx promo.Tx, c *promo.Campaign, tier *promo.Tier) (*promo.Voucher, error) {
	f, err := format(&tier.Template)
	if err != nil {
		return nil, err
	}
	// A fresh key per code: its first index is a uniform random code. A
	// collision with an existing code is retried with another key; the
	// safety maths bounds the density, so a few tries suffice.
	for range 32 {
		g, err := codegen.NewGenerator(f, codegen.NewKey(), 0)
		if err != nil {
			return nil, err
		}
		code, err := g.Next()
		if err != nil {
			return nil, err
		}
		key, _ := promo.CodeKey(code) // generated codes are well formed
		v := e.generated(f, c, tier, code, key)
		ok, err := tx.InsertVouchers(ctx, []*promo.Voucher{v})
		if err != nil {
			return nil, err
		}
		if ok[0] {
			e.obs.CodesGenerated(1)
			if err := e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditCreated, ResourceType: "voucher", ResourceID: v.ID,
				CampaignID: c.ID, VoucherID: v.ID, Details: promo.Metadata{"code": code, "generated": true}}); err != nil {
				return nil, err
			}
			return tx.Voucher(ctx, v.ID)
		}
	}
	return nil, promo.Errorf(promo.ECodesExhausted, "could not find a free code in %s; use longer codes", f)
}

// generated returns the voucher of a generated code and its key.
func (e *Engine) generated(f *codegen.Format, c *promo.Campaign, tier *promo.Tier, code, key string) *promo.Voucher {
	v := &promo.Voucher{
		Code:          code,
		Key:           key,
		CaseSensitive: f.Rules().Case == codegen.CaseSensitive,
		CampaignID:    c.ID,
		TierID:        tier.ID,
		Active:        true,
		CreatedAt:     e.Now(),
	}
	if tier.ID == 0 { // a voucher without a campaign
		v.OwnTemplate, v.Template = true, tier.Template
	}
	return v
}

// signal wakes the worker: an action is waiting.
func (e *Engine) signal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run works through async actions until ctx ends, and writes validation
// attempts in batches meanwhile (see recordAttempts): it claims an action, runs it to
// its end, and looks for the next; when there is none it waits for a signal
// or a poll interval. An action whose worker died is taken over when its
// lease ends.
func (e *Engine) Run(ctx context.Context) {
	attemptsDone := make(chan struct{})
	go func() {
		defer close(attemptsDone)
		e.writeAttempts(ctx)
	}()
	defer func() { <-attemptsDone }()
	takeOver := e.opt.TakeOverOnStart
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	for {
		a, err := e.claim(ctx, takeOver)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			e.runAction(ctx, a)
			continue
		case promo.ErrorCode(err) == promo.ENotFound:
			takeOver = false
		default:
			e.log.Error("claiming an async action", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-poll.C:
		}
	}
}

// claim takes the next action. With takeOver it takes actions whatever
// their lease.
func (e *Engine) claim(ctx context.Context, takeOver bool) (*promo.AsyncAction, error) {
	var a *promo.AsyncAction
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		now := e.Now()
		if takeOver {
			now = promo.NewTime(now.Add(100 * 365 * 24 * time.Hour))
		}
		var err error
		a, err = tx.ClaimAsyncAction(ctx, now, e.leaseEnd())
		return err
	})
	return a, err
}

func (e *Engine) leaseEnd() promo.Time { return promo.NewTime(e.now().Add(e.opt.Lease)) }

// runAction runs one action to its end. A failure of the store (or a
// shutdown) leaves the action in progress, to be resumed when its lease
// ends; a failure of the action itself ends it as FAILED.
func (e *Engine) runAction(ctx context.Context, a *promo.AsyncAction) {
	if a.StartedAt == nil {
		now := e.Now()
		a.StartedAt = &now
	}
	log := e.log.With("async_action", a.ID, "type", a.Type)
	log.Info("async action started", "done", a.Result.DoneCount)
	var err error
	switch a.Type {
	case promo.ActionGenerate:
		err = e.runGenerate(ctx, a)
	case promo.ActionCampaignImport, promo.ActionCampaignCSV, promo.ActionVoucherImport, promo.ActionVoucherCSV:
		err = e.runImport(ctx, a)
	default:
		err = promo.Errorf(promo.EInvalidAsyncActionArg, "unknown async action type %q", a.Type)
	}
	var perr *promo.Error
	switch {
	case err == nil:
		log.Info("async action done", "done", a.Result.DoneCount, "failed", a.Result.FailedCount, "ms", a.ProcessingTime)
	case ctx.Err() != nil:
		log.Info("async action paused by shutdown", "done", a.Result.DoneCount)
	case errors.As(err, &perr):
		log.Warn("async action failed", "err", err)
		if ferr := e.finish(context.WithoutCancel(ctx), a, promo.ActionFailed, err.Error()); ferr != nil {
			log.Error("recording a failed async action", "err", ferr)
		}
	default:
		log.Error("async action interrupted; it resumes when its lease ends", "err", err)
	}
}

// finish ends an action, and updates its campaign's statuses.
func (e *Engine) finish(ctx context.Context, a *promo.AsyncAction, status, message string) error {
	return e.store.Update(ctx, func(tx promo.Tx) error {
		return e.finishTx(ctx, tx, a, status, message)
	})
}

func (e *Engine) finishTx(ctx context.Context, tx promo.Tx, a *promo.AsyncAction, status, message string) error {
	now := e.Now()
	a.Status, a.UpdatedAt, a.LeaseUntil = status, &now, nil
	a.Result.Message = message
	if status == promo.ActionDone {
		a.Progress = 100
	}
	if a.StartedAt != nil {
		a.ProcessingTime = now.Sub(a.StartedAt.Time).Milliseconds()
	}
	if a.Type == promo.ActionGenerate {
		a.State = nil // the key goes with the action's end
	}
	if err := tx.UpdateAsyncAction(ctx, a); err != nil {
		return err
	}
	if a.CampaignID == "" {
		return nil
	}
	c, err := tx.Campaign(ctx, a.CampaignID)
	if promo.ErrorCode(err) == promo.ENotFound {
		return nil
	} else if err != nil {
		return err
	}
	st := promo.StatusDone
	if status == promo.ActionFailed {
		st = promo.StatusFailed
	}
	if c.CreationStatus == promo.StatusInProgress {
		c.CreationStatus = st
	}
	c.VouchersGenerationStatus = st
	return tx.UpdateCampaign(ctx, c)
}

// runGenerate makes a generation action's codes. It makes them a chunk at a
// time and writes each chunk in key order, one transaction per batch: keys
// from a keyed permutation are random, and random inserts into the store's
// index of keys would touch a different page with nearly every row, so each
// batch would rewrite most of the index. Sorted, a batch touches a narrow
// run of pages. Each transaction writes the batch and the action's progress
// together; a chunk is a pure function of the key and its first index, so
// after a crash the action remakes the chunk and resumes exactly after the
// last committed batch: no code twice, none missing.
func (e *Engine) runGenerate(ctx context.Context, a *promo.AsyncAction) error {
	var p generateParams
	var st generateState
	if err := json.Unmarshal(a.Params, &p); err != nil {
		return promo.Errorf(promo.EInvalidAsyncActionArg, "params: %v", err)
	}
	if err := json.Unmarshal(a.State, &st); err != nil || len(st.Key) != codegen.KeySize {
		return promo.Errorf(promo.EInvalidAsyncActionArg, "state has no generator key")
	}
	tier, err := e.store.Tier(ctx, p.TierID)
	if err != nil {
		return err
	}
	c, err := e.store.Campaign(ctx, tier.CampaignID)
	if err != nil {
		return err
	}
	f, err := format(&tier.Template)
	if err != nil {
		return err
	}
	vs := make([]*promo.Voucher, 0, e.opt.Batch)
	for st.Done < p.Count {
		if st.Chunk == 0 {
			st.Chunk, st.Pos = int(min(int64(e.opt.Chunk), p.Count-st.Done)), 0
		}
		codes, end, err := e.chunk(f, st)
		if err != nil {
			return err
		}
		for st.Pos < len(codes) {
			if err := ctx.Err(); err != nil {
				return err
			}
			vs = vs[:0]
			for _, k := range codes[st.Pos:min(st.Pos+e.opt.Batch, len(codes))] {
				vs = append(vs, e.generated(f, c, tier, k.code, k.key))
			}
			var n int64
			err := e.store.Update(ctx, func(tx promo.Tx) error {
				ok, err := tx.InsertVouchers(ctx, vs)
				if err != nil {
					return err
				}
				n = 0
				for _, in := range ok {
					if in {
						n++
					}
				}
				// Codes another campaign holds are skipped; the next
				// chunk makes more, so the count stays exact.
				next := st
				next.Pos, next.Done = st.Pos+len(vs), st.Done+n
				if next.Pos == len(codes) {
					next.Next, next.Chunk, next.Pos = end, 0, 0
				}
				now := e.Now()
				b := *a
				b.State, b.UpdatedAt, b.LeaseUntil = mustJSON(next), &now, ptr(e.leaseEnd())
				b.Result.DoneCount = next.Done
				b.Progress = int(next.Done * 100 / p.Count)
				if err := tx.UpdateAsyncAction(ctx, &b); err != nil {
					return err
				}
				*a, st = b, next
				return nil
			})
			if err != nil {
				return err
			}
			e.obs.CodesGenerated(n)
			if st.Chunk == 0 {
				break
			}
		}
	}
	return e.store.Update(ctx, func(tx promo.Tx) error {
		if err := e.audit(ctx, tx, promo.AuditEntry{APIKeyID: a.APIKeyID, Action: promo.AuditGenerated, ResourceType: "campaign",
			ResourceID: c.ID, CampaignID: c.ID, Details: promo.Metadata{"count": p.Count, "async_action_id": a.ID, "tier": tier.ID}}); err != nil {
			return err
		}
		return e.finishTx(ctx, tx, a, promo.ActionDone, fmt.Sprintf("%d codes generated", st.Done))
	})
}

// keyedCode is a generated code and its key.
type keyedCode struct{ key, code string }

// chunk makes the chunk st describes: st.Chunk codes from generator index
// st.Next (fewer where the space ends), sorted by key, and the index after
// them. A chunk with no code left means the space is used up.
func (e *Engine) chunk(f *codegen.Format, st generateState) ([]keyedCode, uint64, error) {
	g, err := codegen.NewGenerator(f, st.Key, st.Next)
	if err != nil {
		return nil, 0, err
	}
	codes := make([]keyedCode, 0, st.Chunk)
	var buf []byte
	for len(codes) < st.Chunk {
		buf, err = g.Append(buf[:0])
		if errors.Is(err, codegen.ErrExhausted) {
			break
		}
		code := string(buf)
		key, _ := promo.CodeKey(code) // generated codes are well formed
		codes = append(codes, keyedCode{key: key, code: code})
	}
	if len(codes) == 0 {
		return nil, 0, promo.Errorf(promo.ECodesExhausted, "the code space of %s is used up", f)
	}
	slices.SortFunc(codes, func(a, b keyedCode) int { return strings.Compare(a.key, b.key) })
	return codes, g.Index(), nil
}

func ptr[T any](v T) *T { return &v }
