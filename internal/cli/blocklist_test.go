package cli

import (
	"context"
	"strings"
	"testing"
)

func TestBlocklistCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	code, out, errOut := run(t, ctx, "blocklist", "add", "--data-dir", dir, "--kind", "ip", "--value", "203.0.113.7", "--reason", "bots")
	if code != ExitOK || !strings.HasPrefix(out, "blocked ip 203.0.113.7 (blk_") {
		t.Fatalf("add: %d %q %q", code, out, errOut)
	}
	id := strings.TrimSuffix(out[strings.Index(out, "(")+1:], ")\n")
	if code, _, errOut := run(t, ctx, "blocklist", "add", "--data-dir", dir, "--kind", "ip", "--value", "nope"); code != ExitFailure || !strings.Contains(errOut, "not an IP address") {
		t.Fatalf("a bad IP: %d %q", code, errOut)
	}
	code, out, _ = run(t, ctx, "blocklist", "list", "--data-dir", dir)
	if code != ExitOK || !strings.Contains(out, id) || !strings.Contains(out, "bots") {
		t.Fatalf("list:\n%s", out)
	}
	if code, out, _ := run(t, ctx, "blocklist", "remove", id, "--data-dir", dir); code != ExitOK || out != "removed "+id+"\n" {
		t.Fatalf("remove: %d %q", code, out)
	}
	if code, out, _ := run(t, ctx, "blocklist", "list", "--json", "--data-dir", dir); code != ExitOK || out != "[]\n" {
		t.Fatalf("list after remove: %d %q", code, out)
	}
}
