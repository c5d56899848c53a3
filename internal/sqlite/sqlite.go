// Package sqlite is promo.Store on an embedded SQLite database in WAL mode,
// through the pure-Go driver modernc.org/sqlite.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"promo/internal/promo"
)

var _ promo.Store = (*Store)(nil)

// Store is promo.Store on one SQLite file. It holds one connection that
// does every write, so writers queue in Go instead of spinning on SQLite's
// file lock, and a pool of read-only connections that WAL lets read beside
// it.
type Store struct {
	reader // reads outside transactions, on the read pool

	wdb       *sql.DB
	rdb       *sql.DB
	cdb       *sql.DB       // the checkpointer's connection
	wconn     *sql.Conn     // the writer connection, held for the store's life
	updates   chan *update  // Updates waiting for the writer
	closing   chan struct{} // closed by Close
	written   chan struct{} // closed when the writer has stopped
	ckpted    chan struct{} // closed when the checkpointer has stopped
	closeOnce sync.Once
	cache     readCache
	wstmts    *stmtCache
	rstmts    *stmtCache
}

// The pragmas of every connection. WAL with synchronous=NORMAL keeps every
// committed transaction through a process crash (kill -9): a commit is in
// the WAL file, which the OS has, before COMMIT returns. Only a power loss
// or OS crash can take the last transactions back, never corrupt the file.
// busy_timeout covers the rare moments another process (promo migrate, an
// apikeys command beside a running server) holds the write lock. Reads go
// through mmap, which spares copying pages into each connection's cache.
var pragmas = []string{
	"_pragma=busy_timeout(10000)",
	"_pragma=foreign_keys(ON)",
	"_pragma=synchronous(NORMAL)",
	"_pragma=temp_store(MEMORY)",
	"_pragma=mmap_size(268435456)",
}

// writerParams set the file's journal mode, which is persistent, and the
// writer's cache. The writer never checkpoints (wal_autocheckpoint(0)): a
// checkpoint in the committing connection stalls every Update queued behind
// it, tens of milliseconds for a large WAL, which was most of the tail
// latency of publications. The checkpointer goroutine does it instead, on a
// connection of its own (see checkpoint). journal_size_limit truncates the
// WAL file back to 64 MB once it has been checkpointed and restarted. The
// 64 MB cache holds the hot part of a large key index while it grows.
var writerParams = []string{
	"_journal_mode=WAL",
	"_pragma=cache_size(-65536)",
	"_pragma=wal_autocheckpoint(0)",
	"_pragma=journal_size_limit(67108864)",
}

// checkpointEvery is how often the checkpointer copies the WAL back into
// the database file. Each page goes back once per interval however often
// it was written in it, so bulk inserts, which rewrite the same index pages
// at every commit, lose little to it; and the WAL stays small enough for
// readers to search quickly.
const checkpointEvery = 2 * time.Second

// readerParams: query_only makes sure nothing writes but the writer.
var readerParams = []string{
	"_pragma=cache_size(-8192)",
	"_query_only=1",
}

// readConns bounds the read pool: more connections than cores buys nothing
// on a CPU-bound engine, and each has its own page cache.
const readConns = 4

