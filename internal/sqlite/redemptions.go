package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strings"

	"promo/internal/promo"
)

const redemptionCols = `r.data, r.status, r.rollback_id`

// scanRedemption reads a redemption: its JSON, with the columns that
// change after it is written.
func scanRedemption(sc scanner) (*promo.Redemption, error) {
	var (
		data     []byte
		status   string
		rollback sql.NullString
	)
	if err := sc.Scan(&data, &status, &rollback); err != nil {
		return nil, err
	}
	var r promo.Redemption
	if err := unmarshal(data, &r); err != nil {
		return nil, err
	}
	r.Status, r.RollbackID = status, rollback.String
	return &r, nil
}

// Redemption returns the redemption or rollback with ID id.
func (r reader) Redemption(ctx context.Context, id string) (*promo.Redemption, error) {
	red, err := scanRedemption(r.c.queryRow(ctx, `SELECT `+redemptionCols+` FROM redemptions r WHERE r.id = ?`, id))
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
	order, args := page(f.ListParams, "r.seq")
	out, err := list(ctx, r, `SELECT `+redemptionCols+` FROM redemptions r`+w.String()+order, append(w.args, args...), scanRedemption)
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
	_, err = t.c.exec(ctx, `INSERT INTO redemptions (id, object, parent_id, redemption_id, rollback_id, result, status,
		voucher_seq, campaign_id, customer_id, created_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		red.ID, red.Object, nullString(red.ParentID), nullString(red.RedemptionID), nullString(red.RollbackID), red.Result, red.Status,
		voucherSeq, nullString(red.CampaignID), nullString(red.CustomerID), red.Date.Millis(), data)
	if _, ok := uniqueViolation(err); ok {
		e := promo.Duplicate("redemption", red.ID)
		e.Err = err
		return e
	}
	return wrap(err, "create redemption")
}

// UpdateRedemption stores r's status and rollback.
func (t *tx) UpdateRedemption(ctx context.Context, red *promo.Redemption) error {
	return t.execOne(ctx, "update redemption", "redemption", red.ID, `UPDATE redemptions SET status = ?, rollback_id = ? WHERE id = ?`,
		red.Status, nullString(red.RollbackID), red.ID)
}

// Counter returns a scope's counters from fromDay on, or all time.
func (r reader) Counter(ctx context.Context, scope string, fromDay int64) (promo.Counter, error) {
	// A scope has a row per day (AllTime, 0, holds what was added for no
	// day), so its all-time total is the sum of its rows from day 0.
	var c promo.Counter
	err := r.c.queryRow(ctx, `SELECT coalesce(sum(count), 0), coalesce(sum(amount), 0), coalesce(sum(order_amount), 0)
		FROM redemption_counters WHERE scope = ? AND day >= ?`, scope, fromDay).Scan(&c.Count, &c.Amount, &c.OrderAmount)
	if err != nil {
		return c, wrap(err, "read counter")
	}
	return c, nil
}

// AddCounters adds delta to the counters of scopes for day, which counts
// for all time too (see Counter), in one statement: OR FAIL, for no
// statement journal (see attemptRows).
func (t *tx) AddCounters(ctx context.Context, day int64, delta promo.Counter, scopes ...string) error {
	if len(scopes) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT OR FAIL INTO redemption_counters (scope, day, count, amount, order_amount) VALUES (?, ?, ?, ?, ?)`)
	args := make([]any, 0, 5*len(scopes))
	for i, s := range scopes {
		if i > 0 {
			b.WriteString(`, (?, ?, ?, ?, ?)`)
		}
		args = append(args, s, day, delta.Count, delta.Amount, delta.OrderAmount)
	}
	b.WriteString(` ON CONFLICT (scope, day) DO UPDATE SET count = count + excluded.count,
		amount = amount + excluded.amount, order_amount = order_amount + excluded.order_amount`)
	_, err := t.c.exec(ctx, b.String(), args...)
	return wrap(err, "add counters")
}

