package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"promo/internal/postgres"
	"promo/internal/postgres/pgtest"
	"promo/internal/promo"
	"promo/internal/storetest"
)

func TestStore(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) promo.Store { return pgtest.Open(t) })
}

// TestUpdateRetries forces a write skew: two Updates each read a counter,
// wait until the other has read it too, and add to it what depends on what
// they read. Run one after another, the first sees 0 and adds 10, the
// second sees 1 and adds 1. At SERIALIZABLE one of them fails to commit,
// and Update runs it again, without the caller seeing the failure, to the
// serial result.
func TestUpdateRetries(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	const scope = "c|camp_skew"
	var runs atomic.Int32
	read := []chan struct{}{make(chan struct{}), make(chan struct{})}
	update := func(me int) error {
		first := true
		return s.Update(ctx, func(tx promo.Tx) error {
			runs.Add(1)
			c, err := tx.Counter(ctx, scope, promo.AllTime)
			if err != nil {
				return err
			}
			if first {
				// Only the first run waits: a retry runs alone.
				first = false
				close(read[me])
				select {
				case <-read[1-me]:
				case <-time.After(10 * time.Second):
					return errors.New("the other Update never read")
				}
			}
			add := int64(10)
			if c.Count > 0 {
				add = 1
			}
			return tx.AddCounters(ctx, 20000, promo.Counter{Count: 1, Amount: add}, scope)
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { errs[i] = update(i) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Update %d: %v", i, err)
		}
	}
	got, err := s.Counter(ctx, scope, promo.AllTime)
	if err != nil {
		t.Fatal(err)
	}
	if want := (promo.Counter{Count: 2, Amount: 11}); got != want {
		t.Fatalf("counter %+v, want %+v: the Updates did not behave as if one ran after the other", got, want)
	}
	if n := runs.Load(); n != 3 {
		t.Fatalf("fn ran %d times, want 3: one Update retried once", n)
	}
}

// TestUpdateRetriesSwallowed: an fn that swallows the serialization failure
// of a statement and returns nil is run again all the same; its view was
// one no serial order gives.
func TestUpdateRetriesSwallowed(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	c := &promo.Campaign{Name: "Swallowed", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, CreatedAt: promo.NewTime(time.Now())}
	if err := s.Update(ctx, func(tx promo.Tx) error { return tx.CreateCampaign(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	// Another transaction changes the campaign after this one's snapshot;
	// this one's update of the row fails to serialize.
	var runs int
	err := s.Update(ctx, func(tx promo.Tx) error {
		runs++
		got, err := tx.Campaign(ctx, c.ID)
		if err != nil {
			return err
		}
		if runs == 1 {
			other := *got
			other.Active = true
			if err := s.Update(ctx, func(tx promo.Tx) error { return tx.UpdateCampaign(ctx, &other) }); err != nil {
				return fmt.Errorf("the other Update: %w", err)
			}
		}
		got.Description = "changed"
		_ = tx.UpdateCampaign(ctx, got) // fails on the first run, and fn does not say
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 {
		t.Fatalf("fn ran %d times, want 2", runs)
	}
	got, err := s.Campaign(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Active || got.Description != "changed" {
		t.Fatalf("campaign %+v: want both Updates' changes", got)
	}
}

// TestUpdateRunsAlone: an Update that keeps failing to serialize runs alone
// after its 4th failure: its 5th run succeeds, and an Update begun
// meanwhile commits after it, on what it wrote.
func TestUpdateRunsAlone(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	c := &promo.Campaign{Name: "Starved", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, CreatedAt: promo.NewTime(time.Now())}
	if err := s.Update(ctx, func(tx promo.Tx) error { return tx.CreateCampaign(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	var (
		runs       int
		otherSaw   atomic.Bool // whether the other Update's last run saw the campaign active
		otherDone  = make(chan error, 1)
		heldBack   bool
		otherStart = make(chan struct{})
	)
	err := s.Update(ctx, func(tx promo.Tx) error {
		runs++
		got, err := tx.Campaign(ctx, c.ID)
		if err != nil {
			return err
		}
		if runs <= 4 {
			// Another transaction changes the row after this one's
			// snapshot, so this one fails to serialize.
			other := *got
			other.Description = fmt.Sprint("other ", runs)
			if err := s.Update(ctx, func(tx promo.Tx) error { return tx.UpdateCampaign(ctx, &other) }); err != nil {
				return fmt.Errorf("the other Update: %w", err)
			}
		} else {
			// Alone: an Update begun now that writes commits after this
			// one, and decides on what this one wrote.
			go func() {
				close(otherStart)
				otherDone <- s.Update(ctx, func(tx promo.Tx) error {
					got, err := tx.Campaign(ctx, c.ID)
					if err != nil {
						return err
					}
					otherSaw.Store(got.Active)
					return tx.AddCounters(ctx, 20000, promo.Counter{Count: 1}, "c|held_back")
				})
			}()
			<-otherStart
			select {
			case err := <-otherDone:
				otherDone <- err
			case <-time.After(300 * time.Millisecond):
				heldBack = true
			}
		}
		got.Active = true
		return tx.UpdateCampaign(ctx, got)
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 5 {
		t.Fatalf("fn ran %d times, want 5: four failures, then alone", runs)
	}
	if !heldBack {
		t.Fatal("an Update ran beside one that runs alone")
	}
	if err := <-otherDone; err != nil || !otherSaw.Load() {
		t.Fatalf("the held-back Update: saw the campaign active %v, %v", otherSaw.Load(), err)
	}
}

// TestMigrateConcurrently starts four nodes on one empty schema at once:
// each migrates, and every migration is applied and recorded once.
func TestMigrateConcurrently(t *testing.T) {
	schema := pgtest.Schema(t)
	stores := make([]*postgres.Store, 4)
	for i := range stores {
		stores[i] = pgtest.OpenSchema(t, schema)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Go(func() { errs[i] = s.Migrate(t.Context()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Migrate on node %d: %v", i, err)
		}
	}
	if err := stores[0].Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	conn, err := pgx.Connect(t.Context(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, distinct, first int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version), min(version) FROM `+schema+`.schema_migrations`).Scan(&n, &distinct, &first); err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != distinct || first != 1 {
		t.Fatalf("schema_migrations has %d rows, %d versions, the first %d", n, distinct, first)
	}
	if err := stores[1].Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// TestCompactCounters: folding the deltas into totals changes no counter,
// and counters go on adding up after it.
func TestCompactCounters(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	const today = 20500
	add := func(day int64, c promo.Counter, scopes ...string) {
		t.Helper()
		if err := s.Update(ctx, func(tx promo.Tx) error { return tx.AddCounters(ctx, day, c, scopes...) }); err != nil {
			t.Fatal(err)
		}
	}
	check := func(what string) {
		t.Helper()
		for _, tc := range []struct {
			scope string
			from  int64
			want  promo.Counter
		}{
			{"a", promo.AllTime, promo.Counter{Count: 3, Amount: 30, OrderAmount: 300}},
			{"a", today - 7, promo.Counter{Count: 2, Amount: 20, OrderAmount: 200}},
			{"a", today, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}},
			{"b", promo.AllTime, promo.Counter{Count: 2, Amount: 15, OrderAmount: 150}},
			{"b", today - 1, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}},
		} {
			got, err := s.Counter(ctx, tc.scope, tc.from)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("%s: counter %s from %d is %+v, want %+v", what, tc.scope, tc.from, got, tc.want)
			}
		}
	}
	add(today-7, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}, "a")
	add(promo.AllTime, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}, "a")
	add(today, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}, "a", "b")
	add(today-3, promo.Counter{Count: 1, Amount: 5, OrderAmount: 50}, "b")
	check("before compaction")
	if err := s.CompactCounters(ctx); err != nil {
		t.Fatal(err)
	}
	check("after compaction")
	add(today, promo.Counter{Count: 1, Amount: 10, OrderAmount: 100}, "a")
	add(today, promo.Counter{Count: -1, Amount: -10, OrderAmount: -100}, "a")
	if err := s.CompactCounters(ctx); err != nil {
		t.Fatal(err)
	}
	check("after a redemption, its rollback and compaction")
}

// TestTwoNodes runs publications of one pool on two stores over one
// schema, as two promo processes: no voucher goes twice.
func TestTwoNodes(t *testing.T) {
	a := pgtest.Open(t)
	ctx := t.Context()
	now := promo.NewTime(time.Now())
	c := &promo.Campaign{Name: "Nodes", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, Active: true, CreatedAt: now}
	var vs []*promo.Voucher
	if err := a.Update(ctx, func(tx promo.Tx) error {
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		tier := &promo.Tier{CampaignID: c.ID, Template: promo.VoucherTemplate{Type: promo.VoucherDiscount}}
		if err := tx.CreateTier(ctx, tier); err != nil {
			return err
		}
		vs = vs[:0]
		for i := range 40 {
			code := fmt.Sprintf("NODE%03d", i)
			vs = append(vs, &promo.Voucher{Code: code, Key: code, CampaignID: c.ID, TierID: tier.ID, Active: true, CreatedAt: now})
		}
		_, err := tx.InsertVouchers(ctx, vs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	b := pgtest.OpenSchema(t, schemaOf(t, a))
	nodes := []*postgres.Store{a, b}
	var mu sync.Mutex
	taken := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, 60)
	for i := range 60 {
		s := nodes[i%2]
		wg.Go(func() {
			cust := fmt.Sprintf("cust_%d", i)
			err := s.Update(ctx, func(tx promo.Tx) error {
				v, err := tx.TakeVoucher(ctx, c.ID)
				if err != nil {
					return err
				}
				v.HolderID, v.PublishCount = cust, v.PublishCount+1
				return tx.UpdateVoucher(ctx, v)
			})
			if promo.ErrorCode(err) == promo.ENoVoucherSuitable {
				return
			}
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			taken[cust] = ""
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(taken) != 40 {
		t.Fatalf("%d publications, want 40", len(taken))
	}
	holders := map[string]bool{}
	for _, v := range vs {
		got, err := b.Voucher(ctx, v.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.HolderID == "" || got.PublishCount != 1 || holders[got.HolderID] {
			t.Fatalf("voucher %s: holder %q, published %d times", got.Code, got.HolderID, got.PublishCount)
		}
		holders[got.HolderID] = true
	}
}

// schemaOf returns the schema a store works in.
func schemaOf(t *testing.T, s *postgres.Store) string {
	t.Helper()
	var schema string
	if err := s.Update(t.Context(), func(tx promo.Tx) error {
		var err error
		schema, err = postgres.CurrentSchema(t.Context(), tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return schema
}

// TestVoucherIDFunction: the schema's voucher_id, which LockVoucher reads
// a voucher's rules by, is promo.VoucherID.
func TestVoucherIDFunction(t *testing.T) {
	s := pgtest.Open(t)
	seqs := []int64{1, 2, 61, 62, 1023, 1024, 1 << 20, 1<<31 - 1, 1 << 40, 1<<62 + 12345, 1<<63 - 1}
	for i := range 200 {
		seqs = append(seqs, int64(i)*7919+int64(i)*int64(i)*104729)
	}
	if err := s.Update(t.Context(), func(tx promo.Tx) error {
		for _, seq := range seqs {
			got, err := postgres.VoucherIDInSQL(t.Context(), tx, seq)
			if err != nil {
				return err
			}
			if want := promo.VoucherID(seq); got != want {
				return fmt.Errorf("voucher_id(%d) = %q, want %q", seq, got, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateSwallowedWriteError: an fn that swallows the error of a write
// and returns nil does not commit what came before it.
func TestUpdateSwallowedWriteError(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	now := promo.NewTime(time.Now())
	c := &promo.Campaign{Name: "Taken", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, CreatedAt: now}
	if err := s.Update(ctx, func(tx promo.Tx) error { return tx.CreateCampaign(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	var seen []string
	err := s.Update(ctx, func(tx promo.Tx) error {
		if err := tx.AddCounters(ctx, 20000, promo.Counter{Count: 1}, "c|swallowed"); err != nil {
			return err
		}
		dup := &promo.Campaign{Name: "Taken", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, CreatedAt: now}
		seen = append(seen, promo.ErrorCode(tx.CreateCampaign(ctx, dup)))
		return nil
	})
	if err == nil {
		t.Fatal("Update committed after a failed write")
	}
	if seen[len(seen)-1] != promo.EDuplicateFound {
		t.Fatalf("CreateCampaign said %q on the last run, want %s", seen, promo.EDuplicateFound)
	}
	got, err := s.Counter(ctx, "c|swallowed", promo.AllTime)
	if err != nil {
		t.Fatal(err)
	}
	if got.Count != 0 {
		t.Fatalf("counter %+v: the failed Update committed", got)
	}
}

// TestRedemptionRoundTrips: a redemption by a new customer, the store calls
// engine.Redeem makes in their order, costs three round trips: the
// customer's lookup, then its creation with the voucher's lock, then the
// writes with the COMMIT. The campaign, session locks and rules come with
// the voucher, as they are in the transaction's snapshot.
func TestRedemptionRoundTrips(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	now := promo.NewTime(time.Now())
	one := int64(1)
	c := &promo.Campaign{Name: "Trips", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, Active: true, CreatedAt: now}
	v := &promo.Voucher{Code: "TRIP-1", Key: "TRIP1", Active: true, CreatedAt: now}
	if err := s.Update(ctx, func(tx promo.Tx) error {
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		tier := &promo.Tier{CampaignID: c.ID, Template: promo.VoucherTemplate{Type: promo.VoucherDiscount,
			Discount: &promo.Discount{Type: promo.DiscountAmount, AmountOff: 100}, Redemption: promo.Quantity{Quantity: &one}}}
		if err := tx.CreateTier(ctx, tier); err != nil {
			return err
		}
		v.CampaignID, v.TierID = c.ID, tier.ID
		_, err := tx.InsertVouchers(ctx, []*promo.Voucher{v})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	attempts, trips, statements := s.Stats()
	err := s.Update(ctx, func(tx promo.Tx) error {
		if _, err := tx.Customer(ctx, "trip-customer"); promo.ErrorCode(err) != promo.ENotFound {
			return fmt.Errorf("customer: %v, want %s", err, promo.ENotFound)
		}
		cust := &promo.Customer{ID: promo.NewTimeID(promo.PrefixCustomer), SourceID: "trip-customer", Metadata: promo.Metadata{}, CreatedAt: now}
		if err := tx.CreateCustomer(ctx, cust); err != nil {
			return err
		}
		e := &promo.AuditEntry{Time: now, Action: promo.AuditCreated, ResourceType: "customer", ResourceID: cust.ID}
		if err := tx.AppendAudit(ctx, e); err != nil {
			return err
		}
		if e.ID == 0 {
			return errors.New("AppendAudit set no ID")
		}
		got, err := tx.LockVoucher(ctx, v.Key)
		if err != nil {
			return err
		}
		camp, err := tx.Campaign(ctx, got.CampaignID)
		if err != nil {
			return err
		}
		if camp.Name != c.Name || !camp.Active {
			return fmt.Errorf("campaign %+v, want %s, active", camp, c.Name)
		}
		if ss, err := tx.Sessions(ctx, got.Seq, now); err != nil || len(ss) != 0 {
			return fmt.Errorf("sessions %v, %v; want none", ss, err)
		}
		if rs, err := tx.RulesOf(ctx, got.ID, camp.ID); err != nil || len(rs) != 0 {
			return fmt.Errorf("rules %v, %v; want none", rs, err)
		}
		o := &promo.Order{ID: promo.NewTimeID(promo.PrefixOrder), Status: promo.OrderCreated, Amount: 5000, CustomerID: cust.ID,
			Metadata: promo.Metadata{}, Items: []promo.OrderItem{}, CreatedAt: now}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		got.RedeemedQuantity++
		got.UpdatedAt = &now
		if err := tx.UpdateVoucher(ctx, got); err != nil {
			return err
		}
		r := &promo.Redemption{ID: promo.NewTimeID(promo.PrefixRedemption), Object: promo.ObjectRedemption, Date: now,
			CustomerID: cust.ID, Amount: 100, Result: promo.ResultSuccess, Status: promo.StatusSucceeded, Order: o,
			VoucherID: got.ID, Code: got.Code, CampaignID: c.ID, Campaign: c.Name, Metadata: promo.Metadata{}}
		if err := tx.CreateRedemption(ctx, r); err != nil {
			return err
		}
		return tx.AddCounters(ctx, promo.Day(now.Time), promo.Counter{Count: 1, Amount: 100, OrderAmount: 5000},
			promo.CounterVoucher(got.ID), promo.CounterCampaign(c.ID), promo.CounterCustomer(cust.ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	a, r, n := s.Stats()
	if a-attempts != 1 || r-trips != 3 {
		t.Fatalf("the redemption took %d attempts and %d round trips (%d statements), want 1 and 3", a-attempts, r-trips, n-statements)
	}
	t.Logf("%d statements", n-statements)
	got, err := s.Voucher(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RedeemedQuantity != 1 {
		t.Fatalf("voucher redeemed %d times, want 1", got.RedeemedQuantity)
	}
}

// TestUpdateCreatedSinceRead: a customer read absent, created by another
// Update before this one creates it, makes this one run again, which finds
// it: the creation's unique violation is a retry, not an error.
func TestUpdateCreatedSinceRead(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	now := promo.NewTime(time.Now())
	var runs int
	var found *promo.Customer
	err := s.Update(ctx, func(tx promo.Tx) error {
		runs++
		c, err := tx.Customer(ctx, "src-raced")
		switch {
		case err == nil:
			found = c
			return nil
		case promo.ErrorCode(err) != promo.ENotFound:
			return err
		}
		if runs == 1 {
			other := &promo.Customer{ID: promo.NewTimeID(promo.PrefixCustomer), SourceID: "src-raced", Metadata: promo.Metadata{}, CreatedAt: now}
			if err := s.Update(ctx, func(tx promo.Tx) error { return tx.CreateCustomer(ctx, other) }); err != nil {
				return fmt.Errorf("the other Update: %w", err)
			}
		}
		return tx.CreateCustomer(ctx, &promo.Customer{ID: promo.NewTimeID(promo.PrefixCustomer), SourceID: "src-raced",
			Metadata: promo.Metadata{}, CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	if runs != 2 || found == nil {
		t.Fatalf("fn ran %d times and found %v, want 2 runs, the second finding the customer", runs, found)
	}
}

// TestAuditQueryPlans: an audit read by campaign or voucher can use the
// partial indexes on resource_id (migration 0008), on a log whose
// statistics PostgreSQL has gathered: without their conditions in the read
// it could not, and would scan the whole log.
func TestAuditQueryPlans(t *testing.T) {
	s := pgtest.Open(t)
	ctx := t.Context()
	err := s.Update(ctx, func(tx promo.Tx) error {
		for _, e := range storetest.AuditLog(4000) {
			if err := tx.AppendAudit(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Analyze(ctx, "audit_log"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		f    promo.AuditFilter
		want []string
	}{
		{promo.AuditFilter{CampaignID: "camp_3"}, []string{"audit_log_campaign ", "audit_log_campaign_resource "}},
		{promo.AuditFilter{VoucherID: promo.VoucherID(7)}, []string{"audit_log_voucher ", "audit_log_voucher_resource "}},
	} {
		q, args := postgres.AuditQuery(tc.f)
		plan, err := s.Plan(ctx, q, args...)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(plan, "\n\t")
		for _, want := range tc.want {
			if !strings.Contains(all+" ", want) {
				t.Errorf("plan of the audit read %+v is\n\t%s\nwant it to use %s", tc.f, all, want)
			}
		}
	}
}
