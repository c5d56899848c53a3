package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"promo/internal/promo"
)

const campaignCols = `id, name, vouchers_count, created_at, updated_at, data`

// campaignByIDSQL reads a campaign by ID. LockVoucher reads its voucher's
// campaign as this statement would, for the transaction to answer it.
const campaignByIDSQL = `SELECT ` + campaignCols + ` FROM campaigns WHERE id = $1`

func scanCampaign(sc scanner) (*promo.Campaign, error) {
	var (
		c       promo.Campaign
		id      string
		name    string
		count   int64
		created int64
		updated *int64
		data    []byte
	)
	if err := sc.Scan(&id, &name, &count, &created, &updated, &data); err != nil {
		return nil, err
	}
	if err := campaignData.Decode(data, &c); err != nil {
		return nil, err
	}
	// The columns are the truth; data holds the rest.
	c.ID, c.Name, c.VouchersCount = id, name, count
	c.CreatedAt, c.UpdatedAt = promo.TimeFromMillis(created), timePtr(updated)
	return &c, nil
}

// Campaign returns the campaign with ID idOrName, or else with that name.
func (r reader) Campaign(ctx context.Context, idOrName string) (*promo.Campaign, error) {
	// Every ID has the campaign prefix: anything else is only a name.
	err := pgx.ErrNoRows
	var c *promo.Campaign
	if strings.HasPrefix(idOrName, promo.PrefixCampaign) {
		c, err = scanCampaign(r.q.QueryRow(ctx, campaignByIDSQL, idOrName))
	}
	if errors.Is(err, pgx.ErrNoRows) {
		c, err = scanCampaign(r.q.QueryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE name = $1`, idOrName))
	}
	if err != nil {
		return nil, notFound(err, "campaign", idOrName)
	}
	return c, nil
}

// Campaigns lists campaigns by creation time.
func (r reader) Campaigns(ctx context.Context, f promo.CampaignFilter) ([]*promo.Campaign, int64, error) {
	var w where
	if f.CampaignType != "" {
		w.add("campaign_type = ?", f.CampaignType)
	}
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	if f.Active != nil {
		w.add("active = ?", *f.Active)
	}
	w.created("created_at", f.Created)
	order, args := w.page(f.ListParams, "created_at", "seq")
	cs, err := list(ctx, r, `SELECT `+campaignCols+` FROM campaigns`+w.String()+order, args, scanCampaign)
	if err != nil {
		return nil, 0, wrap(err, "list campaigns")
	}
	n, err := r.count(ctx, "campaigns", &w)
	if err != nil {
		return nil, 0, wrap(err, "count campaigns")
	}
	return cs, n, nil
}

// campaignSeq returns the seq of the campaign with ID id.
func (r reader) campaignSeq(ctx context.Context, id string) (int64, error) {
	var seq int64
	err := r.q.QueryRow(ctx, `SELECT seq FROM campaigns WHERE id = $1`, id).Scan(&seq)
	if err != nil {
		return 0, notFound(err, "campaign", id)
	}
	return seq, nil
}

// CreateCampaign stores c with no vouchers.
func (t *tx) CreateCampaign(ctx context.Context, c *promo.Campaign) error {
	if c.ID == "" {
		c.ID = promo.NewID(promo.PrefixCampaign)
	}
	c.VouchersCount = 0
	data, err := marshal(c)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `INSERT INTO campaigns (id, name, campaign_type, type, active, created_at, updated_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		[]any{c.ID, c.Name, c.CampaignType, c.Type, c.Active, c.CreatedAt.Millis(), nullTime(c.UpdatedAt), data}, false,
		func(err error) error { return campaignWriteErr(err, c) })
}

// UpdateCampaign stores c over the campaign with c.ID, and sets
// c.VouchersCount to the store's.
func (t *tx) UpdateCampaign(ctx context.Context, c *promo.Campaign) error {
	data, err := marshal(c)
	if err != nil {
		return err
	}
	err = t.c.queryRowNow(ctx, `UPDATE campaigns SET name = $1, campaign_type = $2, type = $3, active = $4, created_at = $5,
		updated_at = $6, data = $7 WHERE id = $8 RETURNING vouchers_count`,
		c.Name, c.CampaignType, c.Type, c.Active, c.CreatedAt.Millis(), nullTime(c.UpdatedAt), data, c.ID).Scan(&c.VouchersCount)
	if errors.Is(err, pgx.ErrNoRows) {
		return promo.NotFound("campaign", c.ID)
	}
	return campaignWriteErr(err, c)
}

func campaignWriteErr(err error, c *promo.Campaign) error {
	switch name, ok := uniqueViolation(err); {
	case err == nil:
		return nil
	case ok && name == "campaigns_name_key":
		e := duplicate(err, "campaign", c.Name)
		e.Details = "A campaign named " + strconv.Quote(c.Name) + " already exists"
		return e
	case ok:
		return duplicate(err, "campaign", c.ID)
	}
	return wrap(err, "write campaign")
}

// DeleteCampaign deletes the campaign, its tiers and its vouchers. Their
// publications stay, as history.
func (t *tx) DeleteCampaign(ctx context.Context, id string) (int64, error) {
	seq, err := t.campaignSeq(ctx, id)
	if err != nil {
		return 0, err
	}
	// One statement per partial index of a campaign's vouchers: each
	// finds its half through its index.
	var n int64
	for _, in := range []string{inPool, outOfPool} {
		tag, err := t.c.execNow(ctx, `DELETE FROM vouchers WHERE campaign_seq = $1 AND `+in, seq)
		if err != nil {
			return 0, wrap(err, "delete vouchers")
		}
		n += tag.RowsAffected()
	}
	// The tiers go with the campaign (ON DELETE CASCADE).
	if err := t.c.exec(ctx, `DELETE FROM campaigns WHERE seq = $1`, []any{seq}, false, wrapErr("delete campaign")); err != nil {
		return 0, err
	}
	return n, nil
}

const tierCols = `t.id, c.id, t.template`

func scanTier(sc scanner) (*promo.Tier, error) {
	var (
		tr   promo.Tier
		data []byte
	)
	if err := sc.Scan(&tr.ID, &tr.CampaignID, &data); err != nil {
		return nil, err
	}
	if err := unmarshal(data, &tr.Template); err != nil {
		return nil, err
	}
	return &tr, nil
}

// Tier returns the tier with ID id.
func (r reader) Tier(ctx context.Context, id int64) (*promo.Tier, error) {
	tr, err := scanTier(r.q.QueryRow(ctx, `SELECT `+tierCols+` FROM tiers t JOIN campaigns c ON c.seq = t.campaign_seq WHERE t.id = $1`, id))
	if err != nil {
		return nil, notFound(err, "tier", strconv.FormatInt(id, 10))
	}
	return tr, nil
}

// Tiers returns the campaign's tiers, oldest first.
func (r reader) Tiers(ctx context.Context, campaignID string) ([]*promo.Tier, error) {
	ts, err := list(ctx, r, `SELECT `+tierCols+` FROM tiers t JOIN campaigns c ON c.seq = t.campaign_seq WHERE c.id = $1 ORDER BY t.id`,
		[]any{campaignID}, scanTier)
	if err != nil {
		return nil, wrap(err, "list tiers")
	}
	return ts, nil
}

// CreateTier stores t and sets t.ID.
func (t *tx) CreateTier(ctx context.Context, tr *promo.Tier) error {
	seq, err := t.campaignSeq(ctx, tr.CampaignID)
	if err != nil {
		return err
	}
	data, err := marshal(tr.Template)
	if err != nil {
		return err
	}
	if err := t.c.queryRowNow(ctx, `INSERT INTO tiers (campaign_seq, template) VALUES ($1, $2) RETURNING id`, seq, data).Scan(&tr.ID); err != nil {
		return wrap(err, "create tier")
	}
	return nil
}

// UpdateTier stores t's template, which every voucher of the tier without
// its own template reads from then on; ENotFound.
func (t *tx) UpdateTier(ctx context.Context, tr *promo.Tier) error {
	data, err := marshal(tr.Template)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `UPDATE tiers SET template = $1 WHERE id = $2`, []any{data, tr.ID}, true,
		affectedErr("update tier", "tier", strconv.FormatInt(tr.ID, 10)))
}