// Sessions returns the voucher's live session locks.
func (r reader) Sessions(ctx context.Context, voucherSeq int64, now promo.Time) ([]*promo.Session, error) {
	out, err := list(ctx, r, `SELECT voucher_seq, key, quantity, expires_at, created_at FROM sessions
		WHERE voucher_seq = ? AND expires_at > ? ORDER BY created_at`, []any{voucherSeq, now.Millis()},
		func(sc scanner) (*promo.Session, error) {
			var s promo.Session
			var expires, created int64
			if err := sc.Scan(&s.VoucherSeq, &s.Key, &s.Quantity, &expires, &created); err != nil {
				return nil, err
			}
			s.ExpiresAt, s.CreatedAt = promo.TimeFromMillis(expires), promo.TimeFromMillis(created)
			return &s, nil
		})
	return out, wrap(err, "read sessions")
}

// PutSession stores a session lock, and drops the voucher's expired ones.
func (t *tx) PutSession(ctx context.Context, s *promo.Session) error {
	if _, err := t.c.exec(ctx, `DELETE FROM sessions WHERE voucher_seq = ? AND expires_at <= ?`, s.VoucherSeq, s.CreatedAt.Millis()); err != nil {
		return wrap(err, "put session")
	}
	_, err := t.c.exec(ctx, `INSERT INTO sessions (voucher_seq, key, quantity, expires_at, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (voucher_seq, key) DO UPDATE SET quantity = excluded.quantity, expires_at = excluded.expires_at, created_at = excluded.created_at`,
		s.VoucherSeq, s.Key, s.Quantity, s.ExpiresAt.Millis(), s.CreatedAt.Millis())
	return wrap(err, "put session")
}

// DeleteSession deletes a session lock.
func (t *tx) DeleteSession(ctx context.Context, voucherSeq int64, key string) (bool, error) {
	res, err := t.c.exec(ctx, `DELETE FROM sessions WHERE voucher_seq = ? AND key = ?`, voucherSeq, key)
	if err != nil {
		return false, wrap(err, "delete session")
	}
	n, err := res.RowsAffected()
	return n > 0, wrap(err, "delete session")
}

