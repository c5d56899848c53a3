package sqlite_test

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"promo/internal/promo"
	"promo/internal/sqlite"
	"promo/internal/storetest"
)

// openStore opens a store on a new file in t's temporary directory and
// closes it when t ends.
func openStore(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) promo.Store {
		return openStore(t, filepath.Join(t.TempDir(), "promo.db"))
	})
}

func TestMigrationsRecordedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "promo.db")
	applied := func() []string {
		t.Helper()
		db, err := sql.Open("sqlite", path+"?_query_only=1")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		rows, err := db.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var (
				v    int
				name string
				at   int64
			)
			if err := rows.Scan(&v, &name, &at); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%d %s %d", v, name, at))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}

	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	first := applied()
	if len(first) == 0 || !strings.HasPrefix(first[0], "1 0001_init.sql ") {
		t.Fatalf("schema_migrations holds %q", first)
	}
	for range 2 {
		s, err := sqlite.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("reopening: %v", err)
		}
		s.Close()
	}
	if again := applied(); !slices.Equal(again, first) {
		t.Fatalf("after reopening, schema_migrations holds %q, was %q", again, first)
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "promo.db")
	ctx := t.Context()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	c := &promo.Campaign{Name: "Kept", CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic, Active: true,
		CreatedAt: promo.NewTime(time.Now())}
	v := &promo.Voucher{Code: "KEPT-1", Key: "KEPT1", Active: true, CreatedAt: c.CreatedAt}
	if err := s.Update(ctx, func(tx promo.Tx) error {
		if err := tx.CreateCampaign(ctx, c); err != nil {
			return err
		}
		tier := &promo.Tier{CampaignID: c.ID, Template: promo.VoucherTemplate{Type: promo.VoucherDiscount, Category: "kept"}}
		if err := tx.CreateTier(ctx, tier); err != nil {
			return err
		}
		v.CampaignID, v.TierID = c.ID, tier.ID
		_, err := tx.InsertVouchers(ctx, []*promo.Voucher{v})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, path)
	got, err := s.VoucherByKey(ctx, "KEPT1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != v.ID || got.Campaign != "Kept" || got.Template.Category != "kept" {
		t.Fatalf("after reopening: %+v", got)
	}
	if c, err := s.Campaign(ctx, "Kept"); err != nil || c.VouchersCount != 1 {
		t.Fatalf("after reopening: %+v, %v", c, err)
	}
}

