package promo

import (
	"net/netip"
	"strings"
)

// Prefixes of blocklist entries and flags.
const (
	PrefixBlock = "blk_"
	PrefixFlag  = "flag_"
)

// Kinds of blocklist entries: what their Value names.
const (
	BlockCustomerID       = "customer_id"
	BlockCustomerSourceID = "customer_source_id"
	BlockCustomerEmail    = "customer_email"
	// BlockIP entries hold an address or a prefix (CIDR).
	BlockIP = "ip"
)

// BlockEntry keeps a customer or a client IP from validating and
// redeeming codes.
type BlockEntry struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Value     string `json:"value"`
	Reason    string `json:"reason,omitempty"`
	CreatedAt Time   `json:"created_at"`
}

// CheckBlock checks an entry and puts its value in canonical form: emails
// in lower case, addresses and prefixes as netip prints them.
func CheckBlock(b *BlockEntry) error {
	b.Value = strings.TrimSpace(b.Value)
	if b.Value == "" || len(b.Value) > 254 {
		return Errorf(EInvalidPayload, "value is required, at most 254 bytes")
	}
	switch b.Kind {
	case BlockCustomerID, BlockCustomerSourceID:
	case BlockCustomerEmail:
		b.Value = strings.ToLower(b.Value)
		if !strings.Contains(b.Value, "@") {
			return Errorf(EInvalidPayload, "%q is not an email address", b.Value)
		}
	case BlockIP:
		if p, err := netip.ParsePrefix(b.Value); err == nil {
			b.Value = p.Masked().String()
		} else if a, err := netip.ParseAddr(b.Value); err == nil {
			b.Value = a.Unmap().String()
		} else {
			return Errorf(EInvalidPayload, "%q is not an IP address or prefix", b.Value)
		}
	default:
		return Errorf(EInvalidPayload, "kind must be %s, %s, %s or %s, not %q",
			BlockCustomerID, BlockCustomerSourceID, BlockCustomerEmail, BlockIP, b.Kind)
	}
	return nil
}

// Kinds of flags.
const (
	// FlagLeak: a code meant for one customer was tried by many distinct
	// customers or client IPs in a short window.
	FlagLeak = "leak"
	// FlagCanary: someone tried a canary code, which is never handed out.
	FlagCanary = "canary"
)

// Flag is a suspicion about a code, raised by the engine.
type Flag struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	VoucherID string `json:"voucher_id,omitempty"`
	Code      string `json:"code"`
	// Disabled says the code was disabled when the flag was raised.
	Disabled  bool     `json:"disabled"`
	Details   Metadata `json:"details,omitempty"`
	CreatedAt Time     `json:"created_at"`
}

// FlagFilter selects flags, newest first.
type FlagFilter struct {
	ListParams
	Kind      string
	VoucherID string
}
