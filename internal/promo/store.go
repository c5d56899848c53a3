package promo

import "context"

// Store keeps Promo's state. Reads outside a transaction see committed data;
// every write happens inside Update. Methods return *Error values with the
// codes their comments name, and wrap anything else (I/O, driver failures)
// as internal errors. No method returns a nil result with a nil error.
type Store interface {
	Reader
	// Update runs fn in one write transaction and commits it when fn returns
	// nil; any error from fn, or a panic, rolls everything back. Concurrent
	// Updates behave as if run one after another. Update may run fn more than
	// once when the engine asks to retry (a serialization failure), so fn
	// must not have effects outside tx.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	Close() error
}

// ListParams page a list: Limit items (1-100) from page Page (1-based), newest
// first unless Ascending.
type ListParams struct {
	Limit     int
	Page      int
	Ascending bool
}

// Offset returns the number of items before the page.
func (p ListParams) Offset() int { return (p.Page - 1) * p.Limit }

// TimeRange selects times after After and before Before, both exclusive;
// nil bounds are open.
type TimeRange struct {
	After, Before *Time
}

// CampaignFilter selects campaigns.
type CampaignFilter struct {
	ListParams
	CampaignType string
	Type         string
	Active       *bool
	Created      TimeRange
}

// VoucherFilter selects vouchers.
type VoucherFilter struct {
	ListParams
	CampaignID string
	HolderID   string
	Category   string
	Active     *bool
	Created    TimeRange
}

// CustomerFilter selects customers.
type CustomerFilter struct {
	ListParams
	Email   string
	Created TimeRange
}

// OrderFilter selects orders.
type OrderFilter struct {
	ListParams
	CustomerID string
	Status     string
	Created    TimeRange
}

// PublicationFilter selects publications.
type PublicationFilter struct {
	ListParams
	CampaignID string
	CustomerID string
	VoucherID  string
	SourceID   string
	Result     string
	Created    TimeRange
}

// ActionFilter selects async actions.
type ActionFilter struct {
	ListParams
	Status string
	Type   string
}

// AuditFilter selects audit entries; CampaignID and VoucherID select the
// entries of a campaign (its own and its vouchers') or of one voucher.
type AuditFilter struct {
	ListParams
	CampaignID string
	VoucherID  string
}

