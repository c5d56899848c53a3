package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// txConn runs one attempt of an Update on one connection, in as few round
// trips as it can (see the package comment):
//
//   - Until the transaction begins, a read runs on its own at READ
//     COMMITTED, outside any transaction, and is kept to be read again in
//     the transaction's snapshot when it begins: if it then returns
//     anything else, fn decided on what the transaction does not see, and
//     the attempt ends (errStale).
//   - A write is queued and sent with the next statement that needs an
//     answer: a read, a write that returns something, the COMMIT. A queued
//     write that fails ends the attempt (errRerun), and fn runs again with
//     every write sent at once (strict), so that the error comes from the
//     call that made it.
//   - The transaction begins with the first statement that must run in
//     it, in the same round trip: BEGIN, the lock on update_gate, the
//     repeated reads, the queued writes and that statement.
//   - Results are kept until the next write, so that reading them again,
//     or reading what a statement fetched ahead (LockVoucher), costs no
//     round trip. In one snapshot, without a write in between, a statement
//     returns the same rows every time.
type txConn struct {
	conn  *pgx.Conn
	stats *stats
	mode  mode
	begun bool // BEGIN has been sent

	pending []write   // queued writes
	reads   []preRead // reads made before BEGIN, to read again after it
	cache   map[string]*result

	auditIDs []int64 // IDs reserved for audit entries

	retry   error // the first serialization failure or deadlock
	rerun   error // the first queued write that failed
	stale   bool  // a read made before BEGIN changed
	aborted error // the first statement that failed otherwise: PostgreSQL aborted the transaction
}

// mode is how an attempt runs.
type mode struct {
	alone  bool // take update_gate exclusively, and read in the transaction from the start
	strict bool // send every write at once
}

// Errors that end an attempt and make Update run fn again. fn may see
// them; Update never returns them.
var (
	errStale = errors.New("postgres: what the transaction read changed before it began")
	errRerun = errors.New("postgres: a write failed; running the transaction again, writing as it goes")
)

// step is one statement of a round trip and what to do with its result.
type step struct {
	sql    string
	args   []any
	handle func(br pgx.BatchResults) error
	write  bool // a queued write: its failure is the write's, not the caller's
}

// preRead is a read made before the transaction began.
type preRead struct {
	sql  string
	args []any
	res  *result
	// absent names the key the read found absent, when it looked one up
	// (see readKey); claimed, that the transaction then created it.
	absent  string
	claimed bool
}

func newTxConn(conn *pgx.Conn, st *stats, m mode) *txConn {
	return &txConn{conn: conn, stats: st, mode: m}
}

// stats counts what Updates cost, for tests and benchmarks.
type stats struct {
	attempts, roundTrips, statements atomic.Int64
}

// doomed returns the error that ended the attempt, if one has.
func (c *txConn) doomed() error {
	switch {
	case c.retry != nil:
		return c.retry
	case c.stale:
		return errStale
	case c.rerun != nil:
		return errRerun
	}
	return c.aborted
}

// beginSteps start the transaction: BEGIN, the gate, and the reads made
// before, read again. Nothing in them takes a snapshot before the gate is
// granted: BEGIN and LOCK do not take one.
func (c *txConn) beginSteps() []step {
	gate := `LOCK TABLE update_gate IN ACCESS SHARE MODE`
	if c.mode.alone {
		gate = `LOCK TABLE update_gate IN ACCESS EXCLUSIVE MODE`
	}
	steps := []step{
		{sql: `BEGIN ISOLATION LEVEL SERIALIZABLE`, handle: execStep},
		{sql: gate, handle: execStep},
	}
	for _, r := range c.reads {
		if r.claimed {
			continue
		}
		steps = append(steps, step{sql: r.sql, args: r.args, handle: func(br pgx.BatchResults) error {
			rows, err := br.Query()
			if err != nil {
				return err
			}
			got, err := buffer(rows)
			if err != nil {
				return err
			}
			if !got.equal(r.res) {
				return errStale
			}
			return nil
		}})
	}
	return steps
}

func execStep(br pgx.BatchResults) error {
	_, err := br.Exec()
	return err
}

