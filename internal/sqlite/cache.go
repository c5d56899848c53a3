package sqlite

import (
	"strings"
	"sync"

	"promo/internal/promo"
)

// readCache remembers what validations and reads of codes look up again and
// again while it rarely changes: campaigns (by ID and by name), vouchers (by
// key) and the rules of sets of objects. A point lookup costs about 25 µs
// of CPU in the pure-Go SQLite, and decoding a campaign as much again; a
// validation made three of them.
//
// The store is the only writer of its file while it is open (promo serve
// holds the data directory), and every write goes through the writer's
// group transactions, so the cache can be kept exact: a group records what
// it changed (changes), and the writer makes the cache forget it after the
// group's COMMIT or ROLLBACK and before answering any of its Updates. So
// once an Update has returned, no read sees what it replaced.
//
// A read that misses fills the cache only if nothing of its kind was
// forgotten while it read (the generation numbers): a read that began
// before a commit may return the old row, which must not be kept after the
// commit has been forgotten.
//
// Hits are clones, so callers may change what they get; the rules of
// RulesOf are shared, and callers must not change them.
type readCache struct {
	mu        sync.Mutex
	gen       [kinds]uint64
	campaigns map[string]*promo.Campaign // by ID and by name
	vouchers  map[string]*promo.Voucher  // by key
	keys      map[int64]string           // voucher keys by seq, to forget a voucher by seq
	rules     map[string][]*promo.ValidationRule
	// assigned holds the IDs of the objects that have rules assigned, when
	// assignedOK: most codes have none, and a redemption of a code seen
	// for the first time need not ask the file about its own rules.
	assigned   map[string]struct{}
	assignedOK bool
}

// The kinds of cached things, each with its generation.
const (
	kindCampaign = iota
	kindVoucher
	kindRules
	kinds
)

// maxCached bounds the entries of each map: a full map is emptied.
const maxCached = 1 << 16

// changes is what a group transaction changed, for the cache to forget.
type changes struct {
	campaigns bool    // campaigns or tiers: campaigns, vouchers and rules are forgotten
	rules     bool    // validation rules or their assignments
	vouchers  bool    // vouchers in a way that forgets them all
	seqs      []int64 // vouchers changed one by one
}

func (c *changes) any() bool { return c.campaigns || c.rules || c.vouchers || len(c.seqs) > 0 }

// forget drops what ch says changed, and resets ch.
func (c *readCache) forget(ch *changes) {
	if !ch.any() {
		return
	}
	c.mu.Lock()
	if ch.campaigns {
		c.gen[kindCampaign]++
		c.campaigns = nil
		ch.vouchers, ch.rules = true, true
	}
	if ch.rules {
		c.gen[kindRules]++
		c.rules = nil
		c.assigned, c.assignedOK = nil, false
	}
	if ch.vouchers {
		c.gen[kindVoucher]++
		c.vouchers, c.keys = nil, nil
	} else if len(ch.seqs) > 0 {
		c.gen[kindVoucher]++
		for _, seq := range ch.seqs {
			if key, ok := c.keys[seq]; ok {
				delete(c.vouchers, key)
				delete(c.keys, seq)
			}
		}
	}
	c.mu.Unlock()
	*ch = changes{seqs: ch.seqs[:0]}
}

// generation returns the generation of a kind, to pass to a fill.
func (c *readCache) generation(kind int) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[kind]
}

func (c *readCache) campaign(idOrName string) *promo.Campaign {
	c.mu.Lock()
	cached := c.campaigns[idOrName]
	c.mu.Unlock()
	if cached == nil {
		return nil
	}
	return cached.Clone()
}

func (c *readCache) putCampaign(gen uint64, camp *promo.Campaign) {
	kept := camp.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[kindCampaign] != gen {
		return
	}
	if c.campaigns == nil || len(c.campaigns) >= maxCached {
		c.campaigns = make(map[string]*promo.Campaign)
	}
	c.campaigns[kept.ID] = kept
	c.campaigns[kept.Name] = kept
}

func (c *readCache) voucher(key string) *promo.Voucher {
	c.mu.Lock()
	cached := c.vouchers[key]
	c.mu.Unlock()
	if cached == nil {
		return nil
	}
	return cached.Clone()
}

func (c *readCache) putVoucher(gen uint64, v *promo.Voucher) {
	kept := v.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[kindVoucher] != gen {
		return
	}
	if c.vouchers == nil || len(c.vouchers) >= maxCached {
		c.vouchers = make(map[string]*promo.Voucher)
		c.keys = make(map[int64]string)
	}
	c.vouchers[kept.Key] = kept
	c.keys[kept.Seq] = kept.Key
}

// rulesKey is the key of a set of objects' rules.
func rulesKey(objectIDs []string) string { return strings.Join(objectIDs, "\x00") }

func (c *readCache) rulesOf(key string) ([]*promo.ValidationRule, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rs, ok := c.rules[key]
	return rs, ok
}

func (c *readCache) putRules(gen uint64, key string, rs []*promo.ValidationRule) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[kindRules] != gen {
		return
	}
	if c.rules == nil || len(c.rules) >= maxCached {
		c.rules = make(map[string][]*promo.ValidationRule)
	}
	c.rules[key] = rs
}

// assignedTo returns the set of objects with rules assigned, and false
// when it is not cached.
func (c *readCache) assignedTo() (map[string]struct{}, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.assigned, c.assignedOK
}

// putAssigned caches the set of objects with rules assigned; callers must
// not change it afterwards.
func (c *readCache) putAssigned(gen uint64, assigned map[string]struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen[kindRules] != gen {
		return
	}
	c.assigned, c.assignedOK = assigned, true
}
