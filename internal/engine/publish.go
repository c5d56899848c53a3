package engine

import (
	"context"
	"encoding/json"
	"fmt"

	"promo/internal/promo"
)

// CampaignRef names a campaign in a publication: a name or ID, as a string
// or as {"name", "id", "count"}.
type CampaignRef struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Count int64  `json:"count"`
}

// UnmarshalJSON accepts a string or an object.
func (r *CampaignRef) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = CampaignRef{Name: s}
		return nil
	}
	type plain CampaignRef
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return fmt.Errorf("campaign must be a name or an object with name and count")
	}
	*r = CampaignRef(p)
	return nil
}

// PublishInput publishes vouchers to a customer: Count codes from a
// campaign's pool, or one specific voucher.
type PublishInput struct {
	Campaign *CampaignRef   `json:"campaign"`
	Voucher  string         `json:"voucher"`
	Customer *CustomerInput `json:"customer"`
	Channel  string         `json:"channel"`
	Metadata promo.Metadata `json:"metadata"`
	SourceID string         `json:"source_id"`
	// JoinOnce, when set, overrides the campaign's join_once.
	JoinOnce *bool `json:"join_once"`
	// Idempotency, when set, makes a publication safe to retry.
	Idempotency *Idempotency `json:"-"`
}

// Published is a publication with its customer.
type Published struct {
	Publication *promo.Publication
	Customer    *promo.Customer
}

// MaxPublishCount bounds the codes one publication takes.
const MaxPublishCount = 100

// Publish gives vouchers to a customer, who is upserted first. From a
// campaign it takes the oldest unpublished codes; no code ever goes to two
// customers, because taking and marking it are one transaction. With
// join_once a customer who has a code of the campaign gets the same
// publication again. An AUTO_UPDATE campaign whose pool is empty makes a new
// code; a STATIC one answers ENoVoucherSuitable. A STANDALONE campaign's
// one code is published to every customer who asks. EMissingVouchers,
// EMissingCustomer, ENotFound, EVoucherPublished, EDuplicateSourceID,
// ECampaignDisabled, EVoucherDisabled, EInvalidPayload.
//
// With in.Idempotency, a retry with the same key and request gets the first
// one's stored response (the second result) and publishes nothing; the same
// key with another request fails with EIdempotencyKeyReused. A failed
// publication changes nothing and is not remembered, so its retry runs
// again.
func (e *Engine) Publish(ctx context.Context, in PublishInput) (*Published, []byte, error) {
	switch {
	case in.Campaign == nil && in.Voucher == "":
		return nil, nil, invalid(promo.EMissingVouchers, "Either campaign or voucher is required")
	case in.Campaign != nil && in.Voucher != "":
		return nil, nil, invalid(promo.EInvalidPayload, "give a campaign or a voucher, not both")
	case in.Customer == nil || (in.Customer.ID == "" && (in.Customer.SourceID == nil || *in.Customer.SourceID == "")):
		return nil, nil, invalid(promo.EMissingCustomer, "customer with an id or a source_id is required")
	case len(in.Channel) > maxNameLen || len(in.SourceID) > maxNameLen:
		return nil, nil, invalid(promo.EInvalidPayload, "channel and source_id have at most %d bytes", maxNameLen)
	}
	count := int64(1)
	if in.Campaign != nil {
		if in.Campaign.Name == "" && in.Campaign.ID == "" {
			return nil, nil, invalid(promo.EMissingVouchers, "campaign needs a name or an id")
		}
		if in.Campaign.Count != 0 {
			count = in.Campaign.Count
		}
		if count < 1 || count > MaxPublishCount {
			return nil, nil, invalid(promo.EInvalidPayload, "campaign.count must be from 1 to %d", MaxPublishCount)
		}
	}
	var (
		pub    *promo.Publication
		cust   *promo.Customer
		replay []byte
	)
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		pub, cust, replay = nil, nil, nil
		if in.Idempotency != nil {
			var done bool
			var err error
			if replay, done, err = e.replay(ctx, tx, in.Idempotency); done || err != nil {
				return err
			}
		}
		if in.SourceID != "" {
			_, err := tx.PublicationBySourceID(ctx, in.SourceID)
			if err == nil {
				return &promo.Error{Code: promo.EDuplicateSourceID, Message: "Duplicated source_id",
					Details: fmt.Sprintf("a publication with source_id %s exists", in.SourceID), ResourceID: in.SourceID, ResourceType: "publication"}
			} else if promo.ErrorCode(err) != promo.ENotFound {
				return err
			}
		}
		var err error
		if cust, err = e.upsertCustomer(ctx, tx, *in.Customer); err != nil {
			return err
		}
		// A time-ordered ID, as a redemption's and an order's: new
		// publications append to the ID indexes rather than land all
		// over them.
		p := &promo.Publication{
			ID:         promo.NewTimeID(promo.PrefixPublication),
			SourceID:   in.SourceID,
			CustomerID: cust.ID,
			Channel:    in.Channel,
			Metadata:   in.Metadata,
			Result:     promo.PublicationSuccess,
			CreatedAt:  e.Now(),
		}
		if p.Channel == "" {
			p.Channel = "API"
		}
		if p.Metadata == nil {
			p.Metadata = promo.Metadata{}
		}
		if in.Voucher != "" {
			v, err := voucher(ctx, tx, in.Voucher)
			if err != nil {
				return err
			}
			if v.Template.Canary {
				// A canary is never handed out, and does not say so.
				return promo.NotFound("voucher", in.Voucher)
			}
			if !v.Active {
				return &promo.Error{Code: promo.EVoucherDisabled, Message: "Voucher is disabled",
					Details: fmt.Sprintf("voucher %s is disabled", v.Code), ResourceID: v.Code, ResourceType: "voucher"}
			}
			if v.HolderID != "" && v.HolderID != cust.ID {
				return &promo.Error{Code: promo.EVoucherPublished, Message: "Voucher already published",
					Details: fmt.Sprintf("voucher %s is published to another customer", v.Code), ResourceID: v.Code, ResourceType: "voucher"}
			}
			p.CampaignID = v.CampaignID
			if err := e.hand(ctx, tx, p, v, true); err != nil {
				return err
			}
		} else {
			c, err := tx.Campaign(ctx, campaignKey(in.Campaign))
			if err != nil {
				return err
			}
			if !c.Active {
				return &promo.Error{Code: promo.ECampaignDisabled, Message: "Campaign is disabled",
					Details: fmt.Sprintf("campaign %s is disabled", c.Name), ResourceID: c.ID, ResourceType: "campaign"}
			}
			p.CampaignID = c.ID
			joinOnce := c.JoinOnce
			if in.JoinOnce != nil {
				joinOnce = *in.JoinOnce
			}
			if joinOnce {
				prev, err := tx.CustomerPublication(ctx, c.ID, cust.ID)
				if err == nil {
					pub = prev
					return e.rememberPublished(ctx, tx, in.Idempotency, pub, cust)
				} else if promo.ErrorCode(err) != promo.ENotFound {
					return err
				}
			}
			for range count {
				v, err := e.take(ctx, tx, c)
				if err != nil {
					return err
				}
				if err := e.hand(ctx, tx, p, v, c.Type != promo.CampaignStandalone); err != nil {
					return err
				}
			}
		}
		if err := tx.CreatePublication(ctx, p); err != nil {
			return err
		}
		pub = p
		return e.rememberPublished(ctx, tx, in.Idempotency, pub, cust)
	})
	switch {
	case err != nil:
		return nil, nil, err
	case replay != nil:
		return nil, replay, nil
	}
	e.obs.Published(int64(len(pub.Vouchers)))
	return &Published{Publication: pub, Customer: cust}, nil, nil
}

