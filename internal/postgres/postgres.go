// Package postgres is promo.Store on PostgreSQL through pgx, for any number
// of promo processes sharing one database.
//
// Every Update runs at SERIALIZABLE, and runs fn again when PostgreSQL
// reports a serialization failure (40001) or a deadlock (40P01), so that
// concurrent Updates, on one node or many, behave as if run one after
// another, whatever fn reads before it writes: a read-then-insert upsert, a
// budget read from counters, a voucher's redemption count. READ COMMITTED
// with explicit locks would need a lock for every such read, including
// reads of rows that do not exist yet, and one forgotten lock would break a
// promise silently; SSI finds every conflict, and costs a retry only where
// transactions really overlap. Row locks stay where they avoid conflicts
// rather than find them: TakeVoucher and ClaimAsyncAction skip rows another
// transaction holds (FOR UPDATE SKIP LOCKED), and LockVoucher queues
// redemptions of one code (FOR UPDATE) instead of letting them collide.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"promo/internal/promo"
)

var _ promo.Store = (*Store)(nil)

// Store is promo.Store on a pool of connections to one PostgreSQL
// database (the schema search_path names).
type Store struct {
	reader // reads outside transactions, on the pool

	pool      *pgxpool.Pool
	stop      context.CancelFunc // ends the compactor
	compacted chan struct{}      // closed when the compactor has stopped
	closeOnce sync.Once
}

// defaultMaxConns bounds the pool unless the URL sets pool_max_conns. A
// transaction holds its connection while fn runs, so the pool is larger
// than the cores: fn may wait for the application, not the database.
const defaultMaxConns = 16

// Open connects to PostgreSQL at url (postgres:// URL or key=value DSN),
// checks the connection, and does not migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns
	}
	return openConfig(ctx, cfg)
}

func openConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	cctx, stop := context.WithCancel(context.Background())
	s := &Store{pool: pool, stop: stop, compacted: make(chan struct{})}
	s.reader = reader{q: pool}
	go s.compactLoop(cctx)
	return s, nil
}

// Close stops the compactor and closes every connection.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		<-s.compacted
		s.pool.Close()
	})
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// maxAttempts bounds how often Update runs fn when PostgreSQL keeps asking
// for a retry. Past escalateAfter failures a transaction runs alone (see
// Update), where it cannot fail to serialize, so the bound is only reached
// when something else keeps failing: a deadlock with a transaction of
// another program, or a broken database.
const maxAttempts = 25

// escalateAfter is how many serialization failures a transaction suffers
// before it runs alone.
const escalateAfter = 4

// The session-level advisory lock every Update holds while its transaction
// runs: shared by all of them, exclusive for one that runs alone. Its key
// is the schema's, so that stores on other schemas do not wait for each
// other. Session-level, so that it is taken before BEGIN and the
// transaction's snapshot is taken after it is granted.
const (
	lockShared   = `SELECT pg_advisory_lock_shared(1886547821, hashtext(current_schema()))`
	unlockShared = `SELECT pg_advisory_unlock_shared(1886547821, hashtext(current_schema()))`
	lockAlone    = `SELECT pg_advisory_lock(1886547821, hashtext(current_schema()))`
	unlockAlone  = `SELECT pg_advisory_unlock(1886547821, hashtext(current_schema()))`
)

// Update runs fn in a SERIALIZABLE transaction, and again, after a jittered
// exponential backoff, when the transaction fails to serialize. A failure
// to serialize that fn saw counts even if fn swallowed it or returned
// another error: the transaction was doomed, so fn decided on a view that
// no serial order gives. A panic in fn rolls back and goes on in the
// caller's goroutine.
//
// SSI finds conflicts at the granularity of index pages, so transactions
// that touch neighbouring keys (new customers with similar source_ids,
// codes taken from the front of one pool) can keep failing each other
// under load. So that none starves, one that has failed escalateAfter
// times runs alone: every transaction holds a shared advisory lock while
// it runs, and this one takes it exclusively, which waits for those in
// flight and holds new ones back until it commits.
func (s *Store) Update(ctx context.Context, fn func(tx promo.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.try(ctx, fn, attempt > escalateAfter)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		if attempt >= escalateAfter {
			continue // alone, it need not wait for the others to go first
		}
		if err := backoff(ctx, attempt); err != nil {
			return fmt.Errorf("postgres: retry: %w", err)
		}
	}
}

// backoff waits before attempt+1: a random time up to 1 ms doubled at each
// attempt, at most 200 ms. Randomness spreads out transactions that failed
// together, so they do not collide again.
func backoff(ctx context.Context, attempt int) error {
	limit := min(time.Millisecond<<min(attempt-1, 10), 200*time.Millisecond)
	t := time.NewTimer(limit/4 + rand.N(limit*3/4))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// try runs fn once in a transaction, alone or beside others (see Update).
func (s *Store) try(ctx context.Context, fn func(tx promo.Tx) error, alone bool) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	lock, unlock := lockShared, unlockShared
	if alone {
		lock, unlock = lockAlone, unlockAlone
	}
	if _, err := conn.Exec(ctx, lock); err != nil {
		// Whether an interrupted lock was granted is unknown: the
		// connection must not go back to the pool with it.
		conn.Conn().Close(context.WithoutCancel(ctx))
		conn.Release()
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), unlock); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}()
	ptx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	c := &txConn{tx: ptx}
	rollback := func() { _ = ptx.Rollback(context.WithoutCancel(ctx)) }
	defer func() {
		if p := recover(); p != nil {
			rollback()
			panic(p)
		}
	}()
	err = fn(&tx{reader{q: c}, c})
	if c.retry != nil {
		rollback()
		return c.retry
	}
	if err != nil {
		rollback()
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// sqlState returns the SQLSTATE of a PostgreSQL error in err's chain.
func sqlState(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// retryable reports whether err asks for the transaction to be run again:
// a serialization failure or a deadlock.
func retryable(err error) bool {
	switch sqlState(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// uniqueViolation returns the name of the unique constraint err violates,
// such as "campaigns_name_key".
func uniqueViolation(err error) (string, bool) {
	var e *pgconn.PgError
	if errors.As(err, &e) && e.Code == "23505" {
		return e.ConstraintName, true
	}
	return "", false
}

// querier runs a reader's statements: the pool, or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type scanner interface{ Scan(dest ...any) error }

// txConn runs an Update's statements and remembers the first that failed
// to serialize.
type txConn struct {
	tx    pgx.Tx
	retry error
}

func (c *txConn) note(err error) {
	if c.retry == nil && retryable(err) {
		c.retry = fmt.Errorf("postgres: %w", err)
	}
}

func (c *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := c.tx.Exec(ctx, sql, args...)
	c.note(err)
	return tag, err
}

func (c *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := c.tx.Query(ctx, sql, args...)
	c.note(err)
	if err != nil {
		return rows, err
	}
	return noteRows{rows, c}, nil
}

func (c *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return noteRow{c.tx.QueryRow(ctx, sql, args...), c}
}

func (c *txConn) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	n, err := c.tx.CopyFrom(ctx, table, cols, src)
	c.note(err)
	return n, err
}

type noteRows struct {
	pgx.Rows
	c *txConn
}

func (r noteRows) Err() error {
	err := r.Rows.Err()
	r.c.note(err)
	return err
}

type noteRow struct {
	row pgx.Row
	c   *txConn
}

func (r noteRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	r.c.note(err)
	return err
}

// reader implements promo.Reader over a querier.
type reader struct{ q querier }

// tx implements promo.Tx in an Update's transaction.
type tx struct {
	reader
	c *txConn
}
