package promo_test

import (
	"strings"
	"testing"
	"time"

	"promo/internal/promo"
)

// TestNewTimeIDSorts: time IDs have NewID's shape, and one made in a later
// millisecond sorts after.
func TestNewTimeIDSorts(t *testing.T) {
	t.Parallel()
	prev := promo.NewTimeID(promo.PrefixCustomer)
	for range 5 {
		time.Sleep(2 * time.Millisecond)
		id := promo.NewTimeID(promo.PrefixCustomer)
		if len(id) != len(promo.NewID(promo.PrefixCustomer)) || !strings.HasPrefix(id, promo.PrefixCustomer) {
			t.Fatalf("%q has not the shape of an ID", id)
		}
		if id <= prev {
			t.Fatalf("%q, made later, does not sort after %q", id, prev)
		}
		prev = id
	}
	if a, b := promo.NewTimeID("x_"), promo.NewTimeID("x_"); a == b {
		t.Fatalf("two IDs alike: %q", a)
	}
}
