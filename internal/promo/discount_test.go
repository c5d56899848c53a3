package promo

import (
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// cart is the order most tables use: 2 x A at 10.00, 1 x B at 5.00 and
// 1 x C at 25.00, 50.00 in all.
func cart() Order {
	return Order{Items: []OrderItem{
		{SKUID: "sku_A", ProductID: "prod_A", Quantity: 2, Price: 1000},
		{SourceID: "B", Quantity: 1, Price: 500},
		{ProductID: "prod_C", Quantity: 1, Price: 2500},
	}}
}

// only returns an eligibility that admits the items at positions idx.
func only(idx ...int) func(int, OrderItem) bool {
	return func(i int, _ OrderItem) bool { return slices.Contains(idx, i) }
}

func mustBasket(t testing.TB, o Order) *Basket {
	t.Helper()
	b, err := NewBasket(&o)
	if err != nil {
		t.Fatalf("NewBasket: %v", err)
	}
	return b
}

func mustApply(t testing.TB, b *Basket, d Discount, eligible func(int, OrderItem) bool) Applied {
	t.Helper()
	a, err := b.Apply(d, eligible)
	if err != nil {
		t.Fatalf("Apply(%+v): %v", d, err)
	}
	return a
}

// TestPercentRounding pins the rounding rule: a percentage is rounded down
// to the minor unit.
func TestPercentRounding(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base    int64
		percent Percent
		want    int64
	}{
		{5000, 10 * PercentUnit, 500},
		{4995, 10 * PercentUnit, 499}, // 499.5: a half goes down
		{4999, 10 * PercentUnit, 499}, // 499.9: so does anything below a unit
		{4991, 10 * PercentUnit, 499}, // 499.1
		{1, 50 * PercentUnit, 0},      // 0.5
		{3, 3333, 0},                  // 33.33% of 3 is 0.9999
		{10000, 3333, 3333},
		{199, 50, 0}, // 0.5% of 199 is 0.995
		{200, 50, 1},
		{999, 9999, 998}, // 998.9001
		{1, 100 * PercentUnit, 1},
		{0, 50 * PercentUnit, 0},
		{1e15, 100 * PercentUnit, 1e15},
		{1e15, 1234, 123_400_000_000_000},
		{999_999_999_999_999, 1, 99_999_999_999}, // 0.01% without overflow
		{math.MaxInt64, 100 * PercentUnit, math.MaxInt64},
		{math.MaxInt64, 50 * PercentUnit, math.MaxInt64 / 2},
	} {
		if got := percentOf(tc.base, tc.percent); got != tc.want {
			t.Errorf("percentOf(%d, %d) = %d, want %d", tc.base, tc.percent, got, tc.want)
		}
	}
	// The same rule through a basket, per order and per item line.
	b := mustBasket(t, Order{Amount: 4995})
	if a := mustApply(t, b, Discount{Type: DiscountPercent, PercentOff: 10 * PercentUnit}, nil); a.Amount != 499 {
		t.Errorf("10%% of 49.95 took %d, want 499", a.Amount)
	}
	// Line by line, the floors sum to less than the floor of the total:
	// 15% of 3.33 is 0.4995 twice (49 + 49) against 15% of 6.66 (99).
	lines := Order{Items: []OrderItem{{Quantity: 1, Price: 333}, {Quantity: 1, Price: 333}}}
	b = mustBasket(t, lines)
	if a := mustApply(t, b, Discount{Type: DiscountPercent, PercentOff: 15 * PercentUnit, Effect: EffectApplyToItems}, nil); a.Amount != 98 || !slices.Equal(a.Items, []int64{49, 49}) {
		t.Errorf("15%% per line took %d %v, want 98 [49 49]", a.Amount, a.Items)
	}
	b = mustBasket(t, lines)
	if a := mustApply(t, b, Discount{Type: DiscountPercent, PercentOff: 15 * PercentUnit}, nil); a.Amount != 99 {
		t.Errorf("15%% of the order took %d, want 99", a.Amount)
	}
}

