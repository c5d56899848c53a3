package postgres_test

import (
	"testing"

	"promo/internal/postgres/pgtest"
	"promo/internal/promo"
	"promo/internal/storetest"
)

func TestStore(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) promo.Store { return pgtest.Open(t) })
}
