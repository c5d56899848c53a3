package promo

// Statuses of a redeemable in a validation or a redemption.
const (
	RedeemableApplicable   = "APPLICABLE"
	RedeemableInapplicable = "INAPPLICABLE"
	RedeemableSkipped      = "SKIPPED"
)

// Reasons a redeemable is skipped: the keys of Voucherify's skipped result
// details. SkipPrecedingValidationFailed is for the caller: in the ALL
// application mode, one inapplicable redeemable skips the others.
const (
	SkipLimitExceeded             = "applicable_redeemables_limit_exceeded"
	SkipExclusiveLimitExceeded    = "applicable_exclusive_redeemables_limit_exceeded"
	SkipExclusionRulesNotMet      = "exclusion_rules_not_met"
	SkipPrecedingValidationFailed = "preceding_validation_failed"
)

// SkipMessage returns the message Voucherify shows with a skip reason.
func SkipMessage(reason string) string {
	switch reason {
	case SkipLimitExceeded:
		return "Applicable redeemables limit exceeded"
	case SkipExclusiveLimitExceeded:
		return "Applicable exclusive redeemables limit exceeded"
	case SkipExclusionRulesNotMet:
		return "Redeemable cannot be applied due to exclusion rules"
	case SkipPrecedingValidationFailed:
		return "Redeemable cannot be applied due to preceding validation failure"
	}
	return ""
}

// Limits of stacking rules: Voucherify's defaults and maximums.
const (
	DefaultRedeemablesLimit                    = 30
	DefaultApplicableRedeemablesLimit          = 5
	DefaultApplicableExclusiveRedeemablesLimit = 1
	MaxRedeemablesLimit                        = 30
	MaxApplicableExclusiveRedeemablesLimit     = 5
)

// StackingRules bound the redeemables of one request. A zero limit means its
// default.
type StackingRules struct {
	// RedeemablesLimit is how many redeemables one request may name.
	RedeemablesLimit int `json:"redeemables_limit"`
	// ApplicableRedeemablesLimit is how many of them may apply; the others
	// are skipped.
	ApplicableRedeemablesLimit int `json:"applicable_redeemables_limit"`
	// ApplicableExclusiveRedeemablesLimit is how many exclusive ones may
	// apply.
	ApplicableExclusiveRedeemablesLimit int `json:"applicable_exclusive_redeemables_limit"`
}

// Validate fills r's zero limits with their defaults, the applicable limit's
// default being at most the redeemables limit, and fails with
// EInvalidPayload unless 1 <= redeemables_limit <= 30,
// 1 <= applicable_redeemables_limit <= redeemables_limit and
// 1 <= applicable_exclusive_redeemables_limit <= 5.
func (r *StackingRules) Validate() error {
	if r.RedeemablesLimit == 0 {
		r.RedeemablesLimit = DefaultRedeemablesLimit
	}
	if r.ApplicableRedeemablesLimit == 0 {
		r.ApplicableRedeemablesLimit = min(DefaultApplicableRedeemablesLimit, r.RedeemablesLimit)
	}
	if r.ApplicableExclusiveRedeemablesLimit == 0 {
		r.ApplicableExclusiveRedeemablesLimit = DefaultApplicableExclusiveRedeemablesLimit
	}
	switch {
	case r.RedeemablesLimit < 1 || r.RedeemablesLimit > MaxRedeemablesLimit:
		return Errorf(EInvalidPayload, "stacking_rules: redeemables_limit must be from 1 to %d", MaxRedeemablesLimit)
	case r.ApplicableRedeemablesLimit < 1 || r.ApplicableRedeemablesLimit > r.RedeemablesLimit:
		return Errorf(EInvalidPayload, "stacking_rules: applicable_redeemables_limit must be from 1 to redeemables_limit (%d)", r.RedeemablesLimit)
	case r.ApplicableExclusiveRedeemablesLimit < 1 || r.ApplicableExclusiveRedeemablesLimit > MaxApplicableExclusiveRedeemablesLimit:
		return Errorf(EInvalidPayload, "stacking_rules: applicable_exclusive_redeemables_limit must be from 1 to %d", MaxApplicableExclusiveRedeemablesLimit)
	}
	return nil
}

