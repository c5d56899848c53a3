package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"promo/internal/promo"
)

const actionCols = `id, type, status, result, progress, campaign_id, request_id, api_key_id, params, state,
	created_at, updated_at, started_at, lease_until, processing_time`

func scanAction(sc scanner) (*promo.AsyncAction, error) {
	var (
		a                            promo.AsyncAction
		result                       []byte
		campaign, request, apiKey    *string
		params, state                []byte
		created                      int64
		updated, started, leaseUntil *int64
	)
	if err := sc.Scan(&a.ID, &a.Type, &a.Status, &result, &a.Progress, &campaign, &request, &apiKey, &params, &state,
		&created, &updated, &started, &leaseUntil, &a.ProcessingTime); err != nil {
		return nil, err
	}
	if err := unmarshal(result, &a.Result); err != nil {
		return nil, err
	}
	a.CampaignID, a.RequestID, a.APIKeyID = str(campaign), str(request), str(apiKey)
	if params != nil {
		a.Params = json.RawMessage(params)
	}
	if state != nil {
		a.State = json.RawMessage(state)
	}
	a.CreatedAt = promo.TimeFromMillis(created)
	a.UpdatedAt, a.StartedAt, a.LeaseUntil = timePtr(updated), timePtr(started), timePtr(leaseUntil)
	return &a, nil
}

// rawJSON stores an empty document as NULL.
func rawJSON(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return []byte(m)
}

// AsyncAction returns the action with ID id.
func (r reader) AsyncAction(ctx context.Context, id string) (*promo.AsyncAction, error) {
	a, err := scanAction(r.q.QueryRow(ctx, `SELECT `+actionCols+` FROM async_actions WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "async_action", id)
	}
	return a, nil
}

// AsyncActions lists actions by creation time.
func (r reader) AsyncActions(ctx context.Context, f promo.ActionFilter) ([]*promo.AsyncAction, int64, error) {
	var w where
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	order, args := w.page(f.ListParams, "created_at", "seq")
	as, err := list(ctx, r, `SELECT `+actionCols+` FROM async_actions`+w.String()+order, args, scanAction)
	if err != nil {
		return nil, 0, wrap(err, "list async actions")
	}
	n, err := r.count(ctx, "async_actions", &w)
	if err != nil {
		return nil, 0, wrap(err, "count async actions")
	}
	return as, n, nil
}

// CreateAsyncAction stores a, giving it an ID if it has none.
func (t *tx) CreateAsyncAction(ctx context.Context, a *promo.AsyncAction) error {
	if a.ID == "" {
		a.ID = promo.NewID(promo.PrefixAction)
	}
	result, err := marshal(a.Result)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `INSERT INTO async_actions (id, type, status, result, progress, campaign_id, request_id, api_key_id,
		params, state, created_at, updated_at, started_at, lease_until, processing_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		[]any{a.ID, a.Type, a.Status, result, a.Progress, nullString(a.CampaignID), nullString(a.RequestID), nullString(a.APIKeyID),
			rawJSON(a.Params), rawJSON(a.State), a.CreatedAt.Millis(), nullTime(a.UpdatedAt), nullTime(a.StartedAt),
			nullTime(a.LeaseUntil), a.ProcessingTime}, false, func(err error) error {
			if _, ok := uniqueViolation(err); ok {
				return duplicate(err, "async_action", a.ID)
			}
			return wrap(err, "create async action")
		})
}

// UpdateAsyncAction stores a's status, result, progress, state, lease and
// times.
func (t *tx) UpdateAsyncAction(ctx context.Context, a *promo.AsyncAction) error {
	result, err := marshal(a.Result)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `UPDATE async_actions SET status = $1, result = $2, progress = $3, state = $4,
		updated_at = $5, started_at = $6, lease_until = $7, processing_time = $8 WHERE id = $9`,
		[]any{a.Status, result, a.Progress, rawJSON(a.State), nullTime(a.UpdatedAt), nullTime(a.StartedAt), nullTime(a.LeaseUntil),
			a.ProcessingTime, a.ID}, true, affectedErr("update async action", "async_action", a.ID))
}

// claimSQL takes the oldest claimable action. Its first condition is the
// partial index async_actions_open's, so the queue is read from it and
// never from the whole history. SKIP LOCKED: workers on several nodes
// claiming at once each lock another action, or find none, instead of
// queueing for the same one.
const claimSQL = `UPDATE async_actions
	SET status = 'IN_PROGRESS', lease_until = $1, started_at = coalesce(started_at, $2)
	WHERE id = (SELECT id FROM async_actions
		WHERE status IN ('ENQUEUED', 'IN_PROGRESS') AND (status = 'ENQUEUED' OR lease_until < $2)
		ORDER BY created_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)
	RETURNING ` + actionCols

// ClaimAsyncAction takes the oldest claimable action: ENQUEUED, or
// IN_PROGRESS under a lease that ended before now (its worker died). It
// sets StartedAt the first time an action is taken. An IN_PROGRESS action
// without a lease is someone's and is never taken.
func (t *tx) ClaimAsyncAction(ctx context.Context, now, leaseUntil promo.Time) (*promo.AsyncAction, error) {
	a, err := scanAction(t.c.queryRowNow(ctx, claimSQL, leaseUntil.Millis(), now.Millis()))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, promo.Errorf(promo.ENotFound, "no async action is waiting")
	}
	if err != nil {
		return nil, wrap(err, "claim async action")
	}
	return a, nil
}

