package postgres

import (
	"context"

	"promo/internal/promo"
)

const redemptionCols = `r.data, r.status, r.rollback_id`

// scanRedemption reads a redemption: its JSON, with the columns that
// change after it is written.
func scanRedemption(sc scanner) (*promo.Redemption, error) {
	var (
		data     []byte
		status   string
		rollback *string
	)
	if err := sc.Scan(&data, &status, &rollback); err != nil {
		return nil, err
	}
	var r promo.Redemption
	if err := unmarshal(data, &r); err != nil {
		return nil, err
	}
	r.Status, r.RollbackID = status, str(rollback)
	return &r, nil
}

// Redemption returns the redemption or rollback with ID id.
func (r reader) Redemption(ctx context.Context, id string) (*promo.Redemption, error) {
	red, err := scanRedemption(r.q.QueryRow(ctx, `SELECT `+redemptionCols+` FROM redemptions r WHERE r.id = $1`, id))
	if err != nil {
		return nil, notFound(err, "redemption", id)
	}
	return red, nil
}

// Redemptions lists redemptions in the order they were written.
func (r reader) Redemptions(ctx context.Context, f promo.RedemptionFilter) ([]*promo.Redemption, int64, error) {
	var w where
	if f.CampaignID != "" {
		w.add("r.campaign_id = ?", f.CampaignID)
	}
	if f.CustomerID != "" {
		w.add("r.customer_id = ?", f.CustomerID)
	}
	if f.VoucherID != "" {
		seq, ok := promo.VoucherSeq(f.VoucherID)
		if !ok {
			return []*promo.Redemption{}, 0, nil
		}
		w.add("r.voucher_seq = ?", seq)
	}
	if f.Result != "" {
		w.add("r.result = ?", f.Result)
	}
	if f.ParentID != "" {
		w.add("r.parent_id = ?", f.ParentID)
	}
	w.created("r.created_at", f.Created)
	total, err := r.count(ctx, "redemptions r", &w)
	if err != nil {
		return nil, 0, wrap(err, "list redemptions")
	}
	order, args := w.page(f.ListParams, "r.seq")
	out, err := list(ctx, r, `SELECT `+redemptionCols+` FROM redemptions r`+w.String()+order, args, scanRedemption)
	if err != nil {
		return nil, 0, wrap(err, "list redemptions")
	}
	return out, total, nil
}

