package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"promo/internal/promo"
)

// The redemption side of the store: redemptions and rollbacks, counters,
// session locks, attempts, idempotent outcomes and validation rules.

// lp returns list parameters.
func lp(limit, pg int, asc bool) promo.ListParams {
	return promo.ListParams{Limit: limit, Page: pg, Ascending: asc}
}

// newRedemption returns a successful redemption of voucherID at t0 plus sec
// seconds, with every field but the stacking and failure ones set.
func (b *bundle) newRedemption(campaignID, customerID, voucherID string, sec int) *promo.Redemption {
	return &promo.Redemption{
		ID:         promo.NewID(promo.PrefixRedemption),
		Object:     promo.ObjectRedemption,
		Date:       b.at(sec),
		CustomerID: customerID,
		TrackingID: "track-" + customerID,
		Amount:     1250,
		Result:     promo.ResultSuccess,
		Status:     promo.StatusSucceeded,
		Order: &promo.Order{
			ID: "ord_1", SourceID: "order-1", Status: "PAID", Amount: 10000, InitialAmount: 10000, DiscountAmount: 1250,
			Items: []promo.OrderItem{
				{ProductID: "prod_1", SourceID: "sku-1", RelatedObject: "product", Quantity: 2, Price: 2500, Amount: 5000,
					Product: &promo.Product{ID: "prod_1", Name: "Tea", Price: 2500, Metadata: promo.Metadata{"origin": "JP"}}},
				{SKUID: "sku_2", Quantity: 1, Price: 5000, Amount: 5000, Metadata: promo.Metadata{"gift": true}},
			},
			Metadata:   promo.Metadata{"store": "online", "lines": 2},
			CustomerID: customerID,
			CreatedAt:  b.at(sec),
		},
		Metadata:   promo.Metadata{"source": "checkout", "attempt": 1},
		Channel:    promo.Channel{ChannelID: "app_1", ChannelType: "API"},
		Reason:     "first order",
		VoucherID:  voucherID,
		Code:       "CODE-" + voucherID,
		CampaignID: campaignID,
		Campaign:   "name of " + campaignID,
		Discount:   &promo.Discount{Type: promo.DiscountPercent, PercentOff: 1250, AmountLimit: 5000, Effect: promo.EffectApplyToOrder},
		SessionKey: "ssn_1",
		APIKeyID:   "app_1",
		ClientIP:   "192.0.2.7",
	}
}

