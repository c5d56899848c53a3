package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"promo/internal/promo"
)

const customerCols = `id, source_id, email, created_at, updated_at, data`

func scanCustomer(sc scanner) (*promo.Customer, error) {
	var (
		c             promo.Customer
		id            string
		source, email sql.NullString
		created       int64
		updated       sql.NullInt64
		data          []byte
	)
	if err := sc.Scan(&id, &source, &email, &created, &updated, &data); err != nil {
		return nil, err
	}
	if err := unmarshal(data, &c); err != nil {
		return nil, err
	}
	c.ID, c.SourceID, c.Email = id, source.String, email.String
	c.CreatedAt, c.UpdatedAt = promo.TimeFromMillis(created), timePtr(updated)
	return &c, nil
}

// Customer returns the customer with ID idOrSourceID, or else with that
// source_id.
func (r reader) Customer(ctx context.Context, idOrSourceID string) (*promo.Customer, error) {
	// Every ID has the customer prefix: anything else is only a source_id.
	err := sql.ErrNoRows
	var c *promo.Customer
	if strings.HasPrefix(idOrSourceID, promo.PrefixCustomer) {
		c, err = scanCustomer(r.c.queryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE id = ?`, idOrSourceID))
	}
	if errors.Is(err, sql.ErrNoRows) {
		c, err = scanCustomer(r.c.queryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE source_id = ?`, idOrSourceID))
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
	order, pargs := page(f.ListParams, "created_at", "rowid")
	cs, err := list(ctx, r, `SELECT `+customerCols+` FROM customers`+w.String()+order, append(w.args, pargs...), scanCustomer)
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
	_, err = t.c.exec(ctx, `INSERT INTO customers (id, source_id, email, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, nullString(c.SourceID), nullString(c.Email), c.CreatedAt.Millis(), nullTime(c.UpdatedAt), data)
	return customerWriteErr(err, c)
}

// UpdateCustomer stores c over the customer with c.ID.
func (t *tx) UpdateCustomer(ctx context.Context, c *promo.Customer) error {
	data, err := marshal(c)
	if err != nil {
		return err
	}
	res, err := t.c.exec(ctx, `UPDATE customers SET source_id = ?, email = ?, created_at = ?, updated_at = ?, data = ? WHERE id = ?`,
		nullString(c.SourceID), nullString(c.Email), c.CreatedAt.Millis(), nullTime(c.UpdatedAt), data, c.ID)
	if err != nil {
		return customerWriteErr(err, c)
	}
	return affected(res, "customer", c.ID)
}

func customerWriteErr(err error, c *promo.Customer) error {
	switch col, ok := uniqueViolation(err); {
	case err == nil:
		return nil
	case ok && col == "customers.source_id":
		e := promo.Duplicate("customer", c.SourceID)
		e.Details = "Duplicated customer exists with source_id " + c.SourceID
		e.Err = err
		return e
	case ok:
		e := promo.Duplicate("customer", c.ID)
		e.Err = err
		return e
	}
	return wrap(err, "write customer")
}

// DeleteCustomer deletes the customer with ID id. Its orders and
// publications stay, as history.
func (t *tx) DeleteCustomer(ctx context.Context, id string) error {
	res, err := t.c.exec(ctx, `DELETE FROM customers WHERE id = ?`, id)
	if err != nil {
		return wrap(err, "delete customer")
	}
	return affected(res, "customer", id)
}

// affected returns ENotFound when res changed no row.
func affected(res sql.Result, resource, id string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(err, "write "+resource)
	}
	if n == 0 {
		return promo.NotFound(resource, id)
	}
	return nil
}

const orderCols = `id, source_id, customer_id, status, created_at, updated_at, data`

func scanOrder(sc scanner) (*promo.Order, error) {
	var (
		o                promo.Order
		id, status       string
		source, customer sql.NullString
		created          int64
		updated          sql.NullInt64
		data             []byte
	)
	if err := sc.Scan(&id, &source, &customer, &status, &created, &updated, &data); err != nil {
		return nil, err
	}
	if err := unmarshal(data, &o); err != nil {
		return nil, err
	}
	o.ID, o.SourceID, o.CustomerID, o.Status = id, source.String, customer.String, status
	o.CreatedAt, o.UpdatedAt = promo.TimeFromMillis(created), timePtr(updated)
	return &o, nil
}

// Order returns the order with ID idOrSourceID, or else with that
// source_id.
func (r reader) Order(ctx context.Context, idOrSourceID string) (*promo.Order, error) {
	// Every ID has the order prefix: anything else is only a source_id.
	err := sql.ErrNoRows
	var o *promo.Order
	if strings.HasPrefix(idOrSourceID, promo.PrefixOrder) {
		o, err = scanOrder(r.c.queryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE id = ?`, idOrSourceID))
	}
	if errors.Is(err, sql.ErrNoRows) {
		o, err = scanOrder(r.c.queryRow(ctx, `SELECT `+orderCols+` FROM orders WHERE source_id = ?`, idOrSourceID))
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
	order, pargs := page(f.ListParams, "created_at", "rowid")
	os, err := list(ctx, r, `SELECT `+orderCols+` FROM orders`+w.String()+order, append(w.args, pargs...), scanOrder)
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
	_, err = t.c.exec(ctx, `INSERT INTO orders (id, source_id, customer_id, status, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		o.ID, nullString(o.SourceID), nullString(o.CustomerID), o.Status, o.CreatedAt.Millis(), nullTime(o.UpdatedAt), data)
	return orderWriteErr(err, o)
}

// UpdateOrder stores o over the order with o.ID.
func (t *tx) UpdateOrder(ctx context.Context, o *promo.Order) error {
	data, err := marshal(o)
	if err != nil {
		return err
	}
	res, err := t.c.exec(ctx, `UPDATE orders SET source_id = ?, customer_id = ?, status = ?, created_at = ?, updated_at = ?, data = ? WHERE id = ?`,
		nullString(o.SourceID), nullString(o.CustomerID), o.Status, o.CreatedAt.Millis(), nullTime(o.UpdatedAt), data, o.ID)
	if err != nil {
		return orderWriteErr(err, o)
	}
	return affected(res, "order", o.ID)
}

func orderWriteErr(err error, o *promo.Order) error {
	switch col, ok := uniqueViolation(err); {
	case err == nil:
		return nil
	case ok && col == "orders.source_id":
		e := promo.Duplicate("order", o.SourceID)
		e.Details = "Duplicated order exists with source_id " + o.SourceID
		e.Err = err
		return e
	case ok:
		e := promo.Duplicate("order", o.ID)
		e.Err = err
		return e
	}
	return wrap(err, "write order")
}
