// Package storetest is the conformance suite of promo.Store: every store
// runs it, so they all behave alike.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"promo/internal/promo"
)

// Run runs every Store behaviour as a subtest. open returns an empty store
// for one subtest and arranges for its cleanup; subtests run in parallel,
// each on its own store.
func Run(t *testing.T, open func(t *testing.T) promo.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b *bundle)
	}{
		{"Campaign", testCampaign},
		{"CampaignDuplicateName", testCampaignDuplicateName},
		{"Campaigns", testCampaigns},
		{"DeleteCampaign", testDeleteCampaign},
		{"Tier", testTier},
		{"Voucher", testVoucher},
		{"VoucherTemplate", testVoucherTemplate},
		{"InsertVouchersSkipsDuplicates", testInsertVouchersDuplicates},
		{"InsertVouchersNoCampaign", testInsertVouchersNoCampaign},
		{"UpdateVoucher", testUpdateVoucher},
		{"UpdateRedeemedQuantity", testUpdateRedeemedQuantity},
		{"DeleteVoucher", testDeleteVoucher},
		{"Vouchers", testVouchers},
		{"TakeVoucher", testTakeVoucher},
		{"TakeVoucherConcurrent", testTakeVoucherConcurrent},
		{"UpdateRollsBack", testUpdateRollsBack},
		{"UpdateIsolation", testUpdateIsolation},
		{"Customer", testCustomer},
		{"Customers", testCustomers},
		{"Order", testOrder},
		{"Orders", testOrders},
		{"Publication", testPublication},
		{"Publications", testPublications},
		{"AsyncAction", testAsyncAction},
		{"ClaimAsyncAction", testClaimAsyncAction},
		{"Audit", testAudit},
		{"APIKey", testAPIKey},
		{"Redemption", testRedemption},
		{"Redemptions", testRedemptions},
		{"Counters", testCounters},
		{"Sessions", testSessions},
		{"LockVoucher", testLockVoucher},
		{"Attempts", testAttempts},
		{"Idempotent", testIdempotent},
		{"ValidationRule", testValidationRule},
		{"ValidationRules", testValidationRules},
		{"RuleAssignments", testRuleAssignments},
		{"RedemptionWritesRollBack", testRedemptionWritesRollBack},
		{"Blocklist", testBlocklist},
		{"Flags", testFlags},
		{"Ping", testPing},
		{"ConcurrentBudget", testConcurrentBudget},
		{"ConcurrentCounters", testConcurrentCounters},
		{"ConcurrentLockVoucher", testConcurrentLockVoucher},
		{"ConcurrentCustomerUpsert", testConcurrentCustomerUpsert},
		{"ConcurrentClaim", testConcurrentClaim},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, setup(t, open))
		})
	}
}

// bundle is what each subtest works with.
type bundle struct {
	ctx context.Context
	s   promo.Store
	// t0 is an arbitrary moment; fixtures are created at t0 plus a few
	// seconds so that their order is known.
	t0 time.Time
}

func setup(t *testing.T, open func(t *testing.T) promo.Store) *bundle {
	t.Helper()
	return &bundle{ctx: t.Context(), s: open(t), t0: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// at returns t0 plus sec seconds.
func (b *bundle) at(sec int) promo.Time {
	return promo.NewTime(b.t0.Add(time.Duration(sec) * time.Second))
}

func (b *bundle) atPtr(sec int) *promo.Time {
	v := b.at(sec)
	return &v
}

// update runs fn in an Update and fails the test on an error. fn itself
// must not fail the test (t.Fatal): a store may run it on a goroutine of
// its own. It returns an error instead.
func (b *bundle) update(t *testing.T, fn func(tx promo.Tx) error) {
	t.Helper()
	if err := b.s.Update(b.ctx, fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// updateErr runs fn in an Update and returns its error.
func (b *bundle) updateErr(fn func(tx promo.Tx) error) error {
	return b.s.Update(b.ctx, fn)
}

// wantCode fails unless err is a promo error with code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := promo.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

// sameJSON fails unless got and want marshal alike: the stores keep
// metadata as JSON, so numbers come back as float64.
func sameJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if string(g) != string(w) {
		t.Fatalf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func ptr[T any](v T) *T { return &v }

func (b *bundle) newCampaign(name string, sec int) *promo.Campaign {
	return &promo.Campaign{
		ID:           promo.NewID(promo.PrefixCampaign),
		Name:         name,
		CampaignType: promo.CampaignDiscountCoupons,
		Type:         promo.CampaignStatic,
		Voucher: promo.VoucherTemplate{
			Type:       promo.VoucherDiscount,
			Discount:   &promo.Discount{Type: promo.DiscountPercent, PercentOff: 1050, Effect: promo.EffectApplyToOrder},
			Redemption: promo.Quantity{Quantity: ptr[int64](1)},
		},
		Active:                   true,
		Metadata:                 promo.Metadata{"region": "EU", "wave": 2},
		CreationStatus:           promo.StatusDone,
		VouchersGenerationStatus: promo.StatusDone,
		CreatedAt:                b.at(sec),
	}
}

// campaign stores a campaign with one tier whose template has category.
func (b *bundle) campaign(t *testing.T, name string, sec int) (*promo.Campaign, *promo.Tier) {
	t.Helper()
	c := b.newCampaign(name, sec)
	tier := &promo.Tier{Template: c.Voucher}
	tier.Template.Category = name + "-tier"
	b.update(t, func(tx promo.Tx) error {
		if err := tx.CreateCampaign(b.ctx, c); err != nil {
			return err
		}
		tier.CampaignID = c.ID
		return tx.CreateTier(b.ctx, tier)
	})
	return c, tier
}

// tierVoucher returns a generated voucher of the tier.
func (b *bundle) tierVoucher(t *testing.T, tier *promo.Tier, code string, sec int) *promo.Voucher {
	t.Helper()
	key, err := promo.CodeKey(code)
	if err != nil {
		t.Fatal(err)
	}
	return &promo.Voucher{Code: code, Key: key, CampaignID: tier.CampaignID, TierID: tier.ID, Active: true, CreatedAt: b.at(sec)}
}

// insert stores vs in one Update and fails unless all went in.
func (b *bundle) insert(t *testing.T, vs ...*promo.Voucher) {
	t.Helper()
	b.update(t, func(tx promo.Tx) error {
		inserted, err := tx.InsertVouchers(b.ctx, vs)
		if err != nil {
			return err
		}
		for i, ok := range inserted {
			if !ok {
				return fmt.Errorf("voucher %s was not inserted", vs[i].Code)
			}
		}
		return nil
	})
}

// codes returns the codes of vs.
func codes(vs []*promo.Voucher) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Code
	}
	return out
}

func wantStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
}

func wantTotal(t *testing.T, what string, got, want int64) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: total %d, want %d", what, got, want)
	}
}

func testCampaign(t *testing.T, b *bundle) {
	c := b.newCampaign("Spring", 1)
	c.Description = "flyers"
	c.Voucher.CodeConfig = &promo.CodeConfig{}
	c.Voucher.CodeConfig.Pattern = "SPR-####"
	c.Voucher.CodeConfig.CheckChar = true
	b.update(t, func(tx promo.Tx) error { return tx.CreateCampaign(b.ctx, c) })

	for _, idOrName := range []string{c.ID, "Spring"} {
		got, err := b.s.Campaign(b.ctx, idOrName)
		if err != nil {
			t.Fatalf("Campaign(%q): %v", idOrName, err)
		}
		sameJSON(t, "campaign by "+idOrName, got, c)
		if !got.Voucher.CodeConfig.CheckChar {
			t.Fatalf("the code config lost check_char: %+v", got.Voucher.CodeConfig)
		}
	}
	_, err := b.s.Campaign(b.ctx, "Autumn")
	wantCode(t, err, promo.ENotFound)

	c.Name = "Spring 2026"
	c.Active = false
	c.Metadata = promo.Metadata{"region": "US"}
	c.UpdatedAt = b.atPtr(5)
	b.update(t, func(tx promo.Tx) error { return tx.UpdateCampaign(b.ctx, c) })
	got, err := b.s.Campaign(b.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "updated campaign", got, c)
	if _, err := b.s.Campaign(b.ctx, "Spring"); promo.ErrorCode(err) != promo.ENotFound {
		t.Fatalf("the old name still finds the campaign: %v", err)
	}

	missing := b.newCampaign("Ghost", 1)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateCampaign(b.ctx, missing) }), promo.ENotFound)
}