func (b *bundle) createRedemptions(t *testing.T, rs ...*promo.Redemption) {
	t.Helper()
	b.update(t, func(tx promo.Tx) error {
		for _, r := range rs {
			if err := tx.CreateRedemption(b.ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func testRedemption(t *testing.T, b *bundle) {
	ok := b.newRedemption("camp_1", "cust_1", promo.VoucherID(7), 1)
	failed := b.newRedemption("camp_1", "cust_2", promo.VoucherID(8), 2)
	failed.Amount, failed.Result, failed.Status = 0, promo.ResultFailure, "FAILED"
	failed.FailureCode, failed.FailureMessage = promo.EQuantityExceeded, "voucher CODE has been redeemed 1 of 1 times"
	failed.Discount, failed.Order.Items, failed.Metadata = nil, nil, nil
	parent := &promo.Redemption{
		ID: promo.NewID(promo.PrefixRedemption), Object: promo.ObjectRedemption, Date: b.at(3), CustomerID: "cust_1",
		Amount: 2000, Result: promo.ResultSuccess, Status: promo.StatusSucceeded, Metadata: promo.Metadata{},
		Children: []string{"r_child1", "r_child2"},
	}
	child := b.newRedemption("camp_1", "cust_1", promo.VoucherID(9), 3)
	child.ParentID = parent.ID
	rollback := &promo.Redemption{
		ID: promo.NewID(promo.PrefixRollback), Object: promo.ObjectRollback, Date: b.at(4), CustomerID: "cust_1",
		Amount: -1250, Result: promo.ResultSuccess, Status: promo.StatusSucceeded, Reason: "returned",
		RedemptionID: ok.ID, VoucherID: ok.VoucherID, Code: ok.Code, CampaignID: ok.CampaignID,
		Channel: promo.Channel{ChannelType: "USER"}, Metadata: promo.Metadata{"why": "refund"},
	}
	all := []*promo.Redemption{ok, failed, parent, child, rollback}
	b.createRedemptions(t, all...)
	for _, want := range all {
		got, err := b.s.Redemption(b.ctx, want.ID)
		if err != nil {
			t.Fatalf("Redemption(%s): %v", want.ID, err)
		}
		sameJSON(t, "redemption "+want.ID, got, want)
	}
	_, err := b.s.Redemption(b.ctx, "r_missing")
	wantCode(t, err, promo.ENotFound)

	// UpdateRedemption stores the status and the rollback, nothing else.
	upd := *ok
	upd.Status, upd.RollbackID = promo.StatusRolledBack, rollback.ID
	upd.Amount, upd.Reason, upd.Metadata = 1, "changed", promo.Metadata{"changed": true}
	b.update(t, func(tx promo.Tx) error {
		if err := tx.UpdateRedemption(b.ctx, &upd); err != nil {
			return err
		}
		// The transaction reads its own write.
		got, err := tx.Redemption(b.ctx, ok.ID)
		if err != nil {
			return err
		}
		if got.Status != promo.StatusRolledBack || got.RollbackID != rollback.ID {
			return fmt.Errorf("inside the transaction the redemption has status %q and rollback %q", got.Status, got.RollbackID)
		}
		return nil
	})
	want := *ok
	want.Status, want.RollbackID = promo.StatusRolledBack, rollback.ID
	got, err := b.s.Redemption(b.ctx, ok.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "updated redemption", got, &want)
	// The other redemptions did not change.
	got, err = b.s.Redemption(b.ctx, failed.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "the other redemption", got, failed)

	missing := b.newRedemption("camp_1", "cust_1", "", 5)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateRedemption(b.ctx, missing) }), promo.ENotFound)
	_, err = b.s.Redemption(b.ctx, missing.ID)
	wantCode(t, err, promo.ENotFound)

	// An ID is stored once.
	again := b.newRedemption("camp_2", "cust_9", "", 6)
	again.ID = ok.ID
	if err := b.updateErr(func(tx promo.Tx) error { return tx.CreateRedemption(b.ctx, again) }); err == nil {
		t.Fatal("a second redemption with the same ID was stored")
	}
	got, err = b.s.Redemption(b.ctx, ok.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "redemption after a refused duplicate", got, &want)
}

func redemptionIDs(rs []*promo.Redemption) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func testRedemptions(t *testing.T, b *bundle) {
	v1, v2, v3 := promo.VoucherID(11), promo.VoucherID(12), promo.VoucherID(13)
	r1 := b.newRedemption("camp_a", "cust_1", v1, 1)
	r2 := b.newRedemption("camp_a", "cust_2", v2, 2)
	r2.Result, r2.Status, r2.FailureCode = promo.ResultFailure, "FAILED", promo.EVoucherNotActive
	r3 := b.newRedemption("", "cust_1", "", 3) // a stacked redemption's parent
	r4 := b.newRedemption("camp_b", "cust_1", v3, 4)
	r4.ParentID = r3.ID
	r5 := b.newRedemption("camp_a", "cust_1", v1, 5)
	r5.ParentID = r3.ID
	r6 := b.newRedemption("camp_a", "cust_1", v1, 6) // the rollback of r1
	r6.ID, r6.Object, r6.RedemptionID, r6.Amount = promo.NewID(promo.PrefixRollback), promo.ObjectRollback, r1.ID, -r1.Amount
	r7 := b.newRedemption("", "", "", 7) // no customer, no campaign
	rs := []*promo.Redemption{r1, r2, r3, r4, r5, r6, r7}
	b.createRedemptions(t, rs[:3]...)
	b.createRedemptions(t, rs[3:]...)
	ids := func(is ...int) []string {
		out := make([]string, len(is))
		for i, n := range is {
			out[i] = rs[n-1].ID
		}
		return out
	}
	tests := []struct {
		name  string
		f     promo.RedemptionFilter
		want  []string
		total int64
	}{
		{"newest first", promo.RedemptionFilter{ListParams: lp(4, 1, false)}, ids(7, 6, 5, 4), 7},
		{"page 2", promo.RedemptionFilter{ListParams: lp(4, 2, false)}, ids(3, 2, 1), 7},
		{"past the end", promo.RedemptionFilter{ListParams: lp(4, 3, false)}, nil, 7},
		{"oldest first", promo.RedemptionFilter{ListParams: lp(2, 1, true)}, ids(1, 2), 7},
		{"oldest first, page 2", promo.RedemptionFilter{ListParams: lp(2, 2, true)}, ids(3, 4), 7},
		{"campaign", promo.RedemptionFilter{ListParams: lp(10, 1, true), CampaignID: "camp_a"}, ids(1, 2, 5, 6), 4},
		{"campaign, page 2", promo.RedemptionFilter{ListParams: lp(3, 2, true), CampaignID: "camp_a"}, ids(6), 4},
		{"other campaign", promo.RedemptionFilter{ListParams: lp(10, 1, true), CampaignID: "camp_b"}, ids(4), 1},
		{"unknown campaign", promo.RedemptionFilter{ListParams: lp(10, 1, true), CampaignID: "camp_z"}, nil, 0},
		{"customer", promo.RedemptionFilter{ListParams: lp(10, 1, false), CustomerID: "cust_1"}, ids(6, 5, 4, 3, 1), 5},
		{"voucher", promo.RedemptionFilter{ListParams: lp(10, 1, true), VoucherID: v1}, ids(1, 5, 6), 3},
		{"voucher, newest first", promo.RedemptionFilter{ListParams: lp(2, 1, false), VoucherID: v1}, ids(6, 5), 3},
		{"voucher without redemptions", promo.RedemptionFilter{ListParams: lp(10, 1, true), VoucherID: promo.VoucherID(99)}, nil, 0},
		{"bad voucher ID", promo.RedemptionFilter{ListParams: lp(10, 1, true), VoucherID: "v_nope"}, nil, 0},
		{"result", promo.RedemptionFilter{ListParams: lp(10, 1, true), Result: promo.ResultFailure}, ids(2), 1},
		{"parent", promo.RedemptionFilter{ListParams: lp(10, 1, true), ParentID: r3.ID}, ids(4, 5), 2},
		{"created after", promo.RedemptionFilter{ListParams: lp(10, 1, true), Created: promo.TimeRange{After: b.atPtr(5)}}, ids(6, 7), 2},
		{"created before", promo.RedemptionFilter{ListParams: lp(10, 1, true), Created: promo.TimeRange{Before: b.atPtr(3)}}, ids(1, 2), 2},
		{"created between", promo.RedemptionFilter{ListParams: lp(10, 1, true), Created: promo.TimeRange{After: b.atPtr(2), Before: b.atPtr(6)}}, ids(3, 4, 5), 3},
		{"all filters", promo.RedemptionFilter{ListParams: lp(10, 1, true), CampaignID: "camp_a", CustomerID: "cust_1",
			VoucherID: v1, Result: promo.ResultSuccess, Created: promo.TimeRange{After: b.atPtr(1)}}, ids(5, 6), 2},
	}
	for _, tc := range tests {
		got, n, err := b.s.Redemptions(b.ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got == nil {
			t.Fatalf("%s: a nil list", tc.name)
		}
		wantStrings(t, tc.name, redemptionIDs(got), tc.want)
		wantTotal(t, tc.name, n, tc.total)
	}

	// Lists return whole redemptions, with their current status.
	b.update(t, func(tx promo.Tx) error {
		u := *r1
		u.Status, u.RollbackID = promo.StatusRolledBack, r6.ID
		return tx.UpdateRedemption(b.ctx, &u)
	})
	got, _, err := b.s.Redemptions(b.ctx, promo.RedemptionFilter{ListParams: lp(1, 1, true)})
	if err != nil {
		t.Fatal(err)
	}
	want := *r1
	want.Status, want.RollbackID = promo.StatusRolledBack, r6.ID
	sameJSON(t, "listed redemption", got, []*promo.Redemption{&want})
}

func testCounters(t *testing.T, b *bundle) {
	today := promo.Day(b.t0)
	yesterday, lastWeek := today-1, today-7
	camp, cust := promo.CounterCampaign("camp_1"), promo.CounterCampaignCustomer("camp_1", "cust_1")
	other := promo.CounterVoucher(promo.VoucherID(3))
	counter := func(scope string, from int64) promo.Counter {
		t.Helper()
		c, err := b.s.Counter(b.ctx, scope, from)
		if err != nil {
			t.Fatalf("Counter(%q, %d): %v", scope, from, err)
		}
		return c
	}
	wantCounter := func(what string, got, want promo.Counter) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: counter %+v, want %+v", what, got, want)
		}
	}

	wantCounter("no redemptions, all time", counter(camp, promo.AllTime), promo.Counter{})
	wantCounter("no redemptions, today", counter(camp, today), promo.Counter{})

	add := func(day int64, delta promo.Counter, scopes ...string) {
		t.Helper()
		b.update(t, func(tx promo.Tx) error { return tx.AddCounters(b.ctx, day, delta, scopes...) })
	}
	add(lastWeek, promo.Counter{Count: 1, Amount: 100, OrderAmount: 1000}, camp, cust)
	add(yesterday, promo.Counter{Count: 2, Amount: 200, OrderAmount: 2000}, camp)
	add(today, promo.Counter{Count: 1, Amount: 50, OrderAmount: 500}, camp, cust, other)
	// Two redemptions the same day add up.
	add(today, promo.Counter{Count: 1, Amount: 70, OrderAmount: 700}, camp)

	wantCounter("campaign, all time", counter(camp, promo.AllTime), promo.Counter{Count: 5, Amount: 420, OrderAmount: 4200})
	wantCounter("campaign, from last week", counter(camp, lastWeek), promo.Counter{Count: 5, Amount: 420, OrderAmount: 4200})
	wantCounter("campaign, from before last week", counter(camp, lastWeek-30), promo.Counter{Count: 5, Amount: 420, OrderAmount: 4200})
	wantCounter("campaign, from the day after last week", counter(camp, lastWeek+1), promo.Counter{Count: 4, Amount: 320, OrderAmount: 3200})
	wantCounter("campaign, from yesterday", counter(camp, yesterday), promo.Counter{Count: 4, Amount: 320, OrderAmount: 3200})
	wantCounter("campaign, today", counter(camp, today), promo.Counter{Count: 2, Amount: 120, OrderAmount: 1200})
	wantCounter("campaign, tomorrow", counter(camp, today+1), promo.Counter{})
	wantCounter("customer, all time", counter(cust, promo.AllTime), promo.Counter{Count: 2, Amount: 150, OrderAmount: 1500})
	wantCounter("customer, from yesterday", counter(cust, yesterday), promo.Counter{Count: 1, Amount: 50, OrderAmount: 500})
	wantCounter("voucher, all time", counter(other, promo.AllTime), promo.Counter{Count: 1, Amount: 50, OrderAmount: 500})
	wantCounter("unknown scope", counter(promo.CounterCustomer("cust_9"), promo.AllTime), promo.Counter{})
	wantCounter("unknown scope, today", counter(promo.CounterCustomer("cust_9"), today), promo.Counter{})

	// A rollback takes a redemption of last week back, from its own day and
	// from all time.
	add(lastWeek, promo.Counter{Count: -1, Amount: -100, OrderAmount: -1000}, camp, cust)
	wantCounter("campaign after a rollback, all time", counter(camp, promo.AllTime), promo.Counter{Count: 4, Amount: 320, OrderAmount: 3200})
	wantCounter("campaign after a rollback, from last week", counter(camp, lastWeek), promo.Counter{Count: 4, Amount: 320, OrderAmount: 3200})
	wantCounter("campaign after a rollback, today", counter(camp, today), promo.Counter{Count: 2, Amount: 120, OrderAmount: 1200})
	wantCounter("customer after a rollback, all time", counter(cust, promo.AllTime), promo.Counter{Count: 1, Amount: 50, OrderAmount: 500})
	wantCounter("customer after a rollback, from last week", counter(cust, lastWeek), promo.Counter{Count: 1, Amount: 50, OrderAmount: 500})
	wantCounter("voucher untouched by the rollback", counter(other, promo.AllTime), promo.Counter{Count: 1, Amount: 50, OrderAmount: 500})

	// The redeeming transaction reads its own counts.
	b.update(t, func(tx promo.Tx) error {
		if err := tx.AddCounters(b.ctx, today, promo.Counter{Count: 1, Amount: 1, OrderAmount: 10}, camp); err != nil {
			return err
		}
		c, err := tx.Counter(b.ctx, camp, today)
		if err != nil {
			return err
		}
		if want := (promo.Counter{Count: 3, Amount: 121, OrderAmount: 1210}); c != want {
			return fmt.Errorf("inside the transaction the counter is %+v, want %+v", c, want)
		}
		return nil
	})
	wantCounter("campaign, all time, at last", counter(camp, promo.AllTime), promo.Counter{Count: 5, Amount: 321, OrderAmount: 3210})
}

// sessionVouchers stores a campaign with two vouchers for session locks.
func (b *bundle) sessionVouchers(t *testing.T) (*promo.Voucher, *promo.Voucher) {
	t.Helper()
	_, tier := b.campaign(t, "Sessions", 1)
	v, w := b.tierVoucher(t, tier, "LOCK-1", 2), b.tierVoucher(t, tier, "LOCK-2", 2)
	b.insert(t, v, w)
	return v, w
}

// sessions returns the voucher's sessions live at t0 plus sec seconds,
// sorted by key.
func (b *bundle) sessions(t *testing.T, voucherSeq int64, sec int) []*promo.Session {
	t.Helper()
	ss, err := b.s.Sessions(b.ctx, voucherSeq, b.at(sec))
	if err != nil {
		t.Fatal(err)
	}
	if ss == nil {
		t.Fatal("Sessions returned a nil list")
	}
	slices.SortFunc(ss, func(a, b *promo.Session) int { return strings.Compare(a.Key, b.Key) })
	return ss
}

func sessionKeys(ss []*promo.Session) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Key
	}
	return out
}

