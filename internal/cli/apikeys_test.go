package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestAPIKeyKinds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	code, out, errOut := run(t, ctx, "apikeys", "create", "--data-dir", dir, "--name", "checkout",
		"--kind", "restricted", "--scopes", "validations, redemptions", "--json")
	if code != ExitOK {
		t.Fatalf("create restricted: %d %q", code, errOut)
	}
	var k struct {
		Kind   string   `json:"kind"`
		Scopes []string `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.Kind != "restricted" || strings.Join(k.Scopes, ",") != "validations,redemptions" {
		t.Fatalf("restricted key %q (%v)", out, err)
	}
	code, out, errOut = run(t, ctx, "apikeys", "create", "--data-dir", dir, "--kind", "client", "--origins", "https://shop.example")
	if code != ExitOK || !strings.Contains(out, "X-Client-Application-Id:") || !strings.Contains(out, "X-Client-Token:") {
		t.Fatalf("create client: %d %q %q", code, out, errOut)
	}
	for _, bad := range [][]string{
		{"--kind", "root"},
		{"--kind", "restricted"},
		{"--kind", "restricted", "--scopes", "everything"},
		{"--kind", "client"},
	} {
		args := append([]string{"apikeys", "create", "--data-dir", dir}, bad...)
		if code, _, errOut := run(t, ctx, args...); code != ExitFailure || !strings.HasPrefix(errOut, "promo apikeys create: ") {
			t.Errorf("%v: %d %q, want a failure that says why", bad, code, errOut)
		}
	}
	code, out, _ = run(t, ctx, "apikeys", "list", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(out, "restricted  validations,redemptions") || !strings.Contains(out, "client      https://shop.example") {
		t.Fatalf("list:\n%s", out)
	}
}
