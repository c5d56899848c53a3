package promo

import "time"

// ID prefixes of redemptions, their rollbacks and attempts.
const (
	PrefixRedemption = "r_"
	PrefixRollback   = "rr_"
	PrefixAttempt    = "att_"
)

// Redemption results and statuses.
const (
	ResultSuccess = "SUCCESS"
	ResultFailure = "FAILURE"

	StatusSucceeded  = "SUCCEEDED"
	StatusRolledBack = "ROLLED_BACK"
	// A failed redemption's status is StatusFailed, "FAILED".
)

// Redemption objects: a redemption, or the rollback of one.
const (
	ObjectRedemption = "redemption"
	ObjectRollback   = "redemption_rollback"
)

// Failure codes of validations and redemptions, as the reference names
// them (rules.go has the rules' own); each is also the key of the error a
// failed redemption answers.
const (
	EResourceNotFound      = "resource_not_found"
	EVoucherNotActive      = "voucher_not_active"
	EVoucherExpired        = "voucher_expired"
	EQuantityExceeded      = "quantity_exceeded"
	EInvalidAmount         = "invalid_amount"
	EDuplicatedRedeemables = "duplicated_redeemables"
	EInvalidRedeemables    = "invalid_redeemables"
	EAlreadyRolledBack     = "already_rolled_back"
	ERollbackFailed        = "rollback_failed"
)

// Redemption is one redemption of a voucher, the parent of a stacked
// redemption, or the rollback of either (Object tells which). Failed
// redemptions are kept too, with their failure code. Amount is the
// discount taken off the order, negative for a rollback.
type Redemption struct {
	ID             string   `json:"id"`
	Object         string   `json:"object"`
	Date           Time     `json:"date"`
	CustomerID     string   `json:"customer_id,omitempty"`
	TrackingID     string   `json:"tracking_id,omitempty"`
	Amount         int64    `json:"amount"`
	Result         string   `json:"result"`
	Status         string   `json:"status"`
	FailureCode    string   `json:"failure_code,omitempty"`
	FailureMessage string   `json:"failure_message,omitempty"`
	Order          *Order   `json:"order,omitempty"`
	Metadata       Metadata `json:"metadata"`
	Channel        Channel  `json:"channel"`
	// ParentID is the parent redemption of a stacked one; RedemptionID the
	// redemption a rollback rolls back.
	ParentID     string   `json:"parent_id,omitempty"`
	RedemptionID string   `json:"redemption_id,omitempty"`
	Children     []string `json:"children,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	// The voucher redeemed, for a redemption of one voucher.
	VoucherID  string `json:"voucher_id,omitempty"`
	Code       string `json:"code,omitempty"`
	CampaignID string `json:"campaign_id,omitempty"`
	Campaign   string `json:"campaign,omitempty"`
	// Discount is the voucher's discount as it applied.
	Discount   *Discount `json:"discount,omitempty"`
	SessionKey string    `json:"session_key,omitempty"`
	APIKeyID   string    `json:"api_key_id,omitempty"`
	ClientIP   string    `json:"client_ip,omitempty"`
	// RollbackID is the rollback of a rolled-back redemption.
	RollbackID string `json:"rollback_id,omitempty"`
}

// Channel says through what a redemption came.
type Channel struct {
	ChannelID   string `json:"channel_id,omitempty"`
	ChannelType string `json:"channel_type,omitempty"`
}

// Attempt is one validation or redemption attempt that did not redeem:
// an invalid code, a failed rule, a redemption refused. Successful
// redemptions are Redemptions, not attempts.
type Attempt struct {
	ID         string `json:"id"`
	Time       Time   `json:"created_at"`
	Kind       string `json:"kind"`   // "validation" or "redemption"
	Result     string `json:"result"` // "VALID", "INVALID", "FAILURE" or "REFUSED"
	Code       string `json:"code"`   // as sent
	Key        string `json:"key"`    // normalized; "" when it does not normalize
	Reason     string `json:"reason,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	SourceID   string `json:"customer_source_id,omitempty"`
	APIKeyID   string `json:"api_key_id,omitempty"`
	Channel    string `json:"channel,omitempty"`
	ClientIP   string `json:"client_ip,omitempty"`
	Amount     int64  `json:"amount"` // the order's amount
}