const auditCols = `id, time, api_key_id, action, resource_type, resource_id, campaign_id, voucher_id, details`

func scanAudit(sc scanner) (*promo.AuditEntry, error) {
	var (
		e                         promo.AuditEntry
		at                        int64
		apiKey, campaign, voucher *string
		details                   []byte
	)
	if err := sc.Scan(&e.ID, &at, &apiKey, &e.Action, &e.ResourceType, &e.ResourceID, &campaign, &voucher, &details); err != nil {
		return nil, err
	}
	e.Time = promo.TimeFromMillis(at)
	e.APIKeyID, e.CampaignID, e.VoucherID = str(apiKey), str(campaign), str(voucher)
	if details != nil {
		if err := unmarshal(details, &e.Details); err != nil {
			return nil, err
		}
	}
	return &e, nil
}

// Audit lists entries in the order they were appended.
func (r reader) Audit(ctx context.Context, f promo.AuditFilter) ([]*promo.AuditEntry, int64, error) {
	w := auditWhere(f)
	order, args := w.page(f.ListParams, "id")
	es, err := list(ctx, r, `SELECT `+auditCols+` FROM audit_log`+w.String()+order, args, scanAudit)
	if err != nil {
		return nil, 0, wrap(err, "list audit")
	}
	n, err := r.count(ctx, "audit_log", &w)
	if err != nil {
		return nil, 0, wrap(err, "count audit")
	}
	return es, n, nil
}

// auditWhere selects the entries of f: those that name the campaign (or
// voucher) in campaign_id (voucher_id), and those about it that name no
// campaign (voucher) there. An entry about a campaign names that campaign
// if any, so the two make every entry about it. The second term's
// conditions are those of the partial indexes on resource_id (migration
// 0008), which a read must imply for PostgreSQL to use them.
func auditWhere(f promo.AuditFilter) where {
	var w where
	if f.CampaignID != "" {
		w.add("(campaign_id = ? OR resource_type = 'campaign' AND campaign_id IS NULL AND resource_id = ?)", f.CampaignID, f.CampaignID)
	}
	if f.VoucherID != "" {
		w.add("(voucher_id = ? OR resource_type = 'voucher' AND voucher_id IS NULL AND resource_id = ?)", f.VoucherID, f.VoucherID)
	}
	return w
}