func testSessions(t *testing.T, b *bundle) {
	v, w := b.sessionVouchers(t)
	put := func(ss ...*promo.Session) {
		t.Helper()
		b.update(t, func(tx promo.Tx) error {
			for _, s := range ss {
				if err := tx.PutSession(b.ctx, s); err != nil {
					return err
				}
			}
			return nil
		})
	}
	a := &promo.Session{VoucherSeq: v.Seq, Key: "ssn_a", Quantity: 1, ExpiresAt: b.at(100), CreatedAt: b.at(10)}
	bb := &promo.Session{VoucherSeq: v.Seq, Key: "ssn_b", Quantity: 3, ExpiresAt: b.at(200), CreatedAt: b.at(11)}
	// The same key on another voucher is another lock.
	wa := &promo.Session{VoucherSeq: w.Seq, Key: "ssn_a", Quantity: 2, ExpiresAt: b.at(100), CreatedAt: b.at(12)}
	put(a, bb, wa)

	if got := b.sessions(t, v.Seq, 50); !reflect.DeepEqual(got, []*promo.Session{a, bb}) {
		t.Fatalf("sessions at 50s:\n got %+v\nwant %+v", got, []*promo.Session{a, bb})
	}
	if got := b.sessions(t, w.Seq, 50); !reflect.DeepEqual(got, []*promo.Session{wa}) {
		t.Fatalf("the other voucher's sessions: %+v", got)
	}
	wantStrings(t, "sessions just before the first expires", sessionKeys(b.sessions(t, v.Seq, 99)), []string{"ssn_a", "ssn_b"})
	// A lock that expires now is no longer live.
	wantStrings(t, "sessions when the first expires", sessionKeys(b.sessions(t, v.Seq, 100)), []string{"ssn_b"})
	wantStrings(t, "sessions when the second expires", sessionKeys(b.sessions(t, v.Seq, 200)), nil)
	wantStrings(t, "a voucher without locks", sessionKeys(b.sessions(t, w.Seq+1000, 0)), nil)

	// A put with the same key replaces the lock.
	a2 := &promo.Session{VoucherSeq: v.Seq, Key: "ssn_a", Quantity: 4, ExpiresAt: b.at(300), CreatedAt: b.at(20)}
	put(a2)
	if got := b.sessions(t, v.Seq, 150); !reflect.DeepEqual(got, []*promo.Session{a2, bb}) {
		t.Fatalf("sessions after a replacement:\n got %+v\nwant %+v", got, []*promo.Session{a2, bb})
	}
	if got := b.sessions(t, w.Seq, 50); !reflect.DeepEqual(got, []*promo.Session{wa}) {
		t.Fatalf("the replacement changed the other voucher's lock: %+v", got)
	}

	// A put drops the voucher's locks that have expired at its CreatedAt
	// (Sessions with an earlier now shows whatever is still stored), and
	// keeps the others and other vouchers' locks.
	c := &promo.Session{VoucherSeq: v.Seq, Key: "ssn_c", Quantity: 1, ExpiresAt: b.at(500), CreatedAt: b.at(200)}
	put(c)
	wantStrings(t, "stored sessions after a put at 200s", sessionKeys(b.sessions(t, v.Seq, 0)), []string{"ssn_a", "ssn_c"})
	wantStrings(t, "the other voucher's expired lock", sessionKeys(b.sessions(t, w.Seq, 0)), []string{"ssn_a"})

	deleted := func(seq int64, key string) bool {
		t.Helper()
		var ok bool
		b.update(t, func(tx promo.Tx) error {
			var err error
			ok, err = tx.DeleteSession(b.ctx, seq, key)
			return err
		})
		return ok
	}
	if deleted(v.Seq, "ssn_b") {
		t.Fatal("DeleteSession deleted a lock that a put dropped")
	}
	if !deleted(v.Seq, "ssn_a") {
		t.Fatal("DeleteSession did not report the lock it deleted")
	}
	wantStrings(t, "sessions after a delete", sessionKeys(b.sessions(t, v.Seq, 0)), []string{"ssn_c"})
	wantStrings(t, "the other voucher's lock after a delete", sessionKeys(b.sessions(t, w.Seq, 0)), []string{"ssn_a"})
	if deleted(v.Seq, "ssn_a") {
		t.Fatal("DeleteSession deleted a lock twice")
	}
	if deleted(v.Seq, "ssn_missing") || deleted(w.Seq+1000, "ssn_c") {
		t.Fatal("DeleteSession deleted a lock that never was")
	}
	// An expired lock that is still stored is deleted too.
	if !deleted(w.Seq, "ssn_a") {
		t.Fatal("DeleteSession did not delete an expired lock")
	}
	wantStrings(t, "the other voucher's locks at last", sessionKeys(b.sessions(t, w.Seq, 0)), nil)
}

