package promo

// Customer is a person a voucher can be published to, known to the client by
// its SourceID.
type Customer struct {
	ID          string   `json:"id"`
	SourceID    string   `json:"source_id,omitempty"`
	Name        string   `json:"name,omitempty"`
	Email       string   `json:"email,omitempty"`
	Phone       string   `json:"phone,omitempty"`
	Birthdate   string   `json:"birthdate,omitempty"`
	Description string   `json:"description,omitempty"`
	Address     *Address `json:"address,omitempty"`
	Metadata    Metadata `json:"metadata"`
	CreatedAt   Time     `json:"created_at"`
	UpdatedAt   *Time    `json:"updated_at,omitempty"`
}

// Address is a customer's postal address.
type Address struct {
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	Line1      string `json:"line_1,omitempty"`
	Line2      string `json:"line_2,omitempty"`
	Country    string `json:"country,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
}

// Order statuses.
const (
	OrderCreated   = "CREATED"
	OrderPaid      = "PAID"
	OrderCanceled  = "CANCELED"
	OrderFulfilled = "FULFILLED"
)

// Order is a purchase a voucher is validated and redeemed against. Amounts
// are in minor units.
type Order struct {
	ID             string      `json:"id"`
	SourceID       string      `json:"source_id,omitempty"`
	Status         string      `json:"status"`
	Amount         int64       `json:"amount"`
	InitialAmount  int64       `json:"initial_amount,omitempty"`
	DiscountAmount int64       `json:"discount_amount"`
	Items          []OrderItem `json:"items"`
	Metadata       Metadata    `json:"metadata"`
	CustomerID     string      `json:"customer_id,omitempty"`
	ReferrerID     string      `json:"referrer_id,omitempty"`
	CreatedAt      Time        `json:"created_at"`
	UpdatedAt      *Time       `json:"updated_at,omitempty"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	SKUID            string   `json:"sku_id,omitempty"`
	ProductID        string   `json:"product_id,omitempty"`
	SourceID         string   `json:"source_id,omitempty"`
	RelatedObject    string   `json:"related_object,omitempty"`
	Quantity         int64    `json:"quantity"`
	Price            int64    `json:"price"`
	Amount           int64    `json:"amount"`
	DiscountQuantity int64    `json:"discount_quantity,omitempty"`
	Product          *Product `json:"product,omitempty"`
	SKU              *Product `json:"sku,omitempty"`
	Metadata         Metadata `json:"metadata,omitempty"`
}

// Product is the product or SKU an order item names.
type Product struct {
	ID       string   `json:"id,omitempty"`
	SourceID string   `json:"source_id,omitempty"`
	Name     string   `json:"name,omitempty"`
	Price    int64    `json:"price,omitempty"`
	Metadata Metadata `json:"metadata,omitempty"`
}

// MaxOrderItems bounds the items of one order, as the reference does.
const MaxOrderItems = 500

// Validate checks o's amounts and items, and fills in each item's amount
// (price times quantity) and the order's amount (the sum of item amounts)
// where they are missing.
func (o *Order) Validate() error {
	bad := func(format string, args ...any) error { return Errorf(EInvalidOrder, format, args...) }
	if len(o.Items) > MaxOrderItems {
		return bad("an order has at most %d items, not %d", MaxOrderItems, len(o.Items))
	}
	switch o.Status {
	case "":
		o.Status = OrderCreated
	case OrderCreated, OrderPaid, OrderCanceled, OrderFulfilled:
	default:
		return bad("unknown status %q: use CREATED, PAID, CANCELED or FULFILLED", o.Status)
	}
	if o.Amount < 0 || o.InitialAmount < 0 || o.DiscountAmount < 0 {
		return bad("amounts must not be negative")
	}
	var sum int64
	for i := range o.Items {
		it := &o.Items[i]
		if it.Quantity < 0 || it.Price < 0 || it.Amount < 0 || it.DiscountQuantity < 0 {
			return bad("items[%d]: quantity, price and amount must not be negative", i)
		}
		if it.Quantity > 1e9 || it.Price > 1e15 {
			return bad("items[%d]: quantity or price is too large", i)
		}
		if it.Amount == 0 && it.Price > 0 {
			q := it.Quantity
			if q == 0 {
				q = 1
			}
			it.Amount = it.Price * q
		}
		if it.Amount > 1e15 || sum > 1e15 {
			return bad("items[%d]: amount is too large", i)
		}
		sum += it.Amount
	}
	if o.Amount == 0 {
		o.Amount = sum
	}
	if o.Amount > 1e15 {
		return bad("amount is too large")
	}
	return nil
}
