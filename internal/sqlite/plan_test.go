package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	"promo/internal/promo"
	"promo/internal/storetest"
)

// TestQueryPlans checks that the queries whose speed rests on a partial
// index use it: a small change to their WHERE would make SQLite scan
// instead, and nothing else would notice until a pool had a million
// vouchers taken.
func TestQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "promo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		query string
		args  []any
		want  string
	}{
		{takeVoucherSQL, []any{1}, "SEARCH v USING INDEX vouchers_pool (campaign_seq=?)"},
		{claimableSQL, []any{1, 2}, "SCAN async_actions USING INDEX async_actions_open"},
		{voucherSelect + ` WHERE v.key = ?`, []any{"K"}, "SEARCH v USING INDEX sqlite_autoindex_vouchers_1 (key=?)"},
		{`SELECT ` + orderCols + ` FROM orders WHERE source_id = ?`, []any{"S"}, "SEARCH orders USING INDEX orders_source (source_id=?)"},
	} {
		plan := queryPlan(t, s, tc.query, tc.args...)
		if len(plan) == 0 || plan[0] != tc.want {
			t.Errorf("plan of\n%s\nis\n\t%s\nwant it to start with %q", tc.query, strings.Join(plan, "\n\t"), tc.want)
		}
	}
}

// TestAuditQueryPlans: an audit read by campaign or voucher searches the
// indexes of both of its terms, the partial ones on resource_id included,
// on a log of many entries whose statistics SQLite has gathered (on an
// empty table it scans whatever the indexes). Without the resource type in
// the read, SQLite could not use the partial indexes and would scan the
// whole log.
func TestAuditQueryPlans(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "promo.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(t.Context(), func(ptx promo.Tx) error {
		for _, e := range storetest.AuditLog(4000) {
			if err := ptx.AppendAudit(t.Context(), e); err != nil {
				return err
			}
		}
		_, err := ptx.(*tx).c.exec(t.Context(), "ANALYZE")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    promo.AuditFilter
		want []string
	}{
		{promo.AuditFilter{CampaignID: "camp_3"}, []string{"INDEX audit_log_campaign ", "INDEX audit_log_campaign_resource "}},
		{promo.AuditFilter{VoucherID: promo.VoucherID(7)}, []string{"INDEX audit_log_voucher ", "INDEX audit_log_voucher_resource "}},
	} {
		w := auditWhere(tc.f)
		plan := queryPlan(t, s, "SELECT "+auditCols+" FROM audit_log"+w.String()+" ORDER BY id DESC LIMIT 10", w.args...)
		all := strings.Join(plan, "\n\t")
		for _, want := range tc.want {
			if !strings.Contains(all+" ", want) {
				t.Errorf("plan of the audit read %+v is\n\t%s\nwant it to use %s", tc.f, all, want)
			}
		}
	}
}

// queryPlan returns the lines of SQLite's plan for query.
func queryPlan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