func testCampaignDuplicateName(t *testing.T, b *bundle) {
	a, _ := b.campaign(t, "A", 1)
	b.campaign(t, "B", 2)
	err := b.updateErr(func(tx promo.Tx) error { return tx.CreateCampaign(b.ctx, b.newCampaign("A", 3)) })
	wantCode(t, err, promo.EDuplicateFound)

	a.Name = "B"
	err = b.updateErr(func(tx promo.Tx) error { return tx.UpdateCampaign(b.ctx, a) })
	wantCode(t, err, promo.EDuplicateFound)
	got, err := b.s.Campaign(b.ctx, a.ID)
	if err != nil || got.Name != "A" {
		t.Fatalf("after a refused rename the campaign is %+v, %v", got, err)
	}
	_, n, err := b.s.Campaigns(b.ctx, promo.CampaignFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}})
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "campaigns", n, 2)
}

func campaignNames(cs []*promo.Campaign) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}

func testCampaigns(t *testing.T, b *bundle) {
	for i, name := range []string{"c1", "c2", "c3", "c4", "c5"} {
		c := b.newCampaign(name, i+1)
		if i%2 == 1 {
			c.Active = false
			c.Type = promo.CampaignAutoUpdate
		}
		b.update(t, func(tx promo.Tx) error { return tx.CreateCampaign(b.ctx, c) })
	}
	page := func(limit, pg int, asc bool) promo.ListParams {
		return promo.ListParams{Limit: limit, Page: pg, Ascending: asc}
	}
	tests := []struct {
		name  string
		f     promo.CampaignFilter
		want  []string
		total int64
	}{
		{"newest first", promo.CampaignFilter{ListParams: page(2, 1, false)}, []string{"c5", "c4"}, 5},
		{"page 2", promo.CampaignFilter{ListParams: page(2, 2, false)}, []string{"c3", "c2"}, 5},
		{"last page", promo.CampaignFilter{ListParams: page(2, 3, false)}, []string{"c1"}, 5},
		{"past the end", promo.CampaignFilter{ListParams: page(2, 4, false)}, nil, 5},
		{"oldest first", promo.CampaignFilter{ListParams: page(3, 1, true)}, []string{"c1", "c2", "c3"}, 5},
		{"active", promo.CampaignFilter{ListParams: page(10, 1, true), Active: ptr(true)}, []string{"c1", "c3", "c5"}, 3},
		{"inactive", promo.CampaignFilter{ListParams: page(10, 1, true), Active: ptr(false)}, []string{"c2", "c4"}, 2},
		{"type", promo.CampaignFilter{ListParams: page(10, 1, true), Type: promo.CampaignAutoUpdate}, []string{"c2", "c4"}, 2},
		{"campaign type", promo.CampaignFilter{ListParams: page(1, 1, true), CampaignType: promo.CampaignDiscountCoupons}, []string{"c1"}, 5},
		{"other campaign type", promo.CampaignFilter{ListParams: page(10, 1, true), CampaignType: "LOYALTY_PROGRAM"}, nil, 0},
		{"created after", promo.CampaignFilter{ListParams: page(10, 1, true), Created: promo.TimeRange{After: b.atPtr(3)}}, []string{"c4", "c5"}, 2},
		{"created before", promo.CampaignFilter{ListParams: page(10, 1, true), Created: promo.TimeRange{Before: b.atPtr(3)}}, []string{"c1", "c2"}, 2},
		{"created between", promo.CampaignFilter{ListParams: page(10, 1, true), Created: promo.TimeRange{After: b.atPtr(1), Before: b.atPtr(5)}}, []string{"c2", "c3", "c4"}, 3},
	}
	for _, tc := range tests {
		cs, n, err := b.s.Campaigns(b.ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantStrings(t, tc.name, campaignNames(cs), tc.want)
		wantTotal(t, tc.name, n, tc.total)
	}
}

func testDeleteCampaign(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Doomed", 1)
	other, otherTier := b.campaign(t, "Kept", 2)
	b.insert(t, b.tierVoucher(t, tier, "DOOM-1", 3), b.tierVoucher(t, tier, "DOOM-2", 3), b.tierVoucher(t, tier, "DOOM-3", 3))
	kept := b.tierVoucher(t, otherTier, "KEPT-1", 3)
	b.insert(t, kept)

	var n int64
	b.update(t, func(tx promo.Tx) error {
		var err error
		n, err = tx.DeleteCampaign(b.ctx, c.ID)
		return err
	})
	if n != 3 {
		t.Fatalf("DeleteCampaign deleted %d vouchers, want 3", n)
	}
	_, err := b.s.Campaign(b.ctx, c.ID)
	wantCode(t, err, promo.ENotFound)
	_, err = b.s.Tier(b.ctx, tier.ID)
	wantCode(t, err, promo.ENotFound)
	key, _ := promo.CodeKey("DOOM-1")
	_, err = b.s.VoucherByKey(b.ctx, key)
	wantCode(t, err, promo.ENotFound)
	vs, total, err := b.s.Vouchers(b.ctx, promo.VoucherFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}})
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "vouchers left", codes(vs), []string{"KEPT-1"})
	wantTotal(t, "vouchers left", total, 1)
	if got, err := b.s.Campaign(b.ctx, other.ID); err != nil || got.VouchersCount != 1 {
		t.Fatalf("the other campaign is %+v, %v; want 1 voucher", got, err)
	}

	// The deleted codes can be generated again.
	b.insert(t, b.tierVoucher(t, otherTier, "DOOM-1", 4))

	err = b.updateErr(func(tx promo.Tx) error {
		_, err := tx.DeleteCampaign(b.ctx, c.ID)
		return err
	})
	wantCode(t, err, promo.ENotFound)
}

func testTier(t *testing.T, b *bundle) {
	c, first := b.campaign(t, "Tiered", 1)
	second := &promo.Tier{CampaignID: c.ID, Template: c.Voucher}
	second.Template.Metadata = promo.Metadata{"prize": "gold"}
	b.update(t, func(tx promo.Tx) error { return tx.CreateTier(b.ctx, second) })
	if second.ID == 0 || second.ID == first.ID {
		t.Fatalf("CreateTier set ID %d (the first tier has %d)", second.ID, first.ID)
	}
	got, err := b.s.Tier(b.ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "tier", got, second)

	var tiers, none []*promo.Tier
	b.update(t, func(tx promo.Tx) error {
		var err error
		if tiers, err = tx.Tiers(b.ctx, c.ID); err != nil {
			return err
		}
		none, err = tx.Tiers(b.ctx, "camp_missing")
		return err
	})
	sameJSON(t, "tiers", tiers, []*promo.Tier{first, second})
	if len(none) != 0 {
		t.Errorf("a missing campaign has tiers %v", none)
	}

	_, err = b.s.Tier(b.ctx, second.ID+100)
	wantCode(t, err, promo.ENotFound)
	err = b.updateErr(func(tx promo.Tx) error {
		return tx.CreateTier(b.ctx, &promo.Tier{CampaignID: "camp_missing"})
	})
	wantCode(t, err, promo.ENotFound)
}

func testVoucher(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Vouchers", 1)
	v := b.tierVoucher(t, tier, "vch-ab12", 2)
	v.CaseSensitive = true
	b.insert(t, v)
	if v.Seq == 0 || v.ID == "" || v.ID != promo.VoucherID(v.Seq) {
		t.Fatalf("InsertVouchers set Seq %d and ID %q", v.Seq, v.ID)
	}
	want := *v
	want.Campaign = c.Name
	want.Template = tier.Template

	got, err := b.s.Voucher(b.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "voucher by ID", got, &want)
	got, err = b.s.VoucherByKey(b.ctx, "VCHAB12")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "voucher by key", got, &want)

	for _, id := range []string{promo.VoucherID(v.Seq + 1000), "v_nonsense", "", c.ID} {
		_, err = b.s.Voucher(b.ctx, id)
		wantCode(t, err, promo.ENotFound)
	}
	_, err = b.s.VoucherByKey(b.ctx, "VCHAB13")
	wantCode(t, err, promo.ENotFound)
	if got, err := b.s.Campaign(b.ctx, c.ID); err != nil || got.VouchersCount != 1 {
		t.Fatalf("campaign %+v, %v; want 1 voucher", got, err)
	}
}