// TestApply pins each discount type and effect on the same cart.
func TestApply(t *testing.T) {
	t.Parallel()
	const (
		percent = PercentUnit
		items   = EffectApplyToItems
	)
	for _, tc := range []struct {
		name     string
		order    Order // cart() when empty
		discount Discount
		eligible func(int, OrderItem) bool
		want     Applied
	}{
		// AMOUNT off the order: shared by remaining amounts, 2000:500:2500.
		{name: "amount order", discount: Discount{Type: DiscountAmount, AmountOff: 1000},
			want: Applied{Amount: 1000, OrderLevel: true, Items: []int64{400, 100, 500}}},
		// 133.2, 33.3, 166.5: floors 332, the unit left goes to C (.5).
		{name: "amount order largest remainder", discount: Discount{Type: DiscountAmount, AmountOff: 333},
			want: Applied{Amount: 333, OrderLevel: true, Items: []int64{133, 33, 167}}},
		{name: "amount order tie goes to the first item",
			order:    Order{Items: []OrderItem{{Quantity: 1, Price: 100}, {Quantity: 1, Price: 100}, {Quantity: 1, Price: 100}}},
			discount: Discount{Type: DiscountAmount, AmountOff: 100},
			want:     Applied{Amount: 100, OrderLevel: true, Items: []int64{34, 33, 33}}},
		{name: "amount order capped", discount: Discount{Type: DiscountAmount, AmountOff: 6000},
			want: Applied{Amount: 5000, OrderLevel: true, Items: []int64{2000, 500, 2500}}},
		// 1000 over A and C only, 2000:2500: 444.4 and 555.6.
		{name: "amount order eligible items", discount: Discount{Type: DiscountAmount, AmountOff: 1000}, eligible: only(0, 2),
			want: Applied{Amount: 1000, OrderLevel: true, Items: []int64{444, 0, 556}}},
		{name: "amount order eligible capped", discount: Discount{Type: DiscountAmount, AmountOff: 1000}, eligible: only(1),
			want: Applied{Amount: 500, OrderLevel: true, Items: []int64{0, 500, 0}}},
		{name: "amount order nothing eligible", discount: Discount{Type: DiscountAmount, AmountOff: 1000}, eligible: only(),
			want: Applied{OrderLevel: true, Items: []int64{0, 0, 0}}},
		{name: "amount order no items", order: Order{Amount: 5000}, discount: Discount{Type: DiscountAmount, AmountOff: 700},
			want: Applied{Amount: 700, OrderLevel: true, Rest: 700}},
		{name: "amount order above the items", order: Order{Amount: 6000, Items: cart().Items},
			discount: Discount{Type: DiscountAmount, AmountOff: 5500},
			want:     Applied{Amount: 5500, OrderLevel: true, Items: []int64{2000, 500, 2500}, Rest: 500}},
		{name: "amount off each line", discount: Discount{Type: DiscountAmount, AmountOff: 600, Effect: items},
			want: Applied{Amount: 1700, Items: []int64{600, 500, 600}}},
		{name: "amount off eligible lines", discount: Discount{Type: DiscountAmount, AmountOff: 600, Effect: items}, eligible: only(0),
			want: Applied{Amount: 600, Items: []int64{600, 0, 0}}},
		{name: "amount off each line no items", order: Order{Amount: 5000}, discount: Discount{Type: DiscountAmount, AmountOff: 600, Effect: items},
			want: Applied{}},
		// Below its items' sum, the order total caps the lines in order.
		{name: "amount off lines capped by the order", order: Order{Amount: 4000, Items: cart().Items},
			discount: Discount{Type: DiscountAmount, AmountOff: 3000, Effect: items},
			want:     Applied{Amount: 4000, Items: []int64{2000, 500, 1500}}},
		{name: "amount off each unit", discount: Discount{Type: DiscountAmount, AmountOff: 300, Effect: effectItemsByQuantity},
			want: Applied{Amount: 1200, Items: []int64{600, 300, 300}}},
		{name: "amount off each unit capped", discount: Discount{Type: DiscountAmount, AmountOff: 1500, Effect: effectItemsByQuantity},
			want: Applied{Amount: 4000, Items: []int64{2000, 500, 1500}}},
		{name: "amount proportionally", discount: Discount{Type: DiscountAmount, AmountOff: 1000, Effect: effectItemsProportionally},
			want: Applied{Amount: 1000, Items: []int64{400, 100, 500}}},
		{name: "amount proportionally capped", discount: Discount{Type: DiscountAmount, AmountOff: 9000, Effect: effectItemsProportionally}, eligible: only(0, 1),
			want: Applied{Amount: 2500, Items: []int64{2000, 500, 0}}},
		// Quantities 2:1:1.
		{name: "amount proportionally by quantity", discount: Discount{Type: DiscountAmount, AmountOff: 1000, Effect: effectItemsProportionallyByQuantity},
			want: Applied{Amount: 1000, Items: []int64{500, 250, 250}}},
		// 1500:750:750, B holds 500; 2500 left over A and C, 2:1: 1666.7
		// and 833.3, the unit left to A.
		{name: "amount proportionally by quantity capped", discount: Discount{Type: DiscountAmount, AmountOff: 3000, Effect: effectItemsProportionallyByQuantity},
			want: Applied{Amount: 3000, Items: []int64{1667, 500, 833}}},
		{name: "percent order", discount: Discount{Type: DiscountPercent, PercentOff: 10 * percent},
			want: Applied{Amount: 500, OrderLevel: true, Items: []int64{200, 50, 250}}},
		{name: "percent order amount limit", discount: Discount{Type: DiscountPercent, PercentOff: 10 * percent, AmountLimit: 300},
			want: Applied{Amount: 300, OrderLevel: true, Items: []int64{120, 30, 150}}},
		{name: "percent order eligible", discount: Discount{Type: DiscountPercent, PercentOff: 10 * percent}, eligible: only(1),
			want: Applied{Amount: 50, OrderLevel: true, Items: []int64{0, 50, 0}}},
		{name: "percent order 100", discount: Discount{Type: DiscountPercent, PercentOff: 100 * percent},
			want: Applied{Amount: 5000, OrderLevel: true, Items: []int64{2000, 500, 2500}}},
		{name: "percent order no items", order: Order{Amount: 4995}, discount: Discount{Type: DiscountPercent, PercentOff: 1250},
			want: Applied{Amount: 624, OrderLevel: true, Rest: 624}},
		{name: "percent lines", discount: Discount{Type: DiscountPercent, PercentOff: 10 * percent, Effect: items},
			want: Applied{Amount: 500, Items: []int64{200, 50, 250}}},
		// amount_limit caps each line for items, as Voucherify documents.
		{name: "percent lines amount limit", discount: Discount{Type: DiscountPercent, PercentOff: 10 * percent, AmountLimit: 100, Effect: items},
			want: Applied{Amount: 250, Items: []int64{100, 50, 100}}},
		{name: "fixed order", discount: Discount{Type: DiscountFixed, FixedAmount: 4000},
			want: Applied{Amount: 1000, OrderLevel: true, Items: []int64{400, 100, 500}}},
		{name: "fixed order above the total", discount: Discount{Type: DiscountFixed, FixedAmount: 6000},
			want: Applied{OrderLevel: true, Items: []int64{0, 0, 0}}},
		{name: "fixed order eligible", discount: Discount{Type: DiscountFixed, FixedAmount: 2000}, eligible: only(0, 2),
			want: Applied{Amount: 2500, OrderLevel: true, Items: []int64{1111, 0, 1389}}},
		// Each unit brought to 8.00: A 20.00 -> 16.00, B stays, C 25.00 -> 8.00.
		{name: "fixed unit price", discount: Discount{Type: DiscountFixed, FixedAmount: 800, Effect: items},
			want: Applied{Amount: 2100, Items: []int64{400, 0, 1700}}},
		{name: "unit by sku", discount: Discount{Type: DiscountUnit, UnitOff: 1, UnitType: "sku_A"},
			want: Applied{Amount: 1000, Items: []int64{1000, 0, 0}, Units: []int64{1, 0, 0}}},
		{name: "unit by product capped at the quantity", discount: Discount{Type: DiscountUnit, UnitOff: 3, UnitType: "prod_A", Effect: "ADD_NEW_ITEMS"},
			want: Applied{Amount: 2000, Items: []int64{2000, 0, 0}, Units: []int64{2, 0, 0}}},
		{name: "unit by source id", discount: Discount{Type: DiscountUnit, UnitOff: 1, UnitType: "B"},
			want: Applied{Amount: 500, Items: []int64{0, 500, 0}, Units: []int64{0, 1, 0}}},
		{name: "unit missing item", discount: Discount{Type: DiscountUnit, UnitOff: 1, UnitType: "prod_Z"},
			want: Applied{Items: []int64{0, 0, 0}, Units: []int64{0, 0, 0}}},
		{name: "unit not eligible", discount: Discount{Type: DiscountUnit, UnitOff: 1, UnitType: "prod_C"}, eligible: only(0, 1),
			want: Applied{Items: []int64{0, 0, 0}, Units: []int64{0, 0, 0}}},
		{name: "unit over two lines",
			order:    Order{Items: []OrderItem{{ProductID: "p", Quantity: 1, Price: 300}, {ProductID: "q", Quantity: 1, Price: 1}, {ProductID: "p", Quantity: 4, Price: 200}}},
			discount: Discount{Type: DiscountUnit, UnitOff: 3, UnitType: "p"},
			want:     Applied{Amount: 700, Items: []int64{300, 0, 400}, Units: []int64{1, 0, 2}}},
		{name: "unit priced by amount", order: Order{Items: []OrderItem{{ProductID: "p", Quantity: 4, Amount: 1000}}},
			discount: Discount{Type: DiscountUnit, UnitOff: 1, UnitType: "p"},
			want:     Applied{Amount: 250, Items: []int64{250}, Units: []int64{1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := tc.order
			if o.Amount == 0 && o.Items == nil {
				o = cart()
			}
			b := mustBasket(t, o)
			got := mustApply(t, b, tc.discount, tc.eligible)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Apply = %+v\nwant    %+v", got, tc.want)
			}
			if r := b.Result(); r.TotalAmount != r.Amount-tc.want.Amount {
				t.Errorf("total_amount = %d, want %d", r.TotalAmount, r.Amount-tc.want.Amount)
			}
		})
	}
}

