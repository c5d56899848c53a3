package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

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

func scanVoucher(sc scanner) (*promo.Voucher, error) {
	var (
		v                  promo.Voucher
		campaignID, name   sql.NullString
		tierID             sql.NullInt64
		holder             sql.NullString
		updated            sql.NullInt64
		created            int64
		own, tierTemplate  []byte
		caseSensitive, act bool
	)
	if err := sc.Scan(&v.Seq, &v.Code, &v.Key, &caseSensitive, &campaignID, &name, &tierID, &act,
		&holder, &v.RedeemedQuantity, &v.PublishCount, &created, &updated, &own, &tierTemplate); err != nil {
		return nil, err
	}
	v.ID = promo.VoucherID(v.Seq)
	v.CaseSensitive, v.Active = caseSensitive, act
	v.CampaignID, v.Campaign = campaignID.String, name.String
	v.TierID = tierID.Int64
	v.HolderID = holder.String
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
	v, err := scanVoucher(r.c.queryRow(ctx, voucherSelect+` WHERE v.seq = ?`, seq))
	if err != nil {
		return nil, notFound(err, "voucher", id)
	}
	return v, nil
}

// VoucherByKey returns the voucher whose code has key key.
func (r reader) VoucherByKey(ctx context.Context, key string) (*promo.Voucher, error) {
	cache := r.cached(kindVoucher)
	var gen uint64
	if cache != nil {
		if v := cache.voucher(key); v != nil {
			return v, nil
		}
		gen = cache.generation(kindVoucher)
	}
	v, err := scanVoucher(r.c.queryRow(ctx, voucherSelect+` WHERE v.key = ?`, key))
	if err != nil {
		return nil, notFound(err, "voucher", key)
	}
	if cache != nil {
		cache.putVoucher(gen, v)
	}
	return v, nil
}

// Vouchers lists vouchers in seq order, which is their creation order: seq
// is given at insertion and never reused. Ordering by seq lets every list
// walk an index, where created_at would need a sort or one more index on a
// table of millions.
func (r reader) Vouchers(ctx context.Context, f promo.VoucherFilter) ([]*promo.Voucher, int64, error) {
	var w where
	if f.CampaignID != "" {
		w.add("v.campaign_seq = (SELECT seq FROM campaigns WHERE id = ?)", f.CampaignID)
	}
	if f.HolderID != "" {
		w.add("v.holder_id = ?", f.HolderID)
	}
	if f.Category != "" {
		// A voucher's category is its own template's or its tier's.
		w.add(`(v.template ->> '$.category' = ? OR v.template IS NULL AND v.tier_id IN (SELECT id FROM tiers WHERE template ->> '$.category' = ?))`,
			f.Category, f.Category)
	}
	if f.Active != nil {
		w.add("v.active = ?", boolInt(*f.Active))
	}
	w.created("v.created_at", f.Created)
	order, pargs := page(f.ListParams, "v.seq")
	vs, err := list(ctx, r, voucherSelect+w.String()+order, append(w.args, pargs...), scanVoucher)
	if err != nil {
		return nil, 0, wrap(err, "list vouchers")
	}
	var n int64
	if len(w.conds) == 1 && f.CampaignID != "" {
		// The campaign keeps the count, which saves walking its index.
		err = r.c.queryRow(ctx, `SELECT coalesce((SELECT vouchers_count FROM campaigns WHERE id = ?), 0)`, f.CampaignID).Scan(&n)
	} else {
		n, err = r.count(ctx, "vouchers v", &w)
	}
	if err != nil {
		return nil, 0, wrap(err, "count vouchers")
	}
	return vs, n, nil
}

// insertRows is how many vouchers one INSERT statement carries: large
// enough that SQLite's per-statement and database/sql's per-call costs
// vanish, small enough to stay far below the 32766 bound on variables.
const insertRows = 256

// The two shapes of InsertVouchers' statement: fresh generated vouchers
// bind 7 values and leave the rest to the columns' defaults; any other
// voucher binds all 12.
const (
	insertFreshCols = `key, code, campaign_seq, tier_id, case_sensitive, active, created_at`
	insertFullCols  = insertFreshCols + `, holder_id, redeemed_quantity, publish_count, updated_at, template`
)

