package promo

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
)

// Effects that only campaign.go's Validate names as literals; unexported so
// that they cannot clash with names other files may export.
const (
	effectItemsProportionally           = "APPLY_TO_ITEMS_PROPORTIONALLY"
	effectItemsProportionallyByQuantity = "APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY"
	effectItemsByQuantity               = "APPLY_TO_ITEMS_BY_QUANTITY"
)

// Basket is an order being discounted. Discounts are applied to it one after
// another, in the requested order of the redeemables, and each one works on
// what the earlier ones left: the basket keeps, for the order and for each
// item, the amount that remains.
//
// What each discount takes (see Apply for the details of each type):
//
//   - AMOUNT takes amount_off off the order (APPLY_TO_ORDER); off each item
//     line (APPLY_TO_ITEMS); off each unit still paid for
//     (APPLY_TO_ITEMS_BY_QUANTITY); or spreads amount_off over the items in
//     proportion to their remaining amounts (APPLY_TO_ITEMS_PROPORTIONALLY) or
//     to their quantities (APPLY_TO_ITEMS_PROPORTIONALLY_BY_QUANTITY).
//   - PERCENT takes percent_off of the remaining order, or of each remaining
//     item line, rounded down to the minor unit (see below); amount_limit,
//     when above zero, caps it: per order, or per item line as Voucherify
//     documents it for items.
//   - FIXED brings the order to fixed_amount, or each unit of an item to
//     fixed_amount: it takes max(0, remaining - fixed_amount).
//   - UNIT makes unit_off units of the items unit_type names free.
//
// Whatever the discount, it never takes more than what remains of what it
// applies to, no item and no order total goes below zero, and the order total
// at the end is the order's amount minus the sum of every discount taken.
//
// Rounding: a percentage is rounded down (floor) to the minor unit. It is the
// one rule under which a discount never exceeds the percentage the customer
// was promised, whatever the base, so a percent discount costs the merchant at
// most what the campaign says, and it is at most one minor unit below the
// exact figure. It also composes: the floors of a percentage taken line by
// line never sum above the floor of the same percentage of the lines' total.
// 10% of 4995 is 499, 10% of 4999 is 499, 0.5% of 199 is 0.
//
// Allocation: an order-level discount is shared among the items it applies to
// in proportion to their remaining amounts, by the largest-remainder method:
// each item gets the floor of its exact share, and the minor units left over
// go one each to the items with the largest fractional parts, ties to the item
// that comes first in the order. The shares sum exactly to the discount, each
// is the floor or the ceiling of the exact share, and none exceeds what the
// item has left. A share of an order's amount that no item holds (an order
// without items, or whose amount is above its items' sum) is Applied.Rest.
//
// A Basket is not safe for concurrent use. Nothing in its maths depends on
// map order, time or randomness: equal orders given equal discounts in the
// same order end with equal numbers, which is what lets a validation and the
// redemption that follows it reach the same decision.
type Basket struct {
	items         []OrderItem
	amount        int64   // the order's amount before any discount
	remaining     int64   // what remains of the order's amount
	left          []int64 // per item: what remains of its amount
	free          []int64 // per item: units made free by UNIT discounts
	itemOff       []int64 // per item: item-level discounts
	orderOff      []int64 // per item: its shares of order-level discounts
	orderDiscount int64   // order-level discounts, their Rest included
	itemsDiscount int64   // item-level discounts
}

// NewBasket returns a basket holding o with no discount applied yet. It
// checks and completes a copy of o with Order.Validate, so o is left as it
// was, and it fails with EInvalidOrder when o does not pass.
func NewBasket(o *Order) (*Basket, error) {
	c := *o
	c.Items = slices.Clone(o.Items)
	if err := c.Validate(); err != nil {
		return nil, err
	}
	n := len(c.Items)
	b := &Basket{
		items:     c.Items,
		amount:    c.Amount,
		remaining: c.Amount,
		left:      make([]int64, n),
		free:      make([]int64, n),
		itemOff:   make([]int64, n),
		orderOff:  make([]int64, n),
	}
	for i, it := range c.Items {
		b.left[i] = it.Amount
	}
	return b, nil
}

// Applied is what one discount took from a basket.
type Applied struct {
	// Amount is the discount in minor units: the sum of Items and Rest.
	Amount int64
	// OrderLevel reports an order-level discount (effect APPLY_TO_ORDER),
	// which a calculated order counts in discount_amount; the others are
	// item-level and count in items_discount_amount.
	OrderLevel bool
	// Items is each item's part of Amount, by the item's position in the
	// order; nil when the order has no items. No part exceeds what the item
	// had left, and items the discount did not apply to get zero.
	Items []int64
	// Units is, for a UNIT discount, the units of each item it made free.
	Units []int64
	// Rest is the part of an order-level discount that no item holds: all of
	// it when the order has no items, and the part above the items' remaining
	// amounts when the order's amount is above its items' sum. It is zero for
	// an item-level discount.
	Rest int64
}