// run sends the queued writes and then steps in one round trip, beginning
// the transaction first if it has not begun, and hands each result to its
// step. It returns the first error: that of a step of the caller's, or
// the error that ended the attempt.
func (c *txConn) run(ctx context.Context, steps ...step) error {
	if err := c.doomed(); err != nil {
		return err
	}
	var all []step
	if !c.begun {
		all = c.beginSteps()
		c.begun, c.reads = true, nil
	}
	all = append(append(all, writeSteps(c.pending)...), steps...)
	c.pending = nil
	b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(all))}
	for _, s := range all {
		b.Queue(s.sql, s.args...)
	}
	c.stats.roundTrips.Add(1)
	c.stats.statements.Add(int64(len(all)))
	br := c.conn.SendBatch(ctx, b)
	failed, err := -1, error(nil)
	for i, s := range all {
		if err = s.handle(br); err != nil {
			failed = i
			break
		}
	}
	if cerr := br.Close(); err == nil && cerr != nil {
		failed, err = len(all)-1, cerr
	}
	if err == nil {
		return nil
	}
	mine := failed >= len(all)-len(steps)
	switch {
	case retryable(err):
		if c.retry == nil {
			c.retry = fmt.Errorf("postgres: %w", err)
		}
		return c.retry
	case errors.Is(err, errStale):
		c.stale = true
		return errStale
	case !mine && all[failed].write:
		c.rerun = err
		return errRerun
	}
	if !mine && c.aborted == nil {
		// The caller's statements did not run. (When one of them fails,
		// PostgreSQL fails what follows until a rollback to a savepoint.)
		c.aborted = err
	}
	return err
}

// read returns the rows of a read: kept from an earlier identical read
// since the last write, or else read before the transaction begins, or in
// it. key, when not empty, names the unique key the read looks up (see
// readKey).
func (c *txConn) read(ctx context.Context, sql string, args []any, key string) (*result, error) {
	if err := c.doomed(); err != nil {
		return nil, err
	}
	ckey, keep := cacheKey(sql, args)
	if keep {
		if res, ok := c.cache[ckey]; ok {
			return res, nil
		}
	}
	var (
		res *result
		err error
	)
	if !c.begun && len(c.pending) == 0 && !c.mode.alone {
		res, err = c.preRead(ctx, sql, args, key)
	} else {
		err = c.run(ctx, rowsStep(sql, args, &res))
	}
	if err != nil {
		return nil, err
	}
	if keep {
		c.keep(ckey, res)
	}
	return res, nil
}

