package postgres

import (
	"sync"

	"promo/internal/promo"
)

// templates remembers decoded voucher templates by their stored JSON. The
// vouchers of a tier share its template, so reading a voucher would
// otherwise decode the same JSON again and again: it was a third of the
// CPU time of GET /v1/vouchers/{code}. Keyed by content, an entry is never
// stale; a hit returns a clone, so callers may change what they get.
var templates = templateCache{max: 4096}

// maxCachedTemplate is the largest stored template kept, in bytes; larger
// ones (big metadata) are decoded every time.
const maxCachedTemplate = 16 << 10

type templateCache struct {
	mu  sync.RWMutex
	m   map[string]*promo.VoucherTemplate
	max int // entries; the cache is emptied when it is full
}

// decode sets *t to the template stored as data.
func (c *templateCache) decode(data []byte, t *promo.VoucherTemplate) error {
	if len(data) > maxCachedTemplate {
		return unmarshal(data, t)
	}
	c.mu.RLock()
	cached := c.m[string(data)]
	c.mu.RUnlock()
	if cached != nil {
		*t = cached.Clone()
		return nil
	}
	var decoded promo.VoucherTemplate
	if err := unmarshal(data, &decoded); err != nil {
		return err
	}
	*t = decoded.Clone()
	c.mu.Lock()
	if len(c.m) >= c.max || c.m == nil {
		c.m = make(map[string]*promo.VoucherTemplate)
	}
	c.m[string(data)] = &decoded
	c.mu.Unlock()
	return nil
}

// campaignData remembers decoded campaigns by their stored JSON, as
// templates does templates: a redemption reads its campaign, and decoding
// it was a twentieth of the CPU time of one.
var campaignData = campaignCache{max: 1024}

type campaignCache struct {
	mu  sync.RWMutex
	m   map[string]*promo.Campaign
	max int // entries; the cache is emptied when it is full
}

// decode sets *c to the campaign stored as data.
func (cc *campaignCache) decode(data []byte, c *promo.Campaign) error {
	if len(data) > maxCachedTemplate {
		return unmarshal(data, c)
	}
	cc.mu.RLock()
	cached := cc.m[string(data)]
	cc.mu.RUnlock()
	if cached != nil {
		*c = *cached.Clone()
		return nil
	}
	var decoded promo.Campaign
	if err := unmarshal(data, &decoded); err != nil {
		return err
	}
	*c = *decoded.Clone()
	cc.mu.Lock()
	if len(cc.m) >= cc.max || cc.m == nil {
		cc.m = make(map[string]*promo.Campaign)
	}
	cc.m[string(data)] = &decoded
	cc.mu.Unlock()
	return nil
}