// LockVoucher returns the voucher with key key. The writer connection is
// the only one that writes, so a voucher read in an Update cannot change
// before it commits.
func (t *tx) LockVoucher(ctx context.Context, key string) (*promo.Voucher, error) {
	return t.VoucherByKey(ctx, key)
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
	order, args := page(f.ListParams, "a.seq")
	out, err := list(ctx, r, `SELECT a.data FROM attempts a`+w.String()+order, append(w.args, args...),
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

// attemptRows is the most attempts one INSERT carries. A batch goes in
// statements of attemptRows, then of the powers of two below it, so that
// a few statement shapes cover every length and a batch of validations'
// attempts costs a few statements instead of one per attempt.
//
// The INSERTs are OR FAIL: a statement of many rows that could abort
// halfway makes SQLite keep a statement journal, a copy of every page
// before the statement first changes it (1.7% of the CPU of a validation,
// in BenchmarkValidate's profile), to undo the rows already in. Nothing
// here can fail halfway but a write error, after which the writer rolls
// the whole transaction back anyway.
const attemptRows = 64

const attemptCols = 8

// AppendAttempts stores attempts.
func (t *tx) AppendAttempts(ctx context.Context, as []*promo.Attempt) error {
	args := make([]any, 0, attemptCols*min(len(as), attemptRows))
	for len(as) > 0 {
		n := attemptRows
		for n > len(as) {
			n /= 2
		}
		args = args[:0]
		for _, a := range as[:n] {
			if a.ID == "" {
				a.ID = promo.NewID(promo.PrefixAttempt)
			}
			data, err := marshal(a)
			if err != nil {
				return err
			}
			args = append(args, a.ID, a.Time.Millis(), a.Kind, a.Result, nullString(a.Key),
				nullString(a.CustomerID), nullString(a.ClientIP), data)
		}
		if _, err := t.c.exec(ctx, attemptInsert(n), args...); err != nil {
			return wrap(err, "append attempts")
		}
		as = as[n:]
	}
	return nil
}

// attemptInserts are the statements that insert 1, 2, 4 ... attemptRows
// attempts.
var attemptInserts = func() map[int]string {
	m := map[int]string{}
	row := "(?" + strings.Repeat(", ?", attemptCols-1) + ")"
	for n := 1; n <= attemptRows; n *= 2 {
		m[n] = `INSERT OR FAIL INTO attempts (id, created_at, kind, result, key, customer_id, client_ip, data) VALUES ` +
			row + strings.Repeat(", "+row, n-1)
	}
	return m
}()

func attemptInsert(n int) string { return attemptInserts[n] }

// Idempotent returns the stored outcome of a request.
func (r reader) Idempotent(ctx context.Context, apiKeyID, key string) (*promo.IdempotentResult, error) {
	var (
		res     promo.IdempotentResult
		errJSON sql.NullString
		created int64
	)
	err := r.c.queryRow(ctx, `SELECT api_key_id, key, hash, result, error, created_at FROM idempotency WHERE api_key_id = ? AND key = ?`,
		apiKeyID, key).Scan(&res.APIKeyID, &res.Key, &res.Hash, &res.Result, &errJSON, &created)
	if err != nil {
		return nil, notFound(err, "idempotency_key", key)
	}
	res.CreatedAt = promo.TimeFromMillis(created)
	if errJSON.Valid {
		var e storedError
		if err := unmarshal([]byte(errJSON.String), &e); err != nil {
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
		s, err := marshal(storedError{Code: e.Code, Message: e.Message, Details: e.Details, ResourceID: e.ResourceID, ResourceType: e.ResourceType})
		if err != nil {
			return err
		}
		errJSON = s
	}
	_, err := t.c.exec(ctx, `INSERT INTO idempotency (api_key_id, key, hash, result, error, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		res.APIKeyID, res.Key, res.Hash, res.Result, errJSON, res.CreatedAt.Millis())
	if _, ok := uniqueViolation(err); ok {
		e := promo.Duplicate("idempotency_key", res.Key)
		e.Err = err
		return e
	}
	return wrap(err, "put idempotent result")
}

// ValidationRule returns the rule with ID id.
func (r reader) ValidationRule(ctx context.Context, id string) (*promo.ValidationRule, error) {
	rule, err := scanRule(r.c.queryRow(ctx, `SELECT data FROM validation_rules WHERE id = ?`, id))
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
	order, args := page(p, "seq")
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
	order, args := page(p, "seq")
	out, err := list(ctx, r, `SELECT id, rule_id, object_type, object_id, created_at FROM rule_assignments`+w.String()+order,
		append(w.args, args...), scanAssignment)
	if err != nil {
		return nil, 0, wrap(err, "list rule assignments")
	}
	return out, total, nil
}

// RulesOf returns the rules assigned to any of objectIDs, each once, in
// the order of its first assignment to one of them.
func (r reader) RulesOf(ctx context.Context, objectIDs ...string) ([]*promo.ValidationRule, error) {
	if len(objectIDs) == 0 {
		return []*promo.ValidationRule{}, nil
	}
	cache := r.cached(kindRules)
	var (
		gen uint64
		key string
	)
	if cache != nil {
		key = rulesKey(objectIDs)
		if rs, ok := cache.rulesOf(key); ok {
			return rs, nil
		}
		gen = cache.generation(kindRules)
		assigned, err := r.assignedObjects(ctx, cache, gen)
		if err != nil {
			return nil, err
		}
		if assigned != nil {
			// Objects without assignments add nothing to the answer.
			objectIDs = slices.DeleteFunc(slices.Clone(objectIDs), func(id string) bool {
				_, ok := assigned[id]
				return !ok
			})
			if len(objectIDs) == 0 {
				out := []*promo.ValidationRule{}
				cache.putRules(gen, key, out)
				return out, nil
			}
		}
	}
	args := make([]any, len(objectIDs))
	for i, id := range objectIDs {
		args[i] = id
	}
	marks := strings.Repeat(", ?", len(objectIDs))[2:]
	out, err := list(ctx, r, `SELECT r.data FROM validation_rules r JOIN
		(SELECT rule_id, min(seq) AS first FROM rule_assignments WHERE object_id IN (`+marks+`) GROUP BY rule_id) a
		ON a.rule_id = r.id ORDER BY a.first`, args, scanRule)
	if err != nil {
		return nil, wrap(err, "read rules")
	}
	if cache != nil {
		cache.putRules(gen, key, out)
	}
	return out, nil
}

// maxAssignedObjects bounds the objects with rules that the read cache
// keeps the IDs of; with more, RulesOf asks the file each time.
const maxAssignedObjects = maxCached

// assignedObjects returns the IDs of the objects with rules assigned, from
// the cache or read into it at generation gen; nil when there are too many
// to keep.
func (r reader) assignedObjects(ctx context.Context, cache *readCache, gen uint64) (map[string]struct{}, error) {
	if assigned, ok := cache.assignedTo(); ok {
		return assigned, nil
	}
	ids, err := list(ctx, r, `SELECT DISTINCT object_id FROM rule_assignments LIMIT ?`, []any{maxAssignedObjects + 1},
		func(sc scanner) (string, error) {
			var id string
			return id, sc.Scan(&id)
		})
	if err != nil {
		return nil, wrap(err, "read rule assignments")
	}
	if len(ids) > maxAssignedObjects {
		return nil, nil
	}
	assigned := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		assigned[id] = struct{}{}
	}
	cache.putAssigned(gen, assigned)
	return assigned, nil
}

// CreateValidationRule stores a new rule.
func (t *tx) CreateValidationRule(ctx context.Context, rule *promo.ValidationRule) error {
	t.ch.rules = true
	data, err := marshal(rule)
	if err != nil {
		return err
	}
	_, err = t.c.exec(ctx, `INSERT INTO validation_rules (id, created_at, data) VALUES (?, ?, ?)`, rule.ID, rule.CreatedAt.Millis(), data)
	if _, ok := uniqueViolation(err); ok {
		e := promo.Duplicate("validation_rule", rule.ID)
		e.Err = err
		return e
	}
	return wrap(err, "create validation rule")
}

// UpdateValidationRule stores a rule over the one with its ID.
func (t *tx) UpdateValidationRule(ctx context.Context, rule *promo.ValidationRule) error {
	t.ch.rules = true
	data, err := marshal(rule)
	if err != nil {
		return err
	}
	return t.execOne(ctx, "update validation rule", "validation_rule", rule.ID, `UPDATE validation_rules SET data = ? WHERE id = ?`, data, rule.ID)
}

// DeleteValidationRule deletes a rule; its assignments go with it.
func (t *tx) DeleteValidationRule(ctx context.Context, id string) error {
	t.ch.rules = true
	return t.execOne(ctx, "delete validation rule", "validation_rule", id, `DELETE FROM validation_rules WHERE id = ?`, id)
}

// CreateRuleAssignment stores an assignment.
func (t *tx) CreateRuleAssignment(ctx context.Context, a *promo.ValidationRuleAssignment) error {
	t.ch.rules = true
	_, err := t.c.exec(ctx, `INSERT INTO rule_assignments (id, rule_id, object_type, object_id, created_at) VALUES (?, ?, ?, ?, ?)`,
		a.ID, a.RuleID, a.RelatedObjectType, a.RelatedObjectID, a.CreatedAt.Millis())
	if _, ok := uniqueViolation(err); ok {
		e := promo.Errorf(promo.EDuplicateFound, "validation rule %s is assigned to %s already", a.RuleID, a.RelatedObjectID)
		e.ResourceID, e.ResourceType, e.Err = a.RelatedObjectID, a.RelatedObjectType, err
		return e
	}
	return wrap(err, "create rule assignment")
}