func testVoucherTemplate(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Templates", 1)
	generated := b.tierVoucher(t, tier, "GEN-1", 2)
	own := b.tierVoucher(t, tier, "OWN-1", 2)
	own.OwnTemplate = true
	own.Template = tier.Template
	own.Template.Metadata = promo.Metadata{"mine": true}
	own.Template.Discount = &promo.Discount{Type: promo.DiscountAmount, AmountOff: 500, Effect: promo.EffectApplyToOrder}
	standalone := b.tierVoucher(t, tier, "ALONE-1", 2)
	standalone.CampaignID, standalone.TierID, standalone.OwnTemplate = "", 0, true
	standalone.Template = promo.VoucherTemplate{Type: promo.VoucherDiscount, Category: "solo"}
	b.insert(t, generated, own, standalone)

	tier.Template.Discount = &promo.Discount{Type: promo.DiscountFixed, FixedAmount: 999, Effect: promo.EffectApplyToOrder}
	tier.Template.Metadata = promo.Metadata{"tier": "updated"}
	b.update(t, func(tx promo.Tx) error { return tx.UpdateTier(b.ctx, tier) })

	got, err := b.s.Voucher(b.ctx, generated.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.OwnTemplate {
		t.Error("a generated voucher reads as having its own template")
	}
	sameJSON(t, "a tier voucher's template after UpdateTier", got.Template, tier.Template)
	if got.Campaign != c.Name || got.CampaignID != c.ID || got.TierID != tier.ID {
		t.Errorf("voucher campaign %q %q tier %d, want %q %q %d", got.Campaign, got.CampaignID, got.TierID, c.Name, c.ID, tier.ID)
	}

	got, err = b.s.Voucher(b.ctx, own.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.OwnTemplate {
		t.Error("a voucher with its own template reads as a tier's")
	}
	sameJSON(t, "an own template after UpdateTier", got.Template, own.Template)

	got, err = b.s.Voucher(b.ctx, standalone.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CampaignID != "" || got.Campaign != "" || !got.OwnTemplate {
		t.Errorf("standalone voucher %+v", got)
	}
	sameJSON(t, "a standalone voucher's template", got.Template, standalone.Template)

	wantCode(t, b.updateErr(func(tx promo.Tx) error {
		return tx.UpdateTier(b.ctx, &promo.Tier{ID: tier.ID + 100, CampaignID: c.ID})
	}), promo.ENotFound)
}

func testInsertVouchersDuplicates(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Dups", 1)
	other, otherTier := b.campaign(t, "Others", 1)
	b.insert(t, b.tierVoucher(t, tier, "AAA-111", 2), b.tierVoucher(t, otherTier, "ZZZ-999", 2))

	vs := []*promo.Voucher{
		b.tierVoucher(t, tier, "BBB-222", 3),
		b.tierVoucher(t, tier, "aaa111", 3), // stored already, another spelling
		b.tierVoucher(t, tier, "CCC-333", 3),
		b.tierVoucher(t, tier, "bbb-222", 3), // twice in the batch
		b.tierVoucher(t, tier, "ZZZ999", 3),  // stored in another campaign
		b.tierVoucher(t, tier, "DDD-444", 3),
	}
	var inserted []bool
	b.update(t, func(tx promo.Tx) error {
		var err error
		inserted, err = tx.InsertVouchers(b.ctx, vs)
		return err
	})
	want := []bool{true, false, true, false, false, true}
	if !reflect.DeepEqual(inserted, want) {
		t.Fatalf("inserted %v, want %v", inserted, want)
	}
	seqs := map[int64]bool{}
	for i, v := range vs {
		if inserted[i] {
			if v.Seq == 0 || seqs[v.Seq] || v.ID != promo.VoucherID(v.Seq) {
				t.Fatalf("voucher %s has Seq %d, ID %q", v.Code, v.Seq, v.ID)
			}
			seqs[v.Seq] = true
		}
	}
	got, err := b.s.VoucherByKey(b.ctx, "BBB222")
	if err != nil || got.Code != "BBB-222" {
		t.Fatalf("the first of two spellings in a batch should stay: %+v, %v", got, err)
	}
	got, err = b.s.VoucherByKey(b.ctx, "AAA111")
	if err != nil || got.Code != "AAA-111" {
		t.Fatalf("a stored voucher was overwritten: %+v, %v", got, err)
	}
	for _, tc := range []struct {
		c    *promo.Campaign
		want int64
	}{{c, 4}, {other, 1}} {
		got, err := b.s.Campaign(b.ctx, tc.c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.VouchersCount != tc.want {
			t.Errorf("campaign %s counts %d vouchers, want %d", tc.c.Name, got.VouchersCount, tc.want)
		}
	}

	var empty []bool
	b.update(t, func(tx promo.Tx) error {
		var err error
		empty, err = tx.InsertVouchers(b.ctx, nil)
		return err
	})
	if len(empty) != 0 {
		t.Fatalf("inserting nothing reported %v", empty)
	}
}

func testInsertVouchersNoCampaign(t *testing.T, b *bundle) {
	_, tier := b.campaign(t, "Real", 1)
	fine, lost := b.tierVoucher(t, tier, "FINE-1", 2), b.tierVoucher(t, tier, "LOST-1", 2)
	lost.CampaignID = "camp_missing"
	wantCode(t, b.updateErr(func(tx promo.Tx) error {
		_, err := tx.InsertVouchers(b.ctx, []*promo.Voucher{fine, lost})
		return err
	}), promo.ENotFound)
	// The whole Update rolled back.
	_, err := b.s.VoucherByKey(b.ctx, "FINE1")
	wantCode(t, err, promo.ENotFound)
}

func testUpdateVoucher(t *testing.T, b *bundle) {
	_, tier := b.campaign(t, "Updates", 1)
	v := b.tierVoucher(t, tier, "UPD-1", 2)
	b.insert(t, v)

	v.Active = false
	v.HolderID = "cust_1"
	v.PublishCount = 1
	v.RedeemedQuantity = 2
	v.UpdatedAt = b.atPtr(3)
	v.Template.Category = "ignored: the voucher has no template of its own"
	b.update(t, func(tx promo.Tx) error { return tx.UpdateVoucher(b.ctx, v) })
	got, err := b.s.Voucher(b.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Active || got.HolderID != "cust_1" || got.PublishCount != 1 || got.RedeemedQuantity != 2 ||
		got.UpdatedAt == nil || !got.UpdatedAt.Equal(v.UpdatedAt.Time) {
		t.Fatalf("updated voucher %+v", got)
	}
	sameJSON(t, "template", got.Template, tier.Template)

	// A voucher updated on its own gets its own template.
	v.OwnTemplate = true
	v.Template = tier.Template
	v.Template.Category = "special"
	v.HolderID = ""
	b.update(t, func(tx promo.Tx) error { return tx.UpdateVoucher(b.ctx, v) })
	got, err = b.s.Voucher(b.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.OwnTemplate || got.Template.Category != "special" || got.HolderID != "" {
		t.Fatalf("voucher %+v", got)
	}
	tier.Template.Category = "tier changed"
	b.update(t, func(tx promo.Tx) error { return tx.UpdateTier(b.ctx, tier) })
	if got, err = b.s.Voucher(b.ctx, v.ID); err != nil || got.Template.Category != "special" {
		t.Fatalf("UpdateTier reached a voucher with its own template: %+v, %v", got, err)
	}

	missing := *v
	missing.ID = promo.VoucherID(v.Seq + 100)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateVoucher(b.ctx, &missing) }), promo.ENotFound)
}

// testUpdateRedeemedQuantity: UpdateRedeemedQuantity stores the redeemed
// quantity and the update time, and no other change made to the voucher;
// the voucher stays in its campaign's publication pool.
func testUpdateRedeemedQuantity(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Redeemed", 1)
	v := b.tierVoucher(t, tier, "RED-1", 2)
	b.insert(t, v)

	changed := *v
	changed.RedeemedQuantity = 3
	changed.UpdatedAt = b.atPtr(4)
	// Not stored: only the quantity and the time are.
	changed.Active = false
	changed.HolderID = "cust_1"
	changed.PublishCount = 2
	b.update(t, func(tx promo.Tx) error { return tx.UpdateRedeemedQuantity(b.ctx, &changed) })
	got, err := b.s.Voucher(b.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RedeemedQuantity != 3 || got.UpdatedAt == nil || !got.UpdatedAt.Equal(changed.UpdatedAt.Time) ||
		!got.Active || got.HolderID != "" || got.PublishCount != 0 {
		t.Fatalf("voucher after UpdateRedeemedQuantity: %+v", got)
	}
	b.update(t, func(tx promo.Tx) error {
		taken, err := tx.TakeVoucher(b.ctx, c.ID)
		if err != nil {
			return err
		}
		if taken.ID != v.ID || taken.RedeemedQuantity != 3 {
			return fmt.Errorf("took %s (redeemed %d), want %s (3)", taken.ID, taken.RedeemedQuantity, v.ID)
		}
		return nil
	})

	missing := changed
	missing.ID = promo.VoucherID(v.Seq + 100)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateRedeemedQuantity(b.ctx, &missing) }), promo.ENotFound)
}

func testDeleteVoucher(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Deletes", 1)
	v1, v2 := b.tierVoucher(t, tier, "DEL-1", 2), b.tierVoucher(t, tier, "DEL-2", 2)
	b.insert(t, v1, v2)
	b.update(t, func(tx promo.Tx) error { return tx.DeleteVoucher(b.ctx, v1.ID) })
	_, err := b.s.Voucher(b.ctx, v1.ID)
	wantCode(t, err, promo.ENotFound)
	if got, err := b.s.Campaign(b.ctx, c.ID); err != nil || got.VouchersCount != 1 {
		t.Fatalf("campaign %+v, %v; want 1 voucher", got, err)
	}
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.DeleteVoucher(b.ctx, v1.ID) }), promo.ENotFound)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.DeleteVoucher(b.ctx, "v_bad") }), promo.ENotFound)

	// A new voucher never takes a deleted voucher's ID: audit entries and
	// publications name vouchers by ID.
	b.update(t, func(tx promo.Tx) error { return tx.DeleteVoucher(b.ctx, v2.ID) })
	v3 := b.tierVoucher(t, tier, "DEL-3", 3)
	b.insert(t, v3)
	if v3.ID == v1.ID || v3.ID == v2.ID {
		t.Fatalf("a new voucher took the ID %s of a deleted one", v3.ID)
	}
}

