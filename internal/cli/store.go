package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"promo/internal/postgres"
	"promo/internal/promo"
	"promo/internal/sqlite"
)

// storeFlags choose the store: PostgreSQL when --database is set, the
// embedded SQLite store in --data-dir otherwise.
type storeFlags struct {
	dataDir  *string
	database *string
}

func addStoreFlags(fs *flag.FlagSet) storeFlags {
	return storeFlags{
		dataDir:  setting(fs, "data-dir", "PROMO_DATA_DIR", defaultDataDir, "data directory of the embedded store"),
		database: setting(fs, "database", "PROMO_DATABASE_URL", "", "PostgreSQL URL (postgres://...) to use instead of the embedded store"),
	}
}

// shared reports whether the store is PostgreSQL, which several servers
// may share.
func (f storeFlags) shared() bool { return *f.database != "" }

// describe names the store for logs and messages, without a password.
func (f storeFlags) describe() string {
	if !f.shared() {
		return "embedded store in " + *f.dataDir
	}
	return "PostgreSQL at " + redactURL(*f.database)
}

// open opens the store. The embedded store applies its migrations as it
// opens; PostgreSQL's are applied when migrate is set (several servers
// starting together apply them once, under an advisory lock).
func (f storeFlags) open(ctx context.Context, migrate bool) (promo.Store, error) {
	if !f.shared() {
		return openStore(ctx, *f.dataDir)
	}
	u := *f.database
	if !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
		return nil, fmt.Errorf("--database must be a postgres:// URL, not %q", redactURL(u))
	}
	s, err := postgres.Open(ctx, u)
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// openStore opens the embedded store in dir, creating dir when missing.
func openStore(ctx context.Context, dir string) (*sqlite.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(dir, "promo.db"))
}

// redactURL hides a URL's password.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(an unparsable URL)"
	}
	return u.Redacted()
}

const migrateUsage = `Usage:
  promo migrate [--database URL | --data-dir DIR]

Applies the store's migrations that it lacks, and says so. promo serve
applies them at start unless given --no-migrate, so this is for those who
migrate as a step of their own before starting servers.

Environment: PROMO_DATABASE_URL, PROMO_DATA_DIR (flags win).
`

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("promo migrate", migrateUsage, stderr)
	sf := addStoreFlags(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "promo migrate: unexpected argument %q\n", rest[0])
		return ExitUsage
	}
	store, err := sf.open(ctx, true)
	if err != nil {
		fmt.Fprintf(stderr, "promo migrate: %v\n", err)
		return ExitFailure
	}
	if err := store.Close(); err != nil {
		fmt.Fprintf(stderr, "promo migrate: %v\n", err)
		return ExitFailure
	}
	fmt.Fprintf(stdout, "The %s is up to date.\n", sf.describe())
	return ExitOK
}