// preRead reads outside the transaction, which has not begun, and keeps
// the read to repeat in it.
func (c *txConn) preRead(ctx context.Context, sql string, args []any, key string) (*result, error) {
	c.stats.roundTrips.Add(1)
	c.stats.statements.Add(1)
	var res *result
	if key == "" || len(c.auditIDs) > 0 {
		rows, err := c.conn.Query(ctx, sql, args...)
		if err != nil {
			return nil, err
		}
		if res, err = buffer(rows); err != nil {
			return nil, err
		}
	} else {
		// What a key lookup finds absent is usually created, and what it
		// finds changed, and either is audited: an ID for the audit entry
		// comes with the read (see AppendAudit).
		c.stats.statements.Add(1)
		var id int64
		b := &pgx.Batch{}
		b.Queue(sql, args...)
		b.Queue(`SELECT nextval('audit_log_id_seq')`)
		br := c.conn.SendBatch(ctx, b)
		err := rowsStep(sql, args, &res).handle(br)
		if err == nil {
			err = br.QueryRow().Scan(&id)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		c.auditIDs = append(c.auditIDs, id)
	}
	r := preRead{sql: sql, args: slices.Clone(args), res: res}
	if len(res.rows) == 0 {
		r.absent = key
	}
	c.reads = append(c.reads, r)
	return res, nil
}

// readKey is QueryRow for a statement that looks up one row by a unique
// key, named by key (its table and value). When the read, made before the
// transaction began, finds nothing, and the transaction then creates a
// row with that key (claim), the read is not repeated when it begins:
// the unique index proves the key free when the row goes in, or fails the
// insert, which then runs fn again (errStale). A key read absent and
// repeated would lock the index page where it would be, for SSI, and
// transactions creating keys that fall on one page would fail each other.
func (c *txConn) readKey(ctx context.Context, key, sql string, args ...any) pgx.Row {
	res, err := c.read(ctx, sql, args, key)
	return &resultRow{res: res, err: err, types: c.conn.TypeMap()}
}

// auditID returns an ID reserved for an audit entry, and false when there
// is none.
func (c *txConn) auditID() (int64, bool) {
	if len(c.auditIDs) == 0 {
		return 0, false
	}
	id := c.auditIDs[0]
	c.auditIDs = c.auditIDs[1:]
	return id, true
}

// claim reports whether the transaction read key absent before it began,
// and marks those reads as claimed: the transaction creates key.
func (c *txConn) claim(key string) bool {
	found := false
	for i := range c.reads {
		if r := &c.reads[i]; r.absent == key {
			r.claimed, found = true, true
		}
	}
	return found
}

// queryRowKey is readKey in a transaction and QueryRow elsewhere.
func queryRowKey(ctx context.Context, q querier, key, sql string, args ...any) pgx.Row {
	if c, ok := q.(*txConn); ok {
		return c.readKey(ctx, key, sql, args...)
	}
	return q.QueryRow(ctx, sql, args...)
}

func (c *txConn) keep(key string, res *result) {
	if c.cache == nil {
		c.cache = make(map[string]*result)
	}
	c.cache[key] = res
}

// prefetched keeps res as the result of a read that fn has not made yet:
// res must be what the statement sql returns with args in the
// transaction's snapshot, as things stand.
func (c *txConn) prefetched(sql string, args []any, res *result) {
	if key, ok := cacheKey(sql, args); ok {
		c.keep(key, res)
	}
}

// rowsStep is a step that reads a statement's rows into *res.
func rowsStep(sql string, args []any, res **result) step {
	return step{sql: sql, args: args, handle: func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		*res, err = buffer(rows)
		return err
	}}
}

// changed forgets the kept results: the transaction writes.
func (c *txConn) changed() { clear(c.cache) }

// Query and QueryRow are the reads of the transaction's reader.

func (c *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	res, err := c.read(ctx, sql, args, "")
	if err != nil {
		return nil, err
	}
	return res.scan(c.conn.TypeMap()), nil
}

func (c *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	res, err := c.read(ctx, sql, args, "")
	return &resultRow{res: res, err: err, types: c.conn.TypeMap()}
}

// errNoRows is what a write that had to change a row reports when it
// changed none.
var errNoRows = errors.New("postgres: no row changed")

// exec writes: it queues the statement, or in strict mode sends it at
// once. With mustChange, changing no row is an error (errNoRows).
// mapErr turns the statement's error, errNoRows included, into the
// caller's; an error it returns comes from this call in strict mode, and
// otherwise ends the attempt when the write is sent.
func (c *txConn) exec(ctx context.Context, sql string, args []any, mustChange bool, mapErr func(error) error) error {
	if err := c.doomed(); err != nil {
		return err
	}
	c.changed()
	if c.mode.strict {
		tag, err := c.execNow(ctx, sql, args...)
		if err == nil && mustChange && tag.RowsAffected() == 0 {
			err = errNoRows
		}
		if err == nil {
			return nil
		}
		err = mapErr(err)
		if errors.Is(err, errStale) {
			c.stale = true
		}
		return err
	}
	w := write{sql: sql, args: args, mustChange: mustChange, mapErr: mapErr, table: target(sql)}
	c.pending = append(c.pending, w)
	return nil
}

// write is a queued write.
type write struct {
	sql        string
	args       []any
	mustChange bool
	mapErr     func(error) error
	table      string // the table the statement writes; "" when target cannot tell
}

// target returns the table an INSERT or UPDATE writes to, or "" for a
// statement of another shape. A DELETE goes alone, since it may cascade
// to rows that another write in its statement would add.
func target(sql string) string {
	f := strings.Fields(sql)
	switch {
	case len(f) >= 3 && f[0] == "INSERT" && f[1] == "INTO":
		table, _, _ := strings.Cut(f[2], "(")
		return table
	case len(f) >= 2 && f[0] == "UPDATE":
		return f[1]
	}
	return ""
}