// TestApplySequence applies discounts one after another: each works on what
// the earlier ones left.
func TestApplySequence(t *testing.T) {
	t.Parallel()
	b := mustBasket(t, cart())
	steps := []struct {
		d    Discount
		want Applied
	}{
		{Discount{Type: DiscountAmount, AmountOff: 1000},
			Applied{Amount: 1000, OrderLevel: true, Items: []int64{400, 100, 500}}},
		// 10% of the 4000 left.
		{Discount{Type: DiscountPercent, PercentOff: 10 * PercentUnit},
			Applied{Amount: 400, OrderLevel: true, Items: []int64{160, 40, 200}}},
		// Both units of A cost 2000, but A has 1440 left.
		{Discount{Type: DiscountUnit, UnitOff: 2, UnitType: "sku_A"},
			Applied{Amount: 1440, Items: []int64{1440, 0, 0}, Units: []int64{2, 0, 0}}},
		// The units are free already: a second UNIT discount finds none.
		{Discount{Type: DiscountUnit, UnitOff: 1, UnitType: "sku_A"},
			Applied{Items: []int64{0, 0, 0}, Units: []int64{0, 0, 0}}},
		// B has 360 left and C 1800, and C's one unit is brought to 10.00.
		{Discount{Type: DiscountFixed, FixedAmount: 1000, Effect: EffectApplyToItems},
			Applied{Amount: 800, Items: []int64{0, 0, 800}}},
	}
	for i, s := range steps {
		if got := mustApply(t, b, s.d, nil); !reflect.DeepEqual(got, s.want) {
			t.Fatalf("step %d: Apply = %+v, want %+v", i, got, s.want)
		}
	}
	want := CalculatedOrder{
		Amount: 5000, InitialAmount: 5000,
		DiscountAmount: 1400, ItemsDiscountAmount: 2240, TotalDiscountAmount: 3640, TotalAmount: 1360,
		AppliedDiscountAmount: 1400, ItemsAppliedDiscountAmount: 2240, TotalAppliedDiscountAmount: 3640,
		Items: []CalculatedItem{
			{Quantity: 2, Price: 1000, Amount: 2000, DiscountAmount: 1440, AppliedDiscountAmount: 1440,
				DiscountQuantity: 2, AppliedDiscountQuantity: 2, SubtotalAmount: 560, OrderDiscountShare: 560},
			{Quantity: 1, Price: 500, Amount: 500, SubtotalAmount: 500, OrderDiscountShare: 140},
			{Quantity: 1, Price: 2500, Amount: 2500, DiscountAmount: 800, AppliedDiscountAmount: 800,
				SubtotalAmount: 1700, OrderDiscountShare: 700},
		},
	}
	if got := b.Result(); !reflect.DeepEqual(got, want) {
		t.Errorf("Result = %+v\nwant     %+v", got, want)
	}
}