func testLockVoucher(t *testing.T, b *bundle) {
	v, _ := b.sessionVouchers(t)
	want, err := b.s.VoucherByKey(b.ctx, v.Key)
	if err != nil {
		t.Fatal(err)
	}
	var got *promo.Voucher
	b.update(t, func(tx promo.Tx) error {
		var err error
		got, err = tx.LockVoucher(b.ctx, v.Key)
		return err
	})
	sameJSON(t, "locked voucher", got, want)

	err = b.updateErr(func(tx promo.Tx) error {
		_, err := tx.LockVoucher(b.ctx, "NOSUCHCODE")
		return err
	})
	wantCode(t, err, promo.ENotFound)

	// A locked voucher is the transaction's own view of it.
	b.update(t, func(tx promo.Tx) error {
		u := *want
		u.RedeemedQuantity = 1
		if err := tx.UpdateVoucher(b.ctx, &u); err != nil {
			return err
		}
		got, err := tx.LockVoucher(b.ctx, v.Key)
		if err != nil {
			return err
		}
		if got.RedeemedQuantity != 1 {
			return fmt.Errorf("LockVoucher inside the transaction has RedeemedQuantity %d, want 1", got.RedeemedQuantity)
		}
		return nil
	})
}

func attemptIDs(as []*promo.Attempt) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func testAttempts(t *testing.T, b *bundle) {
	newAttempt := func(n int, kind, result, key, customerID, ip string) *promo.Attempt {
		return &promo.Attempt{
			ID: fmt.Sprintf("att_%d", n), Time: b.at(n), Kind: kind, Result: result,
			Code: strings.ToLower(key) + "-sent", Key: key, Reason: "reason " + result,
			CustomerID: customerID, SourceID: "src-" + customerID, APIKeyID: "app_1", Channel: "API",
			ClientIP: ip, Amount: int64(n) * 1000,
		}
	}
	as := []*promo.Attempt{
		newAttempt(1, promo.AttemptValidation, promo.AttemptInvalid, "CODE1", "cust_1", "192.0.2.1"),
		newAttempt(2, promo.AttemptValidation, promo.AttemptValid, "CODE2", "cust_2", "192.0.2.1"),
		newAttempt(3, promo.AttemptRedemption, promo.AttemptFailure, "CODE1", "cust_1", "192.0.2.2"),
		newAttempt(4, promo.AttemptValidation, promo.AttemptInvalid, "", "", "192.0.2.2"), // a code that does not normalize
		newAttempt(5, promo.AttemptRedemption, promo.AttemptFailure, "CODE1", "cust_2", "192.0.2.1"),
	}
	b.update(t, func(tx promo.Tx) error { return tx.AppendAttempts(b.ctx, as[:2]) })
	b.update(t, func(tx promo.Tx) error { return tx.AppendAttempts(b.ctx, as[2:]) })
	b.update(t, func(tx promo.Tx) error { return tx.AppendAttempts(b.ctx, nil) })

	ids := func(is ...int) []string {
		out := make([]string, len(is))
		for i, n := range is {
			out[i] = as[n-1].ID
		}
		return out
	}
	tests := []struct {
		name  string
		f     promo.AttemptFilter
		want  []string
		total int64
	}{
		{"newest first", promo.AttemptFilter{ListParams: lp(2, 1, false)}, ids(5, 4), 5},
		{"page 3", promo.AttemptFilter{ListParams: lp(2, 3, false)}, ids(1), 5},
		{"past the end", promo.AttemptFilter{ListParams: lp(2, 4, false)}, nil, 5},
		{"oldest first", promo.AttemptFilter{ListParams: lp(3, 1, true)}, ids(1, 2, 3), 5},
		{"key", promo.AttemptFilter{ListParams: lp(10, 1, false), Key: "CODE1"}, ids(5, 3, 1), 3},
		{"key, page 2", promo.AttemptFilter{ListParams: lp(2, 2, false), Key: "CODE1"}, ids(1), 3},
		{"unknown key", promo.AttemptFilter{ListParams: lp(10, 1, false), Key: "CODE9"}, nil, 0},
		{"customer", promo.AttemptFilter{ListParams: lp(10, 1, false), CustomerID: "cust_2"}, ids(5, 2), 2},
		{"client IP", promo.AttemptFilter{ListParams: lp(10, 1, false), ClientIP: "192.0.2.2"}, ids(4, 3), 2},
		{"result", promo.AttemptFilter{ListParams: lp(10, 1, false), Result: promo.AttemptInvalid}, ids(4, 1), 2},
		{"created after", promo.AttemptFilter{ListParams: lp(10, 1, false), Created: promo.TimeRange{After: b.atPtr(3)}}, ids(5, 4), 2},
		{"created before", promo.AttemptFilter{ListParams: lp(10, 1, false), Created: promo.TimeRange{Before: b.atPtr(3)}}, ids(2, 1), 2},
		{"created between", promo.AttemptFilter{ListParams: lp(10, 1, false), Created: promo.TimeRange{After: b.atPtr(1), Before: b.atPtr(5)}}, ids(4, 3, 2), 3},
		{"key and IP", promo.AttemptFilter{ListParams: lp(10, 1, false), Key: "CODE1", ClientIP: "192.0.2.1"}, ids(5, 1), 2},
		{"key, customer, result", promo.AttemptFilter{ListParams: lp(10, 1, false), Key: "CODE1", CustomerID: "cust_1", Result: promo.AttemptFailure}, ids(3), 1},
	}
	for _, tc := range tests {
		got, n, err := b.s.Attempts(b.ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got == nil {
			t.Fatalf("%s: a nil list", tc.name)
		}
		wantStrings(t, tc.name, attemptIDs(got), tc.want)
		wantTotal(t, tc.name, n, tc.total)
	}

	got, _, err := b.s.Attempts(b.ctx, promo.AttemptFilter{ListParams: lp(10, 1, true)})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, as) {
		t.Fatalf("attempts:\n got %+v\nwant %+v", got, as)
	}
}

