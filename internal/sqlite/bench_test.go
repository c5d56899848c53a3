package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"promo/internal/promo"
)

// The insertion benchmarks each insert benchVouchers vouchers per op, in
// Updates of benchBatch, into a fresh file. Run them one op at a time:
//
//	go test -run '^$' -bench Insert -benchtime 1x -count 5 ./internal/sqlite
const (
	benchVouchers = 1_000_000
	benchBatch    = 4096
)

// benchCodes returns benchVouchers distinct random codes shaped like
// SUM-AB3K-9QZX and their keys, the same on every call.
var benchCodes = sync.OnceValues(func() ([]string, []string) {
	const charset = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	r := rand.New(rand.NewPCG(1, 2))
	seen := make(map[string]bool, benchVouchers)
	codes := make([]string, 0, benchVouchers)
	keys := make([]string, 0, benchVouchers)
	var b [8]byte
	for len(codes) < benchVouchers {
		for i := range b {
			b[i] = charset[r.IntN(len(charset))]
		}
		key := "SUM" + string(b[:])
		if seen[key] {
			continue
		}
		seen[key] = true
		codes = append(codes, "SUM-"+string(b[:4])+"-"+string(b[4:]))
		keys = append(keys, key)
	}
	return codes, keys
})

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkInsertVouchers measures InsertVouchers as code generation calls
// it: batches of generated vouchers of one tier, one Update each.
func BenchmarkInsertVouchers(b *testing.B) {
	ctx := context.Background()
	codes, keys := benchCodes()
	now := promo.NewTime(time.Now())
	vs := make([]*promo.Voucher, benchVouchers)
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		s := benchStore(b)
		c := &promo.Campaign{Name: "bench", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, Active: true, CreatedAt: now}
		tier := &promo.Tier{Template: promo.VoucherTemplate{Type: promo.VoucherDiscount}}
		if err := s.Update(ctx, func(tx promo.Tx) error {
			if err := tx.CreateCampaign(ctx, c); err != nil {
				return err
			}
			tier.CampaignID = c.ID
			return tx.CreateTier(ctx, tier)
		}); err != nil {
			b.Fatal(err)
		}
		for i := range vs {
			vs[i] = &promo.Voucher{Code: codes[i], Key: keys[i], CampaignID: c.ID, TierID: tier.ID, Active: true, CreatedAt: now}
		}
		b.StartTimer()
		cpu0 := cpuTime()

		for i := 0; i < len(vs); i += benchBatch {
			batch := vs[i:min(i+benchBatch, len(vs))]
			if err := s.Update(ctx, func(tx promo.Tx) error {
				inserted, err := tx.InsertVouchers(ctx, batch)
				if err != nil {
					return err
				}
				for j, ok := range inserted {
					if !ok {
						return fmt.Errorf("voucher %q was not inserted", batch[j].Code)
					}
				}
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}

		cpu += cpuTime() - cpu0
		b.StopTimer()
		if got, err := s.Campaign(ctx, c.ID); err != nil || got.VouchersCount != benchVouchers {
			b.Fatalf("campaign has %d vouchers, %v; want %d", got.VouchersCount, err, benchVouchers)
		}
		s.Close()
		b.StartTimer()
	}
	reportPerVoucher(b, cpu)
}

// reportPerVoucher reports the wall and CPU time of one voucher.
func reportPerVoucher(b *testing.B, cpu time.Duration) {
	n := float64(b.N * benchVouchers)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/voucher")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/voucher")
}