func TestNewBasket(t *testing.T) {
	t.Parallel()
	o := Order{Items: []OrderItem{{Quantity: 3, Price: 100}}}
	b := mustBasket(t, o)
	if o.Amount != 0 || o.Items[0].Amount != 0 {
		t.Errorf("NewBasket changed its order: %+v", o)
	}
	if r := b.Result(); r.Amount != 300 || r.TotalAmount != 300 || r.Items[0].Amount != 300 || r.Items[0].SubtotalAmount != 300 {
		t.Errorf("Result = %+v, want amounts of 300", r)
	}
	_, err := NewBasket(&Order{Items: []OrderItem{{Quantity: 1, Price: -1}}})
	if ErrorCode(err) != EInvalidOrder {
		t.Errorf("NewBasket with a negative price: %v, want %s", err, EInvalidOrder)
	}
}

func TestApplyInvalidDiscount(t *testing.T) {
	t.Parallel()
	b := mustBasket(t, cart())
	for _, d := range []Discount{
		{},
		{Type: "BOGUS", AmountOff: 1},
		{Type: DiscountAmount},
		{Type: DiscountPercent, PercentOff: 100*PercentUnit + 1},
		{Type: DiscountAmount, AmountOff: 1, Effect: "BOGUS"},
	} {
		if _, err := b.Apply(d, nil); ErrorCode(err) != EInvalidPayload {
			t.Errorf("Apply(%+v): %v, want %s", d, err, EInvalidPayload)
		}
	}
	if r := b.Result(); r.TotalDiscountAmount != 0 {
		t.Errorf("failed Applies changed the basket: %+v", r)
	}
}

