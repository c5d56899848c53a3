package engine

import (
	"context"
	"fmt"
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"time"

	"promo/internal/promo"
)

// LeakOptions say when a code meant for one customer counts as leaked: when
// more than MaxCustomers distinct customers, or more than MaxIPs distinct
// client IPs, try it within Window. A single-use code (quantity 1) and a
// code published to a customer are meant for one. Disable disables a
// leaked code as well as flagging it.
type LeakOptions struct {
	Window       time.Duration // default 10 minutes
	MaxCustomers int           // default 5
	MaxIPs       int           // default 5
	Disable      bool
}

func (o *LeakOptions) defaults() {
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	if o.MaxCustomers <= 0 {
		o.MaxCustomers = 5
	}
	if o.MaxIPs <= 0 {
		o.MaxIPs = 5
	}
}

// Blocklist cache: every validation and redemption checks the blocklist, so
// it is read from the store at most every blockTTL (a change shows on every
// node within that) and matched in memory.
const blockTTL = 2 * time.Second

type blocklist struct {
	mu       sync.Mutex
	read     time.Time
	values   map[string]*promo.BlockEntry // kind + "|" + value, customers
	prefixes []netip.Prefix
	ipEntry  []*promo.BlockEntry // the entries of prefixes
	emails   bool                // some entry blocks an email
}

// currentBlocklist returns the blocklist, read again from the store when
// it is older than blockTTL. The store is read without the lock held, so
// that validations go on meanwhile with the previous list.
func (e *Engine) currentBlocklist(ctx context.Context) (*blocklist, error) {
	b := &e.blocks
	now := time.Now() // a cache age, not domain time
	b.mu.Lock()
	fresh := !b.read.IsZero() && now.Sub(b.read) < blockTTL
	b.mu.Unlock()
	if fresh {
		return b, nil
	}
	entries, err := e.store.Blocklist(ctx)
	if err != nil {
		return nil, err
	}
	values, emails := make(map[string]*promo.BlockEntry), false
	var prefixes []netip.Prefix
	var ipEntry []*promo.BlockEntry
	for _, en := range entries {
		if en.Kind == promo.BlockIP {
			p, err := netip.ParsePrefix(en.Value)
			if err != nil {
				a, err := netip.ParseAddr(en.Value)
				if err != nil {
					continue // checked when added; an unreadable entry blocks nothing
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			prefixes, ipEntry = append(prefixes, p), append(ipEntry, en)
			continue
		}
		values[en.Kind+"|"+en.Value] = en
		emails = emails || en.Kind == promo.BlockCustomerEmail
	}
	b.mu.Lock()
	b.values, b.prefixes, b.ipEntry, b.emails, b.read = values, prefixes, ipEntry, emails, now
	b.mu.Unlock()
	return b, nil
}

// Blocked returns the blocklist entry that refuses a validation or
// redemption from client IP ip for customer c (either may be empty), or
// nil. A customer known by ID or source_id is blocked by its stored email
// too.
func (e *Engine) Blocked(ctx context.Context, ip string, c *CustomerInput) (*promo.BlockEntry, error) {
	b, err := e.currentBlocklist(ctx)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ip != "" && len(b.prefixes) > 0 {
		if a, err := netip.ParseAddr(ip); err == nil {
			a = a.Unmap()
			for i, p := range b.prefixes {
				if p.Contains(a) {
					return b.ipEntry[i], nil
				}
			}
		}
	}
	if c == nil || len(b.values) == 0 {
		return nil, nil
	}
	var src, email string
	if c.SourceID != nil {
		src = *c.SourceID
	}
	if c.Email != nil {
		email = strings.ToLower(*c.Email)
	}
	for _, k := range []string{promo.BlockCustomerID + "|" + c.ID, promo.BlockCustomerSourceID + "|" + src, promo.BlockCustomerEmail + "|" + email} {
		if en := b.values[k]; en != nil && !strings.HasSuffix(k, "|") {
			return en, nil
		}
	}
	if b.emails && email == "" && (c.ID != "" || src != "") {
		key := c.ID
		if key == "" {
			key = src
		}
		stored, err := e.store.Customer(ctx, key)
		if err == nil && stored.Email != "" {
			if en := b.values[promo.BlockCustomerEmail+"|"+strings.ToLower(stored.Email)]; en != nil {
				return en, nil
			}
		}
	}
	return nil, nil
}

// AddBlock adds an entry to the blocklist.
func (e *Engine) AddBlock(ctx context.Context, in promo.BlockEntry) (*promo.BlockEntry, error) {
	b := in
	if err := promo.CheckBlock(&b); err != nil {
		return nil, err
	}
	if len(b.Reason) > 1000 {
		return nil, invalid(promo.EInvalidPayload, "reason is longer than 1000 bytes")
	}
	b.ID, b.CreatedAt = promo.NewID(promo.PrefixBlock), e.Now()
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		if err := tx.CreateBlockEntry(ctx, &b); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditCreated, ResourceType: "block_entry", ResourceID: b.ID,
			Details: promo.Metadata{"kind": b.Kind, "value": b.Value, "reason": b.Reason}})
	})
	if err != nil {
		return nil, err
	}
	e.blocks.mu.Lock()
	e.blocks.read = time.Time{} // this node reads the list again at the next check
	e.blocks.mu.Unlock()
	return &b, nil
}