func testVouchers(t *testing.T, b *bundle) {
	a, aTier := b.campaign(t, "A", 1)
	_, bTier := b.campaign(t, "B", 1)
	// One voucher per second, in separate batches, so that creation order
	// is plain: a1 a2 b1 a3 b2 a4.
	sec := 10
	add := func(tier *promo.Tier, code string) *promo.Voucher {
		v := b.tierVoucher(t, tier, code, sec)
		sec++
		b.insert(t, v)
		return v
	}
	a1, a2, _, a3, b2, _ := add(aTier, "A-1"), add(aTier, "A-2"), add(bTier, "B-1"), add(aTier, "A-3"), add(bTier, "B-2"), add(aTier, "A-4")
	a2.Active = false
	a3.HolderID = "cust_x"
	b2.HolderID = "cust_x"
	b.update(t, func(tx promo.Tx) error {
		for _, v := range []*promo.Voucher{a2, a3, b2} {
			if err := tx.UpdateVoucher(b.ctx, v); err != nil {
				return err
			}
		}
		return nil
	})
	// A voucher of campaign A with its own category.
	a1.OwnTemplate = true
	a1.Template = aTier.Template
	a1.Template.Category = "B-tier"
	b.update(t, func(tx promo.Tx) error { return tx.UpdateVoucher(b.ctx, a1) })

	lp := func(limit, pg int, asc bool) promo.ListParams {
		return promo.ListParams{Limit: limit, Page: pg, Ascending: asc}
	}
	tests := []struct {
		name  string
		f     promo.VoucherFilter
		want  []string
		total int64
	}{
		{"newest first", promo.VoucherFilter{ListParams: lp(4, 1, false)}, []string{"A-4", "B-2", "A-3", "B-1"}, 6},
		{"page 2", promo.VoucherFilter{ListParams: lp(4, 2, false)}, []string{"A-2", "A-1"}, 6},
		{"oldest first", promo.VoucherFilter{ListParams: lp(2, 1, true)}, []string{"A-1", "A-2"}, 6},
		{"campaign", promo.VoucherFilter{ListParams: lp(3, 1, true), CampaignID: a.ID}, []string{"A-1", "A-2", "A-3"}, 4},
		{"campaign page 2", promo.VoucherFilter{ListParams: lp(3, 2, true), CampaignID: a.ID}, []string{"A-4"}, 4},
		{"missing campaign", promo.VoucherFilter{ListParams: lp(3, 1, true), CampaignID: "camp_missing"}, nil, 0},
		{"holder", promo.VoucherFilter{ListParams: lp(10, 1, true), HolderID: "cust_x"}, []string{"A-3", "B-2"}, 2},
		{"holder and campaign", promo.VoucherFilter{ListParams: lp(10, 1, true), HolderID: "cust_x", CampaignID: a.ID}, []string{"A-3"}, 1},
		{"inactive", promo.VoucherFilter{ListParams: lp(10, 1, true), Active: ptr(false)}, []string{"A-2"}, 1},
		{"active", promo.VoucherFilter{ListParams: lp(10, 1, true), Active: ptr(true), CampaignID: a.ID}, []string{"A-1", "A-3", "A-4"}, 3},
		{"category from tier and own", promo.VoucherFilter{ListParams: lp(10, 1, true), Category: "B-tier"}, []string{"A-1", "B-1", "B-2"}, 3},
		{"category of a tier", promo.VoucherFilter{ListParams: lp(10, 1, true), Category: "A-tier"}, []string{"A-2", "A-3", "A-4"}, 3},
		{"created after", promo.VoucherFilter{ListParams: lp(10, 1, true), Created: promo.TimeRange{After: b.atPtr(13)}}, []string{"B-2", "A-4"}, 2},
		{"created before", promo.VoucherFilter{ListParams: lp(10, 1, true), Created: promo.TimeRange{Before: b.atPtr(11)}}, []string{"A-1"}, 1},
	}
	for _, tc := range tests {
		vs, n, err := b.s.Vouchers(b.ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantStrings(t, tc.name, codes(vs), tc.want)
		wantTotal(t, tc.name, n, tc.total)
		for _, v := range vs {
			if v.Campaign == "" || v.Template.Type == "" {
				t.Fatalf("%s: voucher %s is not resolved: %+v", tc.name, v.Code, v)
			}
		}
	}
}

func testTakeVoucher(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Pool", 1)
	other, otherTier := b.campaign(t, "Other pool", 1)
	var vs []*promo.Voucher
	for i := range 5 {
		v := b.tierVoucher(t, tier, fmt.Sprintf("POOL-%d", 5-i), 10+i) // keys in reverse
		b.insert(t, v)
		vs = append(vs, v)
	}
	b.insert(t, b.tierVoucher(t, otherTier, "OTHER-1", 9))
	// Out of the pool: disabled, published, held.
	vs[0].Active = false
	vs[1].PublishCount = 1
	vs[3].HolderID = "cust_1"
	b.update(t, func(tx promo.Tx) error {
		for _, v := range []*promo.Voucher{vs[0], vs[1], vs[3]} {
			if err := tx.UpdateVoucher(b.ctx, v); err != nil {
				return err
			}
		}
		return nil
	})

	var taken []string
	take := func() error {
		return b.updateErr(func(tx promo.Tx) error {
			v, err := tx.TakeVoucher(b.ctx, c.ID)
			if err != nil {
				return err
			}
			// Until it leaves the pool, the same voucher comes back.
			again, err := tx.TakeVoucher(b.ctx, c.ID)
			if err != nil {
				return err
			}
			if again.ID != v.ID {
				return fmt.Errorf("TakeVoucher returned %s then %s in one transaction", v.Code, again.Code)
			}
			if v.Campaign != c.Name || v.Template.Type == "" {
				return fmt.Errorf("taken voucher is not resolved: %+v", v)
			}
			taken = append(taken, v.Code)
			v.HolderID, v.PublishCount = "cust_2", 1
			return tx.UpdateVoucher(b.ctx, v)
		})
	}
	for range 2 {
		if err := take(); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, take(), promo.ENoVoucherSuitable)
	wantStrings(t, "taken", taken, []string{"POOL-3", "POOL-1"})

	// The other campaign's pool is its own.
	b.update(t, func(tx promo.Tx) error {
		v, err := tx.TakeVoucher(b.ctx, other.ID)
		if err == nil && v.Code != "OTHER-1" {
			err = fmt.Errorf("took %s from the other campaign", v.Code)
		}
		return err
	})
	// A voucher back in the pool is taken again, oldest first.
	vs[0].Active = true
	b.update(t, func(tx promo.Tx) error { return tx.UpdateVoucher(b.ctx, vs[0]) })
	b.update(t, func(tx promo.Tx) error {
		v, err := tx.TakeVoucher(b.ctx, c.ID)
		if err == nil && v.ID != vs[0].ID {
			err = fmt.Errorf("took %s, want %s", v.Code, vs[0].Code)
		}
		return err
	})
}

func testTakeVoucherConcurrent(t *testing.T, b *bundle) {
	const pool, takers = 30, 50
	c, tier := b.campaign(t, "Giveaway", 1)
	var vs []*promo.Voucher
	for i := range pool {
		vs = append(vs, b.tierVoucher(t, tier, fmt.Sprintf("GIFT-%03d", i), 2))
	}
	b.insert(t, vs...)

	type result struct {
		voucherID string
		err       error
	}
	results := make(chan result, takers)
	start := make(chan struct{})
	for i := range takers {
		go func() {
			<-start
			var id string
			err := b.s.Update(b.ctx, func(tx promo.Tx) error {
				v, err := tx.TakeVoucher(b.ctx, c.ID)
				if err != nil {
					return err
				}
				customer := fmt.Sprintf("cust_%d", i)
				v.HolderID, v.PublishCount, v.UpdatedAt = customer, v.PublishCount+1, b.atPtr(3)
				if err := tx.UpdateVoucher(b.ctx, v); err != nil {
					return err
				}
				id = v.ID
				return tx.CreatePublication(b.ctx, &promo.Publication{
					ID: promo.NewID(promo.PrefixPublication), CampaignID: c.ID, CustomerID: customer,
					Result: promo.PublicationSuccess, CreatedAt: b.at(3), Vouchers: []*promo.Voucher{v},
				})
			})
			results <- result{id, err}
		}()
	}
	close(start)
	seen := map[string]bool{}
	none := 0
	for range takers {
		r := <-results
		switch {
		case promo.ErrorCode(r.err) == promo.ENoVoucherSuitable:
			none++
		case r.err != nil:
			t.Errorf("Update: %v", r.err)
		case seen[r.voucherID]:
			t.Errorf("voucher %s was taken twice", r.voucherID)
		default:
			seen[r.voucherID] = true
		}
	}
	if len(seen) != pool || none != takers-pool {
		t.Fatalf("%d vouchers taken and %d refusals, want %d and %d", len(seen), none, pool, takers-pool)
	}
	_, n, err := b.s.Publications(b.ctx, promo.PublicationFilter{ListParams: promo.ListParams{Limit: 1, Page: 1}, CampaignID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "publications", n, pool)
}

var errRollback = errors.New("changed my mind")

func testUpdateRollsBack(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Rollback", 1)
	v := b.tierVoucher(t, tier, "RB-1", 2)
	b.insert(t, v)

	temps := []*promo.Voucher{nil, b.tierVoucher(t, tier, "RB-TEMP-1", 3), b.tierVoucher(t, tier, "RB-TEMP-2", 3), b.tierVoucher(t, tier, "RB-TEMP-3", 3)}
	// Every kind of write, then an error or a panic.
	writes := func(tx promo.Tx, n int) error {
		name := fmt.Sprintf("Temp %d", n)
		if err := tx.CreateCampaign(b.ctx, b.newCampaign(name, 3)); err != nil {
			return err
		}
		if _, err := tx.InsertVouchers(b.ctx, []*promo.Voucher{temps[n]}); err != nil {
			return err
		}
		u := *v
		u.Active = false
		if err := tx.UpdateVoucher(b.ctx, &u); err != nil {
			return err
		}
		if err := tx.CreateCustomer(b.ctx, &promo.Customer{ID: fmt.Sprintf("cust_rb%d", n), CreatedAt: b.at(3)}); err != nil {
			return err
		}
		return tx.AppendAudit(b.ctx, &promo.AuditEntry{Time: b.at(3), Action: promo.AuditCreated, ResourceType: "campaign", ResourceID: c.ID, CampaignID: c.ID})
	}
	err := b.s.Update(b.ctx, func(tx promo.Tx) error {
		if err := writes(tx, 1); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}

	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Fatalf("recovered %v, want the panic of fn", p)
			}
		}()
		b.s.Update(b.ctx, func(tx promo.Tx) error {
			if err := writes(tx, 2); err != nil {
				return err // the test fails: nothing was recovered
			}
			panic("boom")
		})
	}()

	for n := 1; n <= 2; n++ {
		_, err := b.s.Campaign(b.ctx, fmt.Sprintf("Temp %d", n))
		wantCode(t, err, promo.ENotFound)
		_, err = b.s.VoucherByKey(b.ctx, fmt.Sprintf("RBTEMP%d", n))
		wantCode(t, err, promo.ENotFound)
		_, err = b.s.Customer(b.ctx, fmt.Sprintf("cust_rb%d", n))
		wantCode(t, err, promo.ENotFound)
	}
	got, err := b.s.Voucher(b.ctx, v.ID)
	if err != nil || !got.Active {
		t.Fatalf("voucher %+v, %v: the update was kept", got, err)
	}
	if got, err := b.s.Campaign(b.ctx, c.ID); err != nil || got.VouchersCount != 1 {
		t.Fatalf("campaign %+v, %v; want its count back at 1", got, err)
	}
	_, n, err := b.s.Audit(b.ctx, promo.AuditFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}})
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "audit", n, 0)
	// The store still works.
	b.update(t, func(tx promo.Tx) error { return writes(tx, 3) })
}