func TestApportion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		total         int64
		weights, caps []int64
		want          []int64
		comment       string
	}{
		{10, []int64{1, 1, 1}, []int64{10, 10, 10}, []int64{4, 3, 3}, "tie to the first"},
		{2, []int64{1, 1, 1}, []int64{10, 10, 10}, []int64{1, 1, 0}, "ties in order"},
		{2, []int64{1, 2, 2}, []int64{10, 10, 10}, []int64{0, 1, 1}, "largest remainders"},
		{7, []int64{5, 0, 5}, []int64{10, 10, 10}, []int64{4, 0, 3}, "no weight, no share"},
		{6, []int64{0, 0}, []int64{2, 4}, []int64{2, 4}, "caps weigh when nothing else does"},
		{9, []int64{1, 1, 1}, []int64{1, 100, 100}, []int64{1, 4, 4}, "a capped item's excess is shared again"},
		{5, []int64{1, 1}, []int64{0, 5}, []int64{0, 5}, "no cap, no share"},
		{0, []int64{1}, []int64{5}, []int64{0}, "nothing to share"},
		{2e15, []int64{1e15, 1e15}, []int64{1e15, 1e15}, []int64{1e15, 1e15}, "large"},
	} {
		if got := apportion(tc.total, tc.weights, tc.caps); !slices.Equal(got, tc.want) {
			t.Errorf("%s: apportion(%d, %v, %v) = %v, want %v", tc.comment, tc.total, tc.weights, tc.caps, got, tc.want)
		}
	}
}