// rememberPublished stores a publication's response for its idempotency
// key, if it has one.
func (e *Engine) rememberPublished(ctx context.Context, tx promo.Tx, idem *Idempotency, pub *promo.Publication, cust *promo.Customer) error {
	if idem == nil {
		return nil
	}
	return e.remember(ctx, tx, idem, &Published{Publication: pub, Customer: cust}, nil)
}

// campaignKey is the campaign a reference names: its ID, or else its name.
func campaignKey(r *CampaignRef) string {
	if r.ID != "" {
		return r.ID
	}
	return r.Name
}

// take returns the next voucher to publish from a campaign.
func (e *Engine) take(ctx context.Context, tx promo.Tx, c *promo.Campaign) (*promo.Voucher, error) {
	if c.Type == promo.CampaignStandalone {
		vs, _, err := tx.Vouchers(ctx, promo.VoucherFilter{ListParams: promo.ListParams{Limit: 1, Page: 1, Ascending: true}, CampaignID: c.ID})
		if err != nil {
			return nil, err
		}
		if len(vs) == 0 {
			return nil, promo.Errorf(promo.ENoVoucherSuitable, "campaign %s has no code", c.Name)
		}
		return vs[0], nil
	}
	v, err := tx.TakeVoucher(ctx, c.ID)
	if promo.ErrorCode(err) != promo.ENoVoucherSuitable || c.Type != promo.CampaignAutoUpdate {
		if promo.ErrorCode(err) == promo.ENoVoucherSuitable {
			err = &promo.Error{Code: promo.ENoVoucherSuitable, Message: "Couldn't find any voucher suitable for publication",
				Details: fmt.Sprintf("campaign %s has no unpublished code left", c.Name), ResourceID: c.ID, ResourceType: "campaign"}
		}
		return v, err
	}
	tiers, err := tx.Tiers(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return e.generateOne(ctx, tx, c, tiers[0])
}

// hand gives v to p's customer: it is marked published and, unless shared,
// held by the customer.
func (e *Engine) hand(ctx context.Context, tx promo.Tx, p *promo.Publication, v *promo.Voucher, hold bool) error {
	v.PublishCount++
	if hold {
		v.HolderID = p.CustomerID
	}
	v.UpdatedAt = &p.CreatedAt
	if err := tx.UpdateVoucher(ctx, v); err != nil {
		return err
	}
	p.Vouchers = append(p.Vouchers, v)
	return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditPublished, ResourceType: "voucher", ResourceID: v.ID,
		CampaignID: v.CampaignID, VoucherID: v.ID,
		Details: promo.Metadata{"publication_id": p.ID, "customer_id": p.CustomerID, "channel": p.Channel}})
}