// Open opens (creating it if needed) the database file at path, whose
// directory must exist, and applies the migrations it lacks.
func Open(ctx context.Context, path string) (*Store, error) {
	if strings.ContainsRune(path, '?') {
		// The driver would read the rest as connection parameters.
		return nil, fmt.Errorf("sqlite: open %s: a database path cannot contain '?'", path)
	}
	wdb, err := sql.Open("sqlite", dsn(path, writerParams...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wconn, err := wdb.Conn(ctx)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The writer has switched the file to WAL (a persistent setting) before
	// any reader connects, so readers never need to write to set it.
	rdb, err := sql.Open("sqlite", dsn(path, readerParams...))
	if err != nil {
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// The checkpointer's connection needs no cache: a checkpoint copies
	// frames from the WAL to the file without the page cache.
	cdb, err := sql.Open("sqlite", dsn(path, "_pragma=cache_size(-512)"))
	if err != nil {
		rdb.Close()
		wconn.Close()
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	cdb.SetMaxOpenConns(1)
	rdb.SetMaxOpenConns(readConns)
	rdb.SetMaxIdleConns(readConns)
	rdb.SetConnMaxLifetime(0)
	rdb.SetConnMaxIdleTime(0)

	s := &Store{
		wdb:     wdb,
		rdb:     rdb,
		cdb:     cdb,
		wconn:   wconn,
		updates: make(chan *update),
		closing: make(chan struct{}),
		written: make(chan struct{}),
		ckpted:  make(chan struct{}),
		wstmts:  newStmtCache(wconn),
		rstmts:  newStmtCache(rdb),
	}
	s.reader = reader{c: stmtConn{s.rstmts}, s: s}
	go s.write()
	go s.checkpoint()
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func dsn(path string, params ...string) string {
	return path + "?" + strings.Join(append(slices.Clip(pragmas), params...), "&")
}

// Close closes the store. It runs PRAGMA optimize first, which SQLite asks
// of long-lived connections so the planner's statistics stay current.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	<-s.written // no transaction is open on the writer connection now
	<-s.ckpted
	s.wstmts.close()
	s.rstmts.close()
	_, _ = s.wconn.ExecContext(context.Background(), "PRAGMA optimize")
	err := errors.Join(s.rdb.Close(), s.cdb.Close(), s.wconn.Close(), s.wdb.Close())
	if err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// checkpoint runs a PASSIVE checkpoint every checkpointEvery until the
// store closes. PASSIVE never waits for readers or the writer: it copies
// what no reader still needs from the WAL, and the next write transaction
// after a complete one starts the WAL over. The last connection to close
// checkpoints the rest.
func (s *Store) checkpoint() {
	defer close(s.ckpted)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
		// A failure (the disk is full, say) leaves the frames in the WAL,
		// where they are as safe; the next tick tries again.
		_, _ = s.cdb.Exec("PRAGMA wal_checkpoint(PASSIVE)")
	}
}

// Ping reports whether both connections to the file work.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.wconn.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Update runs fn in a transaction on the writer connection. Updates take
// turns on it in Go, so SQLite never sees two at once, and SQLITE_BUSY can
// only come from another process holding the file's write lock, which
// busy_timeout and beginBusyRetries absorb.
//
// Updates that queue while another commits are committed together (group
// commit): the writer runs each waiting fn in turn inside one BEGIN
// IMMEDIATE transaction, each after the first in a savepoint of its own,
// and commits once. A commit writes every page its transaction changed to
// the WAL, and concurrent small writes (publications) share most of their
// pages, so a group of them costs about one commit. Each fn is still
// atomic and isolated: one that fails or panics is rolled back alone (to
// its savepoint, or with the transaction when it came first) and the
// others go on; Update returns only after the group's COMMIT, so nothing
// is acknowledged before it is durable. fn runs on the writer's goroutine;
// its statements keep ctx's values but not its cancellation (see
// groupConn). fn must not call Update: it would wait for itself.
func (s *Store) Update(ctx context.Context, fn func(tx promo.Tx) error) error {
	req := &update{ctx: ctx, fn: fn, done: make(chan updateResult, 1)}
	select {
	case s.updates <- req:
	case <-s.closing:
		return errClosed
	case <-ctx.Done():
		return fmt.Errorf("sqlite: begin: %w", ctx.Err())
	}
	res := <-req.done
	if res.panicked != nil {
		panic(res.panicked)
	}
	return res.err
}

var errClosed = errors.New("sqlite: the store is closed")

// update is one Update waiting for the writer.
type update struct {
	ctx  context.Context
	fn   func(tx promo.Tx) error
	done chan updateResult
}

type updateResult struct {
	err      error
	panicked any
}

// maxGroup bounds the Updates one transaction commits together.
const maxGroup = 64

// write is the writer: it takes the waiting Updates, up to maxGroup, and
// commits them as one transaction, until the store closes.
func (s *Store) write() {
	defer close(s.written)
	group := make([]*update, 0, maxGroup)
	for {
		select {
		case <-s.closing:
			return
		case u := <-s.updates:
			group = append(group[:0], u)
		}
	more:
		for len(group) < maxGroup {
			select {
			case u := <-s.updates:
				group = append(group, u)
			default:
				break more
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup runs a group of Updates in one transaction and answers each.
//
// The Updates run without savepoints: inside one, SQLite copies each page
// before its first change in it, and a redemption changes a dozen. An
// Update that fails having written nothing (only SELECTs ran, and it
// returned an application error) leaves the transaction as it found it. One
// that fails after writing, or panics, needs undoing: the transaction rolls
// back and the group's other Updates run again in a new one, each after the
// first in a savepoint of its own (the way every Update ran before), so
// that a group reruns at most once. Update may run fn more than once (see
// promo.Store).
func (s *Store) commitGroup(group []*update) {
	results := make([]updateResult, len(group))
	ch := &changes{}
	answer := func() {
		// Nothing of what the group replaced may be read once an
		// Update has returned.
		s.cache.forget(ch)
		for i, u := range group {
			u.done <- results[i]
		}
	}
	todo := make([]int, 0, len(group))
	for i, u := range group {
		if err := u.ctx.Err(); err != nil {
			results[i].err = fmt.Errorf("sqlite: begin: %w", err)
			continue
		}
		todo = append(todo, i)
	}
	if len(todo) > 0 {
		if redo := s.runGroup(group, todo, results, ch, false); len(redo) > 0 {
			s.runGroup(group, redo, results, ch, true)
		}
	}
	answer()
}

// runGroup runs the Updates todo of group in one transaction and commits
// it, setting their results. Without savepoints, when one fails after
// writing, it rolls the transaction back, sets that one's result and
// returns the others of todo, to run again.
func (s *Store) runGroup(group []*update, todo []int, results []updateResult, ch *changes, savepoints bool) (redo []int) {
	ctx := context.Background()
	g := groupConn{c: stmtConn{s.wstmts}, wrote: new(bool)}
	t := &tx{reader{c: g, s: s, ch: ch}}
	inTx := false
	ok := 0 // Updates done in the open transaction
	for n, i := range todo {
		u := group[i]
		if !inTx {
			if err := s.begin(ctx); err != nil {
				// Nothing is pending: a transaction only begins when
				// none is open, before its first Update.
				for _, j := range todo[n:] {
					results[j].err = err
				}
				return nil
			}
			inTx = true
		}
		// The first Update of a transaction never needs a savepoint: if
		// it fails, rolling the transaction back undoes it alone.
		first := ok == 0
		if savepoints && !first {
			if _, err := s.wconn.ExecContext(ctx, "SAVEPOINT u"); err != nil {
				results[i].err = fmt.Errorf("sqlite: savepoint: %w", err)
				s.abortGroup(group, todo, results)
				return nil
			}
		}
		*g.wrote = false
		results[i] = runUpdate(t, u.fn)
		if err := u.ctx.Err(); err != nil && results[i].err == nil && results[i].panicked == nil {
			// The caller gave up while fn ran: keep nothing of it.
			results[i].err = fmt.Errorf("sqlite: %w", err)
			*g.wrote = true
		}
		res := results[i]
		if res.err == nil && res.panicked == nil {
			if savepoints && !first {
				if _, err := s.wconn.ExecContext(ctx, "RELEASE u"); err != nil {
					results[i].err = fmt.Errorf("sqlite: release: %w", err)
					s.abortGroup(group, todo, results)
					return nil
				}
			}
			ok++
			continue
		}
		if !*g.wrote && res.panicked == nil && isAppError(res.err) {
			continue // it changed nothing
		}
		switch {
		case first:
			s.rollback()
			inTx = false
		case !savepoints:
			// Undo it with the whole transaction, and run again what
			// the transaction held and what had yet to run.
			s.rollback()
			for _, j := range todo[:n] {
				if results[j].err == nil && results[j].panicked == nil {
					redo = append(redo, j)
				}
			}
			return append(redo, todo[n+1:]...)
		default:
			// Undo this Update alone. If SQLite has already ended the
			// whole transaction (it does on some errors), the group
			// cannot go on.
			if _, err := s.wconn.ExecContext(ctx, "ROLLBACK TO u"); err != nil {
				s.abortGroup(group, todo, results)
				return nil
			}
			_, _ = s.wconn.ExecContext(ctx, "RELEASE u")
		}
	}
	if inTx {
		if _, err := s.wconn.ExecContext(ctx, "COMMIT"); err != nil {
			s.rollback()
			for _, i := range todo {
				if results[i].err == nil && results[i].panicked == nil {
					results[i].err = fmt.Errorf("sqlite: commit: %w", err)
				}
			}
		}
	}
	return nil
}

// isAppError reports whether err is an application error (a *promo.Error),
// which an Update's own logic returns, rather than one of SQLite's, after
// which the transaction may be gone.
func isAppError(err error) bool {
	_, ok := errors.AsType[*promo.Error](err)
	return ok
}

// abortGroup rolls a group's transaction back: every Update of it that had
// succeeded fails, as nothing of it is kept.
func (s *Store) abortGroup(group []*update, todo []int, results []updateResult) {
	s.rollback()
	for _, i := range todo {
		if results[i].err == nil && results[i].panicked == nil {
			results[i].err = errors.New("sqlite: the transaction was rolled back with another update of its group; nothing was written")
		}
	}
}

// runUpdate runs fn, turning a panic into a result to re-raise in the
// caller's goroutine.
func runUpdate(t *tx, fn func(tx promo.Tx) error) (res updateResult) {
	defer func() {
		if p := recover(); p != nil {
			res = updateResult{panicked: p}
		}
	}()
	return updateResult{err: fn(t)}
}

// groupConn runs a group's statements without their contexts'
// cancellation: SQLite answers an interrupted write by rolling back the
// transaction, which holds the other Updates of the group too.
// It notes in wrote whether any statement but a SELECT ran.
type groupConn struct {
	c     stmtConn
	wrote *bool
}

func (g groupConn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	*g.wrote = true
	return g.c.exec(context.WithoutCancel(ctx), query, args...)
}

func (g groupConn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	g.note(query)
	return g.c.query(context.WithoutCancel(ctx), query, args...)
}

func (g groupConn) queryRow(ctx context.Context, query string, args ...any) scanner {
	g.note(query)
	return g.c.queryRow(context.WithoutCancel(ctx), query, args...)
}

// note sets wrote unless query is a SELECT (an INSERT ... RETURNING is
// not).
func (g groupConn) note(query string) {
	if !strings.HasPrefix(query, "SELECT ") {
		*g.wrote = true
	}
}

// beginBusyRetries bounds how often Update tries BEGIN IMMEDIATE again
// after it timed out on another process's write lock.
const beginBusyRetries = 3

// begin starts a write transaction on the writer connection, which the
// writer goroutine owns.
func (s *Store) begin(ctx context.Context) error {
	for attempt := 0; ; attempt++ {
		_, err := s.wconn.ExecContext(ctx, "BEGIN IMMEDIATE")
		if err == nil {
			return nil
		}
		if !isBusy(err) || attempt == beginBusyRetries {
			return fmt.Errorf("sqlite: begin: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqlite: begin: %w", ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		}
	}
}

// rollback ends the transaction on the writer connection, if SQLite has not
// already: an interrupted statement (its context ended) can roll the whole
// transaction back, and ROLLBACK then fails harmlessly.
func (s *Store) rollback() {
	_, _ = s.wconn.ExecContext(context.Background(), "ROLLBACK")
}

func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isBusy(err error) bool {
	c := sqliteCode(err) & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// uniqueViolation returns the "table.column" a unique or primary key
// constraint failed on, such as "campaigns.name".
func uniqueViolation(err error) (string, bool) {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
	default:
		return "", false
	}
	// The message ends "UNIQUE constraint failed: table.column (2067)".
	msg := err.Error()
	const marker = "constraint failed: "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return "", true
	}
	col, _, _ := strings.Cut(msg[i+len(marker):], " ")
	return col, true
}

// stmtCache prepares each query once, on the writer connection or on the
// read pool (where database/sql prepares it again on each connection the
// first time it runs there). Parsing is a large part of a small query's
// cost in SQLite. The cache holds fixed SQL text and list queries, whose
// shapes are few.
type stmtCache struct {
	db preparer
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

type preparer interface {
	PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
}

func newStmtCache(db preparer) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt)}
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[query]; ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	c.m[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		st.Close()
		delete(c.m, q)
	}
}

// conn runs a reader's queries: on the read pool, or in the transaction
// open on the writer connection.
type conn interface {
	exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, query string, args ...any) scanner
}

type scanner interface{ Scan(dest ...any) error }

// errRow is a row whose query could not even be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// stmtConn runs each query as a cached statement.
type stmtConn struct{ stmts *stmtCache }

func (c stmtConn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := c.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (c stmtConn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := c.stmts.get(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c stmtConn) queryRow(ctx context.Context, query string, args ...any) scanner {
	st, err := c.stmts.get(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// reader implements promo.Reader over a conn. Outside a transaction ch is
// nil; in one, it is what the group's transaction has changed so far.
type reader struct {
	c  conn
	s  *Store
	ch *changes
}

// cached returns the store's read cache for a kind of thing, or nil when
// the reader's transaction has changed things of that kind: it must read
// its own writes. A transaction reads vouchers without the cache, as it
// reads them to change them.
func (r reader) cached(kind int) *readCache {
	if r.ch != nil {
		switch {
		case kind == kindVoucher,
			kind == kindCampaign && r.ch.campaigns,
			kind == kindRules && (r.ch.rules || r.ch.campaigns):
			return nil
		}
	}
	return &r.s.cache
}

// tx implements promo.Tx on the writer connection.
type tx struct{ reader }

// execOne runs a statement that changes one row, and answers ENotFound (of
// resource id) when it changed none; op names the statement in errors.
func (t *tx) execOne(ctx context.Context, op, resource, id, query string, args ...any) error {
	res, err := t.c.exec(ctx, query, args...)
	if err != nil {
		return wrap(err, op)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wrap(err, op)
	}
	if n == 0 {
		return promo.NotFound(resource, id)
	}
	return nil
}