// Apply applies d to what remains of the basket and returns what it took.
//
// eligible says which items d applies to; nil means the whole order and all
// its items. With a filter, an order-level discount is taken from the
// eligible items' remaining amounts only (and shared among them alone); with
// no items in the order nothing is eligible and it takes nothing.
//
// Effects pick between the order and its items: APPLY_TO_ORDER, and an
// ADD_* effect on a non-UNIT discount, apply to the order; the APPLY_TO_ITEMS
// family applies to items. For PERCENT and FIXED every APPLY_TO_ITEMS* effect
// means per item line. An APPLY_TO_ITEMS* discount on an order without items
// takes nothing.
//
// A UNIT discount makes free, whatever its effect, up to unit_off units of
// the eligible items whose sku_id, product_id or source_id (or whose
// product's or SKU's id) equals unit_type, item by item as the order lists
// them. A unit costs the item's price (its amount over its quantity when it
// has no price) and is freed once: two UNIT discounts never free the same
// unit. The engine never adds items to an order: when no item matches (the
// ADD_MISSING_ITEMS case of a product not in the cart) the discount is zero.
//
// The item-level parts of one application never exceed together what remains
// of the order total, which can bite only when the order's amount is below
// its items' sum: the proportional effects then share the smaller total, and
// the others are capped item by item in order.
//
// eligible must answer the same for the same item every time, or the basket
// is no longer deterministic. Apply fails with EInvalidPayload when d does
// not pass Discount.Validate, and leaves the basket unchanged then.
func (b *Basket) Apply(d Discount, eligible func(i int, item OrderItem) bool) (Applied, error) {
	if err := d.Validate(); err != nil {
		return Applied{}, err
	}
	in := make([]bool, len(b.items))
	for i, it := range b.items {
		in[i] = eligible == nil || eligible(i, it)
	}
	var a Applied
	switch {
	case d.Type == DiscountUnit:
		a = b.unitLevel(d, in)
	case isItemsEffect(d.Effect):
		a = b.itemLevel(d, in)
	default:
		a = b.orderLevel(d, in, eligible == nil)
	}
	b.take(a)
	return a, nil
}

// Result returns the order as the discounts applied so far leave it.
func (b *Basket) Result() CalculatedOrder {
	c := CalculatedOrder{
		Amount:              b.amount,
		InitialAmount:       b.amount,
		DiscountAmount:      b.orderDiscount,
		ItemsDiscountAmount: b.itemsDiscount,
		TotalDiscountAmount: b.orderDiscount + b.itemsDiscount,
		TotalAmount:         b.remaining,
	}
	c.AppliedDiscountAmount = c.DiscountAmount
	c.ItemsAppliedDiscountAmount = c.ItemsDiscountAmount
	c.TotalAppliedDiscountAmount = c.TotalDiscountAmount
	if len(b.items) > 0 {
		c.Items = make([]CalculatedItem, len(b.items))
		for i, it := range b.items {
			c.Items[i] = CalculatedItem{
				Quantity:                it.Quantity,
				Price:                   it.Price,
				Amount:                  it.Amount,
				DiscountAmount:          b.itemOff[i],
				AppliedDiscountAmount:   b.itemOff[i],
				DiscountQuantity:        b.free[i],
				AppliedDiscountQuantity: b.free[i],
				SubtotalAmount:          it.Amount - b.itemOff[i],
				OrderDiscountShare:      b.orderOff[i],
			}
		}
	}
	return c
}

// CalculatedOrder holds the numbers of Voucherify's calculated order
// (OrderCalculated) for one basket; the API layer adds the order's other
// fields. A basket sees one request, so each applied_* field equals its
// counterpart; an engine that keeps the discounts of earlier redemptions of
// the same order adds them to the fields without "applied".
type CalculatedOrder struct {
	// Amount is the order's amount before any discount.
	Amount        int64 `json:"amount"`
	InitialAmount int64 `json:"initial_amount"`
	// DiscountAmount sums the order-level discounts.
	DiscountAmount int64 `json:"discount_amount"`
	// ItemsDiscountAmount sums the item-level discounts.
	ItemsDiscountAmount int64 `json:"items_discount_amount"`
	// TotalDiscountAmount is DiscountAmount plus ItemsDiscountAmount.
	TotalDiscountAmount int64 `json:"total_discount_amount"`
	// TotalAmount is Amount minus TotalDiscountAmount; never negative.
	TotalAmount                int64 `json:"total_amount"`
	AppliedDiscountAmount      int64 `json:"applied_discount_amount"`
	ItemsAppliedDiscountAmount int64 `json:"items_applied_discount_amount"`
	TotalAppliedDiscountAmount int64 `json:"total_applied_discount_amount"`
	// Items are the order's items, in the order's order.
	Items []CalculatedItem `json:"items,omitempty"`
}