func testIdempotent(t *testing.T, b *bundle) {
	_, err := b.s.Idempotent(b.ctx, "app_1", "key-1")
	wantCode(t, err, promo.ENotFound)

	ok := &promo.IdempotentResult{APIKeyID: "app_1", Key: "key-1", Hash: "sha256:aa", Result: []byte(`{"id":"r_1","amount":1250}`), CreatedAt: b.at(1)}
	cause := errors.New("the cause, for logs")
	failed := &promo.IdempotentResult{APIKeyID: "app_1", Key: "key-2", Hash: "sha256:bb", CreatedAt: b.at(2),
		Error: &promo.Error{Code: promo.ENotFound, Message: "Resource not found", Details: "Cannot find voucher with id NOPE",
			ResourceID: "NOPE", ResourceType: "voucher", Err: cause}}
	// The same key of another API key is another request.
	other := &promo.IdempotentResult{APIKeyID: "app_2", Key: "key-1", Hash: "sha256:cc", Result: []byte(`{}`), CreatedAt: b.at(3)}
	b.update(t, func(tx promo.Tx) error {
		for _, r := range []*promo.IdempotentResult{ok, failed, other} {
			if err := tx.PutIdempotent(b.ctx, r); err != nil {
				return err
			}
		}
		return nil
	})

	check := func(want *promo.IdempotentResult) {
		t.Helper()
		got, err := b.s.Idempotent(b.ctx, want.APIKeyID, want.Key)
		if err != nil {
			t.Fatalf("Idempotent(%s, %s): %v", want.APIKeyID, want.Key, err)
		}
		if got.APIKeyID != want.APIKeyID || got.Key != want.Key || got.Hash != want.Hash ||
			string(got.Result) != string(want.Result) || !got.CreatedAt.Equal(want.CreatedAt.Time) {
			t.Fatalf("Idempotent(%s, %s):\n got %+v\nwant %+v", want.APIKeyID, want.Key, got, want)
		}
		switch {
		case want.Error == nil && got.Error != nil:
			t.Fatalf("Idempotent(%s, %s) has error %+v, want none", want.APIKeyID, want.Key, got.Error)
		case want.Error != nil:
			// What the client saw comes back; the cause is not kept.
			e := *want.Error
			e.Err = nil
			if got.Error == nil || *got.Error != e {
				t.Fatalf("Idempotent(%s, %s) has error %+v, want %+v", want.APIKeyID, want.Key, got.Error, &e)
			}
		}
	}
	check(ok)
	check(failed)
	check(other)
	_, err = b.s.Idempotent(b.ctx, "app_2", "key-2")
	wantCode(t, err, promo.ENotFound)

	again := &promo.IdempotentResult{APIKeyID: "app_1", Key: "key-1", Hash: "sha256:dd", Result: []byte(`{"id":"r_2"}`), CreatedAt: b.at(4)}
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.PutIdempotent(b.ctx, again) }), promo.EDuplicateFound)
	againErr := &promo.IdempotentResult{APIKeyID: "app_1", Key: "key-2", Hash: "sha256:bb", Result: []byte(`{}`), CreatedAt: b.at(4)}
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.PutIdempotent(b.ctx, againErr) }), promo.EDuplicateFound)
	// The first outcomes stay.
	check(ok)
	check(failed)
}

