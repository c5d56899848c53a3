package postgres

import (
	"context"

	"promo/internal/promo"
)

// Blocklist returns every entry, oldest first.
func (r reader) Blocklist(ctx context.Context) ([]*promo.BlockEntry, error) {
	out, err := list(ctx, r, `SELECT id, kind, value, reason, created_at FROM blocklist ORDER BY created_at, seq`, nil,
		func(sc scanner) (*promo.BlockEntry, error) {
			var b promo.BlockEntry
			var created int64
			if err := sc.Scan(&b.ID, &b.Kind, &b.Value, &b.Reason, &created); err != nil {
				return nil, err
			}
			b.CreatedAt = promo.TimeFromMillis(created)
			return &b, nil
		})
	return out, wrap(err, "read blocklist")
}

// CreateBlockEntry stores b.
func (t *tx) CreateBlockEntry(ctx context.Context, b *promo.BlockEntry) error {
	return t.c.exec(ctx, `INSERT INTO blocklist (id, kind, value, reason, created_at) VALUES ($1, $2, $3, $4, $5)`,
		[]any{b.ID, b.Kind, b.Value, b.Reason, b.CreatedAt.Millis()}, false, func(err error) error {
			if name, ok := uniqueViolation(err); ok && name == "blocklist_kind_value_key" {
				e := promo.Duplicate("block_entry", b.Kind+" "+b.Value)
				e.Err = err
				return e
			}
			return wrap(err, "create block entry")
		})
}

// DeleteBlockEntry deletes the entry with ID id.
func (t *tx) DeleteBlockEntry(ctx context.Context, id string) error {
	return t.c.exec(ctx, `DELETE FROM blocklist WHERE id = $1`, []any{id}, true, affectedErr("delete block entry", "block_entry", id))
}

// Flags lists flags, newest first unless f says otherwise.
func (r reader) Flags(ctx context.Context, f promo.FlagFilter) ([]*promo.Flag, int64, error) {
	var w where
	if f.Kind != "" {
		w.add("kind = ?", f.Kind)
	}
	if f.VoucherID != "" {
		w.add("voucher_id = ?", f.VoucherID)
	}
	total, err := r.count(ctx, "flags", &w)
	if err != nil {
		return nil, 0, wrap(err, "count flags")
	}
	order, args := w.page(f.ListParams, "seq")
	out, err := list(ctx, r, `SELECT data FROM flags`+w.String()+order, args,
		func(sc scanner) (*promo.Flag, error) {
			var data []byte
			if err := sc.Scan(&data); err != nil {
				return nil, err
			}
			var fl promo.Flag
			return &fl, unmarshal(data, &fl)
		})
	if err != nil {
		return nil, 0, wrap(err, "list flags")
	}
	return out, total, nil
}

// CreateFlag stores fl.
func (t *tx) CreateFlag(ctx context.Context, fl *promo.Flag) error {
	data, err := marshal(fl)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `INSERT INTO flags (id, kind, voucher_id, created_at, data) VALUES ($1, $2, $3, $4, $5)`,
		[]any{fl.ID, fl.Kind, nullString(fl.VoucherID), fl.CreatedAt.Millis(), data}, false, wrapErr("create flag"))
}