// RemoveBlock deletes an entry from the blocklist; ENotFound.
func (e *Engine) RemoveBlock(ctx context.Context, id string) error {
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		if err := tx.DeleteBlockEntry(ctx, id); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditDeleted, ResourceType: "block_entry", ResourceID: id})
	})
	if err == nil {
		e.blocks.mu.Lock()
		e.blocks.read = time.Time{}
		e.blocks.mu.Unlock()
	}
	return err
}

// watch looks at the codes of a validation or redemption for canaries and
// leaks, and flags them. It never fails the request: a flag that cannot be
// stored is logged.
func (e *Engine) watch(ctx context.Context, in *RedeemRequest, val *Validation, now promo.Time) {
	for _, res := range val.Redeemables {
		switch {
		case res.canary != nil:
			e.raise(ctx, promo.FlagCanary, res.canary, false, attemptDetails(ctx, in, res))
		case res.Voucher != nil && meantForOne(res.Voucher):
			if customers, ips, leaked := e.leaks.observe(res.Voucher.Key, customerKey(in), in.ClientIP, now.Time, e.opt.Leaks); leaked {
				d := attemptDetails(ctx, in, res)
				d["distinct_customers"], d["distinct_ips"], d["window"] = customers, ips, e.opt.Leaks.Window.String()
				e.raise(ctx, promo.FlagLeak, res.Voucher, e.opt.Leaks.Disable, d)
			}
		}
	}
}

// meantForOne reports whether a code is for one customer: single-use, or
// published to a holder.
func meantForOne(v *promo.Voucher) bool {
	q := v.Template.Redemption.Quantity
	return v.HolderID != "" || q != nil && *q == 1
}

func customerKey(in *RedeemRequest) string {
	switch c := in.Customer; {
	case c == nil:
		return ""
	case c.ID != "":
		return "id|" + c.ID
	case c.SourceID != nil:
		return "src|" + *c.SourceID
	}
	return ""
}

// attemptDetails are what a flag tells of the attempt that raised it.
func attemptDetails(ctx context.Context, in *RedeemRequest, res *RedeemableResult) promo.Metadata {
	d := promo.Metadata{"input": res.Input.ID, "api_key_id": promo.APIKeyFromContext(ctx), "request_id": promo.RequestIDFromContext(ctx)}
	if in.ClientIP != "" {
		d["client_ip"] = in.ClientIP
	}
	if k := customerKey(in); k != "" {
		d["customer"] = k
	}
	return d
}

// raise stores a flag about v, with an audit entry, and disables v when
// disable says so, in one transaction.
func (e *Engine) raise(ctx context.Context, kind string, v *promo.Voucher, disable bool, details promo.Metadata) {
	now := e.Now()
	f := &promo.Flag{ID: promo.NewID(promo.PrefixFlag), Kind: kind, VoucherID: v.ID, Code: v.Code, Details: details, CreatedAt: now}
	err := e.store.Update(context.WithoutCancel(ctx), func(tx promo.Tx) error {
		f.Disabled = false
		if disable {
			cur, err := tx.LockVoucher(ctx, v.Key)
			if err != nil {
				return err
			}
			if cur.Active {
				cur.Active, cur.UpdatedAt = false, &now
				if err := tx.UpdateVoucher(ctx, cur); err != nil {
					return err
				}
				f.Disabled = true
				if err := e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditDisabled, ResourceType: "voucher", ResourceID: v.ID,
					CampaignID: v.CampaignID, VoucherID: v.ID, Details: promo.Metadata{"reason": "flagged: " + kind}}); err != nil {
					return err
				}
			}
		}
		if err := tx.CreateFlag(ctx, f); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditFlagged, ResourceType: "voucher", ResourceID: v.ID,
			CampaignID: v.CampaignID, VoucherID: v.ID, Details: promo.Metadata{"flag_id": f.ID, "kind": kind, "details": details}})
	})
	if err != nil {
		e.log.Error("a flag could not be stored", "kind", kind, "code", v.Code, "err", err)
		return
	}
	e.log.Warn("code flagged", "kind", kind, "code", v.Code, "disabled", f.Disabled, "flag_id", f.ID)
}

