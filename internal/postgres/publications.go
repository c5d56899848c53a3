package postgres

import (
	"context"

	"promo/internal/promo"
)

const publicationCols = `p.id, p.source_id, p.campaign_id, p.customer_id, p.channel, p.result, p.metadata, p.created_at`

func scanPublication(sc scanner) (*promo.Publication, error) {
	var (
		p                                   promo.Publication
		source, campaign, customer, channel *string
		metadata                            []byte
		created                             int64
	)
	if err := sc.Scan(&p.ID, &source, &campaign, &customer, &channel, &p.Result, &metadata, &created); err != nil {
		return nil, err
	}
	p.SourceID, p.CampaignID, p.CustomerID, p.Channel = str(source), str(campaign), str(customer), str(channel)
	p.CreatedAt = promo.TimeFromMillis(created)
	if metadata != nil {
		if err := unmarshal(metadata, &p.Metadata); err != nil {
			return nil, err
		}
	}
	p.Vouchers = []*promo.Voucher{}
	return &p, nil
}

// publication reads one publication with its vouchers.
func (r reader) publication(ctx context.Context, key, query string, arg any, id string) (*promo.Publication, error) {
	p, err := scanPublication(queryRowKey(ctx, r.q, key, query, arg))
	if err != nil {
		return nil, notFound(err, "publication", id)
	}
	if err := r.publicationVouchers(ctx, []*promo.Publication{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// Publication returns the publication with ID id.
func (r reader) Publication(ctx context.Context, id string) (*promo.Publication, error) {
	return r.publication(ctx, "", `SELECT `+publicationCols+` FROM publications p WHERE p.id = $1`, id, id)
}

// PublicationBySourceID returns the publication with source_id sourceID.
func (r reader) PublicationBySourceID(ctx context.Context, sourceID string) (*promo.Publication, error) {
	return r.publication(ctx, sourceIDKey("publications", sourceID),
		`SELECT `+publicationCols+` FROM publications p WHERE `+sourceIDIs("p.source_id"), sourceID, sourceID)
}

// CustomerPublication returns the customer's latest publication from the
// campaign.
func (r reader) CustomerPublication(ctx context.Context, campaignID, customerID string) (*promo.Publication, error) {
	p, err := scanPublication(r.q.QueryRow(ctx, `SELECT `+publicationCols+` FROM publications p
		WHERE p.customer_id = $1 AND p.campaign_id = $2 ORDER BY p.created_at DESC, p.seq DESC LIMIT 1`, customerID, campaignID))
	if err != nil {
		return nil, notFound(err, "publication", customerID)
	}
	if err := r.publicationVouchers(ctx, []*promo.Publication{p}); err != nil {
		return nil, err
	}
	return p, nil
}

// Publications lists publications by creation time, with their vouchers.
func (r reader) Publications(ctx context.Context, f promo.PublicationFilter) ([]*promo.Publication, int64, error) {
	var w where
	if f.CampaignID != "" {
		w.add("p.campaign_id = ?", f.CampaignID)
	}
	if f.CustomerID != "" {
		w.add("p.customer_id = ?", f.CustomerID)
	}
	if f.VoucherID != "" {
		seq, ok := promo.VoucherSeq(f.VoucherID)
		if !ok {
			seq = -1 // no voucher has it
		}
		w.add("p.id IN (SELECT publication_id FROM publication_vouchers WHERE voucher_seq = ?)", seq)
	}
	if f.SourceID != "" {
		w.add("hashtext(p.source_id) = hashtext(?) AND p.source_id = ?", f.SourceID, f.SourceID)
	}
	if f.Result != "" {
		w.add("p.result = ?", f.Result)
	}
	w.created("p.created_at", f.Created)
	order, args := w.page(f.ListParams, "p.created_at", "p.seq")
	ps, err := list(ctx, r, `SELECT `+publicationCols+` FROM publications p`+w.String()+order, args, scanPublication)
	if err != nil {
		return nil, 0, wrap(err, "list publications")
	}
	if err := r.publicationVouchers(ctx, ps); err != nil {
		return nil, 0, err
	}
	n, err := r.count(ctx, "publications p", &w)
	if err != nil {
		return nil, 0, wrap(err, "count publications")
	}
	return ps, n, nil
}

// publicationVouchers fills in the vouchers of ps in one query. A voucher
// deleted since it was published is left out.
func (r reader) publicationVouchers(ctx context.Context, ps []*promo.Publication) error {
	if len(ps) == 0 {
		return nil
	}
	byID := make(map[string]*promo.Publication, len(ps))
	ids := make([]string, len(ps))
	for i, p := range ps {
		byID[p.ID] = p
		ids[i] = p.ID
	}
	rows, err := r.q.Query(ctx, `SELECT pv.publication_id, `+voucherCols+`
		FROM publication_vouchers pv JOIN vouchers v ON v.seq = pv.voucher_seq`+voucherJoins+`
		WHERE pv.publication_id = ANY($1)
		ORDER BY pv.publication_id, pv.position`, ids)
	if err != nil {
		return wrap(err, "read publication vouchers")
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		v, err := scanVoucher(prefixScanner{rows, &id})
		if err != nil {
			return wrap(err, "read publication vouchers")
		}
		p := byID[id]
		p.Vouchers = append(p.Vouchers, v)
	}
	return wrap(rows.Err(), "read publication vouchers")
}

// prefixScanner scans a row's first column into first, and the rest into
// the destinations Scan is given.
type prefixScanner struct {
	sc    scanner
	first any
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.sc.Scan(append([]any{p.first}, dest...)...)
}

// CreatePublication stores p, giving it an ID if it has none, and its
// vouchers' links in their order.
func (t *tx) CreatePublication(ctx context.Context, p *promo.Publication) error {
	if p.ID == "" {
		p.ID = promo.NewID(promo.PrefixPublication)
	}
	var metadata any
	if p.Metadata != nil {
		b, err := marshal(p.Metadata)
		if err != nil {
			return err
		}
		metadata = b
	}
	claimed := p.SourceID != "" && t.c.claim(sourceIDKey("publications", p.SourceID))
	err := t.c.exec(ctx, `INSERT INTO publications (id, source_id, campaign_id, customer_id, channel, result, metadata, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		[]any{p.ID, nullString(p.SourceID), nullString(p.CampaignID), nullString(p.CustomerID), nullString(p.Channel), p.Result, metadata,
			p.CreatedAt.Millis()}, false, func(err error) error {
			if name, ok := uniqueViolation(err); ok {
				if name == "publications_source_id_key" && claimed {
					return errStale // created since it was read absent
				}
				if name == "publications_source_id_key" {
					e := promo.Errorf(promo.EDuplicateSourceID, "A publication with source_id %s already exists", p.SourceID)
					e.ResourceID, e.ResourceType, e.Err = p.SourceID, "publication", err
					return e
				}
				return duplicate(err, "publication", p.ID)
			}
			return wrap(err, "create publication")
		})
	if err != nil {
		return err
	}
	if len(p.Vouchers) == 0 {
		return nil
	}
	seqs := make([]int64, len(p.Vouchers))
	for i, v := range p.Vouchers {
		seq := v.Seq
		if seq == 0 {
			var ok bool
			if seq, ok = promo.VoucherSeq(v.ID); !ok {
				return promo.NotFound("voucher", v.ID)
			}
		}
		seqs[i] = seq
	}
	// One statement for every voucher: a bulk publication links many.
	return t.c.exec(ctx, `INSERT INTO publication_vouchers (publication_id, position, voucher_seq)
		SELECT $1, s.ord - 1, s.seq FROM unnest($2::bigint[]) WITH ORDINALITY AS s (seq, ord)`, []any{p.ID, seqs}, false,
		wrapErr("create publication"))
}