func testUpdateIsolation(t *testing.T, b *bundle) {
	c := b.newCampaign("Isolated", 1)
	inside := make(chan struct{})
	checked := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- b.s.Update(b.ctx, func(tx promo.Tx) error {
			if err := tx.CreateCampaign(b.ctx, c); err != nil {
				return err
			}
			// The transaction reads its own write.
			if _, err := tx.Campaign(b.ctx, "Isolated"); err != nil {
				return fmt.Errorf("inside the transaction: %w", err)
			}
			close(inside)
			<-checked
			return nil
		})
	}()
	<-inside
	_, err := b.s.Campaign(b.ctx, "Isolated")
	close(checked)
	wantCode(t, err, promo.ENotFound)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := b.s.Campaign(b.ctx, "Isolated"); err != nil {
		t.Fatalf("after commit: %v", err)
	}
}

func (b *bundle) newCustomer(sourceID string, sec int) *promo.Customer {
	return &promo.Customer{
		ID:        promo.NewID(promo.PrefixCustomer),
		SourceID:  sourceID,
		Name:      "Name of " + sourceID,
		Email:     sourceID + "@example.com",
		Address:   &promo.Address{City: "Lyon", Country: "FR"},
		Metadata:  promo.Metadata{"vip": true, "score": 7},
		CreatedAt: b.at(sec),
	}
}

func testCustomer(t *testing.T, b *bundle) {
	c := b.newCustomer("alice", 1)
	anon := b.newCustomer("", 2) // customers without source_id do not collide
	anon2 := b.newCustomer("", 3)
	b.update(t, func(tx promo.Tx) error {
		for _, c := range []*promo.Customer{c, anon, anon2} {
			if err := tx.CreateCustomer(b.ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	for _, key := range []string{c.ID, "alice"} {
		got, err := b.s.Customer(b.ctx, key)
		if err != nil {
			t.Fatalf("Customer(%q): %v", key, err)
		}
		sameJSON(t, "customer", got, c)
	}
	_, err := b.s.Customer(b.ctx, "bob")
	wantCode(t, err, promo.ENotFound)
	dup := b.newCustomer("alice", 4)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.CreateCustomer(b.ctx, dup) }), promo.EDuplicateFound)

	c.Name, c.Email, c.UpdatedAt = "Alice B.", "ab@example.com", b.atPtr(5)
	b.update(t, func(tx promo.Tx) error { return tx.UpdateCustomer(b.ctx, c) })
	got, err := b.s.Customer(b.ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "updated customer", got, c)

	anon.SourceID = "alice"
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateCustomer(b.ctx, anon) }), promo.EDuplicateFound)
	ghost := b.newCustomer("ghost", 6)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateCustomer(b.ctx, ghost) }), promo.ENotFound)

	b.update(t, func(tx promo.Tx) error { return tx.DeleteCustomer(b.ctx, c.ID) })
	_, err = b.s.Customer(b.ctx, c.ID)
	wantCode(t, err, promo.ENotFound)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.DeleteCustomer(b.ctx, c.ID) }), promo.ENotFound)
	// Its source_id is free again.
	b.update(t, func(tx promo.Tx) error { return tx.CreateCustomer(b.ctx, b.newCustomer("alice", 7)) })
}