// newRule returns a rule with every field set.
func (b *bundle) newRule(name string, sec int) *promo.ValidationRule {
	return &promo.ValidationRule{
		ID:   promo.NewID(promo.PrefixValidationRule),
		Name: name,
		Rules: promo.RuleSet{
			Rules: map[string]promo.Rule{
				"1": {Name: "order.amount", Conditions: promo.Conditions{promo.OpMoreThan: {json.Number("5000")}},
					Error: promo.RuleError{Message: "spend more"}},
				"2": {Name: "customer.metadata", Property: "tier", Conditions: promo.Conditions{promo.OpIn: {"gold", "silver"}}},
				"3": {Name: "order.items.any", Conditions: promo.Conditions{promo.OpIs: {"prod_1"}},
					Rules: promo.RuleSet{Rules: map[string]promo.Rule{
						"1": {Name: "order.items.quantity", Conditions: promo.Conditions{promo.OpMoreThanOrEqual: {json.Number("2")}}},
					}, Logic: "1"}},
			},
			Logic: "1 AND (2 OR 3)",
		},
		Error: promo.RuleError{Message: "not for this order"},
		ApplicableTo: promo.ApplicableTo{
			Included: []promo.ApplicableItem{{Object: promo.ObjectProduct, ID: "prod_1", SourceID: "tea", Effect: "APPLY_TO_EVERY",
				QuantityLimit: 3, AggregatedQuantityLimit: 5, AmountLimit: 1000, AggregatedAmountLimit: 2000}},
			Excluded: []promo.ApplicableItem{{Object: promo.ObjectSKU, ID: "sku_9"}},
		},
		Type:        "complex",
		ContextType: "global",
		CreatedAt:   b.at(sec),
	}
}

func (b *bundle) createRules(t *testing.T, rs ...*promo.ValidationRule) {
	t.Helper()
	b.update(t, func(tx promo.Tx) error {
		for _, r := range rs {
			if err := tx.CreateValidationRule(b.ctx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

func ruleIDs(rs []*promo.ValidationRule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func testValidationRule(t *testing.T, b *bundle) {
	r := b.newRule("Big orders", 1)
	plain := &promo.ValidationRule{ID: promo.NewID(promo.PrefixValidationRule), Name: "Anything", Type: "expression",
		ContextType: "global", CreatedAt: b.at(2)}
	b.createRules(t, r, plain)
	for _, want := range []*promo.ValidationRule{r, plain} {
		got, err := b.s.ValidationRule(b.ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "rule "+want.Name, got, want)
	}
	_, err := b.s.ValidationRule(b.ctx, "val_missing")
	wantCode(t, err, promo.ENotFound)

	r.Name = "Bigger orders"
	r.Rules = promo.RuleSet{Rules: map[string]promo.Rule{
		"1": {Name: "order.amount", Conditions: promo.Conditions{promo.OpMoreThan: {json.Number("9000")}}},
	}}
	r.Error = promo.RuleError{}
	r.ApplicableTo = promo.ApplicableTo{IncludedAll: true}
	r.Type = "basic"
	r.UpdatedAt = b.atPtr(10)
	b.update(t, func(tx promo.Tx) error { return tx.UpdateValidationRule(b.ctx, r) })
	got, err := b.s.ValidationRule(b.ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "updated rule", got, r)
	got, err = b.s.ValidationRule(b.ctx, plain.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "the other rule", got, plain)

	missing := b.newRule("Ghost", 3)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateValidationRule(b.ctx, missing) }), promo.ENotFound)
	_, err = b.s.ValidationRule(b.ctx, missing.ID)
	wantCode(t, err, promo.ENotFound)

	b.update(t, func(tx promo.Tx) error { return tx.DeleteValidationRule(b.ctx, r.ID) })
	_, err = b.s.ValidationRule(b.ctx, r.ID)
	wantCode(t, err, promo.ENotFound)
	if _, err := b.s.ValidationRule(b.ctx, plain.ID); err != nil {
		t.Fatalf("deleting a rule deleted another: %v", err)
	}
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.DeleteValidationRule(b.ctx, r.ID) }), promo.ENotFound)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateValidationRule(b.ctx, r) }), promo.ENotFound)
}

func testValidationRules(t *testing.T, b *bundle) {
	rs := []*promo.ValidationRule{b.newRule("r1", 1), b.newRule("r2", 2), b.newRule("r3", 3), b.newRule("r4", 4), b.newRule("r5", 5)}
	b.createRules(t, rs[:2]...)
	b.createRules(t, rs[2:]...)
	ids := func(is ...int) []string {
		out := make([]string, len(is))
		for i, n := range is {
			out[i] = rs[n-1].ID
		}
		return out
	}
	tests := []struct {
		name  string
		p     promo.ListParams
		want  []string
		total int64
	}{
		{"newest first", lp(2, 1, false), ids(5, 4), 5},
		{"page 2", lp(2, 2, false), ids(3, 2), 5},
		{"last page", lp(2, 3, false), ids(1), 5},
		{"past the end", lp(2, 4, false), nil, 5},
		{"oldest first", lp(3, 1, true), ids(1, 2, 3), 5},
		{"oldest first, page 2", lp(3, 2, true), ids(4, 5), 5},
	}
	for _, tc := range tests {
		got, n, err := b.s.ValidationRules(b.ctx, tc.p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantStrings(t, tc.name, ruleIDs(got), tc.want)
		wantTotal(t, tc.name, n, tc.total)
	}
	got, _, err := b.s.ValidationRules(b.ctx, lp(10, 1, true))
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "listed rules", got, rs)

	b.update(t, func(tx promo.Tx) error { return tx.DeleteValidationRule(b.ctx, rs[1].ID) })
	got, n, err := b.s.ValidationRules(b.ctx, lp(10, 1, true))
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "after a deletion", ruleIDs(got), ids(1, 3, 4, 5))
	wantTotal(t, "after a deletion", n, 4)
}

func assignmentIDs(as []*promo.ValidationRuleAssignment) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

