package promo

import (
	"slices"
	"strings"
)

// Audit actions: what happened to a resource.
const (
	AuditCreated   = "created"
	AuditImported  = "imported"
	AuditGenerated = "generated"
	AuditPublished = "published"
	AuditEnabled   = "enabled"
	AuditDisabled  = "disabled"
	AuditUpdated   = "updated"
	AuditDeleted   = "deleted"
	AuditFlagged   = "flagged" // a leak or canary flag was raised
)

// AuditEntry records one change of state: when, by which API key, to what,
// and the details. Entries are only ever appended.
type AuditEntry struct {
	ID           int64    `json:"id"`
	Time         Time     `json:"time"`
	APIKeyID     string   `json:"api_key_id,omitempty"`
	Action       string   `json:"action"`
	ResourceType string   `json:"resource_type"`
	ResourceID   string   `json:"resource_id"`
	CampaignID   string   `json:"campaign_id,omitempty"`
	VoucherID    string   `json:"voucher_id,omitempty"`
	Details      Metadata `json:"details,omitempty"`
}

// APIKey is a credential: an App ID with a token shown once at creation.
// Only the token's SHA-256 is kept; tokens are 256 random bits, so a hash
// needs no salt or stretching.
type APIKey struct {
	ID        string
	Name      string
	TokenHash []byte
	// Kind is what the key may do: KeySecret (the default, ""), KeyRestricted
	// or KeyClient.
	Kind string
	// Scopes are the groups of /v1 routes a restricted key may call (Scope*).
	Scopes []string
	// Origins are the web origins (scheme://host[:port]) a client key may be
	// used from; "*" allows any.
	Origins   []string
	CreatedAt Time
	RevokedAt *Time
}

// Kinds of API keys.
const (
	// KeySecret keys call every /v1 route, from a server.
	KeySecret = "secret"
	// KeyRestricted keys call the /v1 routes of their scopes.
	KeyRestricted = "restricted"
	// KeyClient keys are meant to be seen: they call the /client/v1 routes
	// (validations, redemptions, publications) from their origins, with
	// X-Client-Application-Id and X-Client-Token, and their refusals do not
	// tell why a code is refused.
	KeyClient = "client"
)

// Scopes: groups of /v1 routes, for restricted keys.
const (
	ScopeCampaigns       = "campaigns"
	ScopeVouchers        = "vouchers"
	ScopeCustomers       = "customers"
	ScopeOrders          = "orders"
	ScopePublications    = "publications"
	ScopeValidations     = "validations"
	ScopeRedemptions     = "redemptions"
	ScopeValidationRules = "validation_rules"
	ScopeAsyncActions    = "async_actions"
	ScopeAttempts        = "attempts"
	ScopeBlocklist       = "blocklist"
)

// Scopes lists every scope.
var Scopes = []string{ScopeCampaigns, ScopeVouchers, ScopeCustomers, ScopeOrders, ScopePublications,
	ScopeValidations, ScopeRedemptions, ScopeValidationRules, ScopeAsyncActions, ScopeAttempts, ScopeBlocklist}

// CheckKey checks a key's kind, scopes and origins, and normalizes its kind
// ("" is secret).
func CheckKey(k *APIKey) error {
	if k.Kind == "" {
		k.Kind = KeySecret
	}
	switch k.Kind {
	case KeySecret:
		if len(k.Scopes) > 0 || len(k.Origins) > 0 {
			return Errorf(EInvalidPayload, "a secret key has no scopes or origins: it may call everything")
		}
	case KeyRestricted:
		if len(k.Scopes) == 0 {
			return Errorf(EInvalidPayload, "a restricted key needs scopes, some of: %s", strings.Join(Scopes, ", "))
		}
		for _, s := range k.Scopes {
			if !slices.Contains(Scopes, s) {
				return Errorf(EInvalidPayload, "unknown scope %q; scopes are: %s", s, strings.Join(Scopes, ", "))
			}
		}
		if len(k.Origins) > 0 {
			return Errorf(EInvalidPayload, "a restricted key has no origins; only client keys do")
		}
	case KeyClient:
		if len(k.Origins) == 0 {
			return Errorf(EInvalidPayload, `a client key needs origins, such as https://shop.example, or "*" for any`)
		}
		for _, o := range k.Origins {
			if o != "*" && !validOrigin(o) {
				return Errorf(EInvalidPayload, "origin %q is not scheme://host[:port]", o)
			}
		}
		if len(k.Scopes) > 0 {
			return Errorf(EInvalidPayload, "a client key has no scopes: it calls the /client/v1 routes")
		}
	default:
		return Errorf(EInvalidPayload, "kind must be %s, %s or %s, not %q", KeySecret, KeyRestricted, KeyClient, k.Kind)
	}
	return nil
}

// validOrigin reports whether o is an origin as browsers send it.
func validOrigin(o string) bool {
	scheme, rest, ok := strings.Cut(o, "://")
	return ok && (scheme == "http" || scheme == "https") && rest != "" &&
		!strings.ContainsAny(rest, "/?#@ ,")
}

// Allows reports whether k may call a route of scope.
func (k *APIKey) Allows(scope string) bool {
	switch k.Kind {
	case KeySecret, "":
		return true
	case KeyRestricted:
		return slices.Contains(k.Scopes, scope)
	}
	return false
}

// AllowsOrigin reports whether a client key may be used from origin.
func (k *APIKey) AllowsOrigin(origin string) bool {
	return origin != "" && (slices.Contains(k.Origins, "*") || slices.Contains(k.Origins, origin))
}

// SplitList splits a comma-joined list as stores keep scopes and origins;
// nil for "".
func SplitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}