// writeSteps turns queued writes into statements: runs of writes to
// distinct tables are merged into one statement, each write a
// data-modifying WITH query, which costs PostgreSQL much less than a
// statement each. WITH queries run on one snapshot, in no set order, and
// do not see one another's rows: writes to one table, which may see one
// another's rows, or take identity values that must come in order, go in
// separate statements.
func writeSteps(ws []write) []step {
	var steps []step
	for len(ws) > 0 {
		n := 1
		tables := map[string]bool{ws[0].table: true}
		for n < len(ws) && ws[0].table != "" && ws[n].table != "" && !tables[ws[n].table] {
			tables[ws[n].table] = true
			n++
		}
		steps = append(steps, mergeWrites(ws[:n]))
		ws = ws[n:]
	}
	return steps
}

// placeholder matches the placeholders of a statement.
var placeholder = regexp.MustCompile(`\$[0-9]+`)

// merged remembers the statements of runs of writes: the few that
// transactions make over and over.
var merged = mergeCache{max: 1024}

type mergeCache struct {
	mu  sync.Mutex
	m   map[string]string
	max int // entries; the cache is emptied when it is full
}

// sql returns the statement of ws together: each a WITH query, with its
// placeholders numbered after those of the ones before.
func (mc *mergeCache) sql(ws []write) string {
	var k strings.Builder
	for _, w := range ws {
		k.WriteString(w.sql)
		k.WriteString("\x00" + strconv.Itoa(len(w.args)))
		if w.mustChange {
			k.WriteString("\x00!")
		}
		k.WriteString("\x00\x00")
	}
	key := k.String()
	mc.mu.Lock()
	sql, ok := mc.m[key]
	mc.mu.Unlock()
	if ok {
		return sql
	}
	var b strings.Builder
	var checks []string
	offset := 0
	b.WriteString("WITH ")
	for i, w := range ws {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("w" + strconv.Itoa(i) + " AS (")
		b.WriteString(placeholder.ReplaceAllStringFunc(w.sql, func(p string) string {
			n, _ := strconv.Atoi(p[1:])
			return "$" + strconv.Itoa(n+offset)
		}))
		offset += len(w.args)
		if w.mustChange {
			b.WriteString(" RETURNING 1")
			checks = append(checks, "(SELECT count(*) FROM w"+strconv.Itoa(i)+")")
		}
		b.WriteString(")")
	}
	if len(checks) == 0 {
		b.WriteString(" SELECT 1")
	} else {
		// Changing no row must stop the transaction, and the COMMIT sent
		// after it, in PostgreSQL.
		b.WriteString(" SELECT expect_rows(least(" + strings.Join(checks, ", ") + "))")
	}
	sql = b.String()
	mc.mu.Lock()
	if len(mc.m) >= mc.max || mc.m == nil {
		mc.m = make(map[string]string)
	}
	mc.m[key] = sql
	mc.mu.Unlock()
	return sql
}

// mergeWrites returns the statement of writes that go together. When the
// statement fails, the error is each write's to map: a write that says it
// was read absent and created since (errStale) makes it stale; any other
// failure runs fn again strictly, where the write that failed says so.
func mergeWrites(ws []write) step {
	s := step{write: true, args: ws[0].args, sql: ws[0].sql}
	if len(ws) > 1 {
		s.args = nil
		for _, w := range ws {
			s.args = append(s.args, w.args...)
		}
		s.sql = merged.sql(ws)
	} else if ws[0].mustChange {
		// Changing no row must stop the transaction, and the COMMIT sent
		// after it, in PostgreSQL.
		s.sql = `WITH w AS (` + ws[0].sql + ` RETURNING 1) SELECT expect_rows(count(*)) FROM w`
	}
	s.handle = func(br pgx.BatchResults) error {
		_, err := br.Exec()
		if err == nil || retryable(err) {
			return err
		}
		if sqlState(err) == "P0002" {
			err = errNoRows
		}
		if len(ws) == 1 {
			return ws[0].mapErr(err)
		}
		for _, w := range ws {
			if errors.Is(w.mapErr(err), errStale) {
				return errStale
			}
		}
		return err
	}
	return s
}