// Reader is the read side of a store. The list methods return one page and
// the total number of matches.
type Reader interface {
	// Campaign returns the campaign whose ID or name is idOrName; ENotFound.
	Campaign(ctx context.Context, idOrName string) (*Campaign, error)
	Campaigns(ctx context.Context, f CampaignFilter) ([]*Campaign, int64, error)
	// Tier returns one tier of a campaign; ENotFound.
	Tier(ctx context.Context, id int64) (*Tier, error)

	// Voucher returns the voucher with ID id (a "v_" ID); ENotFound.
	Voucher(ctx context.Context, id string) (*Voucher, error)
	// VoucherByKey returns the voucher whose code has key key (CodeKey);
	// ENotFound.
	VoucherByKey(ctx context.Context, key string) (*Voucher, error)
	Vouchers(ctx context.Context, f VoucherFilter) ([]*Voucher, int64, error)

	// Customer returns the customer whose ID or source_id is idOrSourceID;
	// ENotFound.
	Customer(ctx context.Context, idOrSourceID string) (*Customer, error)
	Customers(ctx context.Context, f CustomerFilter) ([]*Customer, int64, error)

	// Order returns the order whose ID or source_id is idOrSourceID;
	// ENotFound.
	Order(ctx context.Context, idOrSourceID string) (*Order, error)
	Orders(ctx context.Context, f OrderFilter) ([]*Order, int64, error)

	// Publication returns a publication by ID; ENotFound.
	Publication(ctx context.Context, id string) (*Publication, error)
	// PublicationBySourceID returns the publication with source_id id;
	// ENotFound.
	PublicationBySourceID(ctx context.Context, sourceID string) (*Publication, error)
	// CustomerPublication returns the customer's latest publication from a
	// campaign; ENotFound when the customer has none.
	CustomerPublication(ctx context.Context, campaignID, customerID string) (*Publication, error)
	// Publications lists publications with their vouchers.
	Publications(ctx context.Context, f PublicationFilter) ([]*Publication, int64, error)

	// AsyncAction returns an action by ID; ENotFound.
	AsyncAction(ctx context.Context, id string) (*AsyncAction, error)
	AsyncActions(ctx context.Context, f ActionFilter) ([]*AsyncAction, int64, error)

	Audit(ctx context.Context, f AuditFilter) ([]*AuditEntry, int64, error)

	// Redemption returns a redemption or a rollback by ID; ENotFound.
	Redemption(ctx context.Context, id string) (*Redemption, error)
	// Redemptions lists redemptions and rollbacks, failed ones included.
	Redemptions(ctx context.Context, f RedemptionFilter) ([]*Redemption, int64, error)
	// Counter returns the sum of a scope's counters (see CounterCampaign)
	// from day fromDay (Day) to now, or its all-time total when fromDay is
	// AllTime; zero for a scope without redemptions.
	Counter(ctx context.Context, scope string, fromDay int64) (Counter, error)
	// Sessions returns the voucher's session locks that expire after now.
	Sessions(ctx context.Context, voucherSeq int64, now Time) ([]*Session, error)
	// Attempts lists attempts, newest first.
	Attempts(ctx context.Context, f AttemptFilter) ([]*Attempt, int64, error)
	// Idempotent returns the stored outcome of the API key's request with
	// Idempotency-Key key; ENotFound.
	Idempotent(ctx context.Context, apiKeyID, key string) (*IdempotentResult, error)

	// ValidationRule returns a rule by ID; ENotFound.
	ValidationRule(ctx context.Context, id string) (*ValidationRule, error)
	ValidationRules(ctx context.Context, f ListParams) ([]*ValidationRule, int64, error)
	// RuleAssignments lists assignments of a rule (ruleID), or to an object
	// (objectID), or all of them when both are empty.
	RuleAssignments(ctx context.Context, ruleID, objectID string, p ListParams) ([]*ValidationRuleAssignment, int64, error)
	// RulesOf returns the rules assigned to any of the objects (campaign or
	// voucher IDs), each once, in assignment order.
	RulesOf(ctx context.Context, objectIDs ...string) ([]*ValidationRule, error)

	// Blocklist returns every blocklist entry, oldest first.
	Blocklist(ctx context.Context) ([]*BlockEntry, error)
	// Flags lists flags, newest first.
	Flags(ctx context.Context, f FlagFilter) ([]*Flag, int64, error)

	// APIKey returns the key with ID id, revoked or not; ENotFound.
	APIKey(ctx context.Context, id string) (*APIKey, error)
	// APIKeys lists every key, oldest first.
	APIKeys(ctx context.Context) ([]*APIKey, error)
}