// Stackable is what stacking needs to know of one requested redeemable.
type Stackable struct {
	// Applicable reports that the redeemable passed its own validation.
	Applicable bool
	// Exclusive reports a redeemable of an exclusive category: it applies
	// without the non-exclusive ones.
	Exclusive bool
	// Joint reports a redeemable of a joint category: exclusive ones do not
	// keep it out.
	Joint bool
}

// StackDecision is what stacking decided for one redeemable.
type StackDecision struct {
	// Status is RedeemableApplicable, RedeemableInapplicable or
	// RedeemableSkipped.
	Status string
	// Reason is a Skip* key when Status is RedeemableSkipped, "" otherwise.
	Reason string
}

// Stack decides which of the requested redeemables apply, given in the
// requested order, which is also the order in which the applicable ones are
// then applied to a basket. The decisions are parallel to redeemables.
//
// Inapplicable redeemables stay inapplicable and count toward no limit. The
// exclusive applicable ones come first: in requested order, they apply up to
// the exclusive limit and the applicable limit, and the others are skipped
// (SkipExclusiveLimitExceeded, or SkipLimitExceeded when the applicable limit
// is the one reached). When an exclusive one applies, the applicable ones that
// are neither exclusive nor joint are skipped (SkipExclusionRulesNotMet).
// Then the remaining applicable ones apply, in requested order, while the
// applicable limit allows, and the rest are skipped (SkipLimitExceeded).
//
// Stack fails with EInvalidPayload when rules do not pass
// StackingRules.Validate or when there are more redeemables than its
// redeemables limit.
func Stack(redeemables []Stackable, rules StackingRules) ([]StackDecision, error) {
	if err := rules.Validate(); err != nil {
		return nil, err
	}
	if len(redeemables) > rules.RedeemablesLimit {
		return nil, Errorf(EInvalidPayload, "redeemables: at most %d in one request, not %d", rules.RedeemablesLimit, len(redeemables))
	}
	out := make([]StackDecision, len(redeemables))
	applied, exclusive := 0, 0
	decide := func(i int, reason string) {
		if reason == "" {
			out[i].Status = RedeemableApplicable
			applied++
			return
		}
		out[i] = StackDecision{Status: RedeemableSkipped, Reason: reason}
	}
	for i, r := range redeemables {
		switch {
		case !r.Applicable:
			out[i].Status = RedeemableInapplicable
		case !r.Exclusive:
		case exclusive >= rules.ApplicableExclusiveRedeemablesLimit:
			decide(i, SkipExclusiveLimitExceeded)
		case applied >= rules.ApplicableRedeemablesLimit:
			decide(i, SkipLimitExceeded)
		default:
			decide(i, "")
			exclusive++
		}
	}
	for i, r := range redeemables {
		switch {
		case !r.Applicable || r.Exclusive:
		case exclusive > 0 && !r.Joint:
			decide(i, SkipExclusionRulesNotMet)
		case applied >= rules.ApplicableRedeemablesLimit:
			decide(i, SkipLimitExceeded)
		default:
			decide(i, "")
		}
	}
	return out, nil
}

// FirstDuplicate returns the index of the first key that repeats an earlier
// one, or -1 when all keys differ. The caller passes each requested code's
// key (CodeKey), so that "sum-ab12" and "SUM AB12" are the same code twice.
func FirstDuplicate(keys []string) int {
	seen := make(map[string]struct{}, len(keys))
	for i, k := range keys {
		if _, ok := seen[k]; ok {
			return i
		}
		seen[k] = struct{}{}
	}
	return -1
}
