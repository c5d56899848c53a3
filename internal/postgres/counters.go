package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"promo/internal/promo"
)

// Counters are kept as insert-only deltas (counter_deltas) that a
// compactor folds into totals per day and for all time (counter_totals);
// a counter is the sum of both. Every redemption adds to its campaign's
// counters, and a single row per campaign would make concurrent
// redemptions of a campaign collide on it: at SERIALIZABLE, all but one
// would fail and run again. Inserts of distinct rows never collide, so
// redemptions that do not read a counter never conflict over it. A
// redemption that reads one (a limit or a budget) does conflict with a
// concurrent redemption that adds to it, as it must: SSI sees the read
// range and the insert into it, and one of the two runs again after the
// other, so the decision it takes is the serial one.

// The statements read the totals and the deltas not yet folded in. A delta
// of day 0 counts for all time only; day <> 0 keeps it, and the all-time
// total, out of sums from a day.
const (
	counterAllTimeSQL = `SELECT coalesce(sum(count), 0), coalesce(sum(amount), 0), coalesce(sum(order_amount), 0) FROM (
		SELECT count, amount, order_amount FROM counter_totals WHERE scope = $1 AND day = 0
		UNION ALL
		SELECT count, amount, order_amount FROM counter_deltas WHERE scope = $1) c`
	counterFromSQL = `SELECT coalesce(sum(count), 0), coalesce(sum(amount), 0), coalesce(sum(order_amount), 0) FROM (
		SELECT count, amount, order_amount FROM counter_totals WHERE scope = $1 AND day >= $2 AND day <> 0
		UNION ALL
		SELECT count, amount, order_amount FROM counter_deltas WHERE scope = $1 AND day >= $2 AND day <> 0) c`
)

// Counter returns a scope's counters from fromDay on, or all time.
func (r reader) Counter(ctx context.Context, scope string, fromDay int64) (promo.Counter, error) {
	var c promo.Counter
	q, args := counterAllTimeSQL, []any{scope}
	if fromDay != promo.AllTime {
		q, args = counterFromSQL, []any{scope, fromDay}
	}
	if err := r.q.QueryRow(ctx, q, args...).Scan(&c.Count, &c.Amount, &c.OrderAmount); err != nil {
		return promo.Counter{}, wrap(err, "read counter")
	}
	return c, nil
}

// AddCounters adds delta to the counters of scopes for day (and so for all
// time): one new row per scope, in one statement.
func (t *tx) AddCounters(ctx context.Context, day int64, delta promo.Counter, scopes ...string) error {
	if len(scopes) == 0 {
		return nil
	}
	return t.c.exec(ctx, `INSERT INTO counter_deltas (scope, day, count, amount, order_amount)
		SELECT s, $2, $3, $4, $5 FROM unnest($1::text[]) AS s`,
		[]any{scopes, day, delta.Count, delta.Amount, delta.OrderAmount}, false, wrapErr("add counters"))
}

// compactSQL moves every delta it sees into the totals, each to its day's
// row and to the all-time row, in one statement: a reader sees the deltas
// or their totals, never both or neither. Deltas of transactions still
// running are not visible to it and wait for the next round.
const compactSQL = `WITH moved AS (
		DELETE FROM counter_deltas RETURNING scope, day, count, amount, order_amount
	), days AS (
		SELECT scope, day, count, amount, order_amount FROM moved WHERE day <> 0
		UNION ALL
		SELECT scope, 0, count, amount, order_amount FROM moved
	)
	INSERT INTO counter_totals AS t (scope, day, count, amount, order_amount)
	SELECT scope, day, sum(count), sum(amount), sum(order_amount) FROM days GROUP BY scope, day ORDER BY scope, day
	ON CONFLICT (scope, day) DO UPDATE SET count = t.count + excluded.count, amount = t.amount + excluded.amount,
		order_amount = t.order_amount + excluded.order_amount`

// compactLock keeps compactors of several nodes from running at once on
// one schema; a compactor that finds it taken skips its round.
const compactLock = `hashtext('promo.compact'), hashtext(current_schema())`

// compactEvery is how often each node folds counter deltas into totals: a
// counter read sums its scope's deltas, so they must stay few.
const compactEvery = time.Second

// compactLoop compacts the counters every compactEvery until ctx ends.
func (s *Store) compactLoop(ctx context.Context) {
	defer close(s.compacted)
	t := time.NewTicker(compactEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A failure (the schema is not migrated yet, the database is
		// away) leaves the deltas, which count as well; the next round
		// tries again.
		_ = s.compact(ctx)
	}
}

// compact folds the counter deltas into the totals. It runs at READ
// COMMITTED: it only moves amounts, so every sum stays what it was, and
// SERIALIZABLE transactions never write the rows it writes (totals) nor
// change the rows it deletes (deltas), so it cannot make them fail.
func (s *Store) compact(ctx context.Context) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock(`+compactLock+`)`).Scan(&ok); err != nil || !ok {
			return err
		}
		_, err := tx.Exec(ctx, compactSQL)
		return err
	})
}