// CreateRedemption stores a redemption or a rollback.
func (t *tx) CreateRedemption(ctx context.Context, red *promo.Redemption) error {
	data, err := marshal(red)
	if err != nil {
		return err
	}
	var voucherSeq any
	if seq, ok := promo.VoucherSeq(red.VoucherID); ok {
		voucherSeq = seq
	}
	return t.c.exec(ctx, `INSERT INTO redemptions (id, object, parent_id, redemption_id, rollback_id, result, status,
		voucher_seq, campaign_id, customer_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		[]any{red.ID, red.Object, nullString(red.ParentID), nullString(red.RedemptionID), nullString(red.RollbackID), red.Result, red.Status,
			voucherSeq, nullString(red.CampaignID), nullString(red.CustomerID), red.Date.Millis(), data}, false, func(err error) error {
			if _, ok := uniqueViolation(err); ok {
				return duplicate(err, "redemption", red.ID)
			}
			return wrap(err, "create redemption")
		})
}

// UpdateRedemption stores r's status and rollback.
func (t *tx) UpdateRedemption(ctx context.Context, red *promo.Redemption) error {
	return t.c.exec(ctx, `UPDATE redemptions SET status = $1, rollback_id = $2 WHERE id = $3`,
		[]any{red.Status, nullString(red.RollbackID), red.ID}, true, affectedErr("update redemption", "redemption", red.ID))
}

// sessionsSQL reads a voucher's session locks, live or not: a voucher
// has few, since PutSession drops its expired ones. LockVoucher reads
// them as this statement would, for the transaction to answer it.
const (
	sessionCols = `voucher_seq, key, quantity, expires_at, created_at`
	sessionsSQL = `SELECT ` + sessionCols + ` FROM sessions WHERE voucher_seq = $1 ORDER BY created_at, key`
)

// Sessions returns the voucher's live session locks.
func (r reader) Sessions(ctx context.Context, voucherSeq int64, now promo.Time) ([]*promo.Session, error) {
	all, err := list(ctx, r, sessionsSQL, []any{voucherSeq}, func(sc scanner) (*promo.Session, error) {
		var s promo.Session
		var expires, created int64
		if err := sc.Scan(&s.VoucherSeq, &s.Key, &s.Quantity, &expires, &created); err != nil {
			return nil, err
		}
		s.ExpiresAt, s.CreatedAt = promo.TimeFromMillis(expires), promo.TimeFromMillis(created)
		return &s, nil
	})
	if err != nil {
		return nil, wrap(err, "read sessions")
	}
	live := all[:0]
	for _, s := range all {
		if s.ExpiresAt.Millis() > now.Millis() {
			live = append(live, s)
		}
	}
	return live, nil
}

// PutSession stores a session lock, and drops the voucher's expired ones.
func (t *tx) PutSession(ctx context.Context, s *promo.Session) error {
	if err := t.c.exec(ctx, `DELETE FROM sessions WHERE voucher_seq = $1 AND expires_at <= $2`,
		[]any{s.VoucherSeq, s.CreatedAt.Millis()}, false, wrapErr("put session")); err != nil {
		return err
	}
	return t.c.exec(ctx, `INSERT INTO sessions (voucher_seq, key, quantity, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (voucher_seq, key) DO UPDATE SET quantity = excluded.quantity, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		[]any{s.VoucherSeq, s.Key, s.Quantity, s.ExpiresAt.Millis(), s.CreatedAt.Millis()}, false, wrapErr("put session"))
}

// DeleteSession deletes a session lock.
func (t *tx) DeleteSession(ctx context.Context, voucherSeq int64, key string) (bool, error) {
	tag, err := t.c.execNow(ctx, `DELETE FROM sessions WHERE voucher_seq = $1 AND key = $2`, voucherSeq, key)
	if err != nil {
		return false, wrap(err, "delete session")
	}
	return tag.RowsAffected() > 0, nil
}

// Attempts lists attempts, newest first.
func (r reader) Attempts(ctx context.Context, f promo.AttemptFilter) ([]*promo.Attempt, int64, error) {
	var w where
	if f.Key != "" {
		w.add("a.key = ?", f.Key)
	}
	if f.CustomerID != "" {
		w.add("a.customer_id = ?", f.CustomerID)
	}
	if f.ClientIP != "" {
		w.add("a.client_ip = ?", f.ClientIP)
	}
	if f.Result != "" {
		w.add("a.result = ?", f.Result)
	}
	w.created("a.created_at", f.Created)
	total, err := r.count(ctx, "attempts a", &w)
	if err != nil {
		return nil, 0, wrap(err, "list attempts")
	}
	order, args := w.page(f.ListParams, "a.seq")
	out, err := list(ctx, r, `SELECT a.data FROM attempts a`+w.String()+order, args,
		func(sc scanner) (*promo.Attempt, error) {
			var data []byte
			if err := sc.Scan(&data); err != nil {
				return nil, err
			}
			var a promo.Attempt
			return &a, unmarshal(data, &a)
		})
	if err != nil {
		return nil, 0, wrap(err, "list attempts")
	}
	return out, total, nil
}

// AppendAttempts stores attempts.
func (t *tx) AppendAttempts(ctx context.Context, as []*promo.Attempt) error {
	for _, a := range as {
		if a.ID == "" {
			a.ID = promo.NewID(promo.PrefixAttempt)
		}
		data, err := marshal(a)
		if err != nil {
			return err
		}
		if err := t.c.exec(ctx, `INSERT INTO attempts (id, created_at, kind, result, key, customer_id, client_ip, data)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, []any{a.ID, a.Time.Millis(), a.Kind, a.Result, nullString(a.Key),
			nullString(a.CustomerID), nullString(a.ClientIP), data}, false, wrapErr("append attempts")); err != nil {
			return err
		}
	}
	return nil
}

// Idempotent returns the stored outcome of a request.
func (r reader) Idempotent(ctx context.Context, apiKeyID, key string) (*promo.IdempotentResult, error) {
	var (
		res     promo.IdempotentResult
		errJSON []byte
		created int64
	)
	err := r.q.QueryRow(ctx, `SELECT api_key_id, key, hash, result, error, created_at FROM idempotency WHERE api_key_id = $1 AND key = $2`,
		apiKeyID, key).Scan(&res.APIKeyID, &res.Key, &res.Hash, &res.Result, &errJSON, &created)
	if err != nil {
		return nil, notFound(err, "idempotency_key", key)
	}
	res.CreatedAt = promo.TimeFromMillis(created)
	if errJSON != nil {
		var e storedError
		if err := unmarshal(errJSON, &e); err != nil {
			return nil, err
		}
		res.Error = &promo.Error{Code: e.Code, Message: e.Message, Details: e.Details, ResourceID: e.ResourceID, ResourceType: e.ResourceType}
	}
	return &res, nil
}

// storedError is what an idempotent outcome keeps of an error: what its
// client saw.
type storedError struct {
	Code         string `json:"code"`
	Message      string `json:"message,omitempty"`
	Details      string `json:"details,omitempty"`
	ResourceID   string `json:"resource_id,omitempty"`
	ResourceType string `json:"resource_type,omitempty"`
}

// PutIdempotent stores the outcome of a request.
func (t *tx) PutIdempotent(ctx context.Context, res *promo.IdempotentResult) error {
	var errJSON any
	if e := res.Error; e != nil {
		b, err := marshal(storedError{Code: e.Code, Message: e.Message, Details: e.Details, ResourceID: e.ResourceID, ResourceType: e.ResourceType})
		if err != nil {
			return err
		}
		errJSON = b
	}
	return t.c.exec(ctx, `INSERT INTO idempotency (api_key_id, key, hash, result, error, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		[]any{res.APIKeyID, res.Key, res.Hash, res.Result, errJSON, res.CreatedAt.Millis()}, false, func(err error) error {
			if _, ok := uniqueViolation(err); ok {
				return duplicate(err, "idempotency_key", res.Key)
			}
			return wrap(err, "put idempotent result")
		})
}

// ValidationRule returns the rule with ID id.
func (r reader) ValidationRule(ctx context.Context, id string) (*promo.ValidationRule, error) {
	rule, err := scanRule(r.q.QueryRow(ctx, `SELECT data FROM validation_rules WHERE id = $1`, id))
	if err != nil {
		return nil, notFound(err, "validation_rule", id)
	}
	return rule, nil
}

func scanRule(sc scanner) (*promo.ValidationRule, error) {
	var data []byte
	if err := sc.Scan(&data); err != nil {
		return nil, err
	}
	var rule promo.ValidationRule
	if err := unmarshal(data, &rule); err != nil {
		return nil, err
	}
	return &rule, nil
}

// ValidationRules lists rules.
func (r reader) ValidationRules(ctx context.Context, p promo.ListParams) ([]*promo.ValidationRule, int64, error) {
	var w where
	total, err := r.count(ctx, "validation_rules", &w)
	if err != nil {
		return nil, 0, wrap(err, "list validation rules")
	}
	order, args := w.page(p, "seq")
	out, err := list(ctx, r, `SELECT data FROM validation_rules`+order, args, scanRule)
	if err != nil {
		return nil, 0, wrap(err, "list validation rules")
	}
	return out, total, nil
}

func scanAssignment(sc scanner) (*promo.ValidationRuleAssignment, error) {
	var a promo.ValidationRuleAssignment
	var created int64
	if err := sc.Scan(&a.ID, &a.RuleID, &a.RelatedObjectType, &a.RelatedObjectID, &created); err != nil {
		return nil, err
	}
	a.CreatedAt = promo.TimeFromMillis(created)
	return &a, nil
}

// RuleAssignments lists assignments.
func (r reader) RuleAssignments(ctx context.Context, ruleID, objectID string, p promo.ListParams) ([]*promo.ValidationRuleAssignment, int64, error) {
	var w where
	if ruleID != "" {
		w.add("rule_id = ?", ruleID)
	}
	if objectID != "" {
		w.add("object_id = ?", objectID)
	}
	total, err := r.count(ctx, "rule_assignments", &w)
	if err != nil {
		return nil, 0, wrap(err, "list rule assignments")
	}
	order, args := w.page(p, "seq")
	out, err := list(ctx, r, `SELECT id, rule_id, object_type, object_id, created_at FROM rule_assignments`+w.String()+order,
		args, scanAssignment)
	if err != nil {
		return nil, 0, wrap(err, "list rule assignments")
	}
	return out, total, nil
}

// rulesOfSQL reads the rules assigned to any of the objects $1. LockVoucher
// reads those of its voucher and campaign as this statement would, for the
// transaction to answer it.
const rulesOfSQL = `SELECT r.data FROM validation_rules r JOIN
	(SELECT rule_id, min(seq) AS first FROM rule_assignments WHERE object_id = ANY($1) GROUP BY rule_id) a
	ON a.rule_id = r.id ORDER BY a.first`

// RulesOf returns the rules assigned to any of objectIDs, each once, in
// the order of its first assignment to one of them.
func (r reader) RulesOf(ctx context.Context, objectIDs ...string) ([]*promo.ValidationRule, error) {
	if len(objectIDs) == 0 {
		return []*promo.ValidationRule{}, nil
	}
	out, err := list(ctx, r, rulesOfSQL, []any{objectIDs}, scanRule)
	return out, wrap(err, "read rules")
}

// CreateValidationRule stores a new rule.
func (t *tx) CreateValidationRule(ctx context.Context, rule *promo.ValidationRule) error {
	data, err := marshal(rule)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `INSERT INTO validation_rules (id, created_at, data) VALUES ($1, $2, $3)`, []any{rule.ID, rule.CreatedAt.Millis(), data},
		false, func(err error) error {
			if _, ok := uniqueViolation(err); ok {
				return duplicate(err, "validation_rule", rule.ID)
			}
			return wrap(err, "create validation rule")
		})
}

// UpdateValidationRule stores a rule over the one with its ID.
func (t *tx) UpdateValidationRule(ctx context.Context, rule *promo.ValidationRule) error {
	data, err := marshal(rule)
	if err != nil {
		return err
	}
	return t.c.exec(ctx, `UPDATE validation_rules SET data = $1 WHERE id = $2`, []any{data, rule.ID}, true,
		affectedErr("update validation rule", "validation_rule", rule.ID))
}

// DeleteValidationRule deletes a rule; its assignments go with it.
func (t *tx) DeleteValidationRule(ctx context.Context, id string) error {
	return t.c.exec(ctx, `DELETE FROM validation_rules WHERE id = $1`, []any{id}, true,
		affectedErr("delete validation rule", "validation_rule", id))
}

// CreateRuleAssignment stores an assignment.
func (t *tx) CreateRuleAssignment(ctx context.Context, a *promo.ValidationRuleAssignment) error {
	return t.c.exec(ctx, `INSERT INTO rule_assignments (id, rule_id, object_type, object_id, created_at) VALUES ($1, $2, $3, $4, $5)`,
		[]any{a.ID, a.RuleID, a.RelatedObjectType, a.RelatedObjectID, a.CreatedAt.Millis()}, false, func(err error) error {
			if _, ok := uniqueViolation(err); ok {
				e := promo.Errorf(promo.EDuplicateFound, "validation rule %s is assigned to %s already", a.RuleID, a.RelatedObjectID)
				e.ResourceID, e.ResourceType, e.Err = a.RelatedObjectID, a.RelatedObjectType, err
				return e
			}
			return wrap(err, "create rule assignment")
		})
}