// leakWatch remembers, per code meant for one customer, the distinct
// customers and client IPs that tried it within the leak window, up to one
// more than each threshold, and whether it was flagged in the window. It
// holds at most maxWatched codes; past that it starts afresh, forgetting
// partial counts rather than growing without bound in a flood.
type leakWatch struct {
	mu    sync.Mutex
	seed  maphash.Seed
	codes map[string]*codeWatch
}

const maxWatched = 1 << 16

type codeWatch struct {
	since     time.Time // the window's start
	customers []uint64  // hashes of distinct customers
	ips       []uint64
	flagged   bool
}

// observe records an attempt on a code and reports the distinct customers
// and IPs of its window, and whether this attempt crossed a threshold
// (true once per window).
func (w *leakWatch) observe(code, customer, ip string, now time.Time, o LeakOptions) (int, int, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.codes == nil || len(w.codes) >= maxWatched {
		w.codes, w.seed = make(map[string]*codeWatch), maphash.MakeSeed()
	}
	c := w.codes[code]
	if c == nil || now.Sub(c.since) >= o.Window {
		c = &codeWatch{since: now}
		w.codes[code] = c
	}
	add := func(set []uint64, s string, max int) []uint64 {
		if s == "" || len(set) > max {
			return set
		}
		h := maphash.String(w.seed, s)
		for _, x := range set {
			if x == h {
				return set
			}
		}
		return append(set, h)
	}
	c.customers = add(c.customers, customer, o.MaxCustomers)
	c.ips = add(c.ips, ip, o.MaxIPs)
	if c.flagged || (len(c.customers) <= o.MaxCustomers && len(c.ips) <= o.MaxIPs) {
		return len(c.customers), len(c.ips), false
	}
	c.flagged = true
	return len(c.customers), len(c.ips), true
}

// Flags lists flags.
func (e *Engine) Flags(ctx context.Context, f promo.FlagFilter) ([]*promo.Flag, int64, error) {
	switch f.Kind {
	case "", promo.FlagLeak, promo.FlagCanary:
	default:
		return nil, 0, invalid(promo.EInvalidParam, "kind must be %s or %s, not %q", promo.FlagLeak, promo.FlagCanary, f.Kind)
	}
	return e.store.Flags(ctx, f)
}

// blockedError is the refusal of a blocked customer or IP.
func blockedError(b *promo.BlockEntry) *promo.Error {
	what := "this customer"
	if b.Kind == promo.BlockIP {
		what = "this IP address"
	}
	return &promo.Error{Code: promo.EForbidden, Message: "Forbidden", Details: fmt.Sprintf("%s may not validate or redeem codes", what)}
}

// CheckBlocked refuses a validation or redemption from a blocked client IP
// or customer with EForbidden.
func (e *Engine) CheckBlocked(ctx context.Context, ip string, c *CustomerInput) error {
	b, err := e.Blocked(ctx, ip, c)
	if err != nil || b == nil {
		return err
	}
	return blockedError(b)
}

// RecordWindowFull records, as a REFUSED attempt of kind (validation or
// redemption), that the failure window of a client IP (customer nil) or of
// a customer filled: their attempts are refused until it ends. The
// refusals themselves are not recorded one by one, so that a flood does
// not write a row for each; this row says who was refused from when.
func (e *Engine) RecordWindowFull(ctx context.Context, kind, ip string, c *CustomerInput, reason string) {
	a := &promo.Attempt{ID: promo.NewID(promo.PrefixAttempt), Time: e.Now(), Kind: kind, Result: promo.AttemptRefused,
		Reason: reason, APIKeyID: promo.APIKeyFromContext(ctx), ClientIP: ip}
	if c != nil {
		a.CustomerID = c.ID
		if c.SourceID != nil {
			a.SourceID = *c.SourceID
		}
	}
	e.recordAttempts(ctx, []*promo.Attempt{a})
}
