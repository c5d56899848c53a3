package promo

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Bounds of a logic expression, so that parsing and evaluating one costs
// little whatever a client sends.
const (
	// MaxLogicLength bounds the bytes of a logic expression.
	MaxLogicLength = 2000
	// MaxLogicDepth bounds how deep parentheses and NOTs nest.
	MaxLogicDepth = 32
)

// logicOp is the kind of a node of a logic expression.
type logicOp byte

const (
	logicRule logicOp = iota // a rule's number
	logicAnd
	logicOr
	logicNot
)

// logicNode is a parsed logic expression. AND and OR nodes hold two or more
// children, NOT one, a rule none.
type logicNode struct {
	op   logicOp
	rule int // the rule's number, for logicRule
	kids []*logicNode
}

// String writes n back with every compound operand in parentheses, so that
// reading it again gives the same tree.
func (n *logicNode) String() string {
	switch n.op {
	case logicRule:
		return strconv.Itoa(n.rule)
	case logicNot:
		return "NOT " + n.kids[0].operand()
	}
	sep := " AND "
	if n.op == logicOr {
		sep = " OR "
	}
	parts := make([]string, len(n.kids))
	for i, k := range n.kids {
		parts[i] = k.operand()
	}
	return strings.Join(parts, sep)
}

func (n *logicNode) operand() string {
	if n.op == logicRule || n.op == logicNot {
		return n.String()
	}
	return "(" + n.String() + ")"
}

// firstRule returns the number of the leftmost rule under n.
func (n *logicNode) firstRule() int {
	for n.op != logicRule {
		n = n.kids[0]
	}
	return n.rule
}

// rules calls fn with every rule number n names, left to right.
func (n *logicNode) rules(fn func(int)) {
	if n.op == logicRule {
		fn(n.rule)
		return
	}
	for _, k := range n.kids {
		k.rules(fn)
	}
}

// parseLogic parses a logic expression over the rules numbered 1 to count:
// rule numbers, AND, OR, NOT (in any letter case) and parentheses, NOT
// binding tighter than AND and AND tighter than OR. Errors say what is wrong
// and at which byte.
func parseLogic(s string, count int) (*logicNode, error) {
	if len(s) > MaxLogicLength {
		return nil, fmt.Errorf("it is %d bytes long; the limit is %d", len(s), MaxLogicLength)
	}
	p := &logicParser{src: s, count: count}
	p.next()
	if p.err != nil {
		return nil, p.err
	}
	if p.tok == tokEnd {
		return nil, fmt.Errorf("it is empty")
	}
	n := p.or(0)
	if p.err == nil && p.tok != tokEnd {
		p.fail("expected AND, OR or the end, found %s", p.show())
	}
	if p.err != nil {
		return nil, p.err
	}
	return n, nil
}

type logicToken byte

const (
	tokEnd logicToken = iota
	tokNumber
	tokAnd
	tokOr
	tokNot
	tokOpen
	tokClose
)

type logicParser struct {
	src   string
	count int
	pos   int // the byte after the current token
	tok   logicToken
	text  string // the current token as written
	at    int    // where the current token starts
	err   error
}

func (p *logicParser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("at byte %d: %s", p.at+1, fmt.Sprintf(format, args...))
	}
	p.tok = tokEnd
}

func (p *logicParser) show() string {
	if p.tok == tokEnd {
		return "the end"
	}
	return strconv.Quote(p.text)
}

// next reads the next token.
func (p *logicParser) next() {
	s := p.src
	for p.pos < len(s) && (s[p.pos] == ' ' || s[p.pos] == '\t' || s[p.pos] == '\n' || s[p.pos] == '\r') {
		p.pos++
	}
	p.at = p.pos
	if p.pos == len(s) {
		p.tok, p.text = tokEnd, ""
		return
	}
	c := s[p.pos]
	switch {
	case c == '(':
		p.pos++
		p.tok, p.text = tokOpen, "("
	case c == ')':
		p.pos++
		p.tok, p.text = tokClose, ")"
	case '0' <= c && c <= '9':
		for p.pos < len(s) && '0' <= s[p.pos] && s[p.pos] <= '9' {
			p.pos++
		}
		p.tok, p.text = tokNumber, s[p.at:p.pos]
	case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		for p.pos < len(s) && ('a' <= s[p.pos] && s[p.pos] <= 'z' || 'A' <= s[p.pos] && s[p.pos] <= 'Z') {
			p.pos++
		}
		p.text = s[p.at:p.pos]
		switch strings.ToUpper(p.text) {
		case "AND":
			p.tok = tokAnd
		case "OR":
			p.tok = tokOr
		case "NOT":
			p.tok = tokNot
		default:
			p.fail("unknown word %q: use rule numbers, AND, OR, NOT and parentheses", p.text)
		}
	default:
		r, _ := utf8.DecodeRuneInString(s[p.pos:])
		p.fail("unexpected character %q: use rule numbers, AND, OR, NOT and parentheses", r)
	}
}

// or parses operands joined by OR.
func (p *logicParser) or(depth int) *logicNode {
	n := p.and(depth)
	if p.tok != tokOr {
		return n
	}
	kids := []*logicNode{n}
	for p.err == nil && p.tok == tokOr {
		p.next()
		kids = append(kids, p.and(depth))
	}
	return &logicNode{op: logicOr, kids: kids}
}

// and parses operands joined by AND.
func (p *logicParser) and(depth int) *logicNode {
	n := p.unary(depth)
	if p.tok != tokAnd {
		return n
	}
	kids := []*logicNode{n}
	for p.err == nil && p.tok == tokAnd {
		p.next()
		kids = append(kids, p.unary(depth))
	}
	return &logicNode{op: logicAnd, kids: kids}
}

// unary parses a rule number, a NOT or a parenthesised expression.
func (p *logicParser) unary(depth int) *logicNode {
	if depth >= MaxLogicDepth {
		p.fail("parentheses and NOTs nest more than %d deep", MaxLogicDepth)
		return nil
	}
	switch p.tok {
	case tokNot:
		p.next()
		k := p.unary(depth + 1)
		return &logicNode{op: logicNot, kids: []*logicNode{k}}
	case tokOpen:
		p.next()
		n := p.or(depth + 1)
		if p.err == nil && p.tok != tokClose {
			p.fail("expected %q, found %s", ")", p.show())
		}
		if p.err == nil {
			p.next()
		}
		return n
	case tokNumber:
		n, err := strconv.Atoi(p.text)
		if err != nil || n < 1 || n > p.count || p.text[0] == '0' {
			if p.count == 0 {
				p.fail("it names rule %s, but there are no rules", p.text)
			} else {
				p.fail("it names rule %s, but the rules are numbered 1 to %d", p.text, p.count)
			}
			return nil
		}
		p.next()
		return &logicNode{op: logicRule, rule: n}
	}
	p.fail("expected a rule number, NOT or %q, found %s", "(", p.show())
	return nil
}

// defaultLogic is the logic of rules that leave it out: all of them.
func defaultLogic(count int) string {
	parts := make([]string, count)
	for i := range parts {
		parts[i] = strconv.Itoa(i + 1)
	}
	return strings.Join(parts, " AND ")
}
