package promo

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParseLogic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"1", "1"},
		{"1 AND 2", "1 AND 2"},
		{"1 and (2 or 3)", "1 AND (2 OR 3)"},
		{"(1 or 2) and not 3", "(1 OR 2) AND NOT 3"},
		{"1 OR 2 AND 3", "1 OR (2 AND 3)"},
		{"1 AND 2 OR 3", "(1 AND 2) OR 3"},
		{"NOT 1 AND 2", "NOT 1 AND 2"},
		{"not (1 and 2)", "NOT (1 AND 2)"},
		{"NOT NOT 1", "NOT NOT 1"},
		{"((1))", "1"},
		{"1 And 2 oR 3", "(1 AND 2) OR 3"},
		{"(1 and 2) and (3)", "(1 AND 2) AND 3"},
		{"1 AND 2 AND 3", "1 AND 2 AND 3"},
		{" \t1\nor\r2 ", "1 OR 2"},
		{"(1)AND(2)", "1 AND 2"},
	}
	for _, tt := range tests {
		n, err := parseLogic(tt.in, 3)
		if err != nil {
			t.Errorf("parseLogic(%q): %v", tt.in, err)
			continue
		}
		if got := n.String(); got != tt.want {
			t.Errorf("parseLogic(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseLogicErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"", "empty"},
		{"   ", "empty"},
		{"1 AND", "expected a rule number"},
		{"AND 1", "expected a rule number"},
		{"1 2", "expected AND, OR or the end"},
		{"(1", `expected ")"`},
		{"1)", "expected AND, OR or the end"},
		{"4", "numbered 1 to 3"},
		{"0", "numbered 1 to 3"},
		{"01", "numbered 1 to 3"},
		{"99999999999999999999999", "numbered 1 to 3"},
		{"1 XOR 2", `unknown word "XOR"`},
		{"1 && 2", "unexpected character"},
		{"NOT", "expected a rule number"},
		{"()", "expected a rule number"},
		{"1 AND ünd", "unexpected character"},
		{strings.Repeat("(", 40) + "1" + strings.Repeat(")", 40), "nest more than"},
		{strings.Repeat("NOT ", 40) + "1", "nest more than"},
		{strings.Repeat("1 AND ", 400) + "1", "bytes long"},
	}
	for _, tt := range tests {
		_, err := parseLogic(tt.in, 3)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseLogic(%q): error %v, want one with %q", tt.in, err, tt.want)
		}
	}
	if _, err := parseLogic("1", 0); err == nil || !strings.Contains(err.Error(), "no rules") {
		t.Errorf("parseLogic over no rules: %v", err)
	}
}

// FuzzParseLogic checks that parsing never panics, that what parses writes
// back to an expression that parses the same, and that Validate refuses
// exactly the expressions that do not parse.
func FuzzParseLogic(f *testing.F) {
	for _, s := range []string{"1", "1 AND (2 OR 3)", "(1 or 2) and not 3", "NOT NOT 1", "1 AND", "((", "3 OR 4", "not(1)and(2)", "1 or 2 or 3 and not (2)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseLogic(s, 3)
		if err == nil {
			again, err := parseLogic(n.String(), 3)
			if err != nil {
				t.Fatalf("parseLogic(%q) gave %q, which does not parse: %v", s, n, err)
			}
			if again.String() != n.String() {
				t.Fatalf("parseLogic(%q) = %q, and again %q", s, n, again)
			}
			n.rules(func(k int) {
				if k < 1 || k > 3 {
					t.Fatalf("parseLogic(%q) names rule %d", s, k)
				}
			})
		}
		r := ValidationRule{Name: "fuzz", Rules: RuleSet{Logic: s, Rules: map[string]Rule{
			"1": amountRule(OpMoreThan, 1),
			"2": amountRule(OpMoreThan, 2),
			"3": amountRule(OpMoreThan, 3),
		}}}
		verr := r.Validate()
		blank := strings.TrimSpace(s) == ""
		switch {
		case err == nil && verr != nil:
			t.Fatalf("Validate refuses logic %q, which parses: %v", s, verr)
		case err != nil && !blank && verr == nil:
			t.Fatalf("Validate accepts logic %q, which does not parse: %v", s, err)
		case verr != nil && ErrorCode(verr) != EInvalidPayload:
			t.Fatalf("Validate(%q): code %s, want %s", s, ErrorCode(verr), EInvalidPayload)
		}
		if verr == nil {
			if _, err := r.Evaluate(RuleContext{Order: &Order{Amount: 2}}); err != nil {
				t.Fatalf("Evaluate with logic %q: %v", s, err)
			}
		}
	})
}

func amountRule(op string, v int64) Rule {
	return Rule{Name: "order.amount", Conditions: Conditions{op: {v}}}
}

// expr is a generated logic expression and how it is written.
type expr struct {
	text string
	eval func(bits []bool) bool
	// rules are the rules it names, and whether a NOT is above any of them.
	hasNot bool
}

