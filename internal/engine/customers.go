package engine

import (
	"context"

	"promo/internal/promo"
)

// CustomerInput creates or updates a customer. On update, nil fields keep
// their values.
type CustomerInput struct {
	ID          string         `json:"id"`
	SourceID    *string        `json:"source_id"`
	Name        *string        `json:"name"`
	Email       *string        `json:"email"`
	Phone       *string        `json:"phone"`
	Birthdate   *string        `json:"birthdate"`
	Description *string        `json:"description"`
	Address     *promo.Address `json:"address"`
	Metadata    promo.Metadata `json:"metadata"`
}

func (in *CustomerInput) apply(c *promo.Customer) (promo.Metadata, error) {
	changes := promo.Metadata{}
	set := func(name string, dst *string, v *string) error {
		if v == nil {
			return nil
		}
		if len(*v) > 1000 {
			return invalid(promo.EInvalidCustomer, "%s is longer than 1000 bytes", name)
		}
		*dst, changes[name] = *v, *v
		return nil
	}
	for _, f := range []struct {
		name string
		dst  *string
		v    *string
	}{
		{"name", &c.Name, in.Name}, {"email", &c.Email, in.Email}, {"phone", &c.Phone, in.Phone},
		{"birthdate", &c.Birthdate, in.Birthdate}, {"description", &c.Description, in.Description},
	} {
		if err := set(f.name, f.dst, f.v); err != nil {
			return nil, err
		}
	}
	if in.Address != nil {
		c.Address, changes["address"] = in.Address, in.Address
	}
	if in.Metadata != nil {
		c.Metadata, changes["metadata"] = in.Metadata, in.Metadata
	}
	return changes, nil
}

// UpsertCustomer creates a customer, or updates the one with the same id or
// source_id. EInvalidCustomer, ENotFound for an unknown id.
func (e *Engine) UpsertCustomer(ctx context.Context, in CustomerInput) (*promo.Customer, error) {
	var c *promo.Customer
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		var err error
		c, err = e.upsertCustomer(ctx, tx, in)
		return err
	})
	return c, err
}

// upsertCustomer is UpsertCustomer inside a transaction.
func (e *Engine) upsertCustomer(ctx context.Context, tx promo.Tx, in CustomerInput) (*promo.Customer, error) {
	var (
		c   *promo.Customer
		err error
	)
	switch {
	case in.ID != "":
		if c, err = tx.Customer(ctx, in.ID); err != nil {
			return nil, err
		}
		if in.SourceID != nil && *in.SourceID != c.SourceID && c.SourceID != "" {
			return nil, invalid(promo.EInvalidCustomer, "customer %s has source_id %q, not %q", c.ID, c.SourceID, *in.SourceID)
		}
	case in.SourceID != nil && *in.SourceID != "":
		if err := checkName("source_id", *in.SourceID); err != nil {
			return nil, err
		}
		c, err = tx.Customer(ctx, *in.SourceID)
		if promo.ErrorCode(err) == promo.ENotFound || (err == nil && c.SourceID != *in.SourceID) {
			c, err = nil, nil // not a customer by that source_id (an ID that equals it does not count)
		}
		if err != nil {
			return nil, err
		}
	}
	now := e.Now()
	if c == nil {
		c = &promo.Customer{ID: promo.NewTimeID(promo.PrefixCustomer), Metadata: promo.Metadata{}, CreatedAt: now}
		if in.SourceID != nil {
			c.SourceID = *in.SourceID
		}
		changes, err := in.apply(c)
		if err != nil {
			return nil, err
		}
		if err := tx.CreateCustomer(ctx, c); err != nil {
			return nil, err
		}
		return c, e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditCreated, ResourceType: "customer", ResourceID: c.ID, Details: changes})
	}
	changes, err := in.apply(c)
	if err != nil {
		return nil, err
	}
	if in.SourceID != nil && c.SourceID == "" {
		c.SourceID, changes["source_id"] = *in.SourceID, *in.SourceID
	}
	if len(changes) == 0 {
		return c, nil
	}
	c.UpdatedAt = &now
	if err := tx.UpdateCustomer(ctx, c); err != nil {
		return nil, err
	}
	return c, e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditUpdated, ResourceType: "customer", ResourceID: c.ID, Details: changes})
}

// UpdateCustomer changes the customer whose id or source_id is idOrSourceID;
// ENotFound, EInvalidCustomer.
func (e *Engine) UpdateCustomer(ctx context.Context, idOrSourceID string, in CustomerInput) (*promo.Customer, error) {
	var c *promo.Customer
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		cur, err := tx.Customer(ctx, idOrSourceID)
		if err != nil {
			return err
		}
		in.ID = cur.ID
		c, err = e.upsertCustomer(ctx, tx, in)
		return err
	})
	return c, err
}

