package engine_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"promo/internal/engine"
	"promo/internal/promo"
)

// BenchmarkPublish publishes codes from a pool of 100,000 to a new customer
// each, from 32 goroutines (the 32 concurrent clients).
func BenchmarkPublish(b *testing.B) {
	t := &testing.T{}
	bd := setup(t, engine.Options{})
	b.Cleanup(func() { bd.store.Close() })
	ctx := context.Background()
	if _, err := bd.eng.CreateCampaign(ctx, engine.CampaignInput{Name: "Pool", Type: promo.CampaignAutoUpdate, VouchersCount: 100_000,
		Voucher: &engine.TemplateInput{Discount: &promo.Discount{Type: promo.DiscountAmount, AmountOff: 100}}}); err != nil {
		b.Fatal(err)
	}
	bd.runActions(t)
	var n atomic.Int64
	b.SetParallelism(16) // 16 x GOMAXPROCS(2) = 32 goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("c", n.Add(1))
			if _, _, err := bd.eng.Publish(ctx, engine.PublishInput{Campaign: &engine.CampaignRef{Name: "Pool"}, Customer: sourceID(id)}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPagesWritten counts the pages a publication and a redemption
// (each by a new customer, each committed alone) write to the WAL: the
// frames a commit appends, two write calls each, and later copies back.
// Unlike their time, the count does not depend on how busy the machine
// is, so it shows a change to the write path's cost on any run. Run it
// with a small -benchtime (200x): the WAL must not start over while it
// counts, which it can only after the checkpointer's 2 s tick.
func BenchmarkPagesWritten(b *testing.B) {
	b.Run("publish", func(b *testing.B) {
		bd, ctx := pagesBench(b, "Pool", b.N)
		n := 0
		walPages(b, bd, b.N, func() {
			n++
			if _, _, err := bd.eng.Publish(ctx, engine.PublishInput{Campaign: &engine.CampaignRef{Name: "Pool"},
				Customer: sourceID(fmt.Sprint("pub-customer-", n))}); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("redeem", func(b *testing.B) {
		bd, ctx := pagesBench(b, "Redeem", b.N)
		vs, _, err := bd.store.Vouchers(ctx, promo.VoucherFilter{ListParams: promo.ListParams{Limit: b.N, Page: 1}})
		if err != nil || len(vs) < b.N {
			b.Fatalf("%d codes, %v", len(vs), err)
		}
		n := 0
		walPages(b, bd, b.N, func() {
			if _, _, err := bd.eng.Redeem(ctx, redeemReq(vs[n].Code, fmt.Sprint("redeem-customer-", n), 5000)); err != nil {
				b.Fatal(err)
			}
			n++
		})
	})
}

// pagesBench returns an engine with a STATIC campaign of n codes.
func pagesBench(b *testing.B, name string, n int) (*bundle, context.Context) {
	t := &testing.T{}
	bd := setup(t, engine.Options{})
	b.Cleanup(func() { bd.store.Close() })
	ctx := context.Background()
	if _, err := bd.eng.CreateCampaign(ctx, engine.CampaignInput{Name: name, Type: promo.CampaignStatic, VouchersCount: int64(n),
		Voucher: &engine.TemplateInput{Discount: &tenOff}}); err != nil {
		b.Fatal(err)
	}
	bd.runActions(t)
	return bd, ctx
}

// walPages empties the WAL, runs op n times, and reports the WAL frames
// they appended per op.
func walPages(b *testing.B, bd *bundle, n int, op func()) {
	db, err := sql.Open("sqlite", bd.path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	checkpoint := func(mode string) int64 {
		var busy, frames, copied int64
		if err := db.QueryRow("PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &frames, &copied); err != nil || busy != 0 {
			b.Fatalf("checkpoint: busy %d, %v", busy, err)
		}
		return frames
	}
	checkpoint("TRUNCATE")
	b.ResetTimer()
	for range n {
		op()
	}
	b.StopTimer()
	frames := checkpoint("PASSIVE")
	// Had the WAL started over, it would hold fewer frames than its file.
	fi, err := os.Stat(bd.path + "-wal")
	if err != nil {
		b.Fatal(err)
	}
	const pageSize, header, frameHeader = 4096, 32, 24
	if fi.Size() > header+frames*(frameHeader+pageSize) {
		b.Fatalf("the WAL started over while counting (%d frames in a file of %d bytes): use a smaller -benchtime", frames, fi.Size())
	}
	b.ReportMetric(float64(frames)/float64(n), "pages/op")
}
