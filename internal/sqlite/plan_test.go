package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
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
	} {
		rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+tc.query, tc.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if len(plan) == 0 || plan[0] != tc.want {
			t.Errorf("plan of\n%s\nis\n\t%s\nwant it to start with %q", tc.query, strings.Join(plan, "\n\t"), tc.want)
		}
	}
}