func insertSQL(cols string, rows int) string {
	n := strings.Count(cols, ",") + 1
	row := "(?" + strings.Repeat(", ?", n-1) + ")"
	var b strings.Builder
	b.WriteString("INSERT OR IGNORE INTO vouchers (" + cols + ") VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	// RETURNING tells which rows went in, and their seq, in the same round
	// trip; its rows come in no promised order, hence the key.
	b.WriteString(" RETURNING seq, key")
	return b.String()
}

// fresh reports whether v binds with the short statement: no state beyond
// what a generated voucher has.
func fresh(v *promo.Voucher) bool {
	return !v.OwnTemplate && v.HolderID == "" && v.RedeemedQuantity == 0 && v.PublishCount == 0 && v.UpdatedAt == nil
}

// InsertVouchers stores vs, skipping keys already stored or repeated in vs
// (the first stays). It sorts the batch by key before inserting: random
// keys land all over the key index, and in key order consecutive inserts
// touch neighbouring pages.
func (t *tx) InsertVouchers(ctx context.Context, vs []*promo.Voucher) ([]bool, error) {
	// The campaigns' vouchers_count changes; no cached voucher does, as
	// the cache holds only vouchers that exist.
	t.ch.campaigns = true
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

	added := make(map[int64]int64, 1) // campaign seq -> vouchers inserted
	args := make([]any, 0, insertRows*12)
	for len(order) > 0 {
		chunk := order[:min(insertRows, len(order))]
		order = order[len(chunk):]
		allFresh := true
		for _, i := range chunk {
			allFresh = allFresh && fresh(vs[i])
		}
		args = args[:0]
		for _, i := range chunk {
			v := vs[i]
			args = append(args, v.Key, v.Code, campaigns.seq(v.CampaignID), nullInt(v.TierID), boolInt(v.CaseSensitive), boolInt(v.Active), v.CreatedAt.Millis())
			if !allFresh {
				var own any
				if v.OwnTemplate {
					s, err := marshal(v.Template)
					if err != nil {
						return nil, err
					}
					own = s
				}
				args = append(args, nullString(v.HolderID), v.RedeemedQuantity, v.PublishCount, nullTime(v.UpdatedAt), own)
			}
		}
		if err := t.insertChunk(ctx, allFresh, vs, chunk, args, inserted); err != nil {
			return nil, err
		}
		for _, i := range chunk {
			if seq := campaigns.seq(vs[i].CampaignID); inserted[i] && seq != nil {
				added[seq.(int64)]++
			}
		}
	}
	for seq, n := range added {
		if _, err := t.c.exec(ctx, `UPDATE campaigns SET vouchers_count = vouchers_count + ? WHERE seq = ?`, n, seq); err != nil {
			return nil, wrap(err, "count vouchers")
		}
	}
	return inserted, nil
}

// insertChunk inserts the vouchers vs[chunk] (sorted by key) bound in args,
// and marks those that went in.
func (t *tx) insertChunk(ctx context.Context, allFresh bool, vs []*promo.Voucher, chunk []int, args []any, inserted []bool) error {
	cols := insertFullCols
	if allFresh {
		cols = insertFreshCols
	}
	rows, err := t.c.query(ctx, insertSQL(cols, len(chunk)), args...)
	if err != nil {
		return wrap(err, "insert vouchers")
	}
	defer rows.Close()
	next := 0 // where the row SQLite returns next is likely to be in chunk
	for rows.Next() {
		var (
			seq int64
			key sql.RawBytes
		)
		if err := rows.Scan(&seq, &key); err != nil {
			return wrap(err, "insert vouchers")
		}
		// SQLite returns rows in the order it inserted them, the order of
		// VALUES, but does not promise to: look further when it does not.
		for next < len(chunk) && vs[chunk[next]].Key < string(key) {
			next++
		}
		if next == len(chunk) || vs[chunk[next]].Key != string(key) {
			j, ok := slices.BinarySearchFunc(chunk, string(key), func(i int, key string) int { return strings.Compare(vs[i].Key, key) })
			if !ok {
				return fmt.Errorf("sqlite: insert vouchers: SQLite returned key %q, which was not inserted", key)
			}
			next = j
		}
		i := chunk[next]
		vs[i].Seq, vs[i].ID = seq, promo.VoucherID(seq)
		inserted[i] = true
	}
	return wrap(rows.Err(), "insert vouchers")
}

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
			return nil, fmt.Errorf("sqlite: insert vouchers: voucher %q has no key", v.Code)
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
			return nil, fmt.Errorf("sqlite: insert vouchers: voucher %q has neither a tier nor its own template", v.Code)
		default:
			c, ok := tiers[v.TierID]
			if !ok {
				err := t.c.queryRow(ctx, `SELECT campaign_seq FROM tiers WHERE id = ?`, v.TierID).Scan(&c)
				if err != nil {
					return nil, notFound(err, "tier", strconv.FormatInt(v.TierID, 10))
				}
				tiers[v.TierID] = c
			}
			if campaigns[v.CampaignID] != c {
				return nil, fmt.Errorf("sqlite: insert vouchers: voucher %q: tier %d is not of campaign %q", v.Code, v.TierID, v.CampaignID)
			}
		}
	}
	return &voucherCampaigns{m: campaigns}, nil
}

