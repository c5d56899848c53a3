package postgres

import "context"

// CompactCounters folds the counter deltas into the totals now.
func (s *Store) CompactCounters(ctx context.Context) error { return s.compact(ctx) }
