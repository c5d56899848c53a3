package sqlite_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"promo/internal/promo"
)

// TestAppendAttemptsInChunks: a batch whose length needs statements of
// several sizes (64 + 64 + 2 + 1) is stored whole and in order, and a batch
// of one too.
func TestAppendAttemptsInChunks(t *testing.T) {
	t.Parallel()
	s := openStore(t, filepath.Join(t.TempDir(), "promo.db"))
	ctx := t.Context()
	now := promo.NewTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	var as []*promo.Attempt
	for i := range 131 {
		as = append(as, &promo.Attempt{Time: now, Kind: promo.AttemptValidation, Result: promo.AttemptValid,
			Code: fmt.Sprintf("C-%d", i), Key: fmt.Sprintf("C%d", i), ClientIP: "127.0.0.1", Amount: int64(i)})
	}
	for _, batch := range [][]*promo.Attempt{as[:130], as[130:]} {
		if err := s.Update(ctx, func(tx promo.Tx) error { return tx.AppendAttempts(ctx, batch) }); err != nil {
			t.Fatal(err)
		}
	}
	got, total, err := s.Attempts(ctx, promo.AttemptFilter{ListParams: promo.ListParams{Limit: 100, Page: 2, Ascending: true}})
	if err != nil {
		t.Fatal(err)
	}
	if total != 131 || len(got) != 31 {
		t.Fatalf("%d attempts, %d on page 2; want 131, 31", total, len(got))
	}
	for i, a := range got {
		if want := as[100+i]; a.ID == "" || a.ID != want.ID || a.Code != want.Code || a.Amount != want.Amount {
			t.Fatalf("attempt %d is %+v, want %+v", 100+i, a, want)
		}
	}
	if got, total, err := s.Attempts(ctx, promo.AttemptFilter{Key: "C129", ListParams: promo.ListParams{Limit: 10, Page: 1}}); err != nil || total != 1 || got[0].Code != "C-129" {
		t.Fatalf("attempts of key C129: %+v, %d, %v", got, total, err)
	}
}
