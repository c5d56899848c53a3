package engine_test

import (
	"strings"
	"testing"

	"promo/internal/engine"
	"promo/internal/promo"
)

func TestParseImportCSV(t *testing.T) {
	t.Parallel()
	items, err := engine.ParseImportCSV(strings.NewReader(
		"\ufeffCode,Category,Active,Redemption Quantity,Start Date,Tier\n" +
			"SUM-1,spring,false,3,2026-04-01,gold\n" +
			"\"SUM,2\",,,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("%d items, want 2", len(items))
	}
	a := items[0]
	if a.Code != "SUM-1" || *a.Category != "spring" || *a.Active || *a.Redemption.Quantity != 3 ||
		a.StartDate.Format("2006-01-02") != "2026-04-01" || a.Metadata["Tier"] != "gold" {
		t.Fatalf("first item %+v", a)
	}
	if items[1].Code != "SUM,2" || items[1].Active != nil || items[1].Redemption != nil {
		t.Fatalf("second item %+v", items[1])
	}
	for name, in := range map[string]string{
		"empty":          "",
		"no code column": "name,category\nx,y\n",
		"bad active":     "code,active\nA,maybe\n",
		"bad quantity":   "code,quantity\nA,0\n",
		"bad date":       "code,start_date\nA,tomorrow\n",
		"too many":       "code\nA,B\n",
		"bad quoting":    "code\n\"A\n",
	} {
		if _, err := engine.ParseImportCSV(strings.NewReader(in)); promo.ErrorCode(err) != promo.EInvalidPayload {
			t.Errorf("%s: error %v, want invalid_payload", name, err)
		}
	}
}

func FuzzParseImportCSV(f *testing.F) {
	for _, s := range []string{"code\nA\n", "Code,Active,Quantity\nX,true,2\n", "code,start_date\nA,2026-01-01T00:00:00Z\n", "\"", "code\n\"a\"\"b\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		items, err := engine.ParseImportCSV(strings.NewReader(s))
		if err != nil {
			if promo.ErrorCode(err) != promo.EInvalidPayload {
				t.Fatalf("error %v is not invalid_payload", err)
			}
			return
		}
		for _, it := range items {
			if q := it.Redemption; q != nil && *q.Quantity < 1 {
				t.Fatalf("quantity %d accepted", *q.Quantity)
			}
		}
	})
}