func testRuleAssignments(t *testing.T, b *bundle) {
	// Rules are created in one order and assigned in another, so that
	// RulesOf's assignment order differs from their creation order.
	r1, r2, r3 := b.newRule("r1", 1), b.newRule("r2", 2), b.newRule("r3", 3)
	b.createRules(t, r1, r2, r3)
	v1, v2 := promo.VoucherID(1), promo.VoucherID(2)
	assign := func(r *promo.ValidationRule, objType, objID string, sec int) *promo.ValidationRuleAssignment {
		return &promo.ValidationRuleAssignment{ID: promo.NewID(promo.PrefixAssignment), RuleID: r.ID,
			RelatedObjectType: objType, RelatedObjectID: objID, CreatedAt: b.at(sec)}
	}
	as := []*promo.ValidationRuleAssignment{
		assign(r3, promo.AssignmentCampaign, "camp_a", 10), // 1
		assign(r1, promo.AssignmentVoucher, v1, 11),        // 2
		assign(r3, promo.AssignmentVoucher, v1, 12),        // 3
		assign(r2, promo.AssignmentCampaign, "camp_a", 13), // 4
		assign(r1, promo.AssignmentCampaign, "camp_b", 14), // 5
		assign(r2, promo.AssignmentVoucher, v2, 15),        // 6
	}
	b.update(t, func(tx promo.Tx) error {
		for _, a := range as[:3] {
			if err := tx.CreateRuleAssignment(b.ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	for _, a := range as[3:] {
		b.update(t, func(tx promo.Tx) error { return tx.CreateRuleAssignment(b.ctx, a) })
	}
	ids := func(is ...int) []string {
		out := make([]string, len(is))
		for i, n := range is {
			out[i] = as[n-1].ID
		}
		return out
	}

	// A rule is assigned to an object once.
	dup := assign(r3, promo.AssignmentVoucher, v1, 20)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.CreateRuleAssignment(b.ctx, dup) }), promo.EDuplicateFound)
	dup = assign(r1, promo.AssignmentCampaign, "camp_b", 20)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.CreateRuleAssignment(b.ctx, dup) }), promo.EDuplicateFound)

	tests := []struct {
		name           string
		ruleID, object string
		p              promo.ListParams
		want           []string
		total          int64
	}{
		{"all, newest first", "", "", lp(4, 1, false), ids(6, 5, 4, 3), 6},
		{"all, page 2", "", "", lp(4, 2, false), ids(2, 1), 6},
		{"all, oldest first", "", "", lp(2, 1, true), ids(1, 2), 6},
		{"rule", r3.ID, "", lp(10, 1, true), ids(1, 3), 2},
		{"rule, newest first", r1.ID, "", lp(10, 1, false), ids(5, 2), 2},
		{"rule, page 2", r2.ID, "", lp(1, 2, true), ids(6), 2},
		{"object", "", "camp_a", lp(10, 1, true), ids(1, 4), 2},
		{"voucher", "", v1, lp(10, 1, true), ids(2, 3), 2},
		{"rule and object", r3.ID, v1, lp(10, 1, true), ids(3), 1},
		{"rule not on the object", r2.ID, v1, lp(10, 1, true), nil, 0},
		{"unknown rule", "val_missing", "", lp(10, 1, true), nil, 0},
		{"unknown object", "", "camp_z", lp(10, 1, true), nil, 0},
	}
	for _, tc := range tests {
		got, n, err := b.s.RuleAssignments(b.ctx, tc.ruleID, tc.object, tc.p)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got == nil {
			t.Fatalf("%s: a nil list", tc.name)
		}
		wantStrings(t, tc.name, assignmentIDs(got), tc.want)
		wantTotal(t, tc.name, n, tc.total)
	}
	got, _, err := b.s.RuleAssignments(b.ctx, "", "", lp(10, 1, true))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, as) {
		t.Fatalf("assignments:\n got %+v\nwant %+v", got, as)
	}

	rulesOf := func(objectIDs ...string) []*promo.ValidationRule {
		t.Helper()
		rs, err := b.s.RulesOf(b.ctx, objectIDs...)
		if err != nil {
			t.Fatalf("RulesOf(%q): %v", objectIDs, err)
		}
		if rs == nil {
			t.Fatalf("RulesOf(%q) returned a nil list", objectIDs)
		}
		return rs
	}
	ruleSet := func(rs ...*promo.ValidationRule) []string { return ruleIDs(rs) }
	// Each rule once, in the order of its first assignment to any of the
	// objects.
	wantStrings(t, "rules of v1 and camp_a", ruleIDs(rulesOf(v1, "camp_a")), ruleSet(r3, r1, r2))
	wantStrings(t, "rules of camp_a and v1", ruleIDs(rulesOf("camp_a", v1)), ruleSet(r3, r1, r2))
	wantStrings(t, "rules of v1", ruleIDs(rulesOf(v1)), ruleSet(r1, r3))
	wantStrings(t, "rules of camp_a", ruleIDs(rulesOf("camp_a")), ruleSet(r3, r2))
	wantStrings(t, "rules of v2 and camp_b", ruleIDs(rulesOf(v2, "camp_b")), ruleSet(r1, r2))
	wantStrings(t, "rules of every object", ruleIDs(rulesOf("camp_b", v2, v1, "camp_a", "camp_z")), ruleSet(r3, r1, r2))
	wantStrings(t, "rules of an object without any", ruleIDs(rulesOf("camp_z")), nil)
	wantStrings(t, "rules of no object", ruleIDs(rulesOf()), nil)
	sameJSON(t, "rules of camp_b", rulesOf("camp_b"), []*promo.ValidationRule{r1})

	// Deleting a rule deletes its assignments.
	b.update(t, func(tx promo.Tx) error { return tx.DeleteValidationRule(b.ctx, r3.ID) })
	for _, tc := range []struct {
		name           string
		ruleID, object string
		want           []string
	}{
		{"all after a deletion", "", "", ids(2, 4, 5, 6)},
		{"the deleted rule's", r3.ID, "", nil},
		{"camp_a's after a deletion", "", "camp_a", ids(4)},
		{"v1's after a deletion", "", v1, ids(2)},
	} {
		got, n, err := b.s.RuleAssignments(b.ctx, tc.ruleID, tc.object, lp(10, 1, true))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantStrings(t, tc.name, assignmentIDs(got), tc.want)
		wantTotal(t, tc.name, n, int64(len(tc.want)))
	}
	wantStrings(t, "rules of v1 and camp_a after a deletion", ruleIDs(rulesOf(v1, "camp_a")), ruleSet(r1, r2))

	// A rule created again with the deleted one's ID starts without
	// assignments, and can be assigned again.
	again := b.newRule("r3 again", 30)
	again.ID = r3.ID
	b.createRules(t, again)
	wantStrings(t, "rules of camp_a with the rule back", ruleIDs(rulesOf("camp_a")), ruleSet(r2))
	b.update(t, func(tx promo.Tx) error {
		return tx.CreateRuleAssignment(b.ctx, assign(again, promo.AssignmentCampaign, "camp_a", 31))
	})
	wantStrings(t, "rules of camp_a, assigned again", ruleIDs(rulesOf("camp_a")), ruleSet(r2, again))
}

