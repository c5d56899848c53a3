package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"promo/internal/promo"
)

const customerCols = `id, source_id, email, created_at, updated_at, data`

func scanCustomer(sc scanner) (*promo.Customer, error) {
	var (
		c             promo.Customer
		id            string
		source, email *string
		created       int64
		updated       *int64
		data          []byte
	)
	if err := sc.Scan(&id, &source, &email, &created, &updated, &data); err != nil {
		return nil, err
	}
	if err := unmarshal(data, &c); err != nil {
		return nil, err
	}
	c.ID, c.SourceID, c.Email = id, str(source), str(email)
	c.CreatedAt, c.UpdatedAt = promo.TimeFromMillis(created), timePtr(updated)
	return &c, nil
}

// Customer returns the customer with ID idOrSourceID, or else with that
// source_id.
func (r reader) Customer(ctx context.Context, idOrSourceID string) (*promo.Customer, error) {
	// Every ID has the customer prefix: anything else is only a source_id.
	err := pgx.ErrNoRows
	var c *promo.Customer
	if strings.HasPrefix(idOrSourceID, promo.PrefixCustomer) {
		c, err = scanCustomer(r.q.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE id = $1`, idOrSourceID))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		c, err = scanCustomer(queryRowKey(ctx, r.q, sourceIDKey("customers", idOrSourceID),
			`SELECT `+customerCols+` FROM customers WHERE `+sourceIDIs("source_id"), idOrSourceID))
	}
	if err != nil {
		return nil, notFound(err, "customer", idOrSourceID)
	}
	return c, nil
}

// Customers lists customers by creation time.
func (r reader) Customers(ctx context.Context, f promo.CustomerFilter) ([]*promo.Customer, int64, error) {
	var w where
	if f.Email != "" {
		w.add("email = ?", f.Email)
	}
	w.created("created_at", f.Created)
	order, args := w.page(f.ListParams, "created_at", "seq")
	cs, err := list(ctx, r, `SELECT `+customerCols+` FROM customers`+w.String()+order, args, scanCustomer)
	if err != nil {
		return nil, 0, wrap(err, "list customers")
	}
	n, err := r.count(ctx, "customers", &w)
	if err != nil {
		return nil, 0, wrap(err, "count customers")
	}
	return cs, n, nil
}

// CreateCustomer stores c, giving it an ID if it has none.
func (t *tx) CreateCustomer(ctx context.Context, c *promo.Customer) error {
	if c.ID == "" {
		c.ID = promo.NewID(promo.PrefixCustomer)
	}
	data, err := marshal(c)
	if err != nil {
		return err
	}
	claimed := c.SourceID != "" && t.c.claim(sourceIDKey("customers", c.SourceID))
	return t.c.exec(ctx, `INSERT INTO customers (id, source_id, email, created_at, updated_at, data) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{c.ID, nullString(c.SourceID), nullString(c.Email), c.CreatedAt.Millis(), nullTime(c.UpdatedAt), data}, false,
		func(err error) error {
			if name, ok := uniqueViolation(err); ok && name == "customers_source_id_key" && claimed {
				return errStale // created since it was read absent
			}
			return customerWriteErr(err, c)
		})
}

// UpdateCustomer stores c over the customer with c.ID.
func (t *tx) UpdateCustomer(ctx context.Context, c *promo.Customer) error {
	data, err := marshal(c)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `UPDATE customers SET source_id = $1, email = $2, created_at = $3, updated_at = $4, data = $5 WHERE id = $6`,
		[]any{nullString(c.SourceID), nullString(c.Email), c.CreatedAt.Millis(), nullTime(c.UpdatedAt), data, c.ID}, true,
		func(err error) error {
			if errors.Is(err, errNoRows) {
				return promo.NotFound("customer", c.ID)
			}
			return customerWriteErr(err, c)
		})
}

func customerWriteErr(err error, c *promo.Customer) error {
	switch name, ok := uniqueViolation(err); {
	case err == nil:
		return nil
	case ok && name == "customers_source_id_key":
		e := duplicate(err, "customer", c.SourceID)
		e.Details = "Duplicated customer exists with source_id " + c.SourceID
		return e
	case ok:
		return duplicate(err, "customer", c.ID)
	}
	return wrap(err, "write customer")
}

