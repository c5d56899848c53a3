package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"promo/internal/promo"
)

// voucherSelect reads vouchers resolved: the campaign's ID and name, and the
// tier's template for a voucher without its own.
const (
	voucherCols = `v.seq, v.code, v.key, v.case_sensitive, c.id, c.name, v.tier_id, v.active,
	v.holder_id, v.redeemed_quantity, v.publish_count, v.created_at, v.updated_at, v.template, t.template`
	voucherJoins = `
LEFT JOIN campaigns c ON c.seq = v.campaign_seq
LEFT JOIN tiers t ON t.id = v.tier_id AND v.template IS NULL`
	voucherSelect = `SELECT ` + voucherCols + ` FROM vouchers v` + voucherJoins
)

// The predicates of the partial indexes vouchers_pool and
// vouchers_out_of_pool, word for word, so the planner sees that a query
// with one of them may use its index.
const (
	inPool    = `(holder_id IS NULL AND publish_count = 0 AND active)`
	outOfPool = `NOT (holder_id IS NULL AND publish_count = 0 AND active)`
)

func scanVoucher(sc scanner) (*promo.Voucher, error) {
	var (
		v                 promo.Voucher
		campaignID, name  *string
		tierID            *int64
		holder            *string
		updated           *int64
		created           int64
		own, tierTemplate []byte
	)
	if err := sc.Scan(&v.Seq, &v.Code, &v.Key, &v.CaseSensitive, &campaignID, &name, &tierID, &v.Active,
		&holder, &v.RedeemedQuantity, &v.PublishCount, &created, &updated, &own, &tierTemplate); err != nil {
		return nil, err
	}
	v.ID = promo.VoucherID(v.Seq)
	v.CampaignID, v.Campaign = str(campaignID), str(name)
	if tierID != nil {
		v.TierID = *tierID
	}
	v.HolderID = str(holder)
	v.CreatedAt, v.UpdatedAt = promo.TimeFromMillis(created), timePtr(updated)
	switch {
	case own != nil:
		v.OwnTemplate = true
		if err := templates.Decode(own, &v.Template); err != nil {
			return nil, err
		}
	case tierTemplate != nil:
		if err := templates.Decode(tierTemplate, &v.Template); err != nil {
			return nil, err
		}
	}
	return &v, nil
}

// Voucher returns the voucher with ID id.
func (r reader) Voucher(ctx context.Context, id string) (*promo.Voucher, error) {
	seq, ok := promo.VoucherSeq(id)
	if !ok {
		return nil, promo.NotFound("voucher", id)
	}
	v, err := scanVoucher(r.q.QueryRow(ctx, voucherSelect+` WHERE v.seq = $1`, seq))
	if err != nil {
		return nil, notFound(err, "voucher", id)
	}
	return v, nil
}

// VoucherByKey returns the voucher whose code has key key.
func (r reader) VoucherByKey(ctx context.Context, key string) (*promo.Voucher, error) {
	v, err := scanVoucher(r.q.QueryRow(ctx, voucherSelect+` WHERE v.key = $1`, key))
	if err != nil {
		return nil, notFound(err, "voucher", key)
	}
	return v, nil
}

// Vouchers lists vouchers in seq order, which is their creation order.
func (r reader) Vouchers(ctx context.Context, f promo.VoucherFilter) ([]*promo.Voucher, int64, error) {
	var w where
	from := "vouchers v"
	if f.CampaignID != "" {
		// A campaign's vouchers are in two indexes (see the schema); the
		// union of their scans comes in seq order, which a merge keeps.
		seq := w.arg(f.CampaignID)
		from = `(SELECT * FROM vouchers WHERE campaign_seq = (SELECT seq FROM campaigns WHERE id = ` + seq + `) AND ` + inPool + `
			UNION ALL
			SELECT * FROM vouchers WHERE campaign_seq = (SELECT seq FROM campaigns WHERE id = ` + seq + `) AND ` + outOfPool + `) v`
	}
	if f.HolderID != "" {
		w.add("v.holder_id = ?", f.HolderID)
	}
	if f.Category != "" {
		// A voucher's category is its own template's or its tier's.
		w.add(`(v.template ->> 'category' = ? OR v.template IS NULL AND v.tier_id IN (SELECT id FROM tiers WHERE template ->> 'category' = ?))`,
			f.Category, f.Category)
	}
	if f.Active != nil {
		w.add("v.active = ?", *f.Active)
	}
	w.created("v.created_at", f.Created)
	order, args := w.page(f.ListParams, "v.seq")
	// The page is cut before the joins, so that it can come straight off
	// the indexes in seq order.
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	vs, err := list(ctx, r, `SELECT `+voucherCols+` FROM (SELECT * FROM `+from+w.String()+order+`) v`+voucherJoins+
		` ORDER BY v.seq`+dir, args, scanVoucher)
	if err != nil {
		return nil, 0, wrap(err, "list vouchers")
	}
	var n int64
	if len(w.conds) == 0 && f.CampaignID != "" {
		// The campaign keeps the count, which saves walking its index.
		err = r.q.QueryRow(ctx, `SELECT coalesce((SELECT vouchers_count FROM campaigns WHERE id = $1), 0)`, f.CampaignID).Scan(&n)
	} else {
		n, err = r.count(ctx, from, &w)
	}
	if err != nil {
		return nil, 0, wrap(err, "count vouchers")
	}
	return vs, n, nil
}