// execNow sends the queued writes and a statement, in the transaction.
func (c *txConn) execNow(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.changed()
	var tag pgconn.CommandTag
	err := c.run(ctx, step{sql: sql, args: args, handle: func(br pgx.BatchResults) error {
		var err error
		tag, err = br.Exec()
		return err
	}})
	return tag, err
}

// queryNow sends the queued writes and a statement that returns rows, in
// the transaction: a write with RETURNING, or a read that locks. Its
// result is not kept.
func (c *txConn) queryNow(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.changed()
	var res *result
	err := c.run(ctx, rowsStep(sql, args, &res))
	if err != nil {
		return nil, err
	}
	return res.scan(c.conn.TypeMap()), nil
}

// queryRowNow is queryNow for one row.
func (c *txConn) queryRowNow(ctx context.Context, sql string, args ...any) pgx.Row {
	rows, err := c.queryNow(ctx, sql, args...)
	if err != nil {
		return &resultRow{err: err}
	}
	return &resultRow{res: rows.(*resultRows).res, types: c.conn.TypeMap()}
}

// CopyFrom copies rows into a table, in the transaction.
func (c *txConn) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	c.changed()
	if len(c.pending) > 0 || !c.begun {
		if err := c.run(ctx); err != nil {
			return 0, err
		}
	}
	if err := c.doomed(); err != nil {
		return 0, err
	}
	n, err := c.conn.CopyFrom(ctx, table, cols, src)
	if retryable(err) && c.retry == nil {
		c.retry = fmt.Errorf("postgres: %w", err)
	}
	return n, err
}

// commit commits what fn did. A transaction that has not begun begins
// now; when it read before, in a round trip of its own, since a COMMIT
// sent behind reads that turn out to have changed would commit all the
// same.
func (c *txConn) commit(ctx context.Context) error {
	if err := c.doomed(); err != nil {
		return err
	}
	if !c.begun && len(c.pending) == 0 && len(c.reads) == 0 {
		return nil // fn did nothing in the store
	}
	if !c.begun && len(c.reads) > 0 {
		if err := c.run(ctx); err != nil {
			return err
		}
	}
	return c.run(ctx, step{sql: `COMMIT`, handle: func(br pgx.BatchResults) error {
		tag, err := br.Exec()
		if err == nil && tag.String() != "COMMIT" {
			// PostgreSQL answers COMMIT with ROLLBACK when a statement
			// failed before it, which fn did not pass on.
			err = pgx.ErrTxCommitRollback
		}
		return err
	}})
}

// settle is commit for an fn that failed: it checks what fn's failure
// was decided on, and rolls back. Queued writes are sent, in case one of
// them fails, which in strict mode fn would have seen first; reads made
// before the transaction are read again when there are several, which
// may not agree with one another. A single read agrees with itself.
func (c *txConn) settle(ctx context.Context) {
	if c.doomed() != nil || len(c.pending) == 0 && (c.begun || len(c.reads) < 2) {
		return
	}
	_ = c.run(ctx, step{sql: `ROLLBACK`, handle: execStep})
}

// end ends the transaction, if one is open, and reports whether the
// connection can go back to the pool.
func (c *txConn) end(ctx context.Context) bool {
	pg := c.conn.PgConn()
	if pg.IsClosed() {
		return false
	}
	if pg.TxStatus() == 'I' {
		return true
	}
	_, err := c.conn.Exec(context.WithoutCancel(ctx), `ROLLBACK`)
	return err == nil && pg.TxStatus() == 'I'
}

// result is the rows of a statement, read to the end.
type result struct {
	fields []pgconn.FieldDescription
	rows   [][][]byte
}

// buffer reads rows to the end.
func buffer(rows pgx.Rows) (*result, error) {
	defer rows.Close()
	res := &result{fields: slices.Clone(rows.FieldDescriptions())}
	for rows.Next() {
		raw := rows.RawValues()
		n := 0
		for _, v := range raw {
			n += len(v)
		}
		buf := make([]byte, 0, n)
		row := make([][]byte, len(raw))
		for i, v := range raw {
			if v != nil {
				start := len(buf)
				buf = append(buf, v...)
				row[i] = buf[start:len(buf):len(buf)]
			}
		}
		res.rows = append(res.rows, row)
	}
	return res, rows.Err()
}