// TestSurvivesKill commits in a child process, kills it with SIGKILL before
// it closes anything, and finds the commit in the file: the promise of WAL
// with synchronous=NORMAL.
func TestSurvivesKill(t *testing.T) {
	if path := os.Getenv("PROMO_SQLITE_KILL_CHILD"); path != "" {
		killChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "promo.db")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestSurvivesKill$")
	cmd.Env = append(os.Environ(), "PROMO_SQLITE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "committed\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	s := openStore(t, path)
	for i := range 20 {
		if _, err := s.Campaign(t.Context(), fmt.Sprintf("Campaign %d", i)); err != nil {
			t.Fatalf("commit %d is lost: %v", i, err)
		}
	}
}

// killChild commits 20 transactions, says so, and waits to be killed.
func killChild(path string) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for i := range 20 {
		if err := s.Update(ctx, func(tx promo.Tx) error {
			return tx.CreateCampaign(ctx, &promo.Campaign{Name: fmt.Sprintf("Campaign %d", i), CampaignType: promo.CampaignDiscountCoupons,
				Type: promo.CampaignStatic, CreatedAt: promo.NewTime(time.Now())})
		}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	fmt.Println("committed")
	time.Sleep(time.Minute)
	os.Exit(1)
}

// TestConcurrentUpdates runs 100 Updates at once, half of them on a second
// Store on the same file, as a second process would, with readers beside
// them: none may fail with "database is locked".
func TestConcurrentUpdates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "promo.db")
	stores := []*sqlite.Store{openStore(t, path), openStore(t, path)}
	ctx := t.Context()
	const n = 100
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		s := stores[i%2]
		wg.Go(func() {
			errs <- s.Update(ctx, func(tx promo.Tx) error {
				c := &promo.Campaign{Name: fmt.Sprintf("C%d", i), CampaignType: promo.CampaignDiscountCoupons, Type: promo.CampaignStatic,
					CreatedAt: promo.NewTime(time.Now())}
				if err := tx.CreateCampaign(ctx, c); err != nil {
					return err
				}
				return tx.AppendAudit(ctx, &promo.AuditEntry{Time: c.CreatedAt, Action: promo.AuditCreated, ResourceType: "campaign",
					ResourceID: c.ID, CampaignID: c.ID})
			})
		})
		wg.Go(func() {
			_, _, err := s.Campaigns(ctx, promo.CampaignFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	_, total, err := stores[0].Campaigns(ctx, promo.CampaignFilter{ListParams: promo.ListParams{Limit: 1, Page: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if total != n {
		t.Fatalf("%d campaigns, want %d", total, n)
	}
}

// TestUpdateCanceled: a context that ends inside fn rolls the transaction
// back and leaves the writer ready for the next Update.
func TestUpdateCanceled(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "promo.db"))
	ctx, cancel := context.WithCancel(t.Context())
	err := s.Update(ctx, func(tx promo.Tx) error {
		if err := tx.CreateCampaign(ctx, &promo.Campaign{Name: "Canceled", CreatedAt: promo.NewTime(time.Now())}); err != nil {
			return err
		}
		cancel()
		return tx.CreateCampaign(ctx, &promo.Campaign{Name: "Canceled too", CreatedAt: promo.NewTime(time.Now())})
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update returned %v, want context.Canceled", err)
	}
	if _, err := s.Campaign(t.Context(), "Canceled"); promo.ErrorCode(err) != promo.ENotFound {
		t.Fatalf("a canceled Update was kept: %v", err)
	}
	if err := s.Update(t.Context(), func(tx promo.Tx) error {
		return tx.CreateCampaign(t.Context(), &promo.Campaign{Name: "Next", CreatedAt: promo.NewTime(time.Now())})
	}); err != nil {
		t.Fatalf("the Update after a canceled one: %v", err)
	}
}

// TestGroupedUpdatesStayApart queues Updates that succeed, fail after
// writing, panic and fail having only read behind one that holds the
// writer, so that they commit as groups in some order, and checks that each
// kept its writes or lost them alone, and that none ran more than twice
// (a group whose transaction is rolled back runs its others again once).
func TestGroupedUpdatesStayApart(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "promo.db"))
	ctx := t.Context()
	create := func(tx promo.Tx, name string) error {
		return tx.CreateCampaign(ctx, &promo.Campaign{Name: name, CampaignType: promo.CampaignDiscountCoupons,
			Type: promo.CampaignStatic, CreatedAt: promo.NewTime(time.Now())})
	}
	holding, release := make(chan struct{}), make(chan struct{})
	go s.Update(ctx, func(tx promo.Tx) error {
		close(holding)
		<-release
		return create(tx, "holder")
	})
	<-holding

	const n = 40
	errFail := errors.New("failed on purpose")
	outcomes := make([]any, n)
	var runs [n]atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					outcomes[i] = p
				}
			}()
			err := s.Update(ctx, func(tx promo.Tx) error {
				runs[i].Add(1)
				if i%4 == 3 {
					_, err := tx.Campaign(ctx, "missing")
					return err
				}
				if err := create(tx, fmt.Sprintf("C%d", i)); err != nil {
					return err
				}
				switch i % 4 {
				case 1:
					return errFail
				case 2:
					panic(i)
				}
				return nil
			})
			outcomes[i] = err
		})
	}
	close(release)
	wg.Wait()

	for i := range n {
		if r := runs[i].Load(); r > 2 {
			t.Errorf("update %d ran %d times", i, r)
		}
		_, err := s.Campaign(ctx, fmt.Sprintf("C%d", i))
		switch i % 4 {
		case 0:
			if outcomes[i] != nil || err != nil {
				t.Errorf("update %d returned %v and its campaign reads %v; want both kept", i, outcomes[i], err)
			}
		case 1:
			if outcomes[i] != errFail || promo.ErrorCode(err) != promo.ENotFound {
				t.Errorf("update %d returned %v and its campaign reads %v; want fn's error and nothing kept", i, outcomes[i], err)
			}
		case 2:
			if outcomes[i] != i || promo.ErrorCode(err) != promo.ENotFound {
				t.Errorf("update %d ended with %v and its campaign reads %v; want its panic and nothing kept", i, outcomes[i], err)
			}
		case 3:
			if e, ok := outcomes[i].(error); !ok || promo.ErrorCode(e) != promo.ENotFound {
				t.Errorf("update %d returned %v; want its read's ENotFound", i, outcomes[i])
			}
		}
	}
}