func testCustomers(t *testing.T, b *bundle) {
	for i, src := range []string{"u1", "u2", "u3", "u4"} {
		c := b.newCustomer(src, i+1)
		if i >= 2 {
			c.Email = "shared@example.com"
		}
		b.update(t, func(tx promo.Tx) error { return tx.CreateCustomer(b.ctx, c) })
	}
	sources := func(cs []*promo.Customer) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.SourceID
		}
		return out
	}
	lp := func(limit, pg int, asc bool) promo.ListParams {
		return promo.ListParams{Limit: limit, Page: pg, Ascending: asc}
	}
	tests := []struct {
		name  string
		f     promo.CustomerFilter
		want  []string
		total int64
	}{
		{"newest first", promo.CustomerFilter{ListParams: lp(3, 1, false)}, []string{"u4", "u3", "u2"}, 4},
		{"page 2", promo.CustomerFilter{ListParams: lp(3, 2, false)}, []string{"u1"}, 4},
		{"oldest first", promo.CustomerFilter{ListParams: lp(2, 1, true)}, []string{"u1", "u2"}, 4},
		{"email", promo.CustomerFilter{ListParams: lp(10, 1, true), Email: "shared@example.com"}, []string{"u3", "u4"}, 2},
		{"created", promo.CustomerFilter{ListParams: lp(10, 1, true), Created: promo.TimeRange{After: b.atPtr(1), Before: b.atPtr(4)}}, []string{"u2", "u3"}, 2},
	}
	for _, tc := range tests {
		cs, n, err := b.s.Customers(b.ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantStrings(t, tc.name, sources(cs), tc.want)
		wantTotal(t, tc.name, n, tc.total)
	}
}

func (b *bundle) newOrder(sourceID, customerID, status string, sec int) *promo.Order {
	return &promo.Order{
		ID:         promo.NewID(promo.PrefixOrder),
		SourceID:   sourceID,
		Status:     status,
		Amount:     12000,
		Items:      []promo.OrderItem{{ProductID: "prod_1", Quantity: 2, Price: 6000, Amount: 12000}},
		Metadata:   promo.Metadata{"channel": "web"},
		CustomerID: customerID,
		CreatedAt:  b.at(sec),
	}
}

func testOrder(t *testing.T, b *bundle) {
	o := b.newOrder("order-1", "cust_1", promo.OrderCreated, 1)
	b.update(t, func(tx promo.Tx) error {
		if err := tx.CreateOrder(b.ctx, o); err != nil {
			return err
		}
		return tx.CreateOrder(b.ctx, b.newOrder("", "", promo.OrderCreated, 2))
	})
	for _, key := range []string{o.ID, "order-1"} {
		got, err := b.s.Order(b.ctx, key)
		if err != nil {
			t.Fatalf("Order(%q): %v", key, err)
		}
		sameJSON(t, "order", got, o)
	}
	_, err := b.s.Order(b.ctx, "order-2")
	wantCode(t, err, promo.ENotFound)
	wantCode(t, b.updateErr(func(tx promo.Tx) error {
		return tx.CreateOrder(b.ctx, b.newOrder("order-1", "", promo.OrderCreated, 3))
	}), promo.EDuplicateFound)

	o.Status, o.DiscountAmount, o.UpdatedAt = promo.OrderPaid, 1200, b.atPtr(4)
	b.update(t, func(tx promo.Tx) error { return tx.UpdateOrder(b.ctx, o) })
	got, err := b.s.Order(b.ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "updated order", got, o)
	wantCode(t, b.updateErr(func(tx promo.Tx) error {
		return tx.UpdateOrder(b.ctx, b.newOrder("order-9", "", promo.OrderPaid, 5))
	}), promo.ENotFound)
}

func testOrders(t *testing.T, b *bundle) {
	orders := []*promo.Order{
		b.newOrder("o1", "cust_a", promo.OrderPaid, 1),
		b.newOrder("o2", "cust_b", promo.OrderCreated, 2),
		b.newOrder("o3", "cust_a", promo.OrderCreated, 3),
		b.newOrder("o4", "", promo.OrderPaid, 4),
	}
	b.update(t, func(tx promo.Tx) error {
		for _, o := range orders {
			if err := tx.CreateOrder(b.ctx, o); err != nil {
				return err
			}
		}
		return nil
	})
	sources := func(os []*promo.Order) []string {
		out := make([]string, len(os))
		for i, o := range os {
			out[i] = o.SourceID
		}
		return out
	}
	lp := func(limit, pg int, asc bool) promo.ListParams {
		return promo.ListParams{Limit: limit, Page: pg, Ascending: asc}
	}
	tests := []struct {
		name  string
		f     promo.OrderFilter
		want  []string
		total int64
	}{
		{"newest first", promo.OrderFilter{ListParams: lp(2, 1, false)}, []string{"o4", "o3"}, 4},
		{"page 2", promo.OrderFilter{ListParams: lp(2, 2, false)}, []string{"o2", "o1"}, 4},
		{"customer", promo.OrderFilter{ListParams: lp(10, 1, true), CustomerID: "cust_a"}, []string{"o1", "o3"}, 2},
		{"status", promo.OrderFilter{ListParams: lp(10, 1, true), Status: promo.OrderPaid}, []string{"o1", "o4"}, 2},
		{"customer and status", promo.OrderFilter{ListParams: lp(10, 1, true), CustomerID: "cust_a", Status: promo.OrderPaid}, []string{"o1"}, 1},
		{"created", promo.OrderFilter{ListParams: lp(10, 1, false), Created: promo.TimeRange{After: b.atPtr(2)}}, []string{"o4", "o3"}, 2},
	}
	for _, tc := range tests {
		os, n, err := b.s.Orders(b.ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantStrings(t, tc.name, sources(os), tc.want)
		wantTotal(t, tc.name, n, tc.total)
	}
}

// publish takes n vouchers of the campaign for the customer and stores the
// publication, as the engine does.
func (b *bundle) publish(t *testing.T, c *promo.Campaign, customerID, sourceID string, n, sec int) *promo.Publication {
	t.Helper()
	p := &promo.Publication{
		ID: promo.NewID(promo.PrefixPublication), SourceID: sourceID, CampaignID: c.ID, CustomerID: customerID,
		Channel: "API", Metadata: promo.Metadata{"n": n}, Result: promo.PublicationSuccess, CreatedAt: b.at(sec),
	}
	b.update(t, func(tx promo.Tx) error {
		for range n {
			v, err := tx.TakeVoucher(b.ctx, c.ID)
			if err != nil {
				return err
			}
			v.HolderID, v.PublishCount = customerID, v.PublishCount+1
			if err := tx.UpdateVoucher(b.ctx, v); err != nil {
				return err
			}
			p.Vouchers = append(p.Vouchers, v)
		}
		return tx.CreatePublication(b.ctx, p)
	})
	return p
}

func testPublication(t *testing.T, b *bundle) {
	c, tier := b.campaign(t, "Publish", 1)
	for i := range 6 {
		b.insert(t, b.tierVoucher(t, tier, fmt.Sprintf("PUB-%d", i), 2+i))
	}
	p1 := b.publish(t, c, "cust_1", "src-1", 2, 10)
	p2 := b.publish(t, c, "cust_1", "", 1, 11)
	b.publish(t, c, "cust_2", "", 1, 12)

	for _, get := range []func() (*promo.Publication, error){
		func() (*promo.Publication, error) { return b.s.Publication(b.ctx, p1.ID) },
		func() (*promo.Publication, error) { return b.s.PublicationBySourceID(b.ctx, "src-1") },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "publication", got, p1)
		wantStrings(t, "publication vouchers", codes(got.Vouchers), []string{"PUB-0", "PUB-1"})
	}
	got, err := b.s.CustomerPublication(b.ctx, c.ID, "cust_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != p2.ID {
		t.Fatalf("CustomerPublication returned %s, want the latest, %s", got.ID, p2.ID)
	}
	if len(got.Vouchers) != 1 || got.Vouchers[0].Code != "PUB-2" || got.Vouchers[0].HolderID != "cust_1" {
		t.Fatalf("latest publication's vouchers: %+v", got.Vouchers)
	}

	_, err = b.s.Publication(b.ctx, "pub_missing")
	wantCode(t, err, promo.ENotFound)
	_, err = b.s.PublicationBySourceID(b.ctx, "src-9")
	wantCode(t, err, promo.ENotFound)
	_, err = b.s.CustomerPublication(b.ctx, c.ID, "cust_3")
	wantCode(t, err, promo.ENotFound)
	_, err = b.s.CustomerPublication(b.ctx, "camp_other", "cust_1")
	wantCode(t, err, promo.ENotFound)

	err = b.updateErr(func(tx promo.Tx) error {
		return tx.CreatePublication(b.ctx, &promo.Publication{ID: promo.NewID(promo.PrefixPublication), SourceID: "src-1",
			CampaignID: c.ID, CustomerID: "cust_9", Result: promo.PublicationSuccess, CreatedAt: b.at(20)})
	})
	wantCode(t, err, promo.EDuplicateSourceID)

	// A deleted voucher drops out of its publication.
	b.update(t, func(tx promo.Tx) error { return tx.DeleteVoucher(b.ctx, p1.Vouchers[0].ID) })
	got, err = b.s.Publication(b.ctx, p1.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "vouchers after a deletion", codes(got.Vouchers), []string{"PUB-1"})
}