// allEffects includes effects that do not fit every type, which Apply must
// bear all the same.
var allEffects = []string{"", EffectApplyToOrder, EffectApplyToItems, effectItemsProportionally,
	effectItemsProportionallyByQuantity, effectItemsByQuantity, "ADD_MISSING_ITEMS", "ADD_NEW_ITEMS", "ADD_MANY_ITEMS"}

// genOrder draws an order; big draws amounts near the limits Order.Validate
// allows.
func genOrder(t *rapid.T, big bool) Order {
	maxPrice, maxQty := int64(20000), int64(5)
	if big {
		maxPrice, maxQty = 1.25e14, 1e9 // six items stay within the order limit
	}
	ids := []string{"p1", "p2", "p3"}
	n := rapid.IntRange(0, 6).Draw(t, "items")
	var o Order
	for range n {
		it := OrderItem{ProductID: rapid.SampledFrom(ids).Draw(t, "product")}
		if rapid.Bool().Draw(t, "priced") {
			it.Quantity = rapid.Int64Range(0, maxQty).Draw(t, "quantity")
			it.Price = rapid.Int64Range(0, maxPrice/max(it.Quantity, 1)).Draw(t, "price")
		} else {
			it.Quantity = rapid.Int64Range(0, 5).Draw(t, "quantity")
			it.Amount = rapid.Int64Range(0, maxPrice).Draw(t, "amount")
		}
		o.Items = append(o.Items, it)
	}
	// Mostly the items' sum (Amount left to Validate), sometimes an amount of
	// the client's own, above or below it.
	if rapid.IntRange(0, 3).Draw(t, "own amount") == 0 {
		o.Amount = rapid.Int64Range(0, min(6*maxPrice, 1e15)).Draw(t, "amount")
	}
	return o
}

func genDiscount(t *rapid.T, big bool) Discount {
	maxMoney := int64(30000)
	if big {
		maxMoney = math.MaxInt64
	}
	d := Discount{
		Type:   rapid.SampledFrom([]string{DiscountAmount, DiscountPercent, DiscountFixed, DiscountUnit}).Draw(t, "type"),
		Effect: rapid.SampledFrom(allEffects).Draw(t, "effect"),
	}
	switch d.Type {
	case DiscountAmount:
		d.AmountOff = rapid.Int64Range(1, maxMoney).Draw(t, "amount_off")
	case DiscountPercent:
		d.PercentOff = Percent(rapid.Int64Range(1, 100*PercentUnit).Draw(t, "percent_off"))
		d.AmountLimit = rapid.Int64Range(0, maxMoney).Draw(t, "amount_limit")
	case DiscountFixed:
		d.FixedAmount = rapid.Int64Range(1, maxMoney).Draw(t, "fixed_amount")
	case DiscountUnit:
		d.UnitOff = rapid.Int64Range(1, 6).Draw(t, "unit_off")
		d.UnitType = rapid.SampledFrom([]string{"p1", "p2", "p3", "missing"}).Draw(t, "unit_type")
	}
	return d
}

