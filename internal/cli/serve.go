package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"promo/internal/engine"
	"promo/internal/httpapi"
	"promo/internal/metrics"
)

// Defaults of the server's settings; flags win over the environment, which
// wins over these.
const (
	defaultDataDir = "./promo-data"
	defaultAddr    = "127.0.0.1:8080"
)

const serveUsage = `Usage:
  promo serve [--addr HOST:PORT] [--data-dir DIR | --database URL] [--no-migrate]
              [--key-rate N/PERIOD] [--attempt-limit N/PERIOD] [--redis URL]
              [--trusted-proxies CIDRS] [--leak-limit N/PERIOD] [--leak-disable]

Serves the API. Data is kept in an embedded SQLite store in the data
directory, created when missing, or with --database in PostgreSQL, which
any number of servers can share. On first start with no API key, one is
created and printed once.

Every API key may make --key-rate calls (10000/s); a client IP or a
customer may fail --attempt-limit validations or redemptions (5/60s)
before its attempts are refused until the period ends. The limits are
kept in memory, or with --redis shared by every server using that Redis.
The client IP is the connection's, or from --trusted-proxies, the
right-most untrusted address of X-Forwarded-For. A code meant for one
customer (single-use, or published) that more than --leak-limit (5/10m)
distinct customers or client IPs try is flagged as leaked (GET /v1/flags),
and disabled too with --leak-disable.

Environment: PROMO_ADDR, PROMO_DATA_DIR, PROMO_DATABASE_URL, PROMO_KEY_RATE,
PROMO_ATTEMPT_LIMIT, PROMO_REDIS_URL, PROMO_TRUSTED_PROXIES, PROMO_LEAK_LIMIT,
PROMO_LEAK_DISABLE (flags win). The garbage collector's target is GOGC=400
unless GOGC is set.
`

// setting registers a string flag whose default comes from an environment
// variable, then from def.
func setting(fs *flag.FlagSet, name, env, def, usage string) *string {
	v := def
	if e := os.Getenv(env); e != "" {
		v = e
	}
	return fs.String(name, v, usage+" (env "+env+")")
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("promo serve", serveUsage, stderr)
	addr := setting(fs, "addr", "PROMO_ADDR", defaultAddr, "address to listen on")
	sf := addStoreFlags(fs)
	noMigrate := fs.Bool("no-migrate", false, "do not apply PostgreSQL migrations at start (see promo migrate)")
	lf := addLimitFlags(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return flagExit(err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "promo serve: unexpected argument %q\n", rest[0])
		return ExitUsage
	}
	lw := newLogWriter(stderr)
	defer lw.Close()
	log := slog.New(slog.NewJSONHandler(lw, nil))
	if p, ok := gcPercent(os.Getenv); ok {
		debug.SetGCPercent(p)
	}
	if err := serve(ctx, log, lw, *addr, sf, lf, !*noMigrate, stdout); err != nil {
		log.Error("promo serve stopped", "err", err)
		return ExitFailure
	}
	return ExitOK
}

// serveGCPercent is the garbage collector's target of promo serve (Go's
// GOGC): how far the heap grows past what is live before a collection.
// The server's live heap is small, a few MB, and every request allocates,
// so at Go's default of 100 it collected about 50 times a second under
// load (the heap's floor is 4 MB x GOGC/100). Measured on bench/redeem.sh's
// validations, the server's CPU per request was about 80 µs at 100 and 67
// at 400 (medians of 6 runs each), and the throughput about a fifth
// higher; 1000 did no better than 400. At 400 the heap stays within tens
// of MB.
const serveGCPercent = 400

// gcPercent returns the GC target serve sets: serveGCPercent, unless the
// environment's GOGC says otherwise (then it is Go's to apply, and ok is
// false).
func gcPercent(getenv func(string) string) (percent int, ok bool) {
	if getenv("GOGC") != "" {
		return 0, false
	}
	return serveGCPercent, true
}

// observer counts what the engine does, for /metrics.
type observer struct {
	generated, published *metrics.CounterVec
}

func (o observer) CodesGenerated(n int64) { o.generated.With().Add(float64(n)) }
func (o observer) Published(n int64)      { o.published.With().Add(float64(n)) }

// serve runs the server until ctx ends, then shuts it down gracefully:
// requests in flight finish, the async action in progress pauses at a batch
// boundary, and the store closes.
//
// On the embedded store it holds the data directory (lockDataDir): one
// server owns it, and takes over its unfinished async actions at once. On
// PostgreSQL any number of servers share the database, and an action whose
// server died is taken over when its lease ends.
//
// log writes JSON lines to logw; the request log writes its lines there
// directly (httpapi.Config.RequestLog).
func serve(ctx context.Context, log *slog.Logger, logw io.Writer, addr string, sf storeFlags, lf limitFlags, migrate bool, stdout io.Writer) error {
	limits, releaseLimits, err := lf.limits(ctx)
	if err != nil {
		return err
	}
	defer releaseLimits()
	leaks, err := lf.leakOptions()
	if err != nil {
		return err
	}
	if !sf.shared() {
		if err := os.MkdirAll(*sf.dataDir, 0o700); err != nil {
			return fmt.Errorf("data directory: %w", err)
		}
		release, err := lockDataDir(*sf.dataDir)
		if err != nil {
			return err
		}
		defer release()
	}
	store, err := sf.open(ctx, migrate)
	if err != nil {
		return err
	}
	defer store.Close()

	reg := metrics.NewRegistry()
	eng := engine.New(store, engine.Options{
		Logger: log,
		Observer: observer{
			generated: reg.Counter("promo_codes_generated_total", "Codes generated and stored."),
			published: reg.Counter("promo_publications_total", "Vouchers published to customers."),
		},
		TakeOverOnStart: !sf.shared(), // one process owns an embedded store
		Leaks:           leaks,
	})
	key, token, err := eng.EnsureAPIKey(ctx)
	if err != nil {
		return err
	}
	if key != nil {
		fmt.Fprintf(stdout, "Created the first API key. The token is shown once; keep it secret.\n  X-App-Id:    %s\n  X-App-Token: %s\n", key.ID, token)
	}
	api := httpapi.New(httpapi.Config{
		Logger:     log,
		RequestLog: logw,
		Metrics:    reg,
		Auth:       eng,
		Ready:      store.Ping,
		Limits:     limits,
	})
	httpapi.Register(api, eng)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "store", sf.describe())

	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { eng.Run(workCtx) })
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err = <-served:
	case <-ctx.Done():
		log.Info("shutting down")
		shutCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
	}
	stopWork()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}
