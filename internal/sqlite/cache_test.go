package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"promo/internal/promo"
	"promo/internal/sqlite"
)

// cacheFixture is a store with a campaign, its tier and one voucher of it.
type cacheFixture struct {
	ctx  context.Context
	s    *sqlite.Store
	c    *promo.Campaign
	tier *promo.Tier
	v    *promo.Voucher
}

func newCacheFixture(t *testing.T) *cacheFixture {
	t.Helper()
	f := &cacheFixture{ctx: t.Context(), s: openStore(t, filepath.Join(t.TempDir(), "promo.db"))}
	now := promo.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	f.c = &promo.Campaign{ID: promo.NewID(promo.PrefixCampaign), Name: "Cached", CampaignType: promo.CampaignDiscountCoupons,
		Type: promo.CampaignStatic, Active: true, CreatedAt: now, Metadata: promo.Metadata{"k": "v"},
		Voucher: promo.VoucherTemplate{Type: promo.VoucherDiscount, Discount: &promo.Discount{Type: promo.DiscountAmount, AmountOff: 100}}}
	f.tier = &promo.Tier{Template: f.c.Voucher}
	key, _ := promo.CodeKey("CACHE-1")
	f.v = &promo.Voucher{Code: "CACHE-1", Key: key, Active: true, CreatedAt: now}
	f.update(t, func(tx promo.Tx) error {
		if err := tx.CreateCampaign(f.ctx, f.c); err != nil {
			return err
		}
		f.tier.CampaignID = f.c.ID
		if err := tx.CreateTier(f.ctx, f.tier); err != nil {
			return err
		}
		f.v.CampaignID, f.v.TierID = f.c.ID, f.tier.ID
		_, err := tx.InsertVouchers(f.ctx, []*promo.Voucher{f.v})
		return err
	})
	return f
}

func (f *cacheFixture) update(t *testing.T, fn func(tx promo.Tx) error) {
	t.Helper()
	if err := f.s.Update(f.ctx, fn); err != nil {
		t.Fatal(err)
	}
}

