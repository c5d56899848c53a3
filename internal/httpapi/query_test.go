package httpapi

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"promo/internal/promo"
)

// dump writes a node as key=value lines, sorted, with bracketed paths.
func dump(n *queryNode, prefix string, b *strings.Builder) {
	for _, v := range n.values {
		fmt.Fprintf(b, "%s=%s\n", prefix, v)
	}
	for _, k := range n.keys() {
		p := k
		if prefix != "" {
			p = prefix + "[" + k + "]"
		}
		dump(n.kids[k], p, b)
	}
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ raw, want string }{
		{"", ""},
		{"limit=10&page=2", "limit=10\npage=2\n"},
		{"a=1&a=2&&b", "a=1\na=2\nb=\n"},
		{"q=a+b%20c&x%3Dy=%26", "q=a b c\nx=y=&\n"},
		{"filters[junction]=OR&filters[customer_id][conditions][$in][0]=a&filters[customer_id][conditions][$in][1]=b",
			"filters[customer_id][conditions][$in][0]=a\nfilters[customer_id][conditions][$in][1]=b\nfilters[junction]=OR\n"},
		// The SDK's qs escapes the brackets.
		{"filters%5Bjunction%5D=AND&created_at%5Bafter%5D=2026-01-01", "created_at[after]=2026-01-01\nfilters[junction]=AND\n"},
		{"a[]=x&a[]=y", "a[0]=x\na[1]=y\n"},
		{"a[0]=x&a[]=y", "a[0]=x\na[1]=y\n"},
		{"a=v&a[b]=w", "a=v\na[b]=w\n"},
		// Not bracket syntax: one name.
		{"a[b=1&a]b=2&[x]=3&a[b]c=4", "[x]=3\na[b=1\na[b]c=4\na]b=2\n"},
		{"a[b][c][d][e][f]=deep", "a[b][c][d][e][f]=deep\n"},
	} {
		q, err := parseQuery(c.raw)
		if err != nil {
			t.Errorf("%q: %v", c.raw, err)
			continue
		}
		var b strings.Builder
		dump(q, "", &b)
		if b.String() != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.raw, b.String(), c.want)
		}
	}
}

func TestParseQueryRefuses(t *testing.T) {
	t.Parallel()
	for _, raw := range []string{
		"a[b][c][d][e][f][g]=too deep",
		"a=%zz",
		"%zz=1",
		strings.Repeat("a=1&", maxQueryParams) + "b=2",
	} {
		_, err := parseQuery(raw)
		if promo.ErrorCode(err) != promo.EInvalidParam {
			t.Errorf("%.40q: %v", raw, err)
		}
	}
	if _, err := parseQuery(strings.Repeat("a=1&", maxQueryParams)); err != nil {
		t.Errorf("%d parameters should pass: %v", maxQueryParams, err)
	}
}

func TestQueryNode(t *testing.T) {
	t.Parallel()
	q, err := parseQuery("ids[2]=c&ids[0]=a&ids[1]=b&ids[x]=no&ids[10]=k&ids[01]=no&one=1&one=2&multi=x&multi=y")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(q.get("ids").list()); got != "[a b c k]" {
		t.Errorf("list %s", got)
	}
	if got := fmt.Sprint(q.get("multi").list()); got != "[x y]" {
		t.Errorf("list %s", got)
	}
	if q.get("one").value() != "1" || q.get("nope", "deeper").value() != "" || q.get("nope").list() != nil || q.get("nope").keys() != nil {
		t.Error("lookups")
	}
}

