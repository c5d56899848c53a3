// Package engine holds Promo's use cases: creating campaigns and their codes,
// publishing codes to customers, importing, and running the async actions
// that generate and import codes. It owns transaction boundaries: every
// change it makes, with its audit entry, is one store transaction.
package engine

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"promo/codegen"
	"promo/internal/promo"
)

// Observer is told of what the engine did, for metrics.
type Observer interface {
	CodesGenerated(n int64)
	Published(n int64)
}

type nopObserver struct{}

func (nopObserver) CodesGenerated(int64) {}
func (nopObserver) Published(int64)      {}

// Options configure an Engine. Zero fields take defaults.
type Options struct {
	Now      func() time.Time // the clock; time.Now by default
	Logger   *slog.Logger
	Observer Observer
	// Limits bound the density of a campaign's codes.
	Limits codegen.Limits
	// MaxCampaignCodes bounds the codes one request may add; default 10M.
	MaxCampaignCodes int64
	// Lease is how long a worker holds an async action between progress
	// writes before another may take it over; default 15 s.
	Lease time.Duration
	// TakeOverOnStart lets the first claims ignore live leases: with the
	// embedded store one process owns the data, so an action left in
	// progress was left by a process that is gone.
	TakeOverOnStart bool
	// Batch is how many codes one generation transaction writes; default
	// codegen.BatchSize.
	Batch int
	// Chunk is how many codes generation makes and sorts at a time; default
	// 262,144 (about 15 MB).
	Chunk int
	// Leaks say when a code meant for one customer counts as leaked.
	Leaks LeakOptions
}

// Engine runs Promo's use cases over a store. It is safe for concurrent use.
type Engine struct {
	store promo.Store
	now   func() time.Time
	log   *slog.Logger
	obs   Observer
	opt   Options

	wake chan struct{} // a new async action is waiting

	attempts   chan []*promo.Attempt // validation attempts for writeAttempts
	attemptsOn atomic.Bool           // writeAttempts is running

	keysMu sync.Mutex
	keys   map[string]cachedKey // API key ID -> what Authenticate last read

	blocks blocklist
	leaks  leakWatch
}

// New returns an engine over store.
func New(store promo.Store, opt Options) *Engine {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Observer == nil {
		opt.Observer = nopObserver{}
	}
	if opt.MaxCampaignCodes == 0 {
		opt.MaxCampaignCodes = 10_000_000
	}
	if opt.Lease == 0 {
		opt.Lease = 15 * time.Second
	}
	if opt.Batch == 0 {
		opt.Batch = codegen.BatchSize
	}
	if opt.Chunk == 0 {
		opt.Chunk = 1 << 18
	}
	opt.Leaks.defaults()
	return &Engine{
		store:    store,
		now:      opt.Now,
		log:      opt.Logger,
		obs:      opt.Observer,
		opt:      opt,
		wake:     make(chan struct{}, 1),
		attempts: make(chan []*promo.Attempt, attemptBuffer),
		keys:     make(map[string]cachedKey),
	}
}

// Store returns the engine's store, for reads.
func (e *Engine) Store() promo.Store { return e.store }

// Now returns the engine clock's time, in the API's precision.
func (e *Engine) Now() promo.Time { return promo.NewTime(e.now()) }

// audit appends an entry stamped with the request's API key.
func (e *Engine) audit(ctx context.Context, tx promo.Tx, entry promo.AuditEntry) error {
	entry.Time = e.Now()
	if entry.APIKeyID == "" {
		entry.APIKeyID = promo.APIKeyFromContext(ctx)
	}
	return tx.AppendAudit(ctx, &entry)
}

// cachedKey is what Authenticate remembers of a key, briefly, so that each
// request does not read the store; a revocation shows within keyCacheTTL.
type cachedKey struct {
	key     *promo.APIKey // without its hash; nil for an unknown ID
	hash    []byte
	revoked bool
	read    time.Time
}

const keyCacheTTL = 2 * time.Second