func (f *cacheFixture) voucher(t *testing.T) *promo.Voucher {
	t.Helper()
	v, err := f.s.VoucherByKey(f.ctx, f.v.Key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestCacheForgetsCommittedChanges reads each cached thing (so that it is
// cached), changes it in an Update, and reads it again: the read after the
// Update must see the change, and a rolled-back change must not show.
func TestCacheForgetsCommittedChanges(t *testing.T) {
	t.Parallel()
	f := newCacheFixture(t)
	ctx := f.ctx

	// Campaigns, by ID and by name.
	for range 2 {
		if _, err := f.s.Campaign(ctx, "Cached"); err != nil {
			t.Fatal(err)
		}
	}
	f.update(t, func(tx promo.Tx) error {
		c, err := tx.Campaign(ctx, f.c.ID)
		if err != nil {
			return err
		}
		c.Name, c.Active = "Renamed", false
		return tx.UpdateCampaign(ctx, c)
	})
	if _, err := f.s.Campaign(ctx, "Cached"); promo.ErrorCode(err) != promo.ENotFound {
		t.Fatalf("the old name still finds the campaign: %v", err)
	}
	if c, err := f.s.Campaign(ctx, f.c.ID); err != nil || c.Name != "Renamed" || c.Active {
		t.Fatalf("after the update: %+v, %v", c, err)
	}
	// The vouchers show their campaign's name.
	if v := f.voucher(t); v.Campaign != "Renamed" {
		t.Fatalf("voucher's campaign %q after the rename", v.Campaign)
	}

	// A voucher's state.
	f.voucher(t)
	f.update(t, func(tx promo.Tx) error {
		v, err := tx.LockVoucher(ctx, f.v.Key)
		if err != nil {
			return err
		}
		v.RedeemedQuantity = 3
		return tx.UpdateVoucher(ctx, v)
	})
	if v := f.voucher(t); v.RedeemedQuantity != 3 {
		t.Fatalf("redeemed_quantity %d after the update, want 3", v.RedeemedQuantity)
	}

	// A change that rolls back leaves the cache right.
	errNo := errors.New("no")
	if err := f.s.Update(ctx, func(tx promo.Tx) error {
		v, err := tx.LockVoucher(ctx, f.v.Key)
		if err != nil {
			return err
		}
		v.RedeemedQuantity = 99
		if err := tx.UpdateVoucher(ctx, v); err != nil {
			return err
		}
		// The transaction reads its own write.
		if c, err := tx.VoucherByKey(ctx, f.v.Key); err != nil || c.RedeemedQuantity != 99 {
			t.Errorf("inside the transaction: %+v, %v", c, err)
		}
		return errNo
	}); !errors.Is(err, errNo) {
		t.Fatal(err)
	}
	if v := f.voucher(t); v.RedeemedQuantity != 3 {
		t.Fatalf("redeemed_quantity %d after a rolled-back update, want 3", v.RedeemedQuantity)
	}

	// The tier's template is the voucher's.
	f.update(t, func(tx promo.Tx) error {
		f.tier.Template.Discount = &promo.Discount{Type: promo.DiscountAmount, AmountOff: 700}
		return tx.UpdateTier(ctx, f.tier)
	})
	if v := f.voucher(t); v.Template.Discount.AmountOff != 700 {
		t.Fatalf("amount_off %d after the tier's update, want 700", v.Template.Discount.AmountOff)
	}

	// Rules and their assignments.
	rules := func() int {
		t.Helper()
		rs, err := f.s.RulesOf(ctx, f.c.ID, f.v.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	if n := rules(); n != 0 {
		t.Fatalf("%d rules before any", n)
	}
	rule := &promo.ValidationRule{ID: promo.NewID(promo.PrefixValidationRule), Name: "r", CreatedAt: f.c.CreatedAt}
	f.update(t, func(tx promo.Tx) error {
		if err := tx.CreateValidationRule(ctx, rule); err != nil {
			return err
		}
		return tx.CreateRuleAssignment(ctx, &promo.ValidationRuleAssignment{ID: promo.NewID(promo.PrefixAssignment),
			RuleID: rule.ID, RelatedObjectType: promo.AssignmentCampaign, RelatedObjectID: f.c.ID, CreatedAt: f.c.CreatedAt})
	})
	if n := rules(); n != 1 {
		t.Fatalf("%d rules after an assignment, want 1", n)
	}
	f.update(t, func(tx promo.Tx) error { return tx.DeleteValidationRule(ctx, rule.ID) })
	if n := rules(); n != 0 {
		t.Fatalf("%d rules after the rule's deletion, want 0", n)
	}

	// Deleting the voucher.
	f.update(t, func(tx promo.Tx) error { return tx.DeleteVoucher(ctx, f.v.ID) })
	if _, err := f.s.VoucherByKey(ctx, f.v.Key); promo.ErrorCode(err) != promo.ENotFound {
		t.Fatalf("a deleted voucher is still found: %v", err)
	}
	if c, err := f.s.Campaign(ctx, f.c.ID); err != nil || c.VouchersCount != 0 {
		t.Fatalf("vouchers_count after the deletion: %+v, %v", c, err)
	}
}

// TestCacheHitsAreCopies: what a read returns is the caller's to change.
func TestCacheHitsAreCopies(t *testing.T) {
	t.Parallel()
	f := newCacheFixture(t)
	for range 2 {
		c, err := f.s.Campaign(f.ctx, f.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Cached" || c.Metadata["k"] != "v" || c.Voucher.Discount.AmountOff != 100 {
			t.Fatalf("campaign %+v was changed through an earlier read", c)
		}
		c.Name, c.Metadata["k"], c.Voucher.Discount.AmountOff = "changed", "changed", 1
		v := f.voucher(t)
		if v.RedeemedQuantity != 0 || v.Template.Discount.AmountOff != 100 {
			t.Fatalf("voucher %+v was changed through an earlier read", v)
		}
		v.RedeemedQuantity, v.Template.Discount.AmountOff = 5, 1
	}
}

// TestCacheNeverGoesBack: readers race an Update that counts up a voucher's
// redeemed_quantity, one commit at a time. Once an Update has returned,
// every read must show at least its count: a read that began before the
// commit must not leave its old row in the cache.
func TestCacheNeverGoesBack(t *testing.T) {
	t.Parallel()
	f := newCacheFixture(t)
	var (
		committed atomic.Int64
		stop      atomic.Bool
		wg        sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				floor := committed.Load()
				v, err := f.s.VoucherByKey(f.ctx, f.v.Key)
				if err != nil {
					t.Error(err)
					return
				}
				if v.RedeemedQuantity < floor {
					t.Errorf("read redeemed_quantity %d after %d was committed", v.RedeemedQuantity, floor)
					return
				}
				c, err := f.s.Campaign(f.ctx, f.c.ID)
				if err != nil {
					t.Error(err)
					return
				}
				if c.VouchersCount < 1+floor {
					t.Errorf("read vouchers_count %d after %d were committed", c.VouchersCount, 1+floor)
					return
				}
			}
		})
	}
	for i := int64(1); i <= 300; i++ {
		f.update(t, func(tx promo.Tx) error {
			v, err := tx.LockVoucher(f.ctx, f.v.Key)
			if err != nil {
				return err
			}
			v.RedeemedQuantity = i
			if err := tx.UpdateVoucher(f.ctx, v); err != nil {
				return err
			}
			code := fmt.Sprintf("MORE-%d", i)
			key, _ := promo.CodeKey(code)
			_, err = tx.InsertVouchers(f.ctx, []*promo.Voucher{{Code: code, Key: key, CampaignID: f.c.ID, TierID: f.tier.ID, Active: true, CreatedAt: f.c.CreatedAt}})
			return err
		})
		committed.Store(i)
	}
	stop.Store(true)
	wg.Wait()
}

// TestCacheRulesOfObjectsWithoutRules: RulesOf answers from the cached set
// of objects with rules for objects outside it; an assignment to one of
// them, in the transaction that makes it and after, must show.
func TestCacheRulesOfObjectsWithoutRules(t *testing.T) {
	t.Parallel()
	f := newCacheFixture(t)
	ctx := f.ctx
	rulesOf := func(r promo.Reader, ids ...string) int {
		t.Helper()
		rs, err := r.RulesOf(ctx, ids...)
		if err != nil {
			t.Fatal(err)
		}
		return len(rs)
	}
	rule := &promo.ValidationRule{ID: promo.NewID(promo.PrefixValidationRule), Name: "r", CreatedAt: f.c.CreatedAt}
	assign := func(tx promo.Tx, objectID string) error {
		return tx.CreateRuleAssignment(ctx, &promo.ValidationRuleAssignment{ID: promo.NewID(promo.PrefixAssignment),
			RuleID: rule.ID, RelatedObjectType: promo.AssignmentVoucher, RelatedObjectID: objectID, CreatedAt: f.c.CreatedAt})
	}
	f.update(t, func(tx promo.Tx) error {
		if err := tx.CreateValidationRule(ctx, rule); err != nil {
			return err
		}
		return assign(tx, "v_other")
	})
	for range 2 {
		if n := rulesOf(f.s, f.v.ID, f.c.ID); n != 0 {
			t.Fatalf("%d rules of objects without any", n)
		}
		if n := rulesOf(f.s, f.v.ID, "v_other"); n != 1 {
			t.Fatalf("%d rules of an object with one, want 1", n)
		}
	}
	f.update(t, func(tx promo.Tx) error {
		if err := assign(tx, f.v.ID); err != nil {
			return err
		}
		if n := rulesOf(tx, f.v.ID); n != 1 {
			t.Errorf("%d rules inside the assigning transaction, want 1", n)
		}
		return nil
	})
	if n := rulesOf(f.s, f.v.ID); n != 1 {
		t.Fatalf("%d rules after the assignment, want 1", n)
	}
}
