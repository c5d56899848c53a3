package promo

import (
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestStack(t *testing.T) {
	t.Parallel()
	var (
		plain     = Stackable{Applicable: true}
		exclusive = Stackable{Applicable: true, Exclusive: true}
		joint     = Stackable{Applicable: true, Joint: true}
		bad       = Stackable{}
		badExcl   = Stackable{Exclusive: true}

		apply    = StackDecision{Status: RedeemableApplicable}
		inapp    = StackDecision{Status: RedeemableInapplicable}
		limit    = StackDecision{Status: RedeemableSkipped, Reason: SkipLimitExceeded}
		exclLim  = StackDecision{Status: RedeemableSkipped, Reason: SkipExclusiveLimitExceeded}
		excluded = StackDecision{Status: RedeemableSkipped, Reason: SkipExclusionRulesNotMet}
	)
	for _, tc := range []struct {
		name  string
		in    []Stackable
		rules StackingRules
		want  []StackDecision
	}{
		{"none", nil, StackingRules{}, []StackDecision{}},
		{"one", []Stackable{plain}, StackingRules{}, []StackDecision{apply}},
		{"default limit of five", []Stackable{plain, plain, plain, plain, plain, plain, plain}, StackingRules{},
			[]StackDecision{apply, apply, apply, apply, apply, limit, limit}},
		{"inapplicable ones count toward no limit", []Stackable{bad, plain, bad, plain, plain}, StackingRules{ApplicableRedeemablesLimit: 2},
			[]StackDecision{inapp, apply, inapp, apply, limit}},
		{"an exclusive one applies alone", []Stackable{plain, plain, exclusive, plain}, StackingRules{},
			[]StackDecision{excluded, excluded, apply, excluded}},
		{"one exclusive by default", []Stackable{exclusive, plain, exclusive}, StackingRules{},
			[]StackDecision{apply, excluded, exclLim}},
		{"two exclusive ones", []Stackable{exclusive, plain, exclusive, exclusive}, StackingRules{ApplicableExclusiveRedeemablesLimit: 2},
			[]StackDecision{apply, excluded, apply, exclLim}},
		{"joint ones apply with an exclusive one", []Stackable{joint, plain, exclusive, joint}, StackingRules{},
			[]StackDecision{apply, excluded, apply, apply}},
		{"an inapplicable exclusive one excludes nothing", []Stackable{plain, badExcl, plain}, StackingRules{},
			[]StackDecision{apply, inapp, apply}},
		// The exclusive one comes first to the applicable limit, wherever it
		// stands: otherwise it would keep others out without applying.
		{"exclusive ones first to the limit", []Stackable{joint, joint, exclusive}, StackingRules{ApplicableRedeemablesLimit: 2},
			[]StackDecision{apply, limit, apply}},
		{"applicable limit below the exclusive limit", []Stackable{exclusive, exclusive}, StackingRules{ApplicableRedeemablesLimit: 1, ApplicableExclusiveRedeemablesLimit: 2},
			[]StackDecision{apply, limit}},
		{"joint ones without an exclusive one", []Stackable{joint, plain, joint}, StackingRules{ApplicableRedeemablesLimit: 2},
			[]StackDecision{apply, apply, limit}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Stack(tc.in, tc.rules)
			if err != nil {
				t.Fatalf("Stack: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Stack = %v\nwant    %v", got, tc.want)
			}
		})
	}
}

func TestStackErrors(t *testing.T) {
	t.Parallel()
	many := make([]Stackable, 31)
	if _, err := Stack(many, StackingRules{}); ErrorCode(err) != EInvalidPayload || !strings.Contains(err.Error(), "at most 30") {
		t.Errorf("31 redeemables: %v, want %s", err, EInvalidPayload)
	}
	if _, err := Stack(many[:4], StackingRules{RedeemablesLimit: 3}); ErrorCode(err) != EInvalidPayload {
		t.Errorf("4 redeemables with a limit of 3: %v, want %s", err, EInvalidPayload)
	}
	if _, err := Stack(many[:1], StackingRules{ApplicableRedeemablesLimit: -1}); ErrorCode(err) != EInvalidPayload {
		t.Errorf("bad rules: %v, want %s", err, EInvalidPayload)
	}
}

func TestStackingRulesValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want StackingRules
		ok       bool
	}{
		{StackingRules{}, StackingRules{30, 5, 1}, true},
		{StackingRules{RedeemablesLimit: 3}, StackingRules{3, 3, 1}, true},
		{StackingRules{10, 10, 5}, StackingRules{10, 10, 5}, true},
		{StackingRules{RedeemablesLimit: 31}, StackingRules{}, false},
		{StackingRules{RedeemablesLimit: -1}, StackingRules{}, false},
		{StackingRules{RedeemablesLimit: 5, ApplicableRedeemablesLimit: 6}, StackingRules{}, false},
		{StackingRules{ApplicableExclusiveRedeemablesLimit: 6}, StackingRules{}, false},
	} {
		r := tc.in
		err := r.Validate()
		if tc.ok && (err != nil || r != tc.want) {
			t.Errorf("Validate(%+v) = %+v, %v; want %+v", tc.in, r, err, tc.want)
		}
		if !tc.ok && ErrorCode(err) != EInvalidPayload {
			t.Errorf("Validate(%+v): %v, want %s", tc.in, err, EInvalidPayload)
		}
	}
}

// TestStackProperties checks the promises of Stack on drawn requests.
func TestStackProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		rules := StackingRules{
			RedeemablesLimit:                    30,
			ApplicableRedeemablesLimit:          rapid.IntRange(1, 30).Draw(t, "limit"),
			ApplicableExclusiveRedeemablesLimit: rapid.IntRange(1, 5).Draw(t, "exclusive limit"),
		}
		in := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) Stackable {
			return Stackable{
				Applicable: rapid.Bool().Draw(t, "applicable"),
				Exclusive:  rapid.Bool().Draw(t, "exclusive"),
				Joint:      rapid.Bool().Draw(t, "joint"),
			}
		}), 0, 30).Draw(t, "redeemables")
		out, err := Stack(in, rules)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := Stack(in, rules)
		if !reflect.DeepEqual(out, again) {
			t.Fatalf("not deterministic: %v then %v", out, again)
		}
		applied, exclusive, anyExclusive := 0, 0, false
		for i, r := range in {
			d := out[i]
			if (d.Status == RedeemableInapplicable) != !r.Applicable {
				t.Fatalf("%d: %+v for %+v", i, d, r)
			}
			if (d.Status == RedeemableSkipped) != (d.Reason != "") || d.Reason != "" && SkipMessage(d.Reason) == "" {
				t.Fatalf("%d: %+v", i, d)
			}
			if d.Status == RedeemableApplicable {
				applied++
				if r.Exclusive {
					exclusive++
				}
			}
			anyExclusive = anyExclusive || r.Applicable && r.Exclusive
		}
		if applied > rules.ApplicableRedeemablesLimit || exclusive > rules.ApplicableExclusiveRedeemablesLimit {
			t.Fatalf("%d applied (%d exclusive) over the limits %+v", applied, exclusive, rules)
		}
		if anyExclusive && exclusive == 0 {
			t.Fatalf("an applicable exclusive redeemable, none applied: %v", out)
		}
		for i, r := range in {
			d := out[i]
			if exclusive > 0 && d.Status == RedeemableApplicable && !r.Exclusive && !r.Joint {
				t.Fatalf("%d applies beside an exclusive one: %+v", i, r)
			}
			// Nothing is skipped for a limit that was not reached.
			if d.Reason == SkipLimitExceeded && applied < rules.ApplicableRedeemablesLimit ||
				d.Reason == SkipExclusiveLimitExceeded && exclusive < rules.ApplicableExclusiveRedeemablesLimit ||
				d.Reason == SkipExclusionRulesNotMet && exclusive == 0 {
				t.Fatalf("%d skipped (%s) with %d applied, %d exclusive", i, d.Reason, applied, exclusive)
			}
		}
	})
}

func TestFirstDuplicate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		keys []string
		want int
	}{
		{nil, -1},
		{[]string{"A"}, -1},
		{[]string{"A", "B", "C"}, -1},
		{[]string{"A", "B", "A", "B"}, 2},
		{[]string{"A", "B", "B", "A"}, 2},
		{[]string{"", ""}, 1},
	} {
		if got := FirstDuplicate(tc.keys); got != tc.want {
			t.Errorf("FirstDuplicate(%q) = %d, want %d", tc.keys, got, tc.want)
		}
	}
	// Keys, not codes: the caller's CodeKey makes these one code.
	var keys []string
	for _, code := range []string{"sum-ab12", "SUM-CD34", "SUM AB12"} {
		k, err := CodeKey(code)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	if got := FirstDuplicate(keys); got != 2 {
		t.Errorf("FirstDuplicate(%q) = %d, want 2", keys, got)
	}
}