// CalculatedItem holds the numbers of one item of a calculated order
// (OrderCalculatedItem).
type CalculatedItem struct {
	Quantity int64 `json:"quantity"`
	Price    int64 `json:"price"`
	Amount   int64 `json:"amount"`
	// DiscountAmount sums the item-level discounts of the item.
	DiscountAmount        int64 `json:"discount_amount"`
	AppliedDiscountAmount int64 `json:"applied_discount_amount"`
	// DiscountQuantity is the units UNIT discounts made free.
	DiscountQuantity        int64 `json:"discount_quantity"`
	AppliedDiscountQuantity int64 `json:"applied_discount_quantity"`
	// SubtotalAmount is Amount minus DiscountAmount, as Voucherify defines
	// it: order-level discounts are not in it.
	SubtotalAmount int64 `json:"subtotal_amount"`
	// OrderDiscountShare is the item's share of the order-level discounts
	// (see Basket on allocation). Voucherify has no such field; the API
	// layer decides whether to show it.
	OrderDiscountShare int64 `json:"-"`
}

// take records a in the basket.
func (b *Basket) take(a Applied) {
	b.remaining -= a.Amount
	if a.OrderLevel {
		b.orderDiscount += a.Amount
	} else {
		b.itemsDiscount += a.Amount
	}
	for i, v := range a.Items {
		b.left[i] -= v
		if a.OrderLevel {
			b.orderOff[i] += v
		} else {
			b.itemOff[i] += v
		}
	}
	for i, u := range a.Units {
		b.free[i] += u
	}
}

// orderLevel computes an APPLY_TO_ORDER discount. whole means no filter: the
// base is then what remains of the order, items or not.
func (b *Basket) orderLevel(d Discount, in []bool, whole bool) Applied {
	caps := b.eligibleLeft(in)
	held := sumOf(caps)
	base := b.remaining
	if !whole {
		base = min(base, held)
	}
	var off int64
	switch d.Type {
	case DiscountAmount:
		off = min(d.AmountOff, base)
	case DiscountPercent:
		off = percentOf(base, d.PercentOff)
		if d.AmountLimit > 0 {
			off = min(off, d.AmountLimit)
		}
	case DiscountFixed:
		off = max(0, base-d.FixedAmount)
	}
	a := Applied{Amount: off, OrderLevel: true}
	if len(b.items) > 0 {
		a.Items = apportion(min(off, held), caps, caps)
	}
	a.Rest = off - sumOf(a.Items)
	return a
}

// itemLevel computes an AMOUNT, PERCENT or FIXED discount with an
// APPLY_TO_ITEMS* effect.
func (b *Basket) itemLevel(d Discount, in []bool) Applied {
	if len(b.items) == 0 {
		return Applied{}
	}
	caps := b.eligibleLeft(in)
	var a Applied
	switch {
	case d.Type == DiscountAmount && d.Effect == effectItemsProportionally:
		a.Items = apportion(min(d.AmountOff, sumOf(caps), b.remaining), caps, caps)
	case d.Type == DiscountAmount && d.Effect == effectItemsProportionallyByQuantity:
		weights := make([]int64, len(caps))
		for i := range caps {
			if caps[i] > 0 {
				weights[i] = b.paidUnits(i)
			}
		}
		a.Items = apportion(min(d.AmountOff, sumOf(caps), b.remaining), weights, caps)
	default:
		a.Items = make([]int64, len(caps))
		for i, c := range caps {
			if c == 0 {
				continue
			}
			var want int64
			switch d.Type {
			case DiscountAmount:
				want = d.AmountOff
				if d.Effect == effectItemsByQuantity {
					want = mulSat(d.AmountOff, b.paidUnits(i))
				}
			case DiscountPercent:
				want = percentOf(c, d.PercentOff)
				if d.AmountLimit > 0 {
					want = min(want, d.AmountLimit)
				}
			case DiscountFixed:
				want = max(0, c-mulSat(d.FixedAmount, b.paidUnits(i)))
			}
			a.Items[i] = min(want, c)
		}
	}
	budget := b.remaining
	for i, v := range a.Items {
		v = min(v, budget)
		a.Items[i] = v
		budget -= v
		a.Amount += v
	}
	return a
}