// exprGen generates expressions over rules 1 to n, written with random
// letter case, spacing and redundant parentheses.
func exprGen(n int, depth int) *rapid.Generator[expr] {
	return rapid.Custom(func(t *rapid.T) expr {
		word := func(w string) string {
			return rapid.SampledFrom([]string{w, strings.ToLower(w), strings.ToUpper(w[:1]) + strings.ToLower(w[1:])}).Draw(t, "word")
		}
		sp := func() string { return rapid.SampledFrom([]string{" ", "  ", "\t", " \n "}).Draw(t, "space") }
		kind := 0
		if depth > 0 {
			kind = rapid.IntRange(0, 4).Draw(t, "kind")
		}
		var e expr
		switch kind {
		case 0, 1:
			k := rapid.IntRange(1, n).Draw(t, "rule")
			e = expr{text: strconv.Itoa(k), eval: func(b []bool) bool { return b[k-1] }}
		case 2:
			x := exprGen(n, depth-1).Draw(t, "not")
			e = expr{text: word("NOT") + sp() + "(" + x.text + ")", eval: func(b []bool) bool { return !x.eval(b) }, hasNot: true}
		default:
			x := exprGen(n, depth-1).Draw(t, "left")
			y := exprGen(n, depth-1).Draw(t, "right")
			op := "AND"
			if kind == 4 {
				op = "OR"
			}
			e = expr{text: "(" + x.text + ")" + sp() + word(op) + sp() + "(" + y.text + ")", hasNot: x.hasNot || y.hasNot}
			if op == "AND" {
				e.eval = func(b []bool) bool { return x.eval(b) && y.eval(b) }
			} else {
				e.eval = func(b []bool) bool { return x.eval(b) || y.eval(b) }
			}
		}
		if rapid.Bool().Draw(t, "parens") {
			e.text = "(" + e.text + ")"
		}
		return e
	})
}

// switchRules returns a rule set of n rules where rule k passes when the
// order's metadata "rk" is true, and the order that sets them to bits.
func switchRules(n int, logic string, bits []bool) (ValidationRule, *Order) {
	r := ValidationRule{Name: "switches", Rules: RuleSet{Logic: logic, Rules: map[string]Rule{}}}
	md := Metadata{}
	for k := 1; k <= n; k++ {
		p := fmt.Sprintf("r%d", k)
		r.Rules.Rules[strconv.Itoa(k)] = Rule{Name: "order.metadata", Property: p, Conditions: Conditions{OpIs: {true}}}
		md[p] = bits[k-1]
	}
	return r, &Order{Amount: 100, Metadata: md}
}

func evalSwitches(t *rapid.T, n int, logic string, bits []bool) *RuleViolation {
	r, o := switchRules(n, logic, bits)
	if err := r.Validate(); err != nil {
		t.Fatalf("Validate(%q): %v", logic, err)
	}
	v, err := r.Evaluate(RuleContext{Order: o})
	if err != nil {
		t.Fatalf("Evaluate(%q): %v", logic, err)
	}
	return v
}

// TestLogicProperties checks the evaluator against Go's own boolean
// operators, NOT x against !x, De Morgan's laws, and that a failing
// expression without NOT blames a rule that fails.
func TestLogicProperties(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 5).Draw(t, "n")
		bits := rapid.SliceOfN(rapid.Bool(), n, n).Draw(t, "bits")
		x := exprGen(n, 4).Draw(t, "x")
		y := exprGen(n, 3).Draw(t, "y")

		v := evalSwitches(t, n, x.text, bits)
		if want := x.eval(bits); (v == nil) != want {
			t.Fatalf("%q with %v: passes %v, want %v", x.text, bits, v == nil, want)
		}
		if v != nil && !x.hasNot {
			k, _ := strconv.Atoi(v.Key)
			if k < 1 || k > n || bits[k-1] {
				t.Fatalf("%q with %v blames rule %s, which passes", x.text, bits, v.Key)
			}
		}
		not := evalSwitches(t, n, "NOT ("+x.text+")", bits)
		if (not == nil) == (v == nil) {
			t.Fatalf("NOT (%s) with %v: passes %v, as x does", x.text, bits, not == nil)
		}
		a := evalSwitches(t, n, "NOT (("+x.text+") AND ("+y.text+"))", bits)
		b := evalSwitches(t, n, "(NOT ("+x.text+")) OR (NOT ("+y.text+"))", bits)
		if (a == nil) != (b == nil) {
			t.Fatalf("De Morgan fails for AND: %q, %q with %v", x.text, y.text, bits)
		}
		c := evalSwitches(t, n, "NOT (("+x.text+") OR ("+y.text+"))", bits)
		d := evalSwitches(t, n, "NOT ("+x.text+") AND NOT ("+y.text+")", bits)
		if (c == nil) != (d == nil) {
			t.Fatalf("De Morgan fails for OR: %q, %q with %v", x.text, y.text, bits)
		}
		// Evaluation is deterministic.
		again := evalSwitches(t, n, x.text, bits)
		if (v == nil) != (again == nil) || v != nil && *v != *again {
			t.Fatalf("%q with %v: %+v, then %+v", x.text, bits, v, again)
		}
	})
}
