// Package pgtest opens PostgreSQL stores for tests: each on a fresh schema
// of the database PROMO_TEST_POSTGRES_URL names, dropped when the test
// ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"promo/internal/postgres"
)

// EnvURL names the environment variable with the test database's URL.
const EnvURL = "PROMO_TEST_POSTGRES_URL"

// URL returns the test database's URL, and skips t when there is none.
func URL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skip("set PROMO_TEST_POSTGRES_URL=postgres://... to run the PostgreSQL tests")
	}
	return url
}

// Schema creates a schema with a random name for t, drops it with
// everything in it when t ends, and returns its name.
func Schema(t testing.TB) string {
	t.Helper()
	url := URL(t)
	var b [6]byte
	rand.Read(b[:])
	name := "promo_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+name); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("pgtest: drop schema %s: %v", name, err)
		}
	})
	return name
}

// Open returns a migrated store on a fresh schema, closed and dropped when
// t ends; it skips t when PROMO_TEST_POSTGRES_URL is unset.
func Open(t testing.TB) *postgres.Store {
	t.Helper()
	s := OpenUnmigrated(t)
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return s
}

// OpenUnmigrated returns a store on a fresh, empty schema, closed and
// dropped when t ends.
func OpenUnmigrated(t testing.TB) *postgres.Store {
	t.Helper()
	return OpenSchema(t, Schema(t))
}

// OpenSchema returns a store on an existing schema, closed when t ends: a
// second node on the database of another store.
func OpenSchema(t testing.TB, schema string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), WithSchema(URL(t), schema))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return s
}

// WithSchema returns url (a postgres:// URL or a key=value DSN) with
// search_path set to schema alone, and a pool small enough for several
// test stores at once.
func WithSchema(url, schema string) string {
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		return url + sep + "search_path=" + schema + "&pool_max_conns=" + poolMaxConns
	}
	return url + " search_path=" + schema + " pool_max_conns=" + poolMaxConns
}

// poolMaxConns bounds each test store's pool: tests run side by side, and
// PostgreSQL's max_connections is 100 by default.
const poolMaxConns = "10"
