package promo

// Publication is the handing of vouchers to a customer.
type Publication struct {
	ID         string
	SourceID   string
	CampaignID string // "" when a specific voucher was published
	CustomerID string
	Channel    string
	Metadata   Metadata
	Result     string // "SUCCESS"
	CreatedAt  Time
	// Vouchers are the published vouchers, one unless a count was asked for.
	Vouchers []*Voucher
}

// Publication results.
const PublicationSuccess = "SUCCESS"