// The columns InsertVouchers copies: fresh generated vouchers need the
// first 8 and leave the rest to the columns' defaults; any other voucher
// copies all 13.
var (
	copyFreshCols = []string{"seq", "key", "code", "campaign_seq", "tier_id", "case_sensitive", "active", "created_at"}
	copyFullCols  = append(slices.Clip(copyFreshCols), "holder_id", "redeemed_quantity", "publish_count", "updated_at", "template")
)

// fresh reports whether v copies with the short column list: no state
// beyond what a generated voucher has.
func fresh(v *promo.Voucher) bool {
	return !v.OwnTemplate && v.HolderID == "" && v.RedeemedQuantity == 0 && v.PublishCount == 0 && v.UpdatedAt == nil
}

// InsertVouchers stores vs with COPY, skipping keys already stored or
// repeated in vs (the first stays). It sorts the batch by key, so the rows
// reach the key index in order, and reserves a block of seqs for it, which
// COPY cannot return. It first copies straight into vouchers inside a
// savepoint: a batch of generated codes almost never holds a stored key.
// When one does, the COPY fails on the unique key, the savepoint undoes it,
// and the batch goes through a temporary table and INSERT ... ON CONFLICT
// DO NOTHING, which says which rows went in. The seqs of skipped vouchers
// are never used.
func (t *tx) InsertVouchers(ctx context.Context, vs []*promo.Voucher) ([]bool, error) {
	inserted := make([]bool, len(vs))
	if len(vs) == 0 {
		return inserted, nil
	}
	campaigns, err := t.voucherRefs(ctx, vs)
	if err != nil {
		return nil, err
	}

	order := make([]int, len(vs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(strings.Compare(vs[a].Key, vs[b].Key), cmp.Compare(a, b))
	})
	order = slices.CompactFunc(order, func(a, b int) bool { return vs[a].Key == vs[b].Key })

	seqs, err := t.reserveSeqs(ctx, len(order))
	if err != nil {
		return nil, err
	}

	allFresh := true
	for _, i := range order {
		allFresh = allFresh && fresh(vs[i])
	}
	cols := copyFreshCols
	if !allFresh {
		cols = copyFullCols
	}
	src := &voucherRows{vs: vs, order: order, seqs: seqs, campaigns: campaigns, row: make([]any, len(cols))}

	all, err := t.copyVouchers(ctx, cols, src)
	if err != nil {
		return nil, err
	}
	if all {
		for _, i := range order {
			inserted[i] = true
		}
	} else if err := t.insertSkipping(ctx, cols, src, inserted); err != nil {
		return nil, err
	}
	added := make(map[int64]int64, 1) // campaign seq -> vouchers inserted
	for k, i := range order {
		if !inserted[i] {
			continue
		}
		vs[i].Seq, vs[i].ID = seqs[k], promo.VoucherID(seqs[k])
		if seq := campaigns.seq(vs[i].CampaignID); seq != nil {
			added[seq.(int64)]++
		}
	}
	for seq, n := range added {
		if err := t.c.exec(ctx, `UPDATE campaigns SET vouchers_count = vouchers_count + $1 WHERE seq = $2`, []any{n, seq}, false,
			wrapErr("count vouchers")); err != nil {
			return nil, err
		}
	}
	return inserted, nil
}

// seqBlock is how many voucher seqs one value of voucher_seq_blocks
// stands for.
const seqBlock = 1024