// Attempt kinds and results.
const (
	AttemptValidation = "validation"
	AttemptRedemption = "redemption"

	AttemptValid   = "VALID"
	AttemptInvalid = "INVALID"
	AttemptFailure = "FAILURE"
	// AttemptRefused records that a client IP's or a customer's failure
	// window filled: its attempts are refused until the window ends. One
	// is recorded per window, not per refused request.
	AttemptRefused = "REFUSED"
)

// Session is a validation session's lock: it holds Quantity redemptions
// of a voucher for its Key until it is redeemed, released or expires.
type Session struct {
	VoucherSeq int64
	Key        string
	Quantity   int64
	ExpiresAt  Time
	CreatedAt  Time
}

// Session TTL units, as the reference names them.
var sessionUnits = map[string]time.Duration{
	"MILLISECONDS": time.Millisecond,
	"SECONDS":      time.Second,
	"MINUTES":      time.Minute,
	"HOURS":        time.Hour,
	"DAYS":         24 * time.Hour,
}

// MaxSessionTTL bounds a session lock's life.
const MaxSessionTTL = 30 * 24 * time.Hour

// SessionTTL returns the duration of ttl units of unit (default unit
// DAYS, default ttl 7 days as in the reference); EInvalidPayload for an
// unknown unit or a TTL outside 1 ms to MaxSessionTTL.
func SessionTTL(ttl int64, unit string) (time.Duration, error) {
	if unit == "" {
		unit = "DAYS"
	}
	u, ok := sessionUnits[unit]
	if !ok {
		return 0, Errorf(EInvalidPayload, "session.ttl_unit %q is unknown: use MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS", unit)
	}
	if ttl == 0 {
		return 7 * 24 * time.Hour, nil
	}
	if ttl < 0 || ttl > int64(MaxSessionTTL/u) {
		return 0, Errorf(EInvalidPayload, "session.ttl must be positive and at most %d days", int64(MaxSessionTTL/(24*time.Hour)))
	}
	return time.Duration(ttl) * u, nil
}

// Counter scopes: the counts and amounts the store keeps per scope and
// per UTC day for limit rules and budgets. A code of a campaign counts
// in its campaign's scopes only.
//
//	CounterCampaign(c)              every redemption of campaign c
//	CounterCampaignCustomer(c, u)   customer u's redemptions in campaign c
//	CounterVoucherCustomer(v, u)    customer u's redemptions of standalone voucher v
//	CounterVoucher(v)               every redemption of standalone voucher v
//	CounterCustomer(u)              customer u's redemptions anywhere
func CounterCampaign(campaignID string) string { return "c|" + campaignID }

// CounterCampaignCustomer: see CounterCampaign.
func CounterCampaignCustomer(campaignID, customerID string) string {
	return "c|" + campaignID + "|u|" + customerID
}

// CounterVoucherCustomer: see CounterCampaign.
func CounterVoucherCustomer(voucherID, customerID string) string {
	return "v|" + voucherID + "|u|" + customerID
}

// CounterVoucher: see CounterCampaign.
func CounterVoucher(voucherID string) string { return "v|" + voucherID }

// CounterCustomer: see CounterCampaign.
func CounterCustomer(customerID string) string { return "u|" + customerID }

// Day is the counters' day of t: days since the Unix epoch, UTC. Day 0 is
// never a real day here, so counters use it for all-time totals.
func Day(t time.Time) int64 { return t.UTC().Unix() / 86400 }

// AllTime is the counters' day of all-time totals.
const AllTime = 0

// Counter is a scope's count of successful redemptions (not rolled back),
// their discounts' sum and their orders' amounts' sum, for a day or all
// time.
type Counter struct {
	Count       int64
	Amount      int64
	OrderAmount int64
}

// IdempotentResult is the stored outcome of a request made with an
// Idempotency-Key: the request's hash, and the result or the error the
// first request got, as JSON.
type IdempotentResult struct {
	APIKeyID  string
	Key       string
	Hash      string
	Result    []byte
	Error     *Error
	CreatedAt Time
}

// RedemptionFilter selects redemptions and rollbacks.
type RedemptionFilter struct {
	ListParams
	CampaignID string
	CustomerID string
	VoucherID  string
	Result     string
	ParentID   string
	Created    TimeRange
}

// AttemptFilter selects attempts.
type AttemptFilter struct {
	ListParams
	Key        string
	CustomerID string
	ClientIP   string
	Result     string
	Created    TimeRange
}
