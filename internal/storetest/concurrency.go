package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"promo/internal/promo"
)

// The store-level promises under concurrency: Updates that read, decide and
// write behave as if run one after another, whichever store runs them and
// however it gets there (one writer, locks, or retries).

// concurrently runs fn(i) for i in [0, n) on n goroutines released at once,
// and returns their errors by i.
func concurrently(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// outcomes counts errs: nil ones, those that are want, and fails the test
// on any other.
func outcomes(t *testing.T, errs []error, want error) (ok, refused int) {
	t.Helper()
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			refused++
		default:
			t.Errorf("Update %d: %v", i, err)
		}
	}
	return ok, refused
}

var errOverBudget = errors.New("over budget")

// testConcurrentBudget: redemptions of distinct codes of one campaign each
// read the campaign's discounted amount and add to it only while it stays
// within a budget. Exactly as many fit as would one after another.
func testConcurrentBudget(t *testing.T, b *bundle) {
	const (
		redeemers = 50
		amount    = 1000
		budget    = 5 * amount
	)
	c, tier := b.campaign(t, "Budget", 1)
	vs := make([]*promo.Voucher, redeemers)
	for i := range vs {
		vs[i] = b.tierVoucher(t, tier, fmt.Sprintf("BUDGET-%03d", i), 2)
	}
	b.insert(t, vs...)
	day := promo.Day(b.t0)
	scope := promo.CounterCampaign(c.ID)

	errs := concurrently(redeemers, func(i int) error {
		return b.s.Update(b.ctx, func(tx promo.Tx) error {
			v, err := tx.LockVoucher(b.ctx, vs[i].Key)
			if err != nil {
				return err
			}
			spent, err := tx.Counter(b.ctx, scope, promo.AllTime)
			if err != nil {
				return err
			}
			if spent.Amount+amount > budget {
				return errOverBudget
			}
			v.RedeemedQuantity++
			if err := tx.UpdateVoucher(b.ctx, v); err != nil {
				return err
			}
			cust := fmt.Sprintf("cust_%d", i)
			return tx.AddCounters(b.ctx, day, promo.Counter{Count: 1, Amount: amount, OrderAmount: 10 * amount},
				scope, promo.CounterCampaignCustomer(c.ID, cust), promo.CounterVoucher(v.ID), promo.CounterCustomer(cust))
		})
	})
	ok, refused := outcomes(t, errs, errOverBudget)
	if ok != budget/amount || refused != redeemers-ok {
		t.Fatalf("%d redemptions within the budget and %d refused, want %d and %d", ok, refused, budget/amount, redeemers-budget/amount)
	}
	for _, from := range []int64{promo.AllTime, day} {
		got, err := b.s.Counter(b.ctx, scope, from)
		if err != nil {
			t.Fatal(err)
		}
		if want := (promo.Counter{Count: budget / amount, Amount: budget, OrderAmount: 10 * budget}); got != want {
			t.Fatalf("counter from day %d is %+v, want %+v", from, got, want)
		}
	}
	redeemed := 0
	for _, v := range vs {
		got, err := b.s.Voucher(b.ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		redeemed += int(got.RedeemedQuantity)
	}
	if redeemed != budget/amount {
		t.Fatalf("%d vouchers redeemed, want %d", redeemed, budget/amount)
	}
}

// testConcurrentCounters: concurrent Updates that only add to one counter
// lose none of their additions.
func testConcurrentCounters(t *testing.T, b *bundle) {
	const adders = 40
	day := promo.Day(b.t0)
	scope := promo.CounterCampaign("camp_hot")
	errs := concurrently(adders, func(i int) error {
		return b.s.Update(b.ctx, func(tx promo.Tx) error {
			return tx.AddCounters(b.ctx, day-int64(i%3), promo.Counter{Count: 1, Amount: int64(i), OrderAmount: 1}, scope)
		})
	})
	outcomes(t, errs, nil)
	got, err := b.s.Counter(b.ctx, scope, promo.AllTime)
	if err != nil {
		t.Fatal(err)
	}
	if want := (promo.Counter{Count: adders, Amount: adders * (adders - 1) / 2, OrderAmount: adders}); got != want {
		t.Fatalf("counter %+v, want %+v", got, want)
	}
}

var errRedeemed = errors.New("redeemed up to its quantity")

// testConcurrentLockVoucher: concurrent redemptions of one code with
// quantity N lock it, read its count and add one while it is below N:
// exactly N succeed.
func testConcurrentLockVoucher(t *testing.T, b *bundle) {
	const (
		redeemers = 30
		quantity  = 7
	)
	_, tier := b.campaign(t, "Quantity", 1)
	v := b.tierVoucher(t, tier, "MANY-1", 2)
	b.insert(t, v)
	errs := concurrently(redeemers, func(i int) error {
		return b.s.Update(b.ctx, func(tx promo.Tx) error {
			got, err := tx.LockVoucher(b.ctx, v.Key)
			if err != nil {
				return err
			}
			if got.RedeemedQuantity >= quantity {
				return errRedeemed
			}
			got.RedeemedQuantity++
			if err := tx.UpdateVoucher(b.ctx, got); err != nil {
				return err
			}
			return tx.CreateRedemption(b.ctx, b.newRedemption(v.CampaignID, fmt.Sprintf("cust_%d", i), v.ID, 3))
		})
	})
	ok, refused := outcomes(t, errs, errRedeemed)
	if ok != quantity || refused != redeemers-quantity {
		t.Fatalf("%d redemptions and %d refusals, want %d and %d", ok, refused, quantity, redeemers-quantity)
	}
	got, err := b.s.Voucher(b.ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RedeemedQuantity != quantity {
		t.Fatalf("the voucher was redeemed %d times, want %d", got.RedeemedQuantity, quantity)
	}
	_, n, err := b.s.Redemptions(b.ctx, promo.RedemptionFilter{ListParams: lp(1, 1, false), VoucherID: v.ID})
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "redemptions", n, quantity)
}

// testConcurrentCustomerUpsert: concurrent requests naming one new customer
// by source_id each read it and create it when it is missing: all of them
// succeed, and there is one customer.
func testConcurrentCustomerUpsert(t *testing.T, b *bundle) {
	const upserters = 20
	ids := make([]string, upserters)
	errs := concurrently(upserters, func(i int) error {
		return b.s.Update(b.ctx, func(tx promo.Tx) error {
			c, err := tx.Customer(b.ctx, "src-shared")
			switch {
			case promo.ErrorCode(err) == promo.ENotFound:
				c = b.newCustomer("src-shared", 5)
				c.ID = ""
				if err := tx.CreateCustomer(b.ctx, c); err != nil {
					return err
				}
			case err != nil:
				return err
			default:
				c.Metadata = promo.Metadata{"seen": i}
				c.UpdatedAt = b.atPtr(6)
				if err := tx.UpdateCustomer(b.ctx, c); err != nil {
					return err
				}
			}
			ids[i] = c.ID
			return nil
		})
	})
	outcomes(t, errs, nil)
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("upsert %d saw customer %s, upsert 0 saw %s", i, id, ids[0])
		}
	}
	_, n, err := b.s.Customers(b.ctx, promo.CustomerFilter{ListParams: lp(10, 1, false)})
	if err != nil {
		t.Fatal(err)
	}
	wantTotal(t, "customers", n, 1)
}

// testConcurrentClaim: workers claiming actions at once claim each action
// once.
func testConcurrentClaim(t *testing.T, b *bundle) {
	const actions, workers = 20, 8
	want := map[string]bool{}
	b.update(t, func(tx promo.Tx) error {
		for i := range actions {
			a := b.newAction(promo.ActionEnqueued, i)
			want[a.ID] = true
			if err := tx.CreateAsyncAction(b.ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	var mu sync.Mutex
	claims := map[string]int{}
	errs := concurrently(workers, func(int) error {
		for {
			var a *promo.AsyncAction
			err := b.s.Update(b.ctx, func(tx promo.Tx) error {
				var err error
				a, err = tx.ClaimAsyncAction(b.ctx, b.at(100), b.at(1000))
				return err
			})
			if promo.ErrorCode(err) == promo.ENotFound {
				return nil
			}
			if err != nil {
				return err
			}
			mu.Lock()
			claims[a.ID]++
			mu.Unlock()
		}
	})
	outcomes(t, errs, nil)
	for id := range want {
		if claims[id] != 1 {
			t.Errorf("action %s was claimed %d times", id, claims[id])
		}
	}
	if len(claims) != actions {
		t.Errorf("%d actions claimed, want %d", len(claims), actions)
	}
}
