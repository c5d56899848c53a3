package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"promo/internal/promo"
)

// Bounds on a query string, so that a request cannot make us build a large
// tree. The deepest key Voucherify's SDK sends has five brackets:
// filters[customer_id][conditions][$in][0].
const (
	maxQueryParams = 100
	maxQueryDepth  = 6 // a name and five brackets
	maxPage        = 1000
)

// queryNode is one key of a query string in the bracket syntax of the qs
// library, which Voucherify's SDK uses for nested objects:
//
//	filters[junction]=OR&filters[customer_id][conditions][$in][0]=a
//
// gives a root whose "filters" child has a "junction" child with the value
// OR and a "customer_id" child and so on. A key may have both values and
// children. The zero of *queryNode (nil) is an empty node, so lookups chain.
type queryNode struct {
	values []string
	kids   map[string]*queryNode
}

// parseQuery parses a raw query string (r.URL.RawQuery). Keys and values
// are unescaped before the brackets are read, so %5B and %5D work as
// brackets. An empty pair of brackets appends: a[]=x&a[]=y is a[0]=x&a[1]=y.
// It fails with EInvalidParam on bad escapes, more than maxQueryParams
// parameters or keys deeper than maxQueryDepth.
func parseQuery(raw string) (*queryNode, error) {
	root := &queryNode{}
	n := 0
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		if n++; n > maxQueryParams {
			return nil, promo.Errorf(promo.EInvalidParam, "the query has more than %d parameters", maxQueryParams)
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return nil, promo.Errorf(promo.EInvalidParam, "query parameter %q is not properly escaped", rawKey)
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, promo.Errorf(promo.EInvalidParam, "the value of query parameter %s is not properly escaped", key)
		}
		segs, ok := splitKey(key)
		if !ok {
			return nil, promo.Errorf(promo.EInvalidParam, "query parameter %s nests deeper than %d levels", key, maxQueryDepth)
		}
		node := root
		for _, s := range segs {
			node = node.child(s)
		}
		node.values = append(node.values, value)
	}
	return root, nil
}

// splitKey splits a[b][c] into a, b and c. A key that is not in bracket
// syntax, such as a[b or a]b, is one name. It reports false for a key with
// more than maxQueryDepth parts.
func splitKey(key string) ([]string, bool) {
	i := strings.IndexByte(key, '[')
	if i <= 0 {
		return []string{key}, true
	}
	segs := []string{key[:i]}
	for rest := key[i:]; rest != ""; {
		j := strings.IndexByte(rest, ']')
		if rest[0] != '[' || j < 0 {
			return []string{key}, true
		}
		if len(segs) == maxQueryDepth {
			return nil, false
		}
		segs = append(segs, rest[1:j])
		rest = rest[j+1:]
	}
	return segs, true
}

// child returns the child named s, adding it if needed; "" adds the next
// array index.
func (n *queryNode) child(s string) *queryNode {
	if n.kids == nil {
		n.kids = make(map[string]*queryNode)
	}
	if s == "" {
		for i := len(n.kids); ; i++ {
			if s = strconv.Itoa(i); n.kids[s] == nil {
				break
			}
		}
	}
	c := n.kids[s]
	if c == nil {
		c = &queryNode{}
		n.kids[s] = c
	}
	return c
}

// get returns the node at path below n, or nil.
func (n *queryNode) get(path ...string) *queryNode {
	for _, s := range path {
		if n == nil {
			return nil
		}
		n = n.kids[s]
	}
	return n
}

// value returns the first value given for n, or "".
func (n *queryNode) value() string {
	if n == nil || len(n.values) == 0 {
		return ""
	}
	return n.values[0]
}

// list returns n as a list: its own values (a=x&a=y) followed by its
// children with array indexes (a[0]=x&a[1]=y), in index order.
func (n *queryNode) list() []string {
	if n == nil {
		return nil
	}
	out := slices.Clone(n.values)
	type indexed struct {
		i int
		v []string
	}
	var items []indexed
	for k, c := range n.kids {
		if i, err := strconv.Atoi(k); err == nil && i >= 0 && strconv.Itoa(i) == k {
			items = append(items, indexed{i, c.values})
		}
	}
	slices.SortFunc(items, func(a, b indexed) int { return a.i - b.i })
	for _, it := range items {
		out = append(out, it.v...)
	}
	return out
}

// keys returns the names of n's children, sorted.
func (n *queryNode) keys() []string {
	if n == nil {
		return nil
	}
	out := make([]string, 0, len(n.kids))
	for k := range n.kids {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// listParams reads the paging of a list request: limit (1-100, default 10),
// page (1-based, default 1, at most 1000) and order (created_at for oldest
// first, -created_at for newest first, the default). Bad values fail with
// EInvalidParam naming the parameter; a page past 1000 with EPageOverLimit.
func listParams(r *http.Request) (promo.ListParams, error) {
	p := promo.ListParams{Limit: 10, Page: 1}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return p, err
	}
	if s := q.get("limit").value(); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			return p, promo.Errorf(promo.EInvalidParam, "limit must be an integer from 1 to 100, not %q", s)
		}
		p.Limit = n
	}
	if s := q.get("page").value(); s != "" {
		n, err := strconv.Atoi(s)
		switch {
		case err != nil && !isDigits(s), err == nil && n < 1:
			return p, promo.Errorf(promo.EInvalidParam, "page must be a positive integer, not %q", s)
		case err != nil || n > maxPage:
			return p, promo.Errorf(promo.EPageOverLimit, "page must be at most %d, not %s", maxPage, s)
		}
		p.Page = n
	}
	switch s := q.get("order").value(); s {
	case "", "-created_at":
	case "created_at":
		p.Ascending = true
	default:
		return p, promo.Errorf(promo.EInvalidParam, "order must be created_at or -created_at, not %q", s)
	}
	return p, nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// timeRange reads the bounds of a time field from q: field[after] and
// field[before], or the SDK's filter form
// filters[field][conditions][$after][0]. A bad time fails with
// EInvalidParam naming the parameter.
func timeRange(q *queryNode, field string) (promo.TimeRange, error) {
	var tr promo.TimeRange
	for _, b := range []struct {
		name string
		dst  **promo.Time
	}{{"after", &tr.After}, {"before", &tr.Before}} {
		param := field + "[" + b.name + "]"
		s := q.get(field, b.name).value()
		if s == "" {
			if l := q.get("filters", field, "conditions", "$"+b.name).list(); len(l) > 0 {
				param = "filters[" + field + "][conditions][$" + b.name + "]"
				s = l[0]
			}
		}
		if s == "" {
			continue
		}
		t, err := promo.ParseTime(s)
		if err != nil {
			return tr, promo.Errorf(promo.EInvalidParam, "%s: %v", param, err)
		}
		*b.dst = &t
	}
	return tr, nil
}
