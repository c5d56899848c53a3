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
