package promo

import (
	"math/bits"
	"strings"
	"time"
)

// Voucher is one code and its state; the HTTP layer shapes it for the API.
// Its template fields (discount, dates, metadata ...) come from its tier
// unless it has its own (OwnTemplate), which it gets when it is created alone
// or updated.
type Voucher struct {
	ID         string
	Seq        int64 // the store's sequence number; ID is derived from it
	Code       string
	Key        string // CodeKey(Code): unique in a store
	CampaignID string
	Campaign   string // the campaign's name
	TierID     int64
	// CaseSensitive: the code's letters must be typed in their case.
	CaseSensitive bool
	// OwnTemplate: Template is the voucher's own, not its tier's.
	OwnTemplate bool
	Template    VoucherTemplate
	Active      bool
	HolderID    string
	// RedeemedQuantity counts successful redemptions not rolled back.
	RedeemedQuantity int64
	PublishCount     int64
	CreatedAt        Time
	UpdatedAt        *Time
}

// Clone returns a copy of v that shares nothing mutable with it.
func (v *Voucher) Clone() *Voucher {
	c := *v
	c.Template = v.Template.Clone()
	c.UpdatedAt = cloneTime(v.UpdatedAt)
	return &c
}

// Lifecycle states of a voucher, as State reports them.
const (
	StateActive    = "ACTIVE"
	StateDisabled  = "DISABLED"
	StateScheduled = "SCHEDULED" // before its start date
	StateExpired   = "EXPIRED"   // at or after its expiration date
	StateRedeemed  = "REDEEMED"  // its quantity is used up
)

// State returns v's lifecycle state at now. Start dates are inclusive and
// expiration dates exclusive.
func (v *Voucher) State(now time.Time) string {
	t := &v.Template
	switch {
	case !v.Active:
		return StateDisabled
	case t.StartDate != nil && now.Before(t.StartDate.Time):
		return StateScheduled
	case t.ExpirationDate != nil && !now.Before(t.ExpirationDate.Time):
		return StateExpired
	case t.Redemption.Quantity != nil && v.RedeemedQuantity >= *t.Redemption.Quantity:
		return StateRedeemed
	}
	return StateActive
}

// The bijection behind voucher IDs: a fixed odd multiplier mod 2^64 and its
// inverse, so IDs do not read as a counter. It hides nothing from anyone
// who cares to look, and is not meant to: IDs are names, not secrets.
const (
	idMul    = 0x9E3779B97F4A7C15
	idMulInv = 0xF1DE83E19937733D
)

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// VoucherID returns the ID of the voucher with sequence number seq.
func VoucherID(seq int64) string {
	x := uint64(seq) * idMul
	var b [11]byte // 62^11 > 2^64
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = idAlphabet[x%62]
		x /= 62
	}
	return PrefixVoucher + string(b[:])
}

// VoucherSeq returns the sequence number in a voucher ID, and false when id is
// not one.
func VoucherSeq(id string) (int64, bool) {
	s, ok := strings.CutPrefix(id, PrefixVoucher)
	if !ok || len(s) != 11 {
		return 0, false
	}
	var x uint64
	for i := 0; i < len(s); i++ {
		d := strings.IndexByte(idAlphabet, s[i])
		if d < 0 {
			return 0, false
		}
		hi, lo := mulAdd(x, 62, uint64(d))
		if hi != 0 {
			return 0, false
		}
		x = lo
	}
	seq := int64(x * idMulInv)
	if seq <= 0 {
		return 0, false
	}
	return seq, true
}

// mulAdd returns x*m+a as a 128-bit number (hi, lo).
func mulAdd(x, m, a uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(x, m)
	var carry uint64
	lo, carry = bits.Add64(lo, a, 0)
	return hi + carry, lo
}