func testPublications(t *testing.T, b *bundle) {
	a, aTier := b.campaign(t, "PA", 1)
	c, cTier := b.campaign(t, "PC", 1)
	for i := range 4 {
		b.insert(t, b.tierVoucher(t, aTier, fmt.Sprintf("PA-%d", i), 2+i), b.tierVoucher(t, cTier, fmt.Sprintf("PC-%d", i), 2+i))
	}
	p1 := b.publish(t, a, "cust_1", "s1", 1, 10) // PA-0
	b.publish(t, a, "cust_2", "s2", 2, 11)       // PA-1, PA-2
	b.publish(t, c, "cust_1", "s3", 1, 12)       // PC-0
	b.publish(t, c, "cust_3", "s4", 1, 13)       // PC-1
	sources := func(ps []*promo.Publication) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.SourceID
		}
		return out
	}
	lp := func(limit, pg int, asc bool) promo.ListParams {
		return promo.ListParams{Limit: limit, Page: pg, Ascending: asc}
	}
	tests := []struct {
		name  string
		f     promo.PublicationFilter
		want  []string
		total int64
	}{
		{"newest first", promo.PublicationFilter{ListParams: lp(3, 1, false)}, []string{"s4", "s3", "s2"}, 4},
		{"page 2", promo.PublicationFilter{ListParams: lp(3, 2, false)}, []string{"s1"}, 4},
		{"oldest first", promo.PublicationFilter{ListParams: lp(2, 1, true)}, []string{"s1", "s2"}, 4},
		{"campaign", promo.PublicationFilter{ListParams: lp(10, 1, true), CampaignID: c.ID}, []string{"s3", "s4"}, 2},
		{"customer", promo.PublicationFilter{ListParams: lp(10, 1, true), CustomerID: "cust_1"}, []string{"s1", "s3"}, 2},
		{"voucher", promo.PublicationFilter{ListParams: lp(10, 1, true), VoucherID: p1.Vouchers[0].ID}, []string{"s1"}, 1},
		{"bad voucher ID", promo.PublicationFilter{ListParams: lp(10, 1, true), VoucherID: "v_nope"}, nil, 0},
		{"source", promo.PublicationFilter{ListParams: lp(10, 1, true), SourceID: "s2"}, []string{"s2"}, 1},
		{"result", promo.PublicationFilter{ListParams: lp(10, 1, true), Result: promo.PublicationSuccess, CampaignID: a.ID}, []string{"s1", "s2"}, 2},
		{"other result", promo.PublicationFilter{ListParams: lp(10, 1, true), Result: "FAILURE"}, nil, 0},
		{"created", promo.PublicationFilter{ListParams: lp(10, 1, true), Created: promo.TimeRange{After: b.atPtr(10), Before: b.atPtr(13)}}, []string{"s2", "s3"}, 2},
	}
	for _, tc := range tests {
		ps, n, err := b.s.Publications(b.ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		wantStrings(t, tc.name, sources(ps), tc.want)
		wantTotal(t, tc.name, n, tc.total)
		for _, p := range ps {
			if len(p.Vouchers) == 0 {
				t.Fatalf("%s: publication %s has no vouchers", tc.name, p.SourceID)
			}
		}
	}
	ps, _, err := b.s.Publications(b.ctx, promo.PublicationFilter{ListParams: lp(10, 1, true), SourceID: "s2"})
	if err != nil {
		t.Fatal(err)
	}
	wantStrings(t, "vouchers of s2", codes(ps[0].Vouchers), []string{"PA-1", "PA-2"})
}

func (b *bundle) newAction(status string, sec int) *promo.AsyncAction {
	return &promo.AsyncAction{
		ID:        promo.NewID(promo.PrefixAction),
		Type:      promo.ActionGenerate,
		Status:    status,
		Result:    promo.ActionResult{Message: "queued"},
		RequestID: "v-req",
		CreatedAt: b.at(sec),
		APIKeyID:  "app_1",
		Params:    json.RawMessage(`{"count":1000}`),
	}
}

func testAsyncAction(t *testing.T, b *bundle) {
	a := b.newAction(promo.ActionEnqueued, 1)
	a.CampaignID = "camp_1"
	b.update(t, func(tx promo.Tx) error { return tx.CreateAsyncAction(b.ctx, a) })
	got, err := b.s.AsyncAction(b.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("action:\n got %+v\nwant %+v", got, a)
	}
	_, err = b.s.AsyncAction(b.ctx, "aa_missing")
	wantCode(t, err, promo.ENotFound)

	a.Status = promo.ActionDone
	a.Progress = 100
	a.Result = promo.ActionResult{Message: "done", DoneCount: 998, FailedCount: 2,
		Failed: []promo.FailedCode{{Code: "X-1", Reason: "duplicate"}, {Code: "X-2", Reason: "duplicate"}}}
	a.State = json.RawMessage(`{"next":1000}`)
	a.UpdatedAt, a.StartedAt, a.LeaseUntil = b.atPtr(5), b.atPtr(2), b.atPtr(65)
	a.ProcessingTime = 3000
	b.update(t, func(tx promo.Tx) error { return tx.UpdateAsyncAction(b.ctx, a) })
	got, err = b.s.AsyncAction(b.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("updated action:\n got %+v\nwant %+v", got, a)
	}
	missing := b.newAction(promo.ActionDone, 1)
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.UpdateAsyncAction(b.ctx, missing) }), promo.ENotFound)

	other := b.newAction(promo.ActionEnqueued, 2)
	other.Type = promo.ActionCampaignImport
	b.update(t, func(tx promo.Tx) error { return tx.CreateAsyncAction(b.ctx, other) })
	lp := promo.ListParams{Limit: 10, Page: 1}
	for _, tc := range []struct {
		name  string
		f     promo.ActionFilter
		want  []string
		total int64
	}{
		{"all", promo.ActionFilter{ListParams: lp}, []string{other.ID, a.ID}, 2},
		{"status", promo.ActionFilter{ListParams: lp, Status: promo.ActionDone}, []string{a.ID}, 1},
		{"type", promo.ActionFilter{ListParams: lp, Type: promo.ActionCampaignImport}, []string{other.ID}, 1},
		{"page 2", promo.ActionFilter{ListParams: promo.ListParams{Limit: 1, Page: 2}}, []string{a.ID}, 2},
	} {
		as, n, err := b.s.AsyncActions(b.ctx, tc.f)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(as))
		for i, a := range as {
			ids[i] = a.ID
		}
		wantStrings(t, tc.name, ids, tc.want)
		wantTotal(t, tc.name, n, tc.total)
	}
}