func TestListParams(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		query string
		want  promo.ListParams
		code  string
	}{
		{"", promo.ListParams{Limit: 10, Page: 1}, ""},
		{"limit=100&page=1000&order=created_at", promo.ListParams{Limit: 100, Page: 1000, Ascending: true}, ""},
		{"limit=1&page=3&order=-created_at", promo.ListParams{Limit: 1, Page: 3}, ""},
		{"limit=0", promo.ListParams{}, promo.EInvalidParam},
		{"limit=101", promo.ListParams{}, promo.EInvalidParam},
		{"limit=ten", promo.ListParams{}, promo.EInvalidParam},
		{"page=0", promo.ListParams{}, promo.EInvalidParam},
		{"page=-1", promo.ListParams{}, promo.EInvalidParam},
		{"page=x", promo.ListParams{}, promo.EInvalidParam},
		{"page=1001", promo.ListParams{}, promo.EPageOverLimit},
		{"page=99999999999999999999999", promo.ListParams{}, promo.EPageOverLimit},
		{"order=name", promo.ListParams{}, promo.EInvalidParam},
		{"limit=%zz", promo.ListParams{}, promo.EInvalidParam},
	} {
		p, err := listParams(httptest.NewRequest("GET", "/v1/vouchers?"+c.query, nil))
		if promo.ErrorCode(err) != c.code {
			t.Errorf("%q: error %v, want code %q", c.query, err, c.code)
			continue
		}
		if err == nil && p != c.want {
			t.Errorf("%q: %+v, want %+v", c.query, p, c.want)
		}
		if err != nil && !strings.Contains(err.Error(), strings.SplitN(c.query, "=", 2)[0]) {
			t.Errorf("%q: the error should name the parameter: %v", c.query, err)
		}
	}
}

func TestTimeRange(t *testing.T) {
	t.Parallel()
	day := func(s string) *time.Time {
		v, _ := time.Parse("2006-01-02", s)
		return &v
	}
	for _, c := range []struct {
		query         string
		after, before *time.Time
		err           string
	}{
		{query: ""},
		{query: "created_at[after]=2026-01-01", after: day("2026-01-01")},
		{query: "created_at%5Bbefore%5D=2026-02-01T00:00:00Z&created_at[after]=2026-01-01", after: day("2026-01-01"), before: day("2026-02-01")},
		{query: "filters[created_at][conditions][$after][0]=2026-01-01&filters[created_at][conditions][$before]=2026-02-01", after: day("2026-01-01"), before: day("2026-02-01")},
		{query: "created_at[after]=2026-01-01&filters[created_at][conditions][$after][0]=2027-01-01", after: day("2026-01-01")},
		{query: "created_at[after]=yesterday", err: "created_at[after]: \"yesterday\" is not a time"},
		{query: "filters[created_at][conditions][$before][0]=nope", err: "filters[created_at][conditions][$before]: \"nope\""},
	} {
		q, err := parseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := timeRange(q, "created_at")
		if c.err != "" {
			if promo.ErrorCode(err) != promo.EInvalidParam || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %s", c.query, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		same := func(got *promo.Time, want *time.Time) bool {
			return got == nil && want == nil || got != nil && want != nil && got.Equal(*want)
		}
		if !same(tr.After, c.after) || !same(tr.Before, c.before) {
			t.Errorf("%q: %+v", c.query, tr)
		}
	}
}

func FuzzQuery(f *testing.F) {
	for _, s := range []string{
		"",
		"limit=10&page=2&order=-created_at",
		"filters[junction]=OR&filters[customer_id][conditions][$in][0]=a&filters[customer_id][conditions][$in][1]=b",
		"filters%5Bjunction%5D=AND&created_at%5Bafter%5D=2026-01-01T00:00:00Z",
		"a[]=x&a[]=y&a[0]=z",
		"a[b][c][d][e][f][g]=deep",
		"a[b=1&a]b=2&[x]=3&a[b]c=4&%zz=1&a=%",
		"a[][][][][]=1&a[][][][][]=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := parseQuery(raw)
		if err != nil {
			if promo.ErrorCode(err) != promo.EInvalidParam {
				t.Fatalf("error %v is not invalid_query_params", err)
			}
			return
		}
		var leaves int
		var walk func(n *queryNode, depth int)
		walk = func(n *queryNode, depth int) {
			if depth > maxQueryDepth {
				t.Fatalf("depth %d", depth)
			}
			leaves += len(n.values)
			for _, k := range n.keys() {
				walk(n.get(k), depth+1)
			}
			n.list()
		}
		walk(q, 0)
		if leaves > maxQueryParams {
			t.Fatalf("%d values", leaves)
		}
		timeRange(q, "created_at")
	})
}