// AppendAudit appends e and sets its ID. IDs come from the table's
// sequence, in the order they are taken: usually here, in the round trip
// of the insert. A transaction that first looked up a key (a customer by
// source_id, say) took one ahead, in the round trip of that read, and its
// first entry takes that one and is sent with its next statement; it is
// ordered among others by its transaction's start, not its append, which
// is no further from the order entries become visible in, their
// transactions' commits.
func (t *tx) AppendAudit(ctx context.Context, e *promo.AuditEntry) error {
	var details any
	if e.Details != nil {
		b, err := marshal(e.Details)
		if err != nil {
			return err
		}
		details = b
	}
	args := []any{e.Time.Millis(), nullString(e.APIKeyID), e.Action, e.ResourceType, e.ResourceID, nullString(e.CampaignID),
		nullString(e.VoucherID), details}
	if id, ok := t.c.auditID(); ok {
		e.ID = id
		return t.c.exec(ctx, `INSERT INTO audit_log (time, api_key_id, action, resource_type, resource_id, campaign_id, voucher_id, details, id)
			OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, append(args, id), false, wrapErr("append audit"))
	}
	err := t.c.queryRowNow(ctx, `INSERT INTO audit_log (time, api_key_id, action, resource_type, resource_id, campaign_id, voucher_id, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, args...).Scan(&e.ID)
	return wrap(err, "append audit")
}

const apiKeyCols = `id, name, token_hash, created_at, revoked_at, kind, scopes, origins`

func scanAPIKey(sc scanner) (*promo.APIKey, error) {
	var (
		k       promo.APIKey
		created int64
		revoked *int64
	)
	var scopes, origins string
	if err := sc.Scan(&k.ID, &k.Name, &k.TokenHash, &created, &revoked, &k.Kind, &scopes, &origins); err != nil {
		return nil, err
	}
	k.Scopes, k.Origins = promo.SplitList(scopes), promo.SplitList(origins)
	k.CreatedAt, k.RevokedAt = promo.TimeFromMillis(created), timePtr(revoked)
	return &k, nil
}

// APIKey returns the key with ID id, revoked or not.
func (r reader) APIKey(ctx context.Context, id string) (*promo.APIKey, error) {
	k, err := scanAPIKey(r.q.QueryRow(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "api_key", id)
	}
	return k, nil
}

// APIKeys lists every key, oldest first.
func (r reader) APIKeys(ctx context.Context) ([]*promo.APIKey, error) {
	ks, err := list(ctx, r, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY created_at, seq`, nil, scanAPIKey)
	if err != nil {
		return nil, wrap(err, "list api keys")
	}
	return ks, nil
}

// CreateAPIKey stores k.
func (t *tx) CreateAPIKey(ctx context.Context, k *promo.APIKey) error {
	if k.ID == "" {
		k.ID = promo.NewID(promo.PrefixAPIKey)
	}
	return t.c.exec(ctx, `INSERT INTO api_keys (id, name, token_hash, created_at, revoked_at, kind, scopes, origins)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		[]any{k.ID, k.Name, k.TokenHash, k.CreatedAt.Millis(), nullTime(k.RevokedAt), keyKind(k), strings.Join(k.Scopes, ","),
			strings.Join(k.Origins, ",")}, false, func(err error) error {
			if _, ok := uniqueViolation(err); ok {
				return duplicate(err, "api_key", k.ID)
			}
			return wrap(err, "create api key")
		})
}

// keyKind is the kind a key is stored with: "" is secret.
func keyKind(k *promo.APIKey) string {
	if k.Kind == "" {
		return promo.KeySecret
	}
	return k.Kind
}

// RevokeAPIKey sets the key's RevokedAt. A key revoked twice keeps the time
// it was first revoked, when it stopped working.
func (t *tx) RevokeAPIKey(ctx context.Context, id string, at promo.Time) error {
	return t.c.exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2`, []any{at.Millis(), id}, true,
		affectedErr("revoke api key", "api_key", id))
}