func testClaimAsyncAction(t *testing.T, b *bundle) {
	claim := func(now, until int) (*promo.AsyncAction, error) {
		var a *promo.AsyncAction
		err := b.s.Update(b.ctx, func(tx promo.Tx) error {
			var err error
			a, err = tx.ClaimAsyncAction(b.ctx, b.at(now), b.at(until))
			return err
		})
		return a, err
	}
	_, err := claim(100, 160)
	wantCode(t, err, promo.ENotFound)

	done := b.newAction(promo.ActionDone, 1)
	failed := b.newAction(promo.ActionFailed, 2)
	first := b.newAction(promo.ActionEnqueued, 3)
	second := b.newAction(promo.ActionEnqueued, 4)
	b.update(t, func(tx promo.Tx) error {
		for _, a := range []*promo.AsyncAction{done, failed, second, first} {
			if err := tx.CreateAsyncAction(b.ctx, a); err != nil {
				return err
			}
		}
		return nil
	})

	a, err := claim(100, 160)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != first.ID || a.Status != promo.ActionInProgress || a.LeaseUntil == nil || !a.LeaseUntil.Equal(b.at(160).Time) {
		t.Fatalf("claimed %+v, want the oldest enqueued action in progress until t0+160s", a)
	}
	if got, err := b.s.AsyncAction(b.ctx, first.ID); err != nil || got.Status != promo.ActionInProgress || got.LeaseUntil == nil {
		t.Fatalf("the claim was not stored: %+v, %v", got, err)
	}
	a, err = claim(101, 161)
	if err != nil || a.ID != second.ID {
		t.Fatalf("second claim: %+v, %v; want %s", a, err, second.ID)
	}
	// Both are leased; nothing to claim until a lease ends.
	_, err = claim(150, 210)
	wantCode(t, err, promo.ENotFound)
	_, err = claim(160, 220)
	wantCode(t, err, promo.ENotFound) // the lease ends at 160, not before
	a, err = claim(161, 221)
	if err != nil || a.ID != first.ID || !a.LeaseUntil.Equal(b.at(221).Time) {
		t.Fatalf("claim after the first lease ended: %+v, %v", a, err)
	}

	// A worker that finishes takes its action out of the queue for good.
	a.Status = promo.ActionDone
	a.LeaseUntil = nil
	b.update(t, func(tx promo.Tx) error { return tx.UpdateAsyncAction(b.ctx, a) })
	a, err = claim(1000, 1060)
	if err != nil || a.ID != second.ID {
		t.Fatalf("claim: %+v, %v; want %s, whose lease ended", a, err, second.ID)
	}
	_, err = claim(1000, 1060)
	wantCode(t, err, promo.ENotFound)
}

func testAudit(t *testing.T, b *bundle) {
	entries := []*promo.AuditEntry{
		{Action: promo.AuditCreated, ResourceType: "campaign", ResourceID: "camp_a", CampaignID: "camp_a"},
		{Action: promo.AuditGenerated, ResourceType: "campaign", ResourceID: "camp_a", Details: promo.Metadata{"count": 3}},
		{Action: promo.AuditPublished, ResourceType: "voucher", ResourceID: "v_1", CampaignID: "camp_a", VoucherID: "v_1"},
		{Action: promo.AuditCreated, ResourceType: "campaign", ResourceID: "camp_b", CampaignID: "camp_b"},
		{Action: promo.AuditDisabled, ResourceType: "voucher", ResourceID: "v_2", CampaignID: "camp_b", VoucherID: "v_2", APIKeyID: "app_1"},
		{Action: promo.AuditUpdated, ResourceType: "voucher", ResourceID: "v_1"},
	}
	b.update(t, func(tx promo.Tx) error {
		for i, e := range entries {
			e.Time = b.at(i + 1)
			if err := tx.AppendAudit(b.ctx, e); err != nil {
				return err
			}
			if e.ID == 0 || i > 0 && e.ID <= entries[i-1].ID {
				return fmt.Errorf("entry %d has ID %d", i, e.ID)
			}
		}
		return nil
	})
	lp := func(limit, pg int, asc bool) promo.ListParams {
		return promo.ListParams{Limit: limit, Page: pg, Ascending: asc}
	}
	tests := []struct {
		name  string
		f     promo.AuditFilter
		want  []int
		total int64
	}{
		{"newest first", promo.AuditFilter{ListParams: lp(2, 1, false)}, []int{5, 4}, 6},
		{"page 3", promo.AuditFilter{ListParams: lp(2, 3, false)}, []int{1, 0}, 6},
		{"oldest first", promo.AuditFilter{ListParams: lp(2, 1, true)}, []int{0, 1}, 6},
		{"campaign: its own entries and its vouchers'", promo.AuditFilter{ListParams: lp(10, 1, true), CampaignID: "camp_a"}, []int{0, 1, 2}, 3},
		{"campaign b", promo.AuditFilter{ListParams: lp(10, 1, false), CampaignID: "camp_b"}, []int{4, 3}, 2},
		{"voucher", promo.AuditFilter{ListParams: lp(10, 1, true), VoucherID: "v_1"}, []int{2, 5}, 2},
		{"campaign and voucher", promo.AuditFilter{ListParams: lp(10, 1, true), CampaignID: "camp_a", VoucherID: "v_1"}, []int{2}, 1},
		{"nothing", promo.AuditFilter{ListParams: lp(10, 1, true), CampaignID: "camp_z"}, nil, 0},
	}
	for _, tc := range tests {
		es, n, err := b.s.Audit(b.ctx, tc.f)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var want []*promo.AuditEntry
		for _, i := range tc.want {
			want = append(want, entries[i])
		}
		if len(want) == 0 {
			want = []*promo.AuditEntry{}
		}
		sameJSON(t, tc.name, es, want)
		wantTotal(t, tc.name, n, tc.total)
	}
}

func testAPIKey(t *testing.T, b *bundle) {
	k1 := &promo.APIKey{ID: "app_one", Name: "shop", TokenHash: []byte{1, 2, 3}, Kind: promo.KeySecret, CreatedAt: b.at(2)}
	k2 := &promo.APIKey{ID: "app_two", Name: "admin", TokenHash: []byte{4, 5, 6}, Kind: promo.KeySecret, CreatedAt: b.at(1)}
	k3 := &promo.APIKey{ID: "app_three_r", Name: "checkout", TokenHash: []byte{7}, Kind: promo.KeyRestricted,
		Scopes: []string{promo.ScopeValidations, promo.ScopeRedemptions}, CreatedAt: b.at(3)}
	k4 := &promo.APIKey{ID: "app_four_c", Name: "web", TokenHash: []byte{8}, Kind: promo.KeyClient,
		Origins: []string{"https://shop.example", "http://localhost:3000"}, CreatedAt: b.at(4)}
	b.update(t, func(tx promo.Tx) error {
		for _, k := range []*promo.APIKey{k1, k2, k3, k4} {
			if err := tx.CreateAPIKey(b.ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range []*promo.APIKey{k1, k3, k4} {
		got, err := b.s.APIKey(b.ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("key:\n got %+v\nwant %+v", got, want)
		}
	}
	_, err := b.s.APIKey(b.ctx, "app_three")
	wantCode(t, err, promo.ENotFound)
	wantCode(t, b.updateErr(func(tx promo.Tx) error {
		return tx.CreateAPIKey(b.ctx, &promo.APIKey{ID: "app_one", Name: "again", TokenHash: []byte{9}, CreatedAt: b.at(3)})
	}), promo.EDuplicateFound)

	b.update(t, func(tx promo.Tx) error { return tx.RevokeAPIKey(b.ctx, "app_one", b.at(10)) })
	got, err := b.s.APIKey(b.ctx, "app_one")
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(b.at(10).Time) {
		t.Fatalf("revoked key has RevokedAt %v", got.RevokedAt)
	}
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.RevokeAPIKey(b.ctx, "app_three", b.at(10)) }), promo.ENotFound)

	ks, err := b.s.APIKeys(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 4 || ks[0].ID != "app_two" || ks[1].ID != "app_one" || ks[1].RevokedAt == nil || ks[3].Kind != promo.KeyClient {
		t.Fatalf("APIKeys: %+v, want app_two, the revoked app_one, then the restricted and client keys", ks)
	}
}

func testPing(t *testing.T, b *bundle) {
	if err := b.s.Ping(b.ctx); err != nil {
		t.Fatal(err)
	}
}
