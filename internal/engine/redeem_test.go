package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"promo/internal/engine"
	"promo/internal/promo"
)

// voucherWith creates a standalone voucher with code, quantity (0:
// unlimited) and the given discount.
func (b *bundle) voucherWith(t *testing.T, code string, quantity int64, d promo.Discount, edit func(*engine.VoucherInput)) *promo.Voucher {
	t.Helper()
	in := engine.VoucherInput{Code: code}
	in.Discount = &d
	if quantity > 0 {
		in.Redemption = &promo.Quantity{Quantity: &quantity}
	}
	if edit != nil {
		edit(&in)
	}
	v, err := b.eng.CreateVoucher(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func redeemReq(code, customer string, amount int64) engine.RedeemRequest {
	src := customer
	return engine.RedeemRequest{
		Redeemables: []engine.RedeemableInput{{Object: "voucher", ID: code}},
		Customer:    &engine.CustomerInput{SourceID: &src},
		Order:       &engine.OrderInput{Amount: &amount},
	}
}

var tenOff = promo.Discount{Type: promo.DiscountAmount, AmountOff: 1000}

// TestRedeemQuantityUnderConcurrency is promise 1: 200 customers redeem a
// code of quantity 10 at once; exactly 10 succeed, every other one fails
// with quantity_exceeded, and the code's redeemed quantity is 10. Twenty
// rounds, each on a fresh code.
func TestRedeemQuantityUnderConcurrency(t *testing.T) {
	b := setup(t, engine.Options{})
	ctx := context.Background()
	for round := range 20 {
		code := fmt.Sprintf("RACE-%02d", round)
		b.voucherWith(t, code, 10, tenOff, nil)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ok       int
			exceeded int
			other    []error
		)
		for i := range 200 {
			wg.Go(func() {
				_, _, err := b.eng.Redeem(ctx, redeemReq(code, fmt.Sprintf("c-%d-%d", round, i), 5000))
				mu.Lock()
				defer mu.Unlock()
				switch promo.ErrorCode(err) {
				case "":
					ok++
				case promo.EQuantityExceeded:
					exceeded++
				default:
					other = append(other, err)
				}
			})
		}
		wg.Wait()
		if ok != 10 || exceeded != 190 || len(other) > 0 {
			t.Fatalf("round %d: %d succeeded, %d quantity_exceeded, other errors %v; want 10, 190, none", round, ok, exceeded, other)
		}
		v, err := b.eng.Voucher(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if v.RedeemedQuantity != 10 {
			t.Fatalf("round %d: redeemed_quantity %d, want 10", round, v.RedeemedQuantity)
		}
		list, total, err := b.store.Redemptions(ctx, promo.RedemptionFilter{VoucherID: v.ID, Result: promo.ResultSuccess, ListParams: promo.ListParams{Limit: 100, Page: 1}})
		if err != nil || total != 10 || len(list) != 10 {
			t.Fatalf("round %d: %d successful redemptions stored (%v), want 10", round, total, err)
		}
		_, failures, _ := b.store.Redemptions(ctx, promo.RedemptionFilter{VoucherID: v.ID, Result: promo.ResultFailure, ListParams: promo.ListParams{Limit: 1, Page: 1}})
		if failures != 190 {
			t.Fatalf("round %d: %d failed redemptions stored, want 190", round, failures)
		}
	}
}

// TestRedeemPerCustomerLimit: one customer sends 100 concurrent
// redemptions of an unlimited code under a per-customer limit rule.
func TestRedeemPerCustomerLimit(t *testing.T) {
	for _, limit := range []int64{1, 3} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			b := setup(t, engine.Options{})
			ctx := context.Background()
			code := "LIMIT-1"
			b.voucherWith(t, code, 0, tenOff, nil)
			rule := promo.ValidationRule{Name: "per customer", Rules: promo.RuleSet{Rules: map[string]promo.Rule{
				"1": {Name: promo.CountRedemptionsPerCustomer, Conditions: promo.Conditions{"$less_than_or_equal": {limit}}},
			}}}
			r, err := b.eng.CreateValidationRule(ctx, rule)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.eng.AssignRule(ctx, r.ID, engine.AssignmentInput{Voucher: code}); err != nil {
				t.Fatal(err)
			}
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				ok, bad  int
				otherErr []error
			)
			for range 100 {
				wg.Go(func() {
					_, _, err := b.eng.Redeem(ctx, redeemReq(code, "the-one", 5000))
					mu.Lock()
					defer mu.Unlock()
					switch promo.ErrorCode(err) {
					case "":
						ok++
					case promo.ERedemptionRulesViolated:
						bad++
					default:
						otherErr = append(otherErr, err)
					}
				})
			}
			wg.Wait()
			if int64(ok) != limit || bad != 100-int(limit) || len(otherErr) > 0 {
				t.Fatalf("%d succeeded, %d refused by the rule, others %v; want %d, %d", ok, bad, otherErr, limit, 100-limit)
			}
			// Another customer is not limited by the first one's redemptions.
			if _, _, err := b.eng.Redeem(ctx, redeemReq(code, "another", 5000)); err != nil {
				t.Fatalf("another customer: %v", err)
			}
		})
	}
}

