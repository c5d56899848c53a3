package postgres

import (
	"context"

	"promo/internal/promo"
)

// CompactCounters folds the counter deltas into the totals now.
func (s *Store) CompactCounters(ctx context.Context) error { return s.compact(ctx) }

// CurrentSchema returns the schema a transaction works in.
func CurrentSchema(ctx context.Context, t promo.Tx) (string, error) {
	var schema string
	err := t.(*tx).q.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema)
	return schema, err
}

// VoucherIDInSQL returns the schema's voucher_id(seq).
func VoucherIDInSQL(ctx context.Context, t promo.Tx, seq int64) (string, error) {
	var id string
	err := t.(*tx).q.QueryRow(ctx, `SELECT voucher_id($1)`, seq).Scan(&id)
	return id, err
}

// Stats returns how many attempts, round trips and statements the store's
// Updates have made.
func (s *Store) Stats() (attempts, roundTrips, statements int64) {
	return s.stats.attempts.Load(), s.stats.roundTrips.Load(), s.stats.statements.Load()
}