// testRedemptionWritesRollBack makes every write of the redemption side,
// then fails: none of them is kept.
func testRedemptionWritesRollBack(t *testing.T, b *bundle) {
	v, _ := b.sessionVouchers(t)
	day := promo.Day(b.t0)
	scope := promo.CounterCampaign(v.CampaignID)
	kept := b.newRedemption(v.CampaignID, "cust_1", v.ID, 1)
	b.createRedemptions(t, kept)
	b.update(t, func(tx promo.Tx) error {
		return tx.AddCounters(b.ctx, day, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}, scope)
	})
	lock := &promo.Session{VoucherSeq: v.Seq, Key: "ssn_kept", Quantity: 1, ExpiresAt: b.at(1000), CreatedAt: b.at(1)}
	b.update(t, func(tx promo.Tx) error { return tx.PutSession(b.ctx, lock) })
	rule, doomed := b.newRule("kept", 1), b.newRule("doomed", 2)
	b.createRules(t, rule, doomed)
	asg := &promo.ValidationRuleAssignment{ID: promo.NewID(promo.PrefixAssignment), RuleID: doomed.ID,
		RelatedObjectType: promo.AssignmentVoucher, RelatedObjectID: v.ID, CreatedAt: b.at(3)}
	b.update(t, func(tx promo.Tx) error { return tx.CreateRuleAssignment(b.ctx, asg) })

	temp := b.newRedemption(v.CampaignID, "cust_2", v.ID, 5)
	err := b.s.Update(b.ctx, func(tx promo.Tx) error {
		if err := tx.CreateRedemption(b.ctx, temp); err != nil {
			return err
		}
		u := *kept
		u.Status, u.RollbackID = promo.StatusRolledBack, "rr_temp"
		if err := tx.UpdateRedemption(b.ctx, &u); err != nil {
			return err
		}
		if err := tx.AddCounters(b.ctx, day, promo.Counter{Count: 5, Amount: 50, OrderAmount: 500}, scope, promo.CounterCustomer("cust_2")); err != nil {
			return err
		}
		if err := tx.PutSession(b.ctx, &promo.Session{VoucherSeq: v.Seq, Key: "ssn_temp", Quantity: 1, ExpiresAt: b.at(1000), CreatedAt: b.at(5)}); err != nil {
			return err
		}
		if ok, err := tx.DeleteSession(b.ctx, v.Seq, "ssn_kept"); err != nil || !ok {
			return fmt.Errorf("DeleteSession: %v, %v", ok, err)
		}
		if err := tx.AppendAttempts(b.ctx, []*promo.Attempt{{ID: "att_temp", Time: b.at(5), Kind: promo.AttemptValidation,
			Result: promo.AttemptInvalid, Code: "X", Key: "X"}}); err != nil {
			return err
		}
		if err := tx.PutIdempotent(b.ctx, &promo.IdempotentResult{APIKeyID: "app_1", Key: "key-temp", Hash: "h", Result: []byte(`{}`), CreatedAt: b.at(5)}); err != nil {
			return err
		}
		if err := tx.CreateValidationRule(b.ctx, b.newRule("temp", 5)); err != nil {
			return err
		}
		changed := *rule
		changed.Name = "changed"
		if err := tx.UpdateValidationRule(b.ctx, &changed); err != nil {
			return err
		}
		if err := tx.DeleteValidationRule(b.ctx, doomed.ID); err != nil {
			return err
		}
		if err := tx.CreateRuleAssignment(b.ctx, &promo.ValidationRuleAssignment{ID: promo.NewID(promo.PrefixAssignment),
			RuleID: rule.ID, RelatedObjectType: promo.AssignmentVoucher, RelatedObjectID: v.ID, CreatedAt: b.at(5)}); err != nil {
			return err
		}
		// The transaction sees its writes before it fails.
		if rs, err := tx.RulesOf(b.ctx, v.ID); err != nil || len(rs) != 1 || rs[0].ID != rule.ID {
			return fmt.Errorf("RulesOf inside the transaction: %v, %v", rs, err)
		}
		if c, err := tx.Counter(b.ctx, scope, promo.AllTime); err != nil || c.Count != 6 {
			return fmt.Errorf("Counter inside the transaction: %+v, %v", c, err)
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}

	_, err = b.s.Redemption(b.ctx, temp.ID)
	wantCode(t, err, promo.ENotFound)
	got, err := b.s.Redemption(b.ctx, kept.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "the kept redemption", got, kept)
	_, n, err := b.s.Redemptions(b.ctx, promo.RedemptionFilter{ListParams: lp(10, 1, false)})
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "redemptions", n, 1)
	for _, tc := range []struct {
		scope string
		from  int64
		want  promo.Counter
	}{
		{scope, promo.AllTime, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}},
		{scope, day, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}},
		{promo.CounterCustomer("cust_2"), promo.AllTime, promo.Counter{}},
	} {
		c, err := b.s.Counter(b.ctx, tc.scope, tc.from)
		if err != nil {
			t.Fatal(err)
		}
		if c != tc.want {
			t.Fatalf("counter %s from %d: %+v, want %+v", tc.scope, tc.from, c, tc.want)
		}
	}
	wantStrings(t, "sessions", sessionKeys(b.sessions(t, v.Seq, 0)), []string{"ssn_kept"})
	_, n, err = b.s.Attempts(b.ctx, promo.AttemptFilter{ListParams: lp(10, 1, false)})
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "attempts", n, 0)
	_, err = b.s.Idempotent(b.ctx, "app_1", "key-temp")
	wantCode(t, err, promo.ENotFound)
	rules, n, err := b.s.ValidationRules(b.ctx, lp(10, 1, true))
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "rules", n, 2)
	sameJSON(t, "rules", rules, []*promo.ValidationRule{rule, doomed})
	asgs, n, err := b.s.RuleAssignments(b.ctx, "", "", lp(10, 1, true))
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "assignments", n, 1)
	if !reflect.DeepEqual(asgs, []*promo.ValidationRuleAssignment{asg}) {
		t.Fatalf("assignments: %+v, want %+v", asgs, asg)
	}
	rs, err := b.s.RulesOf(b.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "rules of the voucher", ruleIDs(rs), []string{doomed.ID})

	// The store still works.
	b.update(t, func(tx promo.Tx) error { return tx.CreateRedemption(b.ctx, temp) })
	if _, err := b.s.Redemption(b.ctx, temp.ID); err != nil {
		t.Fatal(err)
	}
}