// BenchmarkInsertFloor is what inserting the same rows costs at the least:
// the same batches in the same Updates, as plain multi-row INSERTs into a
// bare table with the same unique key, on the same connection settings.
// InsertVouchers' cost above it is its own work: sorting, RETURNING, the
// campaign and pool indexes.
func BenchmarkInsertFloor(b *testing.B) {
	ctx := context.Background()
	codes, keys := benchCodes()
	now := time.Now().UnixMilli()
	const campaignID = "camp_0123456789abcdefghij"
	const cols = 5
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	stmt := func(rows int) string {
		return "INSERT INTO floor (key, code, campaign_id, tier_id, created_at) VALUES " + row + strings.Repeat(", "+row, rows-1)
	}
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		s := benchStore(b)
		if _, err := s.wconn.ExecContext(ctx, `CREATE TABLE floor (seq INTEGER PRIMARY KEY, key TEXT UNIQUE, code TEXT, campaign_id TEXT, tier_id INT, created_at INT)`); err != nil {
			b.Fatal(err)
		}
		full, err := s.wconn.PrepareContext(ctx, stmt(insertRows))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := cpuTime()

		args := make([]any, 0, insertRows*cols)
		for i := 0; i < len(keys); i += benchBatch {
			end := min(i+benchBatch, len(keys))
			if _, err := s.wconn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				b.Fatal(err)
			}
			for j := i; j < end; j += insertRows {
				n := min(insertRows, end-j)
				args = args[:0]
				for k := j; k < j+n; k++ {
					args = append(args, keys[k], codes[k], campaignID, 1, now)
				}
				if n == insertRows {
					_, err = full.ExecContext(ctx, args...)
				} else {
					_, err = s.wconn.ExecContext(ctx, stmt(n), args...)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.wconn.ExecContext(ctx, "COMMIT"); err != nil {
				b.Fatal(err)
			}
		}

		cpu += cpuTime() - cpu0
		b.StopTimer()
		full.Close()
		s.Close()
		b.StartTimer()
	}
	reportPerVoucher(b, cpu)
}

// readBench returns a store holding n generated vouchers of one campaign
// and their keys.
func readBench(b *testing.B, n int) (*Store, *promo.Campaign, []string) {
	b.Helper()
	ctx := context.Background()
	codes, keys := benchCodes()
	s := benchStore(b)
	b.Cleanup(func() { s.Close() })
	now := promo.NewTime(time.Now())
	c := &promo.Campaign{Name: "bench", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, Active: true, CreatedAt: now}
	q := int64(1)
	tier := &promo.Tier{Template: promo.VoucherTemplate{Type: promo.VoucherDiscount,
		Discount:   &promo.Discount{Type: promo.DiscountPercent, PercentOff: 1000, Effect: promo.EffectApplyToOrder},
		Redemption: promo.Quantity{Quantity: &q}, Metadata: promo.Metadata{"channel": "flyer", "wave": 3}}}
	vs := make([]*promo.Voucher, n)
	if err := s.Update(ctx, func(tx promo.Tx) error {
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		tier.CampaignID = c.ID
		if err := tx.CreateTier(ctx, tier); err != nil {
			return err
		}
		for i := range vs {
			vs[i] = &promo.Voucher{Code: codes[i], Key: keys[i], CampaignID: c.ID, TierID: tier.ID, Active: true, CreatedAt: now}
		}
		_, err := tx.InsertVouchers(ctx, vs)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	return s, c, keys[:n]
}

// BenchmarkVoucherByKey is the read at the start of every validation and
// redemption: a code's voucher with its campaign and tier template.
func BenchmarkVoucherByKey(b *testing.B) {
	ctx := context.Background()
	s, _, keys := readBench(b, 100_000)
	i := 0
	for b.Loop() {
		if _, err := s.VoucherByKey(ctx, keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i += 7919
	}
}

// BenchmarkPublish is one publication in its own Update: take a voucher
// from the pool, hold it for a customer, record the publication.
func BenchmarkPublish(b *testing.B) {
	ctx := context.Background()
	s, c, _ := readBench(b, 100_000)
	i := 0
	now := promo.NewTime(time.Now())
	for b.Loop() {
		i++
		if err := s.Update(ctx, func(tx promo.Tx) error {
			v, err := tx.TakeVoucher(ctx, c.ID)
			if err != nil {
				return err
			}
			customer := fmt.Sprintf("cust_%d", i)
			v.HolderID, v.PublishCount, v.UpdatedAt = customer, 1, &now
			if err := tx.UpdateVoucher(ctx, v); err != nil {
				return err
			}
			return tx.CreatePublication(ctx, &promo.Publication{CampaignID: c.ID, CustomerID: customer,
				Result: promo.PublicationSuccess, CreatedAt: now, Vouchers: []*promo.Voucher{v}})
		}); err != nil {
			b.Fatal(err)
		}
	}
}