// unitLevel computes a UNIT discount.
func (b *Basket) unitLevel(d Discount, in []bool) Applied {
	if len(b.items) == 0 {
		return Applied{}
	}
	a := Applied{Items: make([]int64, len(b.items)), Units: make([]int64, len(b.items))}
	want := d.UnitOff
	for i, it := range b.items {
		if want == 0 || a.Amount == b.remaining {
			break
		}
		paid := b.paidUnits(i)
		if !in[i] || !namesItem(d.UnitType, it) || paid == 0 || b.left[i] == 0 {
			continue
		}
		price := it.Price
		if price == 0 {
			price = it.Amount / b.units(i)
		}
		u := min(want, paid)
		v := min(mulSat(u, price), b.left[i], b.remaining-a.Amount)
		a.Items[i], a.Units[i] = v, u
		a.Amount += v
		want -= u
	}
	return a
}

// eligibleLeft returns what each item in in has left, and zero for the
// others.
func (b *Basket) eligibleLeft(in []bool) []int64 {
	caps := make([]int64, len(b.items))
	for i, ok := range in {
		if ok {
			caps[i] = b.left[i]
		}
	}
	return caps
}

// units returns the quantity of item i, which Order.Validate prices as one
// unit when it is zero.
func (b *Basket) units(i int) int64 {
	return max(b.items[i].Quantity, 1)
}

// paidUnits returns the units of item i no UNIT discount has made free.
func (b *Basket) paidUnits(i int) int64 {
	return max(b.units(i)-b.free[i], 0)
}

// namesItem reports whether unitType names it.
func namesItem(unitType string, it OrderItem) bool {
	if unitType == "" {
		return false
	}
	return it.SKUID == unitType || it.ProductID == unitType || it.SourceID == unitType ||
		it.Product != nil && it.Product.ID == unitType || it.SKU != nil && it.SKU.ID == unitType
}

// isItemsEffect reports whether effect applies a discount to items rather
// than to the order.
func isItemsEffect(effect string) bool {
	switch effect {
	case EffectApplyToItems, effectItemsProportionally, effectItemsProportionallyByQuantity, effectItemsByQuantity:
		return true
	}
	return false
}

// percentOf returns p of base, rounded down, in 128-bit arithmetic so that no
// base overflows. p is clamped to [0, 100%].
func percentOf(base int64, p Percent) int64 {
	if base <= 0 || p <= 0 {
		return 0
	}
	p = min(p, 100*PercentUnit)
	hi, lo := bits.Mul64(uint64(base), uint64(p))
	q, _ := bits.Div64(hi, lo, 100*PercentUnit)
	return int64(q)
}

// apportion splits total over the items with a cap above zero, in proportion
// to weights, and never gives an item more than its cap. It needs
// 0 <= total <= sumOf(caps) and weights >= 0, and its parts sum exactly to
// total.
//
// It is the largest-remainder method, capped: an item whose floor share
// reaches its cap takes its cap and the rest is shared again among the
// others; then each item takes the floor of its share, and the units left
// over go one each to the largest fractional parts, ties to the first item.
// When the remaining items all weigh zero, their caps are the weights.
func apportion(total int64, weights, caps []int64) []int64 {
	out := make([]int64, len(caps))
	var active []int
	for i, c := range caps {
		if c > 0 {
			active = append(active, i)
		}
	}
	for total > 0 && len(active) > 0 {
		w := weights
		var all uint64
		for _, i := range active {
			all += uint64(w[i])
		}
		if all == 0 {
			w = caps
			for _, i := range active {
				all += uint64(w[i])
			}
		}
		share := func(i int) (q, r uint64) {
			hi, lo := bits.Mul64(uint64(total), uint64(w[i]))
			return bits.Div64(hi, lo, all)
		}
		var full int64
		rest := active[:0:0]
		for _, i := range active {
			if q, _ := share(i); q >= uint64(caps[i]) {
				out[i] = caps[i]
				full += caps[i]
			} else {
				rest = append(rest, i)
			}
		}
		if full > 0 {
			total -= full
			active = rest
			continue
		}
		rems := make([]uint64, len(caps))
		left := total
		for _, i := range active {
			q, r := share(i)
			out[i] = int64(q)
			left -= int64(q)
			rems[i] = r
		}
		// active is in item order and the sort is stable: ties go first.
		slices.SortStableFunc(active, func(i, j int) int { return cmp.Compare(rems[j], rems[i]) })
		for k := range left {
			out[active[k]]++
		}
		break
	}
	return out
}

// sumOf returns the sum of xs.
func sumOf(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}

// mulSat returns a*b for a, b >= 0, or math.MaxInt64 when that overflows.
func mulSat(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

// Clone returns a copy of b: discounts applied to the copy leave b as it
// is, so a discount can be tried before it is kept.
func (b *Basket) Clone() *Basket {
	c := *b
	c.left = slices.Clone(b.left)
	c.free = slices.Clone(b.free)
	c.itemOff = slices.Clone(b.itemOff)
	c.orderOff = slices.Clone(b.orderOff)
	return &c
}
