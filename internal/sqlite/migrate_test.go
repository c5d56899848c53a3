package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"promo/internal/promo"
)

// TestRebuildKeepsRows: migrations 0007 and 0008 rebuild audit_log,
// redemptions, orders, publications and publication_vouchers. On a store
// at version 6 holding rows, every row keeps its columns and its ID, new
// rows get IDs after the largest (never one of a row copied), orders' and
// publications' source_ids stay unique while any number have none, and
// publication_vouchers still references publications.
func TestRebuildKeepsRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "promo.db")
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, "_journal_mode=WAL"))
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	for _, m := range ms {
		if m.version >= 7 {
			break
		}
		exec(m.sql)
		exec(`INSERT INTO schema_migrations VALUES (?, ?, 0)`, m.version, m.name)
	}
	// IDs with gaps, as deleted rows or rolled back inserts leave them.
	exec(`INSERT INTO audit_log (id, time, api_key_id, action, resource_type, resource_id, campaign_id, voucher_id, details)
		VALUES (3, 1000, 'app_1', 'created', 'campaign', 'camp_1', 'camp_1', NULL, '{"name":"c"}'),
		       (9, 2000, NULL, 'published', 'voucher', 'v_1', 'camp_1', 'v_1', NULL)`)
	exec(`INSERT INTO redemptions (seq, id, object, result, status, voucher_seq, campaign_id, customer_id, created_at, data)
		VALUES (5, 'r_1', 'redemption', 'SUCCESS', 'SUCCEEDED', 1, 'camp_1', 'cust_1', 1000, '{"id":"r_1"}'),
		       (12, 'r_2', 'redemption', 'FAILURE', 'FAILED', NULL, NULL, NULL, 2000, '{"id":"r_2"}')`)
	exec(`INSERT INTO orders (id, source_id, customer_id, status, created_at, data)
		VALUES ('ord_1', 'shop-1', 'cust_1', 'CREATED', 1000, '{"id":"ord_1"}'),
		       ('ord_2', NULL, NULL, 'PAID', 2000, '{"id":"ord_2"}')`)
	// The later-inserted publication first in id order, and both at the
	// same time: the lists break that tie by rowid.
	exec(`INSERT INTO publications (id, source_id, campaign_id, customer_id, channel, result, created_at)
		VALUES ('pub_b', 'feed-1', 'camp_1', 'cust_1', 'API', 'SUCCESS', 1000),
		       ('pub_a', NULL, 'camp_1', 'cust_2', 'API', 'SUCCESS', 1000)`)
	exec(`INSERT INTO publication_vouchers (publication_id, position, voucher_seq) VALUES ('pub_b', 0, 1), ('pub_a', 0, 2)`)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var version int
	if err := s.rdb.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version < 8 {
		t.Fatalf("schema at version %d, %v", version, err)
	}

	es, n, err := s.Audit(ctx, promo.AuditFilter{ListParams: promo.ListParams{Limit: 10, Page: 1, Ascending: true}, CampaignID: "camp_1"})
	if err != nil || n != 2 || es[0].ID != 3 || es[1].ID != 9 || es[1].VoucherID != "v_1" || es[0].APIKeyID != "app_1" ||
		es[0].Details["name"] != "c" {
		t.Fatalf("audit after the rebuild: %d entries %+v, %v", n, es, err)
	}
	r, err := s.Redemption(ctx, "r_2")
	if err != nil || r.ID != "r_2" {
		t.Fatalf("redemption r_2: %+v, %v", r, err)
	}
	rs, n, err := s.Redemptions(ctx, promo.RedemptionFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}, CampaignID: "camp_1"})
	if err != nil || n != 1 || rs[0].ID != "r_1" {
		t.Fatalf("campaign's redemptions: %d %+v, %v", n, rs, err)
	}
	if o, err := s.Order(ctx, "shop-1"); err != nil || o.ID != "ord_1" {
		t.Fatalf("order by source_id: %+v, %v", o, err)
	}
	ps, n, err := s.Publications(ctx, promo.PublicationFilter{ListParams: promo.ListParams{Limit: 10, Page: 1, Ascending: true}})
	if err != nil || n != 2 || ps[0].ID != "pub_b" || ps[1].ID != "pub_a" {
		t.Fatalf("publications after the rebuild, oldest first: %d, %v", n, err)
	}
	var kept int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM publication_vouchers
		WHERE publication_id = 'pub_b' AND position = 0 AND voucher_seq = 1 OR publication_id = 'pub_a' AND voucher_seq = 2`).Scan(&kept); err != nil || kept != 2 {
		t.Fatalf("publication_vouchers after the rebuild: %d of 2 rows, %v", kept, err)
	}
	if p, err := s.PublicationBySourceID(ctx, "feed-1"); err != nil || p.ID != "pub_b" {
		t.Fatalf("publication by source_id: %+v, %v", p, err)
	}
	var ref string
	if err := s.rdb.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'publication_vouchers'`).Scan(&ref); err != nil ||
		!strings.Contains(ref, "REFERENCES publications (id)") && !strings.Contains(ref, `REFERENCES "publications" (id)`) {
		t.Fatalf("publication_vouchers after the rebuild: %s, %v", ref, err)
	}
	if rows, err := s.rdb.QueryContext(ctx, `PRAGMA foreign_key_check`); err != nil {
		t.Fatal(err)
	} else {
		dangling := rows.Next()
		rows.Close()
		if dangling {
			t.Fatal("foreign_key_check finds dangling references after the rebuild")
		}
	}

	now := promo.NewTime(time.UnixMilli(3000))
	err = s.Update(ctx, func(tx promo.Tx) error {
		e := &promo.AuditEntry{Time: now, Action: promo.AuditUpdated, ResourceType: "campaign", ResourceID: "camp_1", CampaignID: "camp_1"}
		if err := tx.AppendAudit(ctx, e); err != nil {
			return err
		}
		if e.ID != 10 {
			t.Errorf("new audit entry has ID %d, want 10", e.ID)
		}
		if err := tx.CreateRedemption(ctx, &promo.Redemption{ID: "r_3", Object: promo.ObjectRedemption, Result: promo.ResultSuccess,
			Status: promo.StatusSucceeded, Date: now, Metadata: promo.Metadata{}}); err != nil {
			return err
		}
		for _, id := range []string{"ord_3", "ord_4"} { // no source_id, twice
			if err := tx.CreateOrder(ctx, &promo.Order{ID: id, Status: promo.OrderCreated, CreatedAt: now,
				Metadata: promo.Metadata{}, Items: []promo.OrderItem{}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := s.rdb.QueryRowContext(ctx, `SELECT seq FROM redemptions WHERE id = 'r_3'`).Scan(&seq); err != nil || seq != 13 {
		t.Fatalf("new redemption's seq %d, %v; want 13", seq, err)
	}
	err = s.Update(ctx, func(tx promo.Tx) error {
		return tx.CreateOrder(ctx, &promo.Order{ID: "ord_5", SourceID: "shop-1", Status: promo.OrderCreated, CreatedAt: now,
			Metadata: promo.Metadata{}, Items: []promo.OrderItem{}})
	})
	if pe, ok := errors.AsType[*promo.Error](err); !ok || !strings.Contains(pe.Details, "source_id shop-1") {
		t.Fatalf("a second order with source_id shop-1: %v, want a duplicate source_id", err)
	}
	for i, src := range []string{"", "", "feed-1"} {
		err := s.Update(ctx, func(tx promo.Tx) error {
			return tx.CreatePublication(ctx, &promo.Publication{ID: fmt.Sprint("pub_new", i), SourceID: src, CampaignID: "camp_1",
				CustomerID: "cust_3", Result: promo.PublicationSuccess, CreatedAt: now,
				Vouchers: []*promo.Voucher{{ID: promo.VoucherID(3)}}})
		})
		switch {
		case src == "" && err != nil:
			t.Fatalf("publication %d without a source_id: %v", i, err)
		case src != "" && promo.ErrorCode(err) != promo.EDuplicateSourceID:
			t.Fatalf("a second publication with source_id %s: %v, want %s", src, err, promo.EDuplicateSourceID)
		}
	}
}