// TokenHash returns the stored form of an API token.
func TokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Authenticate checks an App ID and token and returns the key, without its
// hash, which callers must not change; EUnauthorized when either is wrong
// or the key is revoked. Tokens are compared as hashes in constant time.
func (e *Engine) Authenticate(ctx context.Context, appID, token string) (*promo.APIKey, error) {
	deny := promo.Errorf(promo.EUnauthorized, "the App ID and token must name a live API key")
	if appID == "" || token == "" || len(appID) > 64 || len(token) > 256 {
		return nil, deny
	}
	now := time.Now() // a cache age, not domain time
	e.keysMu.Lock()
	k, ok := e.keys[appID]
	e.keysMu.Unlock()
	if !ok || now.Sub(k.read) > keyCacheTTL {
		key, err := e.store.APIKey(ctx, appID)
		switch promo.ErrorCode(err) {
		case "":
			k = cachedKey{hash: key.TokenHash, revoked: key.RevokedAt != nil, read: now}
			key.TokenHash = nil
			if key.Kind == "" {
				key.Kind = promo.KeySecret
			}
			k.key = key
		case promo.ENotFound:
			k = cachedKey{read: now} // a nil hash matches nothing
		default:
			return nil, err
		}
		e.keysMu.Lock()
		if len(e.keys) > 10_000 { // unknown IDs must not grow the cache without bound
			clear(e.keys)
		}
		e.keys[appID] = k
		e.keysMu.Unlock()
	}
	got := TokenHash(token)
	if k.revoked || len(k.hash) != len(got) || subtle.ConstantTimeCompare(k.hash, got) != 1 {
		return nil, deny
	}
	return k.key, nil
}

// KeyInput describes a new API key: see promo.APIKey.
type KeyInput struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Scopes  []string `json:"scopes"`
	Origins []string `json:"origins"`
}

// CreateKey makes a new API key of any kind and returns it with its token,
// which is not stored and cannot be shown again; EInvalidPayload for a
// kind, scope or origin that does not hold.
func (e *Engine) CreateKey(ctx context.Context, in KeyInput) (*promo.APIKey, string, error) {
	if len(in.Name) > maxNameLen {
		return nil, "", invalid(promo.EInvalidPayload, "name is longer than %d bytes", maxNameLen)
	}
	k := &promo.APIKey{Name: in.Name, Kind: in.Kind, Scopes: in.Scopes, Origins: in.Origins}
	if err := promo.CheckKey(k); err != nil {
		return nil, "", err
	}
	return e.storeKey(ctx, k, false)
}

// CreateAPIKey makes a new API key and returns it with its token, which is
// not stored and cannot be shown again.
func (e *Engine) CreateAPIKey(ctx context.Context, name string) (*promo.APIKey, string, error) {
	return e.storeKey(ctx, &promo.APIKey{Name: name, Kind: promo.KeySecret}, false)
}

// storeKey gives k an ID and a token and stores it; with onlyFirst, only
// when the store has no key, in the same transaction, so that servers
// starting together on one database create one key between them (nil when
// another did).
func (e *Engine) storeKey(ctx context.Context, k *promo.APIKey, onlyFirst bool) (*promo.APIKey, string, error) {
	var raw [32]byte
	token := hex.EncodeToString(randomBytes(raw[:]))
	k.ID, k.TokenHash, k.CreatedAt = promo.NewID(promo.PrefixAPIKey), TokenHash(token), e.Now()
	created := false
	err := e.store.Update(ctx, func(tx promo.Tx) error {
		created = false
		if onlyFirst {
			keys, err := tx.APIKeys(ctx)
			if err != nil || len(keys) > 0 {
				return err
			}
		}
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		created = true
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditCreated, ResourceType: "api_key", ResourceID: k.ID,
			Details: promo.Metadata{"name": k.Name, "kind": k.Kind}})
	})
	if err != nil || !created {
		return nil, "", err
	}
	return k, token, nil
}

// RevokeAPIKey revokes a key; ENotFound.
func (e *Engine) RevokeAPIKey(ctx context.Context, id string) error {
	return e.store.Update(ctx, func(tx promo.Tx) error {
		if err := tx.RevokeAPIKey(ctx, id, e.Now()); err != nil {
			return err
		}
		return e.audit(ctx, tx, promo.AuditEntry{Action: promo.AuditDisabled, ResourceType: "api_key", ResourceID: id})
	})
}

// EnsureAPIKey creates a first key when the store has none, and returns it
// and its token; it returns nil when keys exist.
func (e *Engine) EnsureAPIKey(ctx context.Context) (*promo.APIKey, string, error) {
	keys, err := e.store.APIKeys(ctx)
	if err != nil || len(keys) > 0 {
		return nil, "", err
	}
	return e.storeKey(ctx, &promo.APIKey{Name: "first key", Kind: promo.KeySecret}, true)
}