// equal reports whether two results have the same values.
func (r *result) equal(o *result) bool {
	if len(r.rows) != len(o.rows) || len(r.fields) != len(o.fields) {
		return false
	}
	for i, row := range r.rows {
		for j, v := range row {
			w := o.rows[i][j]
			if (v == nil) != (w == nil) || !bytes.Equal(v, w) {
				return false
			}
		}
	}
	return true
}

// columns returns the result of columns [from, to).
func (r *result) columns(from, to int) *result {
	out := &result{fields: r.fields[from:to], rows: make([][][]byte, len(r.rows))}
	for i, row := range r.rows {
		out.rows[i] = row[from:to]
	}
	return out
}

func (r *result) row(types *pgtype.Map) *resultRow { return &resultRow{res: r, types: types} }

func (r *result) scan(types *pgtype.Map) *resultRows {
	return &resultRows{res: r, types: types, i: -1}
}

// resultRows reads a result as pgx.Rows.
type resultRows struct {
	res   *result
	types *pgtype.Map
	i     int
	err   error
}

var _ pgx.Rows = (*resultRows)(nil)

func (r *resultRows) Close()                                       {}
func (r *resultRows) Err() error                                   { return r.err }
func (r *resultRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (r *resultRows) FieldDescriptions() []pgconn.FieldDescription { return r.res.fields }
func (r *resultRows) Conn() *pgx.Conn                              { return nil }
func (r *resultRows) TypeMap() *pgtype.Map                         { return r.types }

func (r *resultRows) Next() bool {
	if r.err != nil || r.i >= len(r.res.rows) {
		return false
	}
	r.i++
	return r.i < len(r.res.rows)
}

func (r *resultRows) Scan(dest ...any) error {
	if r.i < 0 || r.i >= len(r.res.rows) {
		return errors.New("postgres: Scan without a row")
	}
	if err := pgx.ScanRow(r.types, r.res.fields, r.res.rows[r.i], dest...); err != nil {
		r.err = err
		return err
	}
	return nil
}

func (r *resultRows) Values() ([]any, error) {
	return nil, errors.New("postgres: Values is not supported on a kept result")
}

func (r *resultRows) RawValues() [][]byte {
	if r.i < 0 || r.i >= len(r.res.rows) {
		return nil
	}
	return r.res.rows[r.i]
}

// resultRow reads a result's first row as pgx.Row.
type resultRow struct {
	res   *result
	err   error
	types *pgtype.Map
}

func (r *resultRow) Scan(dest ...any) error {
	switch {
	case r.err != nil:
		return r.err
	case len(r.res.rows) == 0:
		return pgx.ErrNoRows
	}
	return pgx.ScanRow(r.types, r.res.fields, r.res.rows[0], dest...)
}

// cacheKey returns the key of a read's result: its statement and
// arguments, when they are of kinds that have one.
func cacheKey(sql string, args []any) (string, bool) {
	var b strings.Builder
	b.Grow(len(sql) + 16*len(args))
	b.WriteString(sql)
	for _, a := range args {
		b.WriteByte(0)
		switch v := a.(type) {
		case nil:
			b.WriteByte('n')
		case string:
			b.WriteByte('s')
			b.WriteString(strconv.Itoa(len(v)))
			b.WriteByte(':')
			b.WriteString(v)
		case int64:
			b.WriteByte('i')
			b.WriteString(strconv.FormatInt(v, 10))
		case int:
			b.WriteByte('i')
			b.WriteString(strconv.Itoa(v))
		case bool:
			b.WriteByte('b')
			b.WriteString(strconv.FormatBool(v))
		case []string:
			b.WriteByte('a')
			b.WriteString(strconv.Itoa(len(v)))
			for _, s := range v {
				b.WriteByte(':')
				b.WriteString(strconv.Itoa(len(s)))
				b.WriteByte(':')
				b.WriteString(s)
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}
