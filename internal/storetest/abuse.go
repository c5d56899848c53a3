package storetest

import (
	"testing"

	"promo/internal/promo"
)

func testBlocklist(t *testing.T, b *bundle) {
	entries := []*promo.BlockEntry{
		{ID: promo.NewID(promo.PrefixBlock), Kind: promo.BlockIP, Value: "203.0.113.0/24", Reason: "bot farm", CreatedAt: b.at(1)},
		{ID: promo.NewID(promo.PrefixBlock), Kind: promo.BlockCustomerEmail, Value: "fraud@example.com", CreatedAt: b.at(2)},
	}
	b.update(t, func(tx promo.Tx) error {
		for _, e := range entries {
			if err := tx.CreateBlockEntry(b.ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	got, err := b.s.Blocklist(b.ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "blocklist", got, entries)
	wantCode(t, b.updateErr(func(tx promo.Tx) error {
		return tx.CreateBlockEntry(b.ctx, &promo.BlockEntry{ID: promo.NewID(promo.PrefixBlock), Kind: promo.BlockIP, Value: "203.0.113.0/24", CreatedAt: b.at(3)})
	}), promo.EDuplicateFound)
	b.update(t, func(tx promo.Tx) error { return tx.DeleteBlockEntry(b.ctx, entries[0].ID) })
	wantCode(t, b.updateErr(func(tx promo.Tx) error { return tx.DeleteBlockEntry(b.ctx, entries[0].ID) }), promo.ENotFound)
	if got, err := b.s.Blocklist(b.ctx); err != nil || len(got) != 1 || got[0].ID != entries[1].ID {
		t.Fatalf("after a deletion: %v, %v", got, err)
	}
}

func testFlags(t *testing.T, b *bundle) {
	flags := []*promo.Flag{
		{ID: promo.NewID(promo.PrefixFlag), Kind: promo.FlagCanary, VoucherID: promo.VoucherID(7), Code: "TRAP-1",
			Details: promo.Metadata{"client_ip": "198.51.100.1"}, CreatedAt: b.at(1)},
		{ID: promo.NewID(promo.PrefixFlag), Kind: promo.FlagLeak, VoucherID: promo.VoucherID(8), Code: "ONE-1", Disabled: true,
			Details: promo.Metadata{"distinct_customers": 12}, CreatedAt: b.at(2)},
		{ID: promo.NewID(promo.PrefixFlag), Kind: promo.FlagLeak, VoucherID: promo.VoucherID(7), Code: "TRAP-1", CreatedAt: b.at(3)},
	}
	for _, f := range flags {
		b.update(t, func(tx promo.Tx) error { return tx.CreateFlag(b.ctx, f) })
	}
	all, total, err := b.s.Flags(b.ctx, promo.FlagFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}})
	if err != nil || total != 3 || len(all) != 3 {
		t.Fatalf("flags: %d of %d, %v", len(all), total, err)
	}
	sameJSON(t, "flags, newest first", all, []*promo.Flag{flags[2], flags[1], flags[0]})
	leaks, total, err := b.s.Flags(b.ctx, promo.FlagFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}, Kind: promo.FlagLeak})
	if err != nil || total != 2 || len(leaks) != 2 {
		t.Fatalf("leak flags: %d of %d, %v", len(leaks), total, err)
	}
	ofVoucher, total, err := b.s.Flags(b.ctx, promo.FlagFilter{ListParams: promo.ListParams{Limit: 1, Page: 2}, VoucherID: promo.VoucherID(7)})
	if err != nil || total != 2 || len(ofVoucher) != 1 || ofVoucher[0].ID != flags[0].ID {
		t.Fatalf("the voucher's flags, page 2 of 1: %v of %d, %v", ofVoucher, total, err)
	}
}