// step is one discount of a drawn sequence and the items it applies to; a
// nil eligible means all.
type step struct {
	d        Discount
	eligible []bool
}

func (s step) filter() func(int, OrderItem) bool {
	if s.eligible == nil {
		return nil
	}
	return func(i int, _ OrderItem) bool { return s.eligible[i] }
}

// checkBasket draws an order and discounts, applies them, and checks every
// promise the Basket documents.
func checkBasket(t *rapid.T) {
	big := rapid.Bool().Draw(t, "big")
	o := genOrder(t, big)
	b, err := NewBasket(&o)
	if err != nil {
		t.Fatalf("NewBasket: %v", err)
	}
	start := b.Result()
	itemsSum := int64(0)
	for _, it := range start.Items {
		itemsSum += it.Amount
	}
	consistent := start.Amount == itemsSum && len(o.Items) > 0

	var steps []step
	var applied []Applied
	var taken int64
	for range rapid.IntRange(1, 6).Draw(t, "discounts") {
		s := step{d: genDiscount(t, big)}
		if rapid.Bool().Draw(t, "filtered") {
			s.eligible = rapid.SliceOfN(rapid.Bool(), len(o.Items), len(o.Items)).Draw(t, "eligible")
		}
		before := b.Result()
		left := make([]int64, len(before.Items))
		var eligibleLeft int64
		for i, it := range before.Items {
			left[i] = it.Amount - it.DiscountAmount - it.OrderDiscountShare
			if s.eligible == nil || s.eligible[i] {
				eligibleLeft += left[i]
			}
		}
		a, err := b.Apply(s.d, s.filter())
		if err != nil {
			t.Fatalf("Apply(%+v): %v", s.d, err)
		}
		steps, applied = append(steps, s), append(applied, a)
		taken += a.Amount

		bound := min(before.TotalAmount, eligibleLeft)
		if a.OrderLevel && s.eligible == nil {
			bound = before.TotalAmount
		}
		if a.Amount < 0 || a.Amount > bound {
			t.Fatalf("%+v took %d, want 0 to %d", s.d, a.Amount, bound)
		}
		if len(o.Items) == 0 && a.Items != nil || len(o.Items) > 0 && len(a.Items) != len(o.Items) {
			t.Fatalf("%+v: items %v for an order of %d items", s.d, a.Items, len(o.Items))
		}
		var parts int64
		for i, v := range a.Items {
			if v < 0 || v > left[i] {
				t.Fatalf("%+v: item %d took %d of the %d it had left", s.d, i, v, left[i])
			}
			if v > 0 && s.eligible != nil && !s.eligible[i] {
				t.Fatalf("%+v: item %d is not eligible but took %d", s.d, i, v)
			}
			parts += v
		}
		if a.Rest < 0 || parts+a.Rest != a.Amount {
			t.Fatalf("%+v: parts %d + rest %d != discount %d", s.d, parts, a.Rest, a.Amount)
		}
		if a.Rest != 0 && (!a.OrderLevel || s.eligible != nil || consistent) {
			t.Fatalf("%+v: rest %d; an order whose amount is its items' sum keeps none", s.d, a.Rest)
		}
		// An order-level discount is shared in proportion: each part is the
		// floor or the ceiling of the exact share.
		if a.OrderLevel && parts > 0 {
			var held int64
			for i := range left {
				if s.eligible == nil || s.eligible[i] {
					held += left[i]
				}
			}
			for i, v := range a.Items {
				if s.eligible != nil && !s.eligible[i] {
					continue
				}
				hi, lo := mul128(v, held)
				ehi, elo := mul128(parts, left[i])
				// |v*held - parts*left[i]| < held
				if !within(hi, lo, ehi, elo, held) {
					t.Fatalf("%+v: item %d took %d of %d, not its share of %d/%d", s.d, i, v, parts, left[i], held)
				}
			}
		}
	}

	r := b.Result()
	if r.TotalAmount < 0 || r.TotalAmount != r.Amount-taken {
		t.Fatalf("total_amount %d, want amount %d minus the discounts %d", r.TotalAmount, r.Amount, taken)
	}
	if r.TotalDiscountAmount != taken || r.DiscountAmount+r.ItemsDiscountAmount != r.TotalDiscountAmount {
		t.Fatalf("discounts %d + %d != total %d (taken %d)", r.DiscountAmount, r.ItemsDiscountAmount, r.TotalDiscountAmount, taken)
	}
	var itemOff, shares, rests int64
	for _, a := range applied {
		rests += a.Rest
	}
	for i, it := range r.Items {
		itemOff += it.DiscountAmount
		shares += it.OrderDiscountShare
		if it.SubtotalAmount < 0 || it.SubtotalAmount-it.OrderDiscountShare < 0 {
			t.Fatalf("item %d goes below zero: %+v", i, it)
		}
		if it.DiscountQuantity > max(o.Items[i].Quantity, 1) {
			t.Fatalf("item %d: %d units free of %d", i, it.DiscountQuantity, o.Items[i].Quantity)
		}
	}
	if itemOff != r.ItemsDiscountAmount || shares+rests != r.DiscountAmount {
		t.Fatalf("items' discounts %d, shares %d + rests %d do not add up to %+v", itemOff, shares, rests, r)
	}

	// The same order and discounts, in the same order, give the same numbers.
	again, err := NewBasket(&o)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		a, err := again.Apply(s.d, s.filter())
		if err != nil || !reflect.DeepEqual(a, applied[i]) {
			t.Fatalf("replay of step %d: %+v, %v; first %+v", i, a, err, applied[i])
		}
	}
	if !reflect.DeepEqual(again.Result(), r) {
		t.Fatalf("replay: %+v, first %+v", again.Result(), r)
	}
}

