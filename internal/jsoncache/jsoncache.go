// Package jsoncache remembers values decoded from stored JSON, keyed by that
// JSON. Many rows share one stored document (the vouchers of a tier share
// its template; every redemption of a campaign reads the campaign), and
// decoding the same bytes again was a large share of a read's CPU time.
// Keyed by content, an entry is never stale; a hit hands out a clone, so
// callers may change what they get.
package jsoncache

import "sync"

// MaxData is the largest stored document kept, in bytes; larger ones (big
// metadata) are decoded every time.
const MaxData = 16 << 10

// Cache decodes JSON into T, remembering up to max documents; it is emptied
// when it is full.
type Cache[T any] struct {
	max       int
	unmarshal func([]byte, any) error
	clone     func(*T) T

	mu sync.RWMutex
	m  map[string]*T
}

// New returns a cache of up to max documents, decoded with unmarshal and
// handed out through clone, which must copy everything a caller could
// change.
func New[T any](max int, unmarshal func([]byte, any) error, clone func(*T) T) *Cache[T] {
	return &Cache[T]{max: max, unmarshal: unmarshal, clone: clone}
}

// Decode sets *v to the value stored as data.
func (c *Cache[T]) Decode(data []byte, v *T) error {
	if len(data) > MaxData {
		return c.unmarshal(data, v)
	}
	c.mu.RLock()
	cached := c.m[string(data)]
	c.mu.RUnlock()
	if cached != nil {
		*v = c.clone(cached)
		return nil
	}
	decoded := new(T)
	if err := c.unmarshal(data, decoded); err != nil {
		return err
	}
	*v = c.clone(decoded)
	c.mu.Lock()
	if len(c.m) >= c.max || c.m == nil {
		c.m = make(map[string]*T)
	}
	c.m[string(data)] = decoded
	c.mu.Unlock()
	return nil
}