// DeleteCustomer deletes the customer with ID id. Its orders and
// publications stay, as history.
func (t *tx) DeleteCustomer(ctx context.Context, id string) error {
	return t.c.exec(ctx, `DELETE FROM customers WHERE id = $1`, []any{id}, true, affectedErr("delete customer", "customer", id))
}

const orderCols = `id, source_id, customer_id, status, created_at, updated_at, data`

func scanOrder(sc scanner) (*promo.Order, error) {
	var (
		o                promo.Order
		id, status       string
		source, customer *string
		created          int64
		updated          *int64
		data             []byte
	)
	if err := sc.Scan(&id, &source, &customer, &status, &created, &updated, &data); err != nil {
		return nil, err
	}
	if err := unmarshal(data, &o); err != nil {
		return nil, err
	}
	o.ID, o.SourceID, o.CustomerID, o.Status = id, str(source), str(customer), status
	o.CreatedAt, o.UpdatedAt = promo.TimeFromMillis(created), timePtr(updated)
	return &o, nil
}

// Order returns the order with ID idOrSourceID, or else with that
// source_id.
func (r reader) Order(ctx context.Context, idOrSourceID string) (*promo.Order, error) {
	// Every ID has the order prefix: anything else is only a source_id.
	err := pgx.ErrNoRows
	var o *promo.Order
	if strings.HasPrefix(idOrSourceID, promo.PrefixOrder) {
		o, err = scanOrder(r.q.QueryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE id = $1`, idOrSourceID))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		o, err = scanOrder(queryRowKey(ctx, r.q, sourceIDKey("orders", idOrSourceID),
			`SELECT `+orderCols+` FROM orders WHERE `+sourceIDIs("source_id"), idOrSourceID))
	}
	if err != nil {
		return nil, notFound(err, "order", idOrSourceID)
	}
	return o, nil
}

// Orders lists orders by creation time.
func (r reader) Orders(ctx context.Context, f promo.OrderFilter) ([]*promo.Order, int64, error) {
	var w where
	if f.CustomerID != "" {
		w.add("customer_id = ?", f.CustomerID)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	w.created("created_at", f.Created)
	order, args := w.page(f.ListParams, "created_at", "seq")
	os, err := list(ctx, r, `SELECT `+orderCols+` FROM orders`+w.String()+order, args, scanOrder)
	if err != nil {
		return nil, 0, wrap(err, "list orders")
	}
	n, err := r.count(ctx, "orders", &w)
	if err != nil {
		return nil, 0, wrap(err, "count orders")
	}
	return os, n, nil
}

// CreateOrder stores o, giving it an ID if it has none.
func (t *tx) CreateOrder(ctx context.Context, o *promo.Order) error {
	if o.ID == "" {
		o.ID = promo.NewID(promo.PrefixOrder)
	}
	data, err := marshal(o)
	if err != nil {
		return err
	}
	claimed := o.SourceID != "" && t.c.claim(sourceIDKey("orders", o.SourceID))
	return t.c.exec(ctx, `INSERT INTO orders (id, source_id, customer_id, status, created_at, updated_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		[]any{o.ID, nullString(o.SourceID), nullString(o.CustomerID), o.Status, o.CreatedAt.Millis(), nullTime(o.UpdatedAt), data}, false,
		func(err error) error {
			if name, ok := uniqueViolation(err); ok && name == "orders_source_id_key" && claimed {
				return errStale // created since it was read absent
			}
			return orderWriteErr(err, o)
		})
}

// UpdateOrder stores o over the order with o.ID.
func (t *tx) UpdateOrder(ctx context.Context, o *promo.Order) error {
	data, err := marshal(o)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `UPDATE orders SET source_id = $1, customer_id = $2, status = $3, created_at = $4, updated_at = $5, data = $6
		WHERE id = $7`,
		[]any{nullString(o.SourceID), nullString(o.CustomerID), o.Status, o.CreatedAt.Millis(), nullTime(o.UpdatedAt), data, o.ID}, true,
		func(err error) error {
			if errors.Is(err, errNoRows) {
				return promo.NotFound("order", o.ID)
			}
			return orderWriteErr(err, o)
		})
}

func orderWriteErr(err error, o *promo.Order) error {
	switch name, ok := uniqueViolation(err); {
	case err == nil:
		return nil
	case ok && name == "orders_source_id_key":
		e := duplicate(err, "order", o.SourceID)
		e.Details = "Duplicated order exists with source_id " + o.SourceID
		return e
	case ok:
		return duplicate(err, "order", o.ID)
	}
	return wrap(err, "write order")
}
