package promo

import "encoding/json"

// Async action types.
const (
	ActionGenerate       = "CAMPAIGN.VOUCHERS_GENERATE"
	ActionCampaignImport = "CAMPAIGN.VOUCHERS_IMPORT"
	ActionCampaignCSV    = "CAMPAIGN.VOUCHERS_IMPORT_CSV"
	ActionVoucherImport  = "VOUCHERS.IMPORT"
	ActionVoucherCSV     = "VOUCHERS.IMPORT_CSV"
)

// Async action statuses.
const (
	ActionEnqueued   = "ENQUEUED"
	ActionInProgress = "IN_PROGRESS"
	ActionDone       = "DONE"
	ActionFailed     = "FAILED"
)

// AsyncAction is work that runs after the request that asked for it: code
// generation and imports. Its Params are the job's input and its State the
// job's progress, written in the same transaction as the work it counts, so a
// job resumes where it stopped after a crash.
type AsyncAction struct {
	ID         string       `json:"id"`
	Type       string       `json:"type"`
	Status     string       `json:"status"`
	Result     ActionResult `json:"result"`
	Progress   int          `json:"progress"`
	CampaignID string       `json:"campaign_id,omitempty"`
	RequestID  string       `json:"request_id,omitempty"`
	CreatedAt  Time         `json:"created_at"`
	UpdatedAt  *Time        `json:"updated_at,omitempty"`
	// ProcessingTime is the milliseconds from start to end.
	ProcessingTime int64 `json:"processing_time"`

	APIKeyID string          `json:"-"` // who asked, for the audit log
	Params   json.RawMessage `json:"-"`
	State    json.RawMessage `json:"-"`
	// StartedAt is when a worker first took the action.
	StartedAt *Time `json:"-"`
	// LeaseUntil: the worker that took the action holds it until then, and
	// renews the lease as it goes; an expired lease lets another take it.
	LeaseUntil *Time `json:"-"`
}

// ActionResult is what an action did.
type ActionResult struct {
	Message     string       `json:"message"`
	DoneCount   int64        `json:"done_count"`
	FailedCount int64        `json:"failed_count"`
	Failed      []FailedCode `json:"failed,omitempty"`
}

// FailedCode is one code an import could not take, and why.
type FailedCode struct {
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// MaxFailedShown bounds the failures an action lists; FailedCount counts all.
const MaxFailedShown = 1000
