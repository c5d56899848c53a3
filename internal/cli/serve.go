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
	"path/filepath"
	"sync"
	"time"

	"promo/internal/engine"
	"promo/internal/httpapi"
	"promo/internal/metrics"
	"promo/internal/sqlite"
)

// Defaults of the server's settings; flags win over the environment, which
// wins over these.
const (
	defaultDataDir = "./promo-data"
	defaultAddr    = "127.0.0.1:8080"
)

const serveUsage = `Usage:
  promo serve [--addr HOST:PORT] [--data-dir DIR]

Serves the API. Data is kept in an embedded SQLite store in the data
directory, created when missing. On first start with no API key, one is
created and printed once.

Environment: PROMO_ADDR, PROMO_DATA_DIR (flags win).
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

// openStore opens the embedded store in dir, creating dir when missing.
func openStore(ctx context.Context, dir string) (*sqlite.Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return sqlite.Open(ctx, filepath.Join(dir, "promo.db"))
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("promo serve", serveUsage, stderr)
	addr := setting(fs, "addr", "PROMO_ADDR", defaultAddr, "address to listen on")
	dataDir := setting(fs, "data-dir", "PROMO_DATA_DIR", defaultDataDir, "data directory")
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
	if err := serve(ctx, log, *addr, *dataDir, stdout); err != nil {
		log.Error("promo serve stopped", "err", err)
		return ExitFailure
	}
	return ExitOK
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
func serve(ctx context.Context, log *slog.Logger, addr, dataDir string, stdout io.Writer) error {
	store, err := openStore(ctx, dataDir)
	if err != nil {
		return err
	}
	defer store.Close()
	release, err := lockDataDir(dataDir)
	if err != nil {
		return err
	}
	defer release()

	reg := metrics.NewRegistry()
	eng := engine.New(store, engine.Options{
		Logger: log,
		Observer: observer{
			generated: reg.Counter("promo_codes_generated_total", "Codes generated and stored."),
			published: reg.Counter("promo_publications_total", "Vouchers published to customers."),
		},
		TakeOverOnStart: true, // one process owns an embedded store
	})
	key, token, err := eng.EnsureAPIKey(ctx)
	if err != nil {
		return err
	}
	if key != nil {
		fmt.Fprintf(stdout, "Created the first API key. The token is shown once; keep it secret.\n  X-App-Id:    %s\n  X-App-Token: %s\n", key.ID, token)
	}
	api := httpapi.New(httpapi.Config{
		Logger:  log,
		Metrics: reg,
		Auth:    eng,
		Ready:   store.Ping,
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
	log.Info("listening", "addr", ln.Addr().String(), "data_dir", dataDir)

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