// mul128 returns a*b for a, b >= 0 as 128 bits.
func mul128(a, b int64) (hi, lo uint64) {
	return bits.Mul64(uint64(a), uint64(b))
}

// within reports whether |x - y| < d for 128-bit x and y.
func within(xhi, xlo, yhi, ylo uint64, d int64) bool {
	if xhi < yhi || xhi == yhi && xlo < ylo {
		xhi, xlo, yhi, ylo = yhi, ylo, xhi, xlo
	}
	lo, borrow := bits.Sub64(xlo, ylo, 0)
	hi := xhi - yhi - borrow
	return hi == 0 && lo < uint64(d)
}

func TestBasketProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, checkBasket)
}

func FuzzBasket(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0, 3, 1, 2, 0, 9, 9, 9, 1, 0, 4, 2, 7})
	f.Fuzz(rapid.MakeFuzz(checkBasket))
}

// A 10.00 voucher, then 10% off what is left, on a 50.00 cart.
func ExampleBasket() {
	order := Order{Items: []OrderItem{
		{SKUID: "sku_A", Quantity: 2, Price: 1000},
		{SKUID: "sku_B", Quantity: 1, Price: 3000},
	}}
	b, err := NewBasket(&order)
	if err != nil {
		panic(err)
	}
	for _, d := range []Discount{
		{Type: DiscountAmount, AmountOff: 1000},
		{Type: DiscountPercent, PercentOff: 10 * PercentUnit},
	} {
		a, err := b.Apply(d, nil)
		if err != nil {
			panic(err)
		}
		fmt.Println(d.Type, a.Amount, a.Items)
	}
	r := b.Result()
	fmt.Println("total", r.TotalAmount, "discount", r.TotalDiscountAmount)
	// Output:
	// AMOUNT 1000 [400 600]
	// PERCENT 400 [160 240]
	// total 3600 discount 1400
}