// reserveSeqs returns n unused voucher seqs in ascending order, from as
// many blocks as they need. A block's unused seqs are never used.
func (t *tx) reserveSeqs(ctx context.Context, n int) ([]int64, error) {
	var blocks []int64
	if err := t.c.queryRowNow(ctx, `SELECT array_agg(nextval('voucher_seq_blocks')) FROM generate_series(1, $1)`,
		(n+seqBlock-1)/seqBlock).Scan(&blocks); err != nil {
		return nil, wrap(err, "reserve voucher seqs")
	}
	slices.Sort(blocks)
	seqs := make([]int64, 0, n)
	for _, b := range blocks {
		for s := (b-1)*seqBlock + 1; s <= b*seqBlock && len(seqs) < n; s++ {
			seqs = append(seqs, s)
		}
	}
	if len(seqs) != n {
		return nil, fmt.Errorf("postgres: insert vouchers: reserved %d seqs for %d vouchers", len(seqs), n)
	}
	return seqs, nil
}

// copyVouchers copies the batch straight into vouchers inside a savepoint
// and reports whether it went in; false, with nothing written, when a key
// is taken.
func (t *tx) copyVouchers(ctx context.Context, cols []string, src *voucherRows) (bool, error) {
	if _, err := t.c.execNow(ctx, `SAVEPOINT insert_vouchers`); err != nil {
		return false, wrap(err, "insert vouchers")
	}
	src.reset()
	_, err := t.c.CopyFrom(ctx, pgx.Identifier{"vouchers"}, cols, src)
	if name, ok := uniqueViolation(err); ok && name == "vouchers_key_key" {
		if _, err := t.c.execNow(ctx, `ROLLBACK TO SAVEPOINT insert_vouchers`); err != nil {
			return false, wrap(err, "insert vouchers")
		}
		return false, nil
	}
	if err != nil {
		return false, wrap(err, "insert vouchers")
	}
	if _, err := t.c.execNow(ctx, `RELEASE SAVEPOINT insert_vouchers`); err != nil {
		return false, wrap(err, "insert vouchers")
	}
	return true, nil
}