// TestSessionLocks: a code of quantity 1 locked by one session cannot be
// taken by another until the lock is released or expires.
func TestSessionLocks(t *testing.T) {
	b := setup(t, engine.Options{})
	ctx := context.Background()
	b.voucherWith(t, "LOCK-1", 1, tenOff, nil)
	withSession := func(key string, ttl int64, unit string) engine.RedeemRequest {
		in := redeemReq("LOCK-1", "cust-"+key, 5000)
		in.Session = &engine.SessionInput{Type: "LOCK", Key: key, TTL: ttl, TTLUnit: unit}
		return in
	}
	val, err := b.eng.Validate(ctx, withSession("s1", 10, "MINUTES"))
	if err != nil || !val.Valid {
		t.Fatalf("first session: %+v %v", val, err)
	}
	val, err = b.eng.Validate(ctx, withSession("s2", 10, "MINUTES"))
	if err != nil || val.Valid || val.FirstError().Code != promo.EQuantityExceeded {
		t.Fatalf("second session while the first holds the lock: valid %v, %v", val.Valid, err)
	}
	if _, _, err := b.eng.Redeem(ctx, withSession("s2", 10, "MINUTES")); promo.ErrorCode(err) != promo.EQuantityExceeded {
		t.Fatalf("redeem by the second session: %v, want quantity_exceeded", err)
	}
	// Release: the second session can lock it now.
	if err := b.eng.ReleaseSession(ctx, "LOCK-1", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := b.eng.ReleaseSession(ctx, "LOCK-1", "s1"); promo.ErrorCode(err) != promo.ENotFound {
		t.Fatalf("second release: %v, want not_found", err)
	}
	if val, err := b.eng.Validate(ctx, withSession("s2", 1, "MINUTES")); err != nil || !val.Valid {
		t.Fatalf("after the release: valid %v, %v", val.Valid, err)
	}
	if val, _ := b.eng.Validate(ctx, withSession("s3", 1, "MINUTES")); val.Valid {
		t.Fatal("a third session took the code s2 holds")
	}
	// Expiry: one minute later s2's lock is gone.
	b.clock.Add(time.Minute)
	if val, err := b.eng.Validate(ctx, withSession("s3", 1, "MINUTES")); err != nil || !val.Valid {
		t.Fatalf("after s2's lock expired: valid %v, %v", val.Valid, err)
	}
	// The holder of the lock redeems; the lock is used up.
	if _, _, err := b.eng.Redeem(ctx, withSession("s3", 1, "MINUTES")); err != nil {
		t.Fatalf("redeem under its own lock: %v", err)
	}
	if _, _, err := b.eng.Redeem(ctx, withSession("s3", 1, "MINUTES")); promo.ErrorCode(err) != promo.EQuantityExceeded {
		t.Fatalf("second redemption: %v, want quantity_exceeded", err)
	}
}

// TestValidityWindow: start inclusive, expiration exclusive, to the
// millisecond, across the day Europe's clocks go forward (2026-03-29).
func TestValidityWindow(t *testing.T) {
	b := setup(t, engine.Options{})
	ctx := context.Background()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	// 02:30 does not exist in Paris that day; 03:00 CEST is 01:00 UTC.
	start := promo.NewTime(time.Date(2026, 3, 29, 3, 0, 0, 0, paris))
	end := promo.NewTime(time.Date(2026, 3, 29, 4, 0, 0, 0, paris))
	b.voucherWith(t, "WINDOW-1", 0, tenOff, func(in *engine.VoucherInput) {
		in.StartDate, in.ExpirationDate = &start, &end
	})
	cases := []struct {
		at   time.Time
		want string
	}{
		{start.Add(-time.Millisecond), promo.EVoucherNotActive},
		{start.Time, ""},
		{end.Add(-time.Millisecond), ""},
		{end.Time, promo.EVoucherExpired},
	}
	for _, c := range cases {
		b.clock.mu.Lock()
		b.clock.t = c.at
		b.clock.mu.Unlock()
		val, err := b.eng.Validate(ctx, redeemReq("WINDOW-1", "c", 5000))
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if e := val.FirstError(); e != nil {
			got = e.Code
		}
		if got != c.want || val.Valid != (c.want == "") {
			t.Errorf("at %s: valid %v, error %q; want %q", c.at.UTC().Format(time.RFC3339Nano), val.Valid, got, c.want)
		}
	}
}

// TestRollback: a rollback marks the redemption, gives the budget back,
// and by default does not give the code its redemption back; a second
// rollback answers already_rolled_back.
func TestRollback(t *testing.T) {
	for _, restore := range []bool{false, true} {
		t.Run(fmt.Sprint("restore=", restore), func(t *testing.T) {
			b := setup(t, engine.Options{})
			ctx := context.Background()
			qty := int64(1)
			c, err := b.eng.CreateCampaign(ctx, engine.CampaignInput{Name: "rb", Type: promo.CampaignStatic,
				RollbackRestoresQuantity: &restore, Voucher: &engine.TemplateInput{Discount: &tenOff, Redemption: &promo.Quantity{Quantity: &qty}}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.eng.AddVoucherWithCode(ctx, c.Campaign.ID, "RB-1", nil); err != nil {
				t.Fatal(err)
			}
			res, _, err := b.eng.Redeem(ctx, redeemReq("RB-1", "c1", 5000))
			if err != nil {
				t.Fatal(err)
			}
			id := res.Redemptions[0].ID
			rb, _, err := b.eng.Rollback(ctx, id, engine.RollbackInput{Reason: "refund"})
			if err != nil {
				t.Fatal(err)
			}
			if rb.Rollbacks[0].Amount != -1000 || rb.Rollbacks[0].RedemptionID != id {
				t.Fatalf("rollback %+v", rb.Rollbacks[0])
			}
			r, _ := b.store.Redemption(ctx, id)
			if r.Status != promo.StatusRolledBack || r.RollbackID != rb.Rollbacks[0].ID {
				t.Fatalf("redemption after rollback: %s %s", r.Status, r.RollbackID)
			}
			if _, _, err := b.eng.Rollback(ctx, id, engine.RollbackInput{}); promo.ErrorCode(err) != promo.EAlreadyRolledBack {
				t.Fatalf("second rollback: %v, want already_rolled_back", err)
			}
			counter, _ := b.store.Counter(ctx, promo.CounterCampaign(c.Campaign.ID), promo.AllTime)
			if counter.Amount != 0 {
				t.Fatalf("campaign's discounted amount after the rollback: %d, want 0", counter.Amount)
			}
			_, _, err = b.eng.Redeem(ctx, redeemReq("RB-1", "c2", 5000))
			if restore && err != nil {
				t.Fatalf("redeem after a restoring rollback: %v", err)
			}
			if !restore && promo.ErrorCode(err) != promo.EQuantityExceeded {
				t.Fatalf("redeem after a rollback: %v, want quantity_exceeded (no refund chaining)", err)
			}
		})
	}
}

// TestRedemptionCounters: a redemption adds to the counters the limit rules
// read, and to no other: a campaign's code to its campaign's scopes, a
// standalone code to its own, both to the customer's; a rollback takes its
// amounts back out of the same ones.
func TestRedemptionCounters(t *testing.T) {
	b := setup(t, engine.Options{})
	ctx := context.Background()
	c, err := b.eng.CreateCampaign(ctx, engine.CampaignInput{Name: "counted", Type: promo.CampaignStatic, Voucher: &engine.TemplateInput{Discount: &tenOff}})
	if err != nil {
		t.Fatal(err)
	}
	inCampaign, err := b.eng.AddVoucherWithCode(ctx, c.Campaign.ID, "CNT-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	alone := b.voucherWith(t, "CNT-2", 0, tenOff, nil)
	var redemptions []string
	for _, code := range []string{"CNT-1", "CNT-2"} {
		res, _, err := b.eng.Redeem(ctx, redeemReq(code, "counted-customer", 5000))
		if err != nil {
			t.Fatal(err)
		}
		redemptions = append(redemptions, res.Redemptions[0].ID)
	}
	cust, err := b.store.Customer(ctx, "counted-customer")
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, amount int64, want map[string]int64) {
		t.Helper()
		for scope, count := range want {
			got, err := b.store.Counter(ctx, scope, promo.AllTime)
			if err != nil {
				t.Fatal(err)
			}
			if got.Count != count || got.Amount != amount*count {
				t.Errorf("%s: counter %s = %+v, want count %d and amount %d", when, scope, got, count, amount*count)
			}
		}
	}
	counts := map[string]int64{
		promo.CounterCampaign(c.Campaign.ID):                  1,
		promo.CounterCampaignCustomer(c.Campaign.ID, cust.ID): 1,
		promo.CounterVoucher(alone.ID):                        1,
		promo.CounterVoucherCustomer(alone.ID, cust.ID):       1,
		promo.CounterCustomer(cust.ID):                        2,
		promo.CounterVoucher(inCampaign.ID):                   0,
		promo.CounterVoucherCustomer(inCampaign.ID, cust.ID):  0,
	}
	check("after the redemptions", 1000, counts)
	for _, id := range redemptions {
		if _, _, err := b.eng.Rollback(ctx, id, engine.RollbackInput{}); err != nil {
			t.Fatal(err)
		}
	}
	// The rollbacks keep the counts (the codes stay used) and give the
	// discounts back.
	check("after the rollbacks", 0, counts)
}

// TestRedeemIdempotency: retries with one key take effect once, even
// concurrently; the key with another request is refused.
func TestRedeemIdempotency(t *testing.T) {
	b := setup(t, engine.Options{})
	ctx := promo.NewContextWithAPIKey(context.Background(), "key_1")
	b.voucherWith(t, "IDEM-1", 0, tenOff, nil)
	req := func(hash string) engine.RedeemRequest {
		in := redeemReq("IDEM-1", "c1", 5000)
		in.Idempotency = &engine.Idempotency{Key: "k1", Hash: hash, Render: func(r any) ([]byte, error) {
			return []byte(r.(*engine.RedemptionResult).Redemptions[0].ID), nil
		}}
		return in
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		bodies = map[string]int{}
	)
	for range 20 {
		wg.Go(func() {
			res, replay, err := b.eng.Redeem(ctx, req("h1"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Errorf("retry: %v", err)
			case replay != nil:
				bodies[string(replay)]++
			default:
				bodies[res.Redemptions[0].ID]++
			}
		})
	}
	wg.Wait()
	if len(bodies) != 1 {
		t.Fatalf("20 retries gave %d different redemptions: %v", len(bodies), bodies)
	}
	v, _ := b.eng.Voucher(ctx, "IDEM-1")
	if v.RedeemedQuantity != 1 {
		t.Fatalf("redeemed_quantity %d after 20 retries, want 1", v.RedeemedQuantity)
	}
	if _, _, err := b.eng.Redeem(ctx, req("h2")); promo.ErrorCode(err) != promo.EIdempotencyKeyReused {
		t.Fatalf("same key, another request: %v, want idempotency_key_reused", err)
	}
}

// TestRedeemBudgetUnderConcurrency is promise 1 for budgets: a campaign
// with a budget of 5,000 in discounts, whose code takes 1,000 off, gives
// exactly five discounts to 50 concurrent customers.
func TestRedeemBudgetUnderConcurrency(t *testing.T) {
	b := setup(t, engine.Options{})
	ctx := context.Background()
	c, err := b.eng.CreateCampaign(ctx, engine.CampaignInput{Name: "budget", Type: promo.CampaignStatic,
		Voucher: &engine.TemplateInput{Discount: &tenOff}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.AddVoucherWithCode(ctx, c.Campaign.ID, "BUDGET-1", nil); err != nil {
		t.Fatal(err)
	}
	rule, err := b.eng.CreateValidationRule(ctx, promo.ValidationRule{Name: "budget", Rules: promo.RuleSet{Rules: map[string]promo.Rule{
		"1": {Name: promo.CountCampaignDiscounted, Conditions: promo.Conditions{"$less_than_or_equal": {int64(5000)}}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.AssignRule(ctx, rule.ID, engine.AssignmentInput{Campaign: "budget"}); err != nil {
		t.Fatal(err)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ok, bad int
		other   []error
	)
	for i := range 50 {
		wg.Go(func() {
			_, _, err := b.eng.Redeem(ctx, redeemReq("BUDGET-1", fmt.Sprint("b-", i), 5000))
			mu.Lock()
			defer mu.Unlock()
			switch promo.ErrorCode(err) {
			case "":
				ok++
			case promo.ERedemptionRulesViolated:
				bad++
			default:
				other = append(other, err)
			}
		})
	}
	wg.Wait()
	if ok != 5 || bad != 45 || len(other) > 0 {
		t.Fatalf("%d succeeded, %d refused by the budget, others %v; want 5, 45", ok, bad, other)
	}
	counter, err := b.store.Counter(ctx, promo.CounterCampaign(c.Campaign.ID), promo.AllTime)
	if err != nil || counter.Amount != 5000 || counter.Count != 5 {
		t.Fatalf("campaign counter %+v (%v), want 5 redemptions, 5000 discounted", counter, err)
	}
}

// TestCampaignBudgetCaps: a campaign's budget caps its redemptions and
// their discount, overall and per day, under concurrency; a rollback gives
// the discount back; BudgetUsage shows what is used and when it is
// exhausted.
func TestCampaignBudgetCaps(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		budget promo.Budget
		want   int // successes among 20 concurrent redemptions of 1,000 off
	}{
		{"redemptions", promo.Budget{Redemptions: 3}, 3},
		{"discount amount", promo.Budget{DiscountAmount: 2000}, 2},
		{"daily redemptions", promo.Budget{DailyRedemptions: 4}, 4},
		{"daily discount amount", promo.Budget{DailyDiscountAmount: 1000}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := setup(t, engine.Options{})
			budget := tc.budget
			c, err := b.eng.CreateCampaign(ctx, engine.CampaignInput{Name: "capped", Type: promo.CampaignStatic,
				Budget: &budget, Voucher: &engine.TemplateInput{Discount: &tenOff}})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 21 {
				if _, err := b.eng.AddVoucherWithCode(ctx, c.Campaign.ID, fmt.Sprintf("CAP-%d", i), nil); err != nil {
					t.Fatal(err)
				}
			}
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				ok, over int
				ids      []string
			)
			for i := range 20 {
				wg.Go(func() {
					res, _, err := b.eng.Redeem(ctx, redeemReq(fmt.Sprintf("CAP-%d", i), fmt.Sprint("c-", i), 5000))
					mu.Lock()
					defer mu.Unlock()
					switch promo.ErrorCode(err) {
					case "":
						ok++
						ids = append(ids, res.Redemptions[0].ID)
					case promo.EBudgetExceeded:
						over++
					default:
						t.Errorf("redemption: %v", err)
					}
				})
			}
			wg.Wait()
			if ok != tc.want || over != 20-tc.want {
				t.Fatalf("%d succeeded and %d passed the budget; want %d and %d", ok, over, tc.want, 20-tc.want)
			}
			camp, err := b.store.Campaign(ctx, c.Campaign.ID)
			if err != nil {
				t.Fatal(err)
			}
			u, err := b.eng.BudgetUsage(ctx, camp)
			if err != nil || u.Redemptions != int64(ok) || u.DiscountAmount != int64(ok)*1000 || u.Exhausted == "" {
				t.Fatalf("usage %+v (%v), want %d redemptions and exhausted", u, err, ok)
			}
			switch {
			case tc.budget.DailyRedemptions > 0 || tc.budget.DailyDiscountAmount > 0:
				// A new day opens the daily caps again.
				b.clock.Add(24 * time.Hour)
				if _, _, err := b.eng.Redeem(ctx, redeemReq("CAP-20", "next-day", 5000)); err != nil {
					t.Fatalf("the next day: %v", err)
				}
			case tc.budget.DiscountAmount > 0:
				// A rollback gives its discount back to the budget.
				if _, _, err := b.eng.Rollback(ctx, ids[0], engine.RollbackInput{}); err != nil {
					t.Fatal(err)
				}
				if _, _, err := b.eng.Redeem(ctx, redeemReq("CAP-20", "after-rollback", 5000)); err != nil {
					t.Fatalf("after a rollback: %v", err)
				}
			default:
				// A rolled-back redemption still counts.
				if _, _, err := b.eng.Rollback(ctx, ids[0], engine.RollbackInput{}); err != nil {
					t.Fatal(err)
				}
				if _, _, err := b.eng.Redeem(ctx, redeemReq("CAP-20", "after-rollback", 5000)); promo.ErrorCode(err) != promo.EBudgetExceeded {
					t.Fatalf("after a rollback: %v, want campaign_budget_exceeded", err)
				}
			}
		})
	}
}
