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
// promise silently; SSI finds every conflict. Row locks stay where they
// avoid conflicts rather than find them: TakeVoucher and ClaimAsyncAction
// skip rows another transaction holds (FOR UPDATE SKIP LOCKED), and
// LockVoucher queues redemptions of one code (FOR UPDATE).
//
// An Update makes few round trips, a redemption three, since on one machine
// a round trip costs the server and PostgreSQL more CPU than most
// statements do (tx.go):
//
//   - Until fn first writes or locks, its reads run outside the
//     transaction, at READ COMMITTED. When the transaction begins, in the
//     round trip of its first statement, it reads them again in its
//     snapshot, and fn runs again if any returns something else.
//   - Writes wait for the next statement that needs an answer, or the
//     COMMIT, and go with it; writes to distinct tables go as one
//     statement. A write that fails there makes fn run again with every
//     write sent as it is made, so that the error comes from its call.
//   - A transaction keeps what it read until it writes, since in one
//     snapshot a statement returns the same rows. LockVoucher reads with
//     the voucher its campaign, and whether it has session locks or rules,
//     which a redemption reads next.
//   - A source_id (of a customer, order or publication) read absent before
//     the transaction began, and then created in it, is not read again:
//     the unique index proves it absent when the row goes in, or fails the
//     insert, and fn runs again. Read in the transaction, it would take an
//     SSI lock on the index page where it would go, and transactions that
//     create neighbouring source_ids would fail one another. This misses
//     one order of events: others create the source_id and delete it again
//     between the read and the insert, the deletion after the snapshot.
//     fn then decided as if it ran after the deletion, on a snapshot from
//     before it; only a deletion that also wrote something fn read could
//     tell, and deleting a customer writes nothing a redemption reads.
//
// So that no transaction starves, every one takes update_gate in ACCESS
// SHARE mode before its snapshot, and one that has failed to serialize
// escalateAfter times takes it in ACCESS EXCLUSIVE mode and runs alone.
// The schema keeps conflicts rare where SSI would find false ones:
// source_ids are indexed behind a hash (migration 0006), and a voucher's
// page has room for an update of each of its rows, which so writes no
// index entry (0007).
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
	stats     stats
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

// escalateAfter is how many failures to serialize a transaction suffers
// before it runs alone.
const escalateAfter = 4

// Update runs fn in a SERIALIZABLE transaction, and again, after a jittered
// exponential backoff, when the transaction fails to serialize or what fn
// read before it began has changed (see the package comment). A failure
// that fn saw counts even if fn swallowed it or returned another error:
// the transaction was doomed, so fn decided on a view that no serial order
// gives. When a write that was sent ahead fails, fn runs again at once
// with every write sent as it is made, so that the error comes from the
// call that made it. A panic in fn rolls back and goes on in the caller's
// goroutine.
//
// SSI finds conflicts at the granularity of index pages, so transactions
// that touch neighbouring keys can keep failing each other under load. So
// that none starves, one that has failed escalateAfter times runs alone:
// every transaction takes update_gate in ACCESS SHARE mode before its
// snapshot, and this one takes it in ACCESS EXCLUSIVE mode, which waits
// for those in flight and holds new ones back until it commits.
func (s *Store) Update(ctx context.Context, fn func(tx promo.Tx) error) error {
	var m mode
	failures := 0
	for attempt := 1; ; attempt++ {
		m.alone = failures >= escalateAfter
		again, err := s.try(ctx, fn, m)
		switch {
		case again == done:
			return err
		case attempt == maxAttempts:
			if errors.Is(err, errStale) {
				return fmt.Errorf("postgres: what the transaction read kept changing: %d attempts", attempt)
			}
			return err
		case again == strictly:
			m.strict = true
			continue
		}
		failures++
		if failures >= escalateAfter {
			continue // alone, it need not wait for the others to go first
		}
		if err := backoff(ctx, failures); err != nil {
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

// again says whether an attempt's outcome is final.
type again int

const (
	done     again = iota // return the error, nil on a commit
	retry                 // failed to serialize, or read what changed: run again
	strictly              // a write sent ahead failed: run again, writing as it goes
)

// try runs fn once (see Update).
func (s *Store) try(ctx context.Context, fn func(tx promo.Tx) error, m mode) (again, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return done, fmt.Errorf("postgres: begin: %w", err)
	}
	c := newTxConn(conn.Conn(), &s.stats, m)
	defer func() {
		if !c.end(ctx) {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}()
	s.stats.attempts.Add(1)
	err = fn(&tx{reader{q: c}, c})
	if err != nil {
		c.settle(ctx)
	} else {
		err = c.commit(ctx)
		if err != nil && c.doomed() == nil {
			return done, fmt.Errorf("postgres: commit: %w", err)
		}
	}
	switch {
	case c.retry != nil:
		return retry, c.retry
	case c.stale:
		return retry, errStale
	case c.rerun != nil:
		return strictly, c.rerun
	}
	return done, err
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
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

type scanner interface{ Scan(dest ...any) error }

// reader implements promo.Reader over a querier.
type reader struct{ q querier }

// tx implements promo.Tx in an Update's transaction.
type tx struct {
	reader
	c *txConn
}
