package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"promo/internal/postgres/pgtest"
)

func TestMigrateEmbedded(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errOut := run(t, context.Background(), "migrate", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(out, "embedded store in "+dir+" is up to date") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "promo.db")); err != nil {
		t.Fatalf("no database after migrate: %v", err)
	}
}

func TestDatabaseMustBePostgres(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"migrate", "--database", "mysql://root:secret@localhost/db"},
		{"apikeys", "list", "--database", "mysql://root:secret@localhost/db"},
	} {
		code, _, errOut := run(t, context.Background(), args...)
		if code != ExitFailure || !strings.Contains(errOut, "must be a postgres:// URL") {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
		if strings.Contains(errOut, "secret") {
			t.Errorf("%v: the password shows in %q", args, errOut)
		}
	}
}

// TestServeLocksTheDataDir: a second server on a data directory in use
// stops at once, saying why.
func TestServeLocksTheDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	startServer(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir)
	code, _, errOut := run(t, context.Background(), "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	if code != ExitFailure || !strings.Contains(errOut, "in use by another promo serve") {
		t.Fatalf("a second server on the data directory: %d %q", code, errOut)
	}
}

// TestServeOnPostgres migrates a fresh schema with promo migrate, creates
// a key with promo apikeys, and runs two servers on it side by side
// (--no-migrate): what one writes, the other reads.
func TestServeOnPostgres(t *testing.T) {
	t.Parallel()
	url := pgtest.WithSchema(pgtest.URL(t), pgtest.Schema(t))
	ctx := context.Background()
	if code, out, errOut := run(t, ctx, "migrate", "--database", url); code != ExitOK || !strings.Contains(out, "PostgreSQL at") {
		t.Fatalf("migrate: %d %q %q", code, out, errOut)
	}
	code, out, errOut := run(t, ctx, "apikeys", "create", "--json", "--database", url)
	if code != ExitOK {
		t.Fatalf("apikeys create: %d %q", code, errOut)
	}
	var key struct {
		AppID string `json:"app_id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(out), &key); err != nil {
		t.Fatal(err)
	}
	env := []string{"PROMO_DATABASE_URL=" + url}
	a := startServer(t, env, "--addr", "127.0.0.1:0", "--no-migrate")
	b := startServer(t, env, "--addr", "127.0.0.1:0", "--no-migrate")
	if out := a.stdout.String(); strings.Contains(out, "X-App-Token") {
		t.Errorf("a server created a first key although one exists: %q", out)
	}
	ca := client{url: a.url, id: key.AppID, token: key.Token}
	cb := client{url: b.url, id: key.AppID, token: key.Token}
	if status, body := ca.call(t, "POST", "/v1/campaigns", `{"name":"Shared","type":"STANDALONE","voucher":{"code":"SHARED-1","discount":{"type":"AMOUNT","amount_off":100}}}`); status != 200 {
		t.Fatalf("create a campaign on one server: %d %v", status, body)
	}
	if status, body := cb.call(t, "GET", "/v1/vouchers/SHARED-1", ""); status != 200 || body["code"] != "SHARED-1" {
		t.Fatalf("read its code on the other: %d %v", status, body)
	}
	if err := a.stop(t); err != nil {
		t.Errorf("SIGTERM: %v", err)
	}
}
