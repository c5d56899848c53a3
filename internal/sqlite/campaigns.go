package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"promo/internal/promo"
)

const campaignCols = `id, name, vouchers_count, created_at, updated_at, data`

func scanCampaign(sc scanner) (*promo.Campaign, error) {
	var (
		c       promo.Campaign
		id      string
		name    string
		count   int64
		created int64
		updated sql.NullInt64
		data    []byte
	)
	if err := sc.Scan(&id, &name, &count, &created, &updated, &data); err != nil {
		return nil, err
	}
	if err := unmarshal(data, &c); err != nil {
		return nil, err
	}
	// The columns are the truth; data holds the rest.
	c.ID, c.Name, c.VouchersCount = id, name, count
	c.CreatedAt, c.UpdatedAt = promo.TimeFromMillis(created), timePtr(updated)
	return &c, nil
}

// Campaign returns the campaign with ID idOrName, or else with that name.
func (r reader) Campaign(ctx context.Context, idOrName string) (*promo.Campaign, error) {
	cache := r.cached(kindCampaign)
	var gen uint64
	if cache != nil {
		if c := cache.campaign(idOrName); c != nil {
			return c, nil
		}
		gen = cache.generation(kindCampaign)
	}
	// Every ID has the campaign prefix: anything else is only a name.
	c, err := (*promo.Campaign)(nil), sql.ErrNoRows
	if strings.HasPrefix(idOrName, promo.PrefixCampaign) {
		c, err = scanCampaign(r.c.queryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE id = ?`, idOrName))
	}
	if errors.Is(err, sql.ErrNoRows) {
		c, err = scanCampaign(r.c.queryRow(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE name = ?`, idOrName))
	}
	if err != nil {
		return nil, notFound(err, "campaign", idOrName)
	}
	if cache != nil {
		cache.putCampaign(gen, c)
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
		w.add("active = ?", boolInt(*f.Active))
	}
	w.created("created_at", f.Created)
	order, pargs := page(f.ListParams, "created_at", "seq")
	cs, err := list(ctx, r, `SELECT `+campaignCols+` FROM campaigns`+w.String()+order, append(w.args, pargs...), scanCampaign)
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
	err := r.c.queryRow(ctx, `SELECT seq FROM campaigns WHERE id = ?`, id).Scan(&seq)
	if err != nil {
		return 0, notFound(err, "campaign", id)
	}
	return seq, nil
}

// CreateCampaign stores c with no vouchers.
func (t *tx) CreateCampaign(ctx context.Context, c *promo.Campaign) error {
	t.ch.campaigns = true
	if c.ID == "" {
		c.ID = promo.NewID(promo.PrefixCampaign)
	}
	c.VouchersCount = 0
	data, err := marshal(c)
	if err != nil {
		return err
	}
	_, err = t.c.exec(ctx, `INSERT INTO campaigns (id, name, campaign_type, type, active, created_at, updated_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.CampaignType, c.Type, boolInt(c.Active), c.CreatedAt.Millis(), nullTime(c.UpdatedAt), data)
	return campaignWriteErr(err, c)
}

// UpdateCampaign stores c over the campaign with c.ID, and sets
// c.VouchersCount to the store's.
func (t *tx) UpdateCampaign(ctx context.Context, c *promo.Campaign) error {
	t.ch.campaigns = true
	data, err := marshal(c)
	if err != nil {
		return err
	}
	err = t.c.queryRow(ctx, `UPDATE campaigns SET name = ?, campaign_type = ?, type = ?, active = ?, created_at = ?, updated_at = ?, data = ?
		WHERE id = ? RETURNING vouchers_count`,
		c.Name, c.CampaignType, c.Type, boolInt(c.Active), c.CreatedAt.Millis(), nullTime(c.UpdatedAt), data, c.ID).Scan(&c.VouchersCount)
	if errors.Is(err, sql.ErrNoRows) {
		return promo.NotFound("campaign", c.ID)
	}
	return campaignWriteErr(err, c)
}

func campaignWriteErr(err error, c *promo.Campaign) error {
	switch col, ok := uniqueViolation(err); {
	case err == nil:
		return nil
	case ok && col == "campaigns.name":
		e := promo.Duplicate("campaign", c.Name)
		e.Details = "A campaign named " + strconv.Quote(c.Name) + " already exists"
		e.Err = err
		return e
	case ok:
		e := promo.Duplicate("campaign", c.ID)
		e.Err = err
		return e
	}
	return wrap(err, "write campaign")
}

// DeleteCampaign deletes the campaign, its tiers and its vouchers. Their
// publications stay, as history.
func (t *tx) DeleteCampaign(ctx context.Context, id string) (int64, error) {
	t.ch.campaigns = true
	seq, err := t.campaignSeq(ctx, id)
	if err != nil {
		return 0, err
	}
	res, err := t.c.exec(ctx, `DELETE FROM vouchers WHERE campaign_seq = ?`, seq)
	if err != nil {
		return 0, wrap(err, "delete vouchers")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap(err, "delete vouchers")
	}
	if _, err := t.c.exec(ctx, `DELETE FROM tiers WHERE campaign_seq = ?`, seq); err != nil {
		return 0, wrap(err, "delete tiers")
	}
	if _, err := t.c.exec(ctx, `DELETE FROM campaigns WHERE seq = ?`, seq); err != nil {
		return 0, wrap(err, "delete campaign")
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
	tr, err := scanTier(r.c.queryRow(ctx, `SELECT `+tierCols+` FROM tiers t JOIN campaigns c ON c.seq = t.campaign_seq WHERE t.id = ?`, id))
	if err != nil {
		return nil, notFound(err, "tier", strconv.FormatInt(id, 10))
	}
	return tr, nil
}

// Tiers returns the campaign's tiers, oldest first.
func (r reader) Tiers(ctx context.Context, campaignID string) ([]*promo.Tier, error) {
	ts, err := list(ctx, r, `SELECT `+tierCols+` FROM tiers t JOIN campaigns c ON c.seq = t.campaign_seq WHERE c.id = ? ORDER BY t.id`,
		[]any{campaignID}, scanTier)
	if err != nil {
		return nil, wrap(err, "list tiers")
	}
	return ts, nil
}

// CreateTier stores t and sets t.ID.
func (t *tx) CreateTier(ctx context.Context, tr *promo.Tier) error {
	t.ch.campaigns = true
	seq, err := t.campaignSeq(ctx, tr.CampaignID)
	if err != nil {
		return err
	}
	data, err := marshal(tr.Template)
	if err != nil {
		return err
	}
	if err := t.c.queryRow(ctx, `INSERT INTO tiers (campaign_seq, template) VALUES (?, ?) RETURNING id`, seq, data).Scan(&tr.ID); err != nil {
		return wrap(err, "create tier")
	}
	return nil
}

// UpdateTier stores t's template, which every voucher of the tier without
// its own template reads from then on; ENotFound.
func (t *tx) UpdateTier(ctx context.Context, tr *promo.Tier) error {
	t.ch.campaigns = true
	data, err := marshal(tr.Template)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "update tier", "tier", strconv.FormatInt(tr.ID, 10), `UPDATE tiers SET template = ? WHERE id = ?`, data, tr.ID)
}
