package engine_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"pgregory.net/rapid"

	"promo/internal/engine"
	"promo/internal/promo"
)

// TestValidateAndRedeemAgree: for random baskets and stacks of codes, a
// redemption decides exactly as the validation before it did: the same
// codes apply, with the same discounts and the same order totals.
func TestValidateAndRedeemAgree(t *testing.T) {
	b := setup(t, engine.Options{})
	ctx := context.Background()
	discounts := []promo.Discount{
		{Type: promo.DiscountAmount, AmountOff: 1000},
		{Type: promo.DiscountPercent, PercentOff: 1250, AmountLimit: 700},
		{Type: promo.DiscountFixed, FixedAmount: 2500},
		{Type: promo.DiscountAmount, AmountOff: 300, Effect: promo.EffectApplyToItems},
		{Type: promo.DiscountPercent, PercentOff: 3333, Effect: promo.EffectApplyToItems},
	}
	n := 0
	rapid.Check(t, func(rt *rapid.T) {
		n++
		k := rapid.IntRange(1, 4).Draw(rt, "codes")
		var reds []engine.RedeemableInput
		for i := range k {
			code := fmt.Sprintf("PROP-%d-%d", n, i)
			d := rapid.SampledFrom(discounts).Draw(rt, "discount")
			q := rapid.Int64Range(0, 2).Draw(rt, "quantity")
			b.voucherWith(t, code, q, d, nil)
			reds = append(reds, engine.RedeemableInput{Object: "voucher", ID: code})
		}
		if rapid.Bool().Draw(rt, "unknown code") {
			reds = append(reds, engine.RedeemableInput{Object: "voucher", ID: fmt.Sprintf("NOPE-%d", n)})
		}
		var items []promo.OrderItem
		for i := range rapid.IntRange(0, 4).Draw(rt, "items") {
			items = append(items, promo.OrderItem{SourceID: fmt.Sprint("sku-", i),
				Quantity: rapid.Int64Range(1, 3).Draw(rt, "qty"), Price: rapid.Int64Range(0, 5000).Draw(rt, "price")})
		}
		in := engine.RedeemRequest{Redeemables: reds, Order: &engine.OrderInput{Items: items},
			Stacking: &engine.StackingInput{Mode: rapid.SampledFrom([]string{engine.ModeAll, engine.ModePartial}).Draw(rt, "mode")}}
		if len(items) == 0 {
			amount := rapid.Int64Range(0, 20000).Draw(rt, "amount")
			in.Order.Amount = &amount
		}
		src := fmt.Sprint("prop-", n)
		in.Customer = &engine.CustomerInput{SourceID: &src}
		val, err := b.eng.Validate(ctx, in)
		if err != nil {
			rt.Fatalf("validate: %v", err)
		}
		res, _, err := b.eng.Redeem(ctx, in)
		if val.Valid != (err == nil) {
			rt.Fatalf("validation said valid=%v, redemption answered %v", val.Valid, err)
		}
		if err != nil {
			if promo.ErrorCode(err) != val.FirstError().Code {
				rt.Fatalf("validation failed with %s, redemption with %v", val.FirstError().Code, err)
			}
			return
		}
		got := res.Validation
		if !reflect.DeepEqual(got.Order, val.Order) {
			rt.Fatalf("order totals differ:\nvalidate %+v\nredeem   %+v", val.Order, got.Order)
		}
		for i := range val.Redeemables {
			v, r := val.Redeemables[i], got.Redeemables[i]
			if v.Status != r.Status || v.Applied.Amount != r.Applied.Amount {
				rt.Fatalf("code %d: validate %s %d, redeem %s %d", i, v.Status, v.Applied.Amount, r.Status, r.Applied.Amount)
			}
		}
		var sum int64
		for _, r := range res.Redemptions {
			sum += r.Amount
		}
		if sum != val.Order.TotalDiscountAmount || val.Order.TotalAmount < 0 || val.Order.TotalAmount != val.Order.Amount-sum {
			rt.Fatalf("redemptions sum to %d; order %+v", sum, val.Order)
		}
	})
}
