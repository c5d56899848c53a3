package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"promo/internal/jsoncache"
	"promo/internal/promo"
)

// where builds a list query's WHERE clause from a filter. Conditions are
// written with ? for each argument; add numbers them $1, $2 ...
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	var b strings.Builder
	n := 0
	for _, part := range strings.Split(cond, "?") {
		if n > 0 {
			b.WriteString("$" + strconv.Itoa(len(w.args)+n))
		}
		b.WriteString(part)
		n++
	}
	if n-1 != len(args) {
		panic(fmt.Sprintf("postgres: condition %q has %d placeholders and %d arguments", cond, n-1, len(args)))
	}
	w.conds = append(w.conds, b.String())
	w.args = append(w.args, args...)
}

// arg adds an argument that no condition names and returns its
// placeholder, for a query's FROM.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return "$" + strconv.Itoa(len(w.args))
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

// page returns the ORDER BY, LIMIT and OFFSET of a list ordered by cols,
// newest (largest) first unless p.Ascending, with w's arguments followed by
// the page's. The last column breaks ties.
func (w *where) page(p promo.ListParams, cols ...string) (string, []any) {
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
	n := len(w.args)
	q := " ORDER BY " + strings.Join(cols, dir+", ") + dir +
		" LIMIT $" + strconv.Itoa(n+1) + " OFFSET $" + strconv.Itoa(n+2)
	args := append(append(make([]any, 0, n+2), w.args...), limit, (pg-1)*limit)
	return q, args
}

// count returns the number of rows of from (a table with its alias) that w
// selects.
func (r reader) count(ctx context.Context, from string, w *where) (int64, error) {
	var n int64
	if err := r.q.QueryRow(ctx, "SELECT count(*) FROM "+from+w.String(), w.args...).Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// list runs a list query and scans each row with scan.
func list[T any](ctx context.Context, r reader, query string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := r.q.Query(ctx, query, args...)
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

// sourceIDIs returns the condition that column col, a source_id, is $1,
// as its index (ordered by a hash first, see the migration 0006) finds it.
func sourceIDIs(col string) string {
	return `hashtext(` + col + `) = hashtext($1) AND ` + col + ` = $1`
}

// sourceIDKey names a source_id of a table, for queryRowKey and claim.
func sourceIDKey(table, sourceID string) string { return table + "\x00" + sourceID }

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

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

func timePtr(ms *int64) *promo.Time {
	if ms == nil {
		return nil
	}
	t := promo.TimeFromMillis(*ms)
	return &t
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func marshal(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode: %w", err)
	}
	return b, nil
}

func unmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("postgres: decode: %w", err)
	}
	return nil
}

// notFound turns pgx.ErrNoRows into promo's not-found error for the
// resource, and wraps anything else.
func notFound(err error, resource, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return promo.NotFound(resource, id)
	}
	return wrap(err, "read "+resource)
}

// affectedErr returns the error mapping of a write that changes a row it
// names: ENotFound when it changed none (errNoRows), what it failed with
// wrapped.
func affectedErr(what, resource, id string) func(error) error {
	return func(err error) error {
		if errors.Is(err, errNoRows) {
			return promo.NotFound(resource, id)
		}
		return wrap(err, what)
	}
}

// wrapErr returns the error mapping of a write that fails only when
// something is wrong.
func wrapErr(what string) func(error) error {
	return func(err error) error { return wrap(err, what) }
}

// wrap adds context to a driver error and passes promo errors through.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	if _, ok := errors.AsType[*promo.Error](err); ok {
		return err
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}

// duplicate returns promo's duplicate error for a unique violation.
func duplicate(err error, resource, id string) *promo.Error {
	e := promo.Duplicate(resource, id)
	e.Err = err
	return e
}

// templates decodes voucher templates: the vouchers of a tier share its
// template, and decoding it was a third of the CPU time of
// GET /v1/vouchers/{code}.
var templates = jsoncache.New(4096, unmarshal, func(t *promo.VoucherTemplate) promo.VoucherTemplate { return t.Clone() })

// campaignData decodes campaigns: a redemption reads its campaign, and
// decoding it was a twentieth of the CPU time of one.
var campaignData = jsoncache.New(1024, unmarshal, func(c *promo.Campaign) promo.Campaign { return *c.Clone() })