// Tx is a write transaction: reads see its own writes.
type Tx interface {
	Reader

	// CreateCampaign stores a new campaign; EDuplicateFound when its name is
	// taken.
	CreateCampaign(ctx context.Context, c *Campaign) error
	// UpdateCampaign stores c's fields over the campaign with c.ID (its
	// VouchersCount is the store's and is ignored); ENotFound,
	// EDuplicateFound for a taken name.
	UpdateCampaign(ctx context.Context, c *Campaign) error
	// DeleteCampaign deletes a campaign with its tiers and vouchers, and
	// returns how many vouchers went; ENotFound.
	DeleteCampaign(ctx context.Context, id string) (int64, error)

	// CreateTier stores a new tier and sets t.ID; ENotFound for a missing
	// campaign.
	CreateTier(ctx context.Context, t *Tier) error
	// UpdateTier stores t's template.
	UpdateTier(ctx context.Context, t *Tier) error
	// Tiers returns a campaign's tiers, oldest first.
	Tiers(ctx context.Context, campaignID string) ([]*Tier, error)

	// InsertVouchers stores new vouchers (their Seq and ID are set here) and
	// adds them to their campaigns' VouchersCount. A voucher whose Key is
	// already in the store, or twice in vs, is skipped: inserted[i] reports
	// which were stored. Each voucher belongs to a tier (TierID) or has
	// OwnTemplate; a voucher with a tier and without OwnTemplate costs no
	// template storage.
	InsertVouchers(ctx context.Context, vs []*Voucher) (inserted []bool, err error)
	// UpdateVoucher stores v's Active, HolderID, PublishCount,
	// RedeemedQuantity, UpdatedAt and, when v.OwnTemplate, its Template;
	// ENotFound.
	UpdateVoucher(ctx context.Context, v *Voucher) error
	// UpdateRedeemedQuantity stores v's RedeemedQuantity and UpdatedAt and
	// nothing else of it: what a redemption or a rollback changes. It
	// leaves the indexes on the voucher's other columns alone, which
	// UpdateVoucher rewrites; ENotFound.
	UpdateRedeemedQuantity(ctx context.Context, v *Voucher) error
	// DeleteVoucher deletes a voucher and takes it from its campaign's
	// VouchersCount; ENotFound.
	DeleteVoucher(ctx context.Context, id string) error
	// TakeVoucher returns a voucher of the campaign that can be published
	// (active, never published, without a holder), the oldest first, and
	// holds it so no concurrent transaction takes it too;
	// ENoVoucherSuitable when there is none.
	TakeVoucher(ctx context.Context, campaignID string) (*Voucher, error)

	// CreatePublication stores p and its vouchers' link to it. It does not
	// change the vouchers: the caller updates them. EDuplicateSourceID when
	// p.SourceID is taken.
	CreatePublication(ctx context.Context, p *Publication) error

	// CreateCustomer stores a new customer; EDuplicateFound when its
	// source_id is taken.
	CreateCustomer(ctx context.Context, c *Customer) error
	// UpdateCustomer stores c over the customer with c.ID; ENotFound,
	// EDuplicateFound for a taken source_id.
	UpdateCustomer(ctx context.Context, c *Customer) error
	// DeleteCustomer deletes a customer; ENotFound.
	DeleteCustomer(ctx context.Context, id string) error

	// CreateOrder stores a new order; EDuplicateFound when its source_id is
	// taken.
	CreateOrder(ctx context.Context, o *Order) error
	// UpdateOrder stores o over the order with o.ID; ENotFound.
	UpdateOrder(ctx context.Context, o *Order) error

	// CreateAsyncAction stores a new action.
	CreateAsyncAction(ctx context.Context, a *AsyncAction) error
	// UpdateAsyncAction stores a's status, result, progress, state, lease and
	// times; ENotFound.
	UpdateAsyncAction(ctx context.Context, a *AsyncAction) error
	// ClaimAsyncAction returns the oldest action that is ENQUEUED, or
	// IN_PROGRESS with a lease that ended before now, having set its status
	// to IN_PROGRESS and its lease to leaseUntil; ENotFound when there is
	// none.
	ClaimAsyncAction(ctx context.Context, now, leaseUntil Time) (*AsyncAction, error)

	// AppendAudit appends an entry and sets its ID.
	AppendAudit(ctx context.Context, e *AuditEntry) error

	// LockVoucher returns the voucher whose code has key key, locked until
	// the transaction ends so that no concurrent transaction changes it;
	// ENotFound.
	LockVoucher(ctx context.Context, key string) (*Voucher, error)
	// CreateRedemption stores a redemption or a rollback.
	CreateRedemption(ctx context.Context, r *Redemption) error
	// UpdateRedemption stores r's Status and RollbackID; ENotFound.
	UpdateRedemption(ctx context.Context, r *Redemption) error
	// AddCounters adds delta to the counters of scopes, for day and for
	// AllTime.
	AddCounters(ctx context.Context, day int64, delta Counter, scopes ...string) error
	// PutSession stores a session lock, replacing the voucher's lock with
	// the same key.
	PutSession(ctx context.Context, s *Session) error
	// DeleteSession deletes the voucher's lock with key, reporting whether
	// there was one.
	DeleteSession(ctx context.Context, voucherSeq int64, key string) (bool, error)
	// AppendAttempts stores attempts.
	AppendAttempts(ctx context.Context, as []*Attempt) error
	// PutIdempotent stores the outcome of a request; EDuplicateFound when
	// the key has one.
	PutIdempotent(ctx context.Context, r *IdempotentResult) error

	// CreateValidationRule stores a new rule.
	CreateValidationRule(ctx context.Context, r *ValidationRule) error
	// UpdateValidationRule stores r over the rule with r.ID; ENotFound.
	UpdateValidationRule(ctx context.Context, r *ValidationRule) error
	// DeleteValidationRule deletes a rule and its assignments; ENotFound.
	DeleteValidationRule(ctx context.Context, id string) error
	// CreateRuleAssignment stores an assignment; EDuplicateFound when the
	// rule is assigned to the object already.
	CreateRuleAssignment(ctx context.Context, a *ValidationRuleAssignment) error

	// CreateBlockEntry stores a new entry; EDuplicateFound when the same
	// kind and value are blocked already.
	CreateBlockEntry(ctx context.Context, b *BlockEntry) error
	// DeleteBlockEntry deletes an entry; ENotFound.
	DeleteBlockEntry(ctx context.Context, id string) error
	// CreateFlag stores a flag.
	CreateFlag(ctx context.Context, f *Flag) error

	// CreateAPIKey stores a new key; EDuplicateFound for a taken ID.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// RevokeAPIKey sets a key's RevokedAt; ENotFound.
	RevokeAPIKey(ctx context.Context, id string, at Time) error
}
