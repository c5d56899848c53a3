package promo

// Audit actions: what happened to a resource.
const (
	AuditCreated   = "created"
	AuditImported  = "imported"
	AuditGenerated = "generated"
	AuditPublished = "published"
	AuditEnabled   = "enabled"
	AuditDisabled  = "disabled"
	AuditUpdated   = "updated"
	AuditDeleted   = "deleted"
)

// AuditEntry records one change of state: when, by which API key, to what,
// and the details. Entries are only ever appended.
type AuditEntry struct {
	ID           int64    `json:"id"`
	Time         Time     `json:"time"`
	APIKeyID     string   `json:"api_key_id,omitempty"`
	Action       string   `json:"action"`
	ResourceType string   `json:"resource_type"`
	ResourceID   string   `json:"resource_id"`
	CampaignID   string   `json:"campaign_id,omitempty"`
	VoucherID    string   `json:"voucher_id,omitempty"`
	Details      Metadata `json:"details,omitempty"`
}

// APIKey is a credential for the /v1 API: an App ID with a token shown once
// at creation. Only the token's SHA-256 is kept; tokens are 256 random bits,
// so a hash needs no salt or stretching.
type APIKey struct {
	ID        string
	Name      string
	TokenHash []byte
	CreatedAt Time
	RevokedAt *Time
}
