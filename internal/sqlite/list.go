package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"promo/internal/jsoncache"
	"promo/internal/promo"
)

// where builds a list query's WHERE clause from a filter.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

// created adds a TimeRange on column col.
func (w *where) created(col string, r promo.TimeRange) {
	if r.After != nil {
		w.add(col+" > ?", r.After.Millis())
	}
	if r.Before != nil {
		w.add(col+" < ?", r.Before.Millis())
	}
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// page returns the ORDER BY and LIMIT of a list ordered by cols, newest
// (largest) first unless p.Ascending, and its arguments. The last column
// breaks ties.
func page(p promo.ListParams, cols ...string) (string, []any) {
	dir := " DESC"
	if p.Ascending {
		dir = " ASC"
	}
	limit, pg := p.Limit, p.Page
	if limit <= 0 {
		limit = 10
	}
	if pg <= 0 {
		pg = 1
	}
	return " ORDER BY " + strings.Join(cols, dir+", ") + dir + " LIMIT ? OFFSET ?", []any{limit, (pg - 1) * limit}
}

// count returns the number of rows of from (a table with its joins) that w
// selects.
func (r reader) count(ctx context.Context, from string, w *where) (int64, error) {
	var n int64
	if err := r.c.queryRow(ctx, "SELECT count(*) FROM "+from+w.String(), w.args...).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// list runs a list query and scans each row with scan.
func list[T any](ctx context.Context, r reader, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := r.c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Conversions between Go's zero values and SQL's NULL: empty strings and nil
// times are stored as NULL, so that UNIQUE columns hold any number of them.

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *promo.Time) any {
	if t == nil {
		return nil
	}
	return t.Millis()
}

func timePtr(n sql.NullInt64) *promo.Time {
	if !n.Valid {
		return nil
	}
	t := promo.TimeFromMillis(n.Int64)
	return &t
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("sqlite: encode: %w", err)
	}
	return string(b), nil
}

func unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("sqlite: decode: %w", err)
	}
	return nil
}

// notFound turns sql.ErrNoRows into promo's not-found error for the
// resource, and wraps anything else.
func notFound(err error, resource, id string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return promo.NotFound(resource, id)
	}
	return wrap(err, "read "+resource)
}

// wrap adds context to a driver error and passes promo errors through.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*promo.Error](err); ok {
		return err
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// templates decodes voucher templates: the vouchers of a tier share its
// template, and decoding it was a third of the CPU time of
// GET /v1/vouchers/{code}.
var templates = jsoncache.New(4096, unmarshal, func(t *promo.VoucherTemplate) promo.VoucherTemplate { return t.Clone() })
