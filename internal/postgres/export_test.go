package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

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

// AuditQuery returns the SELECT that Audit runs for f, and its arguments.
func AuditQuery(f promo.AuditFilter) (string, []any) {
	w := auditWhere(f)
	return `SELECT ` + auditCols + ` FROM audit_log` + w.String() + ` ORDER BY id DESC LIMIT 10`, w.args
}

// Analyze gathers the statistics of table.
func (s *Store) Analyze(ctx context.Context, table string) error {
	_, err := s.pool.Exec(ctx, "ANALYZE "+pgx.Identifier{table}.Sanitize())
	return err
}

// Plan returns PostgreSQL's plan for query, a line each.
func (s *Store) Plan(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.pool.Query(ctx, "EXPLAIN "+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		plan = append(plan, line)
	}
	return plan, rows.Err()
}