// insertSkipping copies the batch into a temporary table and inserts the
// rows whose keys are free, marking them in inserted.
func (t *tx) insertSkipping(ctx context.Context, cols []string, src *voucherRows, inserted []bool) error {
	if _, err := t.c.execNow(ctx, `CREATE TEMPORARY TABLE IF NOT EXISTS voucher_batch
		(LIKE vouchers INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return wrap(err, "insert vouchers")
	}
	if _, err := t.c.execNow(ctx, `TRUNCATE voucher_batch`); err != nil {
		return wrap(err, "insert vouchers")
	}
	src.reset()
	if _, err := t.c.CopyFrom(ctx, pgx.Identifier{"voucher_batch"}, cols, src); err != nil {
		return wrap(err, "insert vouchers")
	}
	list := strings.Join(cols, ", ")
	rows, err := t.c.queryNow(ctx, `INSERT INTO vouchers (`+list+`) SELECT `+list+` FROM voucher_batch ORDER BY key
		ON CONFLICT (key) DO NOTHING RETURNING seq`)
	if err != nil {
		return wrap(err, "insert vouchers")
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return wrap(err, "insert vouchers")
		}
		k, ok := slices.BinarySearch(src.seqs, seq)
		if !ok {
			return fmt.Errorf("postgres: insert vouchers: PostgreSQL returned seq %d, which was not inserted", seq)
		}
		inserted[src.order[k]] = true
	}
	return wrap(rows.Err(), "insert vouchers")
}

// voucherRows is a batch as a COPY source: the vouchers vs[order[k]] with
// seq seqs[k]. It reuses one row, which pgx encodes before asking for the
// next.
type voucherRows struct {
	vs        []*promo.Voucher
	order     []int
	seqs      []int64
	campaigns *voucherCampaigns
	row       []any
	k         int
	err       error
}

func (r *voucherRows) reset() { r.k, r.err = -1, nil }

func (r *voucherRows) Next() bool {
	r.k++
	return r.k < len(r.order)
}

func (r *voucherRows) Values() ([]any, error) {
	v := r.vs[r.order[r.k]]
	row := r.row
	row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7] =
		r.seqs[r.k], v.Key, v.Code, r.campaigns.seq(v.CampaignID), nullInt(v.TierID), v.CaseSensitive, v.Active, v.CreatedAt.Millis()
	if len(row) > 8 {
		var own any
		if v.OwnTemplate {
			b, err := marshal(v.Template)
			if err != nil {
				r.err = err
				return nil, err
			}
			own = b
		}
		row[8], row[9], row[10], row[11], row[12] = nullString(v.HolderID), v.RedeemedQuantity, v.PublishCount, nullTime(v.UpdatedAt), own
	}
	return row, nil
}

func (r *voucherRows) Err() error { return r.err }

// voucherCampaigns maps the campaign IDs of a batch to their seq, nil for
// no campaign. A batch is nearly always of one campaign, which seq finds
// without hashing its ID for every voucher.
type voucherCampaigns struct {
	m       map[string]any
	lastID  string
	lastSeq any
	hasLast bool
}

func (c *voucherCampaigns) seq(id string) any {
	if c.hasLast && id == c.lastID {
		return c.lastSeq
	}
	seq := c.m[id]
	c.lastID, c.lastSeq, c.hasLast = id, seq, true
	return seq
}

// voucherRefs checks that each voucher has a key and a tier of its campaign
// or its own template, and returns the seq of each campaign vs name (nil
// for none). It costs a query per distinct campaign and tier, usually two
// per batch.
func (t *tx) voucherRefs(ctx context.Context, vs []*promo.Voucher) (*voucherCampaigns, error) {
	campaigns := map[string]any{"": nil}
	tiers := map[int64]int64{} // tier -> campaign seq
	for _, v := range vs {
		if v.Key == "" {
			return nil, fmt.Errorf("postgres: insert vouchers: voucher %q has no key", v.Code)
		}
		if _, ok := campaigns[v.CampaignID]; !ok {
			seq, err := t.campaignSeq(ctx, v.CampaignID)
			if err != nil {
				return nil, err
			}
			campaigns[v.CampaignID] = seq
		}
		switch {
		case v.OwnTemplate:
		case v.TierID == 0:
			return nil, fmt.Errorf("postgres: insert vouchers: voucher %q has neither a tier nor its own template", v.Code)
		default:
			c, ok := tiers[v.TierID]
			if !ok {
				err := t.q.QueryRow(ctx, `SELECT campaign_seq FROM tiers WHERE id = $1`, v.TierID).Scan(&c)
				if err != nil {
					return nil, notFound(err, "tier", strconv.FormatInt(v.TierID, 10))
				}
				tiers[v.TierID] = c
			}
			if campaigns[v.CampaignID] != c {
				return nil, fmt.Errorf("postgres: insert vouchers: voucher %q: tier %d is not of campaign %q", v.Code, v.TierID, v.CampaignID)
			}
		}
	}
	return &voucherCampaigns{m: campaigns}, nil
}

// UpdateVoucher stores v's state, and its template when it has its own.
func (t *tx) UpdateVoucher(ctx context.Context, v *promo.Voucher) error {
	seq, ok := promo.VoucherSeq(v.ID)
	if !ok {
		return promo.NotFound("voucher", v.ID)
	}
	args := []any{v.Active, nullString(v.HolderID), v.PublishCount, v.RedeemedQuantity, nullTime(v.UpdatedAt), seq}
	q := `UPDATE vouchers SET active = $1, holder_id = $2, publish_count = $3, redeemed_quantity = $4, updated_at = $5 WHERE seq = $6`
	if v.OwnTemplate {
		own, err := marshal(v.Template)
		if err != nil {
			return err
		}
		args = append(args, own)
		q = `UPDATE vouchers SET active = $1, holder_id = $2, publish_count = $3, redeemed_quantity = $4, updated_at = $5, template = $7
			WHERE seq = $6`
	}
	return t.c.exec(ctx, q, args, true, affectedErr("update voucher", "voucher", v.ID))
}

// UpdateRedeemedQuantity stores v's redeemed quantity and update time.
func (t *tx) UpdateRedeemedQuantity(ctx context.Context, v *promo.Voucher) error {
	seq, ok := promo.VoucherSeq(v.ID)
	if !ok {
		return promo.NotFound("voucher", v.ID)
	}
	return t.c.exec(ctx, `UPDATE vouchers SET redeemed_quantity = $1, updated_at = $2 WHERE seq = $3`,
		[]any{v.RedeemedQuantity, nullTime(v.UpdatedAt), seq}, true, affectedErr("update voucher", "voucher", v.ID))
}

// DeleteVoucher deletes the voucher with ID id.
func (t *tx) DeleteVoucher(ctx context.Context, id string) error {
	seq, ok := promo.VoucherSeq(id)
	if !ok {
		return promo.NotFound("voucher", id)
	}
	var campaign *int64
	err := t.c.queryRowNow(ctx, `DELETE FROM vouchers WHERE seq = $1 RETURNING campaign_seq`, seq).Scan(&campaign)
	if err != nil {
		return notFound(err, "voucher", id)
	}
	if campaign != nil {
		return t.c.exec(ctx, `UPDATE campaigns SET vouchers_count = vouchers_count - 1 WHERE seq = $1`, []any{*campaign}, false,
			wrapErr("count vouchers"))
	}
	return nil
}

// takeVoucherSQL locks the front of the pool, skipping vouchers that
// concurrent transactions hold: concurrent publications each get another
// voucher at once instead of queueing for the first. Its WHERE is the
// partial index vouchers_pool's.
const takeVoucherSQL = voucherSelect + `
	WHERE v.campaign_seq = $1 AND (v.holder_id IS NULL AND v.publish_count = 0 AND v.active)
	ORDER BY v.seq LIMIT 1 FOR UPDATE OF v SKIP LOCKED`

// TakeVoucher returns the campaign's lowest-seq voucher in the publication
// pool that no other transaction holds, and holds it. A transaction's own
// locks do not make it skip: until the caller updates the voucher out of
// the pool, a second call in the same transaction returns it again.
func (t *tx) TakeVoucher(ctx context.Context, campaignID string) (*promo.Voucher, error) {
	seq, err := t.campaignSeq(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	v, err := scanVoucher(t.c.queryRowNow(ctx, takeVoucherSQL, seq))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, promo.Errorf(promo.ENoVoucherSuitable, "campaign %s has no voucher left to publish", campaignID)
	}
	if err != nil {
		return nil, wrap(err, "take voucher")
	}
	return v, nil
}

// lockVoucherSQL reads a voucher as voucherSelect does, locked, and after
// its columns: its campaign's row, as campaignByIDSQL reads it; whether
// it has session locks; whether rules are assigned to it or its campaign.
const lockVoucherSQL = `SELECT ` + voucherCols + `, c.id, c.name, c.vouchers_count, c.created_at, c.updated_at, c.data,
	EXISTS (SELECT 1 FROM sessions s WHERE s.voucher_seq = v.seq),
	EXISTS (SELECT 1 FROM rule_assignments a WHERE a.object_id = voucher_id(v.seq) OR a.object_id = c.id)
	FROM vouchers v` + voucherJoins + ` WHERE v.key = $1 FOR UPDATE OF v`

// voucherColumns is how many columns voucherCols has, and campaignColumns
// campaignCols.
const (
	voucherColumns  = 15
	campaignColumns = 6
)

// LockVoucher returns the voucher with key key, locked (FOR UPDATE) until
// the transaction ends. Concurrent redemptions of one code queue on the
// lock; the later one then fails to serialize, as the row changed after
// its snapshot, and Update runs it again on the new row.
//
// The same statement reads what a redemption reads next, for the
// transaction to answer until it writes: the voucher's campaign; its
// session locks and the rules of it and its campaign when there are none,
// which is the common case, while others are read when asked for.
func (t *tx) LockVoucher(ctx context.Context, key string) (*promo.Voucher, error) {
	var found *result
	if err := t.c.run(ctx, rowsStep(lockVoucherSQL, []any{key}, &found)); err != nil {
		return nil, wrap(err, "read voucher")
	}
	types := t.c.conn.TypeMap()
	v, err := scanVoucher(found.columns(0, voucherColumns).row(types))
	if err != nil {
		return nil, notFound(err, "voucher", key)
	}
	var sessions, rules bool
	const more = voucherColumns + campaignColumns
	if err := found.columns(more, more+2).row(types).Scan(&sessions, &rules); err != nil {
		return nil, wrap(err, "read voucher")
	}
	ids := []string{v.ID}
	if v.CampaignID != "" {
		t.c.prefetched(campaignByIDSQL, []any{v.CampaignID}, found.columns(voucherColumns, more))
		ids = append(ids, v.CampaignID)
	}
	if !sessions {
		t.c.prefetched(sessionsSQL, []any{v.Seq}, &result{})
	}
	if !rules {
		t.c.prefetched(rulesOfSQL, []any{ids}, &result{})
	}
	return v, nil
}
