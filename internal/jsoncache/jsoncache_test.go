package jsoncache

import (
	"encoding/json"
	"testing"

	"promo/internal/promo"
)

// TestTemplateCacheHandsOutCopies checks that a caller changing the template
// it read changes nothing for the next reader of the same stored JSON.
func TestTemplateCacheHandsOutCopies(t *testing.T) {
	c := New(2, json.Unmarshal, func(t *promo.VoucherTemplate) promo.VoucherTemplate { return t.Clone() })
	data := []byte(`{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100},"redemption":{"quantity":3},"metadata":{"tier":"gold","tags":["a"],"nested":{"k":1}}}`)
	var first promo.VoucherTemplate
	if err := c.Decode(data, &first); err != nil {
		t.Fatal(err)
	}
	first.Discount.AmountOff = 1
	*first.Redemption.Quantity = 99
	first.Metadata["tier"] = "changed"
	first.Metadata["tags"].([]any)[0] = "changed"
	first.Metadata["nested"].(map[string]any)["k"] = "changed"
	for range 2 { // from the cache, then again
		var next promo.VoucherTemplate
		if err := c.Decode(data, &next); err != nil {
			t.Fatal(err)
		}
		if next.Discount.AmountOff != 100 || *next.Redemption.Quantity != 3 || next.Metadata["tier"] != "gold" ||
			next.Metadata["tags"].([]any)[0] != "a" || next.Metadata["nested"].(map[string]any)["k"] != float64(1) {
			t.Fatalf("the cached template changed: %+v %v", next, next.Metadata)
		}
	}
	// A full cache starts over rather than growing.
	for _, d := range []string{`{"type":"A"}`, `{"type":"B"}`, `{"type":"C"}`} {
		var tpl promo.VoucherTemplate
		if err := c.Decode([]byte(d), &tpl); err != nil {
			t.Fatal(err)
		}
	}
	if len(c.m) > c.max {
		t.Fatalf("the cache holds %d entries, max %d", len(c.m), c.max)
	}
	if err := c.Decode([]byte(`{"type":`), new(promo.VoucherTemplate)); err == nil {
		t.Fatal("bad JSON decoded without an error")
	}
}