func nullInt(n int64) any {
	if n == 0 {
		return nil
	}
	return n
}

// UpdateVoucher stores v's state, and its template when it has its own.
func (t *tx) UpdateVoucher(ctx context.Context, v *promo.Voucher) error {
	seq, ok := promo.VoucherSeq(v.ID)
	if !ok {
		return promo.NotFound("voucher", v.ID)
	}
	t.ch.seqs = append(t.ch.seqs, seq)
	args := []any{boolInt(v.Active), nullString(v.HolderID), v.PublishCount, v.RedeemedQuantity, nullTime(v.UpdatedAt)}
	q := `UPDATE vouchers SET active = ?, holder_id = ?, publish_count = ?, redeemed_quantity = ?, updated_at = ? WHERE seq = ?`
	if v.OwnTemplate {
		own, err := marshal(v.Template)
		if err != nil {
			return err
		}
		args = append(args, own)
		q = `UPDATE vouchers SET active = ?, holder_id = ?, publish_count = ?, redeemed_quantity = ?, updated_at = ?, template = ? WHERE seq = ?`
	}
	return t.execOne(ctx, "update voucher", "voucher", v.ID, q, append(args, seq)...)
}

// UpdateRedeemedQuantity stores v's redeemed quantity and update time.
// Setting no column of vouchers_pool or vouchers_holder, it writes no page
// of either: a page less per redemption than UpdateVoucher.
func (t *tx) UpdateRedeemedQuantity(ctx context.Context, v *promo.Voucher) error {
	seq, ok := promo.VoucherSeq(v.ID)
	if !ok {
		return promo.NotFound("voucher", v.ID)
	}
	t.ch.seqs = append(t.ch.seqs, seq)
	return t.execOne(ctx, "update voucher", "voucher", v.ID, `UPDATE vouchers SET redeemed_quantity = ?, updated_at = ? WHERE seq = ?`,
		v.RedeemedQuantity, nullTime(v.UpdatedAt), seq)
}

// DeleteVoucher deletes the voucher with ID id.
func (t *tx) DeleteVoucher(ctx context.Context, id string) error {
	t.ch.campaigns = true // vouchers_count, and the voucher
	seq, ok := promo.VoucherSeq(id)
	if !ok {
		return promo.NotFound("voucher", id)
	}
	var campaign sql.NullInt64
	err := t.c.queryRow(ctx, `DELETE FROM vouchers WHERE seq = ? RETURNING campaign_seq`, seq).Scan(&campaign)
	if err != nil {
		return notFound(err, "voucher", id)
	}
	if campaign.Valid {
		if _, err := t.c.exec(ctx, `UPDATE campaigns SET vouchers_count = vouchers_count - 1 WHERE seq = ?`, campaign.Int64); err != nil {
			return wrap(err, "count vouchers")
		}
	}
	return nil
}

// takeVoucherSQL reads the front of the pool. Its WHERE repeats the index's
// condition word for word, which is how SQLite knows the partial index
// holds every row the query wants (TestQueryPlans checks it does).
const takeVoucherSQL = voucherSelect + `
	WHERE v.campaign_seq = ? AND v.holder_id IS NULL AND v.publish_count = 0 AND v.active = 1
	ORDER BY v.seq LIMIT 1`

// TakeVoucher returns the campaign's lowest-seq voucher in the publication
// pool, the front of the partial index vouchers_pool. It needs no lock: the
// transaction began IMMEDIATE on the only writer connection, so no other
// transaction can take, or even read for writing, the same row before this
// one commits. Until the caller updates the voucher out of the pool, a
// second call in the same transaction returns it again.
func (t *tx) TakeVoucher(ctx context.Context, campaignID string) (*promo.Voucher, error) {
	seq, err := t.campaignSeq(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	v, err := scanVoucher(t.c.queryRow(ctx, takeVoucherSQL, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, promo.Errorf(promo.ENoVoucherSuitable, "campaign %s has no voucher left to publish", campaignID)
	}
	if err != nil {
		return nil, wrap(err, "take voucher")
	}
	return v, nil
}