// DeleteCustomer deletes a customer; ENotFound.
func (e *Engine) DeleteCustomer(ctx context.Context, idOrSourceID string) error {
	return e.store.Update(ctx, func(tx promo.Tx) error {
		c, err := tx.Customer(ctx, idOrSourceID)
		if err != nil {
			return err
		}
		if err := tx.DeleteCustomer(ctx, c.ID); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditDeleted, ResourceType: "customer", ResourceID: c.ID,
			Details: promo.Metadata{"source_id": c.SourceID}})
	})
}

// OrderInput creates or updates an order.
type OrderInput struct {
	ID             string            `json:"id"`
	SourceID       *string           `json:"source_id"`
	Status         *string           `json:"status"`
	Amount         *int64            `json:"amount"`
	InitialAmount  *int64            `json:"initial_amount"`
	DiscountAmount *int64            `json:"discount_amount"`
	Items          []promo.OrderItem `json:"items"`
	Metadata       promo.Metadata    `json:"metadata"`
	Customer       *CustomerInput    `json:"customer"`
	CustomerID     *string           `json:"customer_id"`
	Referrer       *CustomerInput    `json:"referrer"`
}

// UpsertOrder creates an order, or updates the one with the same id or
// source_id; an inline customer is upserted too. EInvalidOrder,
// EInvalidCustomer, ENotFound for an unknown id.
func (e *Engine) UpsertOrder(ctx context.Context, in OrderInput) (*promo.Order, error) {
	var o *promo.Order
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		var err error
		o, err = e.upsertOrder(ctx, tx, "", in)
		return err
	})
	return o, err
}

// UpdateOrder changes the order whose id or source_id is idOrSourceID;
// ENotFound, EInvalidOrder.
func (e *Engine) UpdateOrder(ctx context.Context, idOrSourceID string, in OrderInput) (*promo.Order, error) {
	var o *promo.Order
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		var err error
		o, err = e.upsertOrder(ctx, tx, idOrSourceID, in)
		return err
	})
	return o, err
}

// apply sets what in gives of o; new items without an amount make the
// order's amount their sum again (Order.Validate fills it in).
func (in *OrderInput) apply(o *promo.Order) {
	if in.Items != nil && in.Amount == nil {
		o.Amount = 0
	}
	if in.Status != nil {
		o.Status = *in.Status
	}
	if in.Amount != nil {
		o.Amount = *in.Amount
	}
	if in.InitialAmount != nil {
		o.InitialAmount = *in.InitialAmount
	}
	if in.DiscountAmount != nil {
		o.DiscountAmount = *in.DiscountAmount
	}
	if in.Items != nil {
		o.Items = in.Items
	}
	if in.Metadata != nil {
		o.Metadata = in.Metadata
	}
}

func (e *Engine) upsertOrder(ctx context.Context, tx promo.Tx, target string, in OrderInput) (*promo.Order, error) {
	var (
		o   *promo.Order
		err error
	)
	switch {
	case target != "":
		o, err = tx.Order(ctx, target)
	case in.ID != "":
		o, err = tx.Order(ctx, in.ID)
	case in.SourceID != nil && *in.SourceID != "":
		if err := checkName("source_id", *in.SourceID); err != nil {
			return nil, err
		}
		o, err = tx.Order(ctx, *in.SourceID)
		if promo.ErrorCode(err) == promo.ENotFound || (err == nil && o.SourceID != *in.SourceID) {
			o, err = nil, nil
		}
	}
	if err != nil {
		return nil, err
	}
	now := e.Now()
	created := o == nil
	if created {
		o = &promo.Order{ID: promo.NewTimeID(promo.PrefixOrder), Metadata: promo.Metadata{}, Items: []promo.OrderItem{}, CreatedAt: now}
		if in.SourceID != nil {
			o.SourceID = *in.SourceID
		}
	} else {
		o.UpdatedAt = &now
	}
	in.apply(o)
	if in.CustomerID != nil {
		c, err := tx.Customer(ctx, *in.CustomerID)
		if err != nil {
			return nil, err
		}
		o.CustomerID = c.ID
	}
	if in.Customer != nil {
		c, err := e.upsertCustomer(ctx, tx, *in.Customer)
		if err != nil {
			return nil, err
		}
		o.CustomerID = c.ID
	}
	if in.Referrer != nil {
		c, err := e.upsertCustomer(ctx, tx, *in.Referrer)
		if err != nil {
			return nil, err
		}
		o.ReferrerID = c.ID
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	action := promo.AuditUpdated
	if created {
		action = promo.AuditCreated
		err = tx.CreateOrder(ctx, o)
	} else {
		err = tx.UpdateOrder(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	return o, e.audit(ctx, tx, promo.AuditEntry{Action: action, ResourceType: "order", ResourceID: o.ID,
		Details: promo.Metadata{"amount": o.Amount, "status": o.Status}})
}
