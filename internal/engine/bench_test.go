package engine_test

import (
	"context"
	"fmt"
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
