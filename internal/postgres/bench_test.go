package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"promo/codegen"
	"promo/internal/postgres/pgtest"
	"promo/internal/promo"
)

// The insertion benchmarks each write benchVouchers codes per op, in
// transactions of codegen.BatchSize, as code generation does, into a fresh
// schema. Run them one op at a time:
//
//	PROMO_TEST_POSTGRES_URL=... go test -run '^$' -bench 'InsertVouchers|CopyFloor' -benchtime 1x -count 3 ./internal/postgres
const benchVouchers = 1_000_000

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

// BenchmarkInsertVouchers measures InsertVouchers as code generation calls
// it: batches of generated vouchers of one tier, one Update each.
func BenchmarkInsertVouchers(b *testing.B) {
	ctx := context.Background()
	codes, keys := benchCodes()
	now := promo.NewTime(time.Now())
	vs := make([]*promo.Voucher, benchVouchers)
	for b.Loop() {
		b.StopTimer()
		s := pgtest.Open(b)
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

		for i := 0; i < len(vs); i += codegen.BatchSize {
			batch := vs[i:min(i+codegen.BatchSize, len(vs))]
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

		b.StopTimer()
		if got, err := s.Campaign(ctx, c.ID); err != nil || got.VouchersCount != benchVouchers {
			b.Fatalf("campaign has %d vouchers, %v; want %d", got.VouchersCount, err, benchVouchers)
		}
		b.StartTimer()
	}
	reportPerCode(b)
}

// BenchmarkCopyFloor is what InsertVouchers cannot beat: a raw CopyFrom of
// the same rows, in the same batches and order (by key), each in its own
// transaction, into a bare table with the vouchers' columns and the same
// unique key, and no other index.
func BenchmarkCopyFloor(b *testing.B) {
	ctx := context.Background()
	codes, keys := benchCodes()
	now := time.Now().UnixMilli()
	order := make([]int, benchVouchers)
	for b.Loop() {
		b.StopTimer()
		schema := pgtest.Schema(b)
		conn, err := pgx.Connect(ctx, pgtest.URL(b))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `CREATE TABLE `+schema+`.floor (
			seq bigint NOT NULL, key text COLLATE "C" NOT NULL UNIQUE, code text NOT NULL, campaign_seq bigint, tier_id bigint,
			case_sensitive boolean NOT NULL DEFAULT false, active boolean NOT NULL DEFAULT true, created_at bigint NOT NULL,
			holder_id text, redeemed_quantity bigint NOT NULL DEFAULT 0, publish_count bigint NOT NULL DEFAULT 0,
			updated_at bigint, template jsonb)`); err != nil {
			b.Fatal(err)
		}
		for i := range order {
			order[i] = i
		}
		for i := 0; i < len(order); i += codegen.BatchSize {
			batch := order[i:min(i+codegen.BatchSize, len(order))]
			slices.SortFunc(batch, func(x, y int) int { return strings.Compare(keys[x], keys[y]) })
		}
		b.StartTimer()

		row := make([]any, 8)
		for i := 0; i < len(order); i += codegen.BatchSize {
			batch := order[i:min(i+codegen.BatchSize, len(order))]
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				_, err := tx.CopyFrom(ctx, pgx.Identifier{schema, "floor"},
					[]string{"seq", "key", "code", "campaign_seq", "tier_id", "case_sensitive", "active", "created_at"},
					pgx.CopyFromSlice(len(batch), func(k int) ([]any, error) {
						j := batch[k]
						row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] =
							int64(i+k+1), keys[j], codes[j], int64(1), int64(1), false, true, now
						return row, nil
					}))
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}

		b.StopTimer()
		conn.Close(ctx)
		b.StartTimer()
	}
	reportPerCode(b)
}

// reportPerCode reports the time of one code and codes per second.
func reportPerCode(b *testing.B) {
	n := float64(b.N * benchVouchers)
	ns := float64(b.Elapsed().Nanoseconds()) / n
	b.ReportMetric(ns, "ns/code")
	b.ReportMetric(1e9/ns, "codes/s")
}
