//go:build unix

package cli

import (
	"strings"
	"testing"
)

func TestLockDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	release, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockDataDir(dir); err == nil || !strings.Contains(err.Error(), "in use by another promo serve") {
		t.Fatalf("a second lock of the data directory: %v, want in use", err)
	}
	release()
	again, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("after the release: %v", err)
	}
	again()
}
