package engine_test

import (
	"context"
	"fmt"
	"testing"

	"promo/internal/engine"
	"promo/internal/promo"
)

func str(s string) *string { return &s }

func TestCanary(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	ctx := promo.NewContextWithAPIKey(context.Background(), "app_test")
	if _, err := b.eng.CreateVoucher(ctx, engine.VoucherInput{Code: "TRAP-1", Canary: true,
		TemplateInput: engine.TemplateInput{Discount: &tenOff}}); err != nil {
		t.Fatal(err)
	}
	req := redeemReq("TRAP-1", "finder", 5000)
	req.ClientIP = "198.51.100.9"
	val, err := b.eng.Validate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	nope, err := b.eng.Validate(ctx, redeemReq("NOPE-1", "finder", 5000))
	if err != nil {
		t.Fatal(err)
	}
	got, want := val.Redeemables[0], nope.Redeemables[0]
	if val.Valid || got.Voucher != nil || got.Err.Code != want.Err.Code || got.Err.Details != "Cannot find voucher with id TRAP-1" {
		t.Fatalf("a canary answered %+v (%v), want what a missing code gets: %v", got, got.Err, want.Err)
	}
	if _, _, err := b.eng.Redeem(ctx, req); promo.ErrorCode(err) != promo.EResourceNotFound {
		t.Fatalf("redeeming a canary: %v, want resource_not_found", err)
	}
	flags, total, err := b.eng.Flags(ctx, promo.FlagFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}, Kind: promo.FlagCanary})
	if err != nil || total != 2 {
		t.Fatalf("%d canary flags (%v), want 2: the validation's and the redemption's", total, err)
	}
	if d := flags[0].Details; flags[0].Code != "TRAP-1" || d["client_ip"] != "198.51.100.9" || d["customer"] != "src|finder" || d["api_key_id"] != "app_test" {
		t.Fatalf("flag %+v lacks the attempt's details", flags[0])
	}
	entries, _, err := b.store.Audit(ctx, promo.AuditFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}, VoucherID: flags[0].VoucherID})
	if err != nil || len(entries) == 0 || entries[0].Action != promo.AuditFlagged {
		t.Fatalf("the voucher's audit: %+v, %v; want a flagged entry first", entries, err)
	}
	if _, _, err := b.eng.Publish(ctx, engine.PublishInput{Voucher: "TRAP-1", Customer: &engine.CustomerInput{SourceID: str("x")}}); promo.ErrorCode(err) != promo.ENotFound {
		t.Fatalf("publishing a canary: %v, want not_found", err)
	}
	c, err := b.eng.CreateCampaign(ctx, engine.CampaignInput{Name: "pool", Type: promo.CampaignStatic, Voucher: &engine.TemplateInput{Discount: &tenOff}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.eng.CreateVoucher(ctx, engine.VoucherInput{Code: "TRAP-2", Canary: true, Campaign: c.Campaign.ID}); promo.ErrorCode(err) != promo.EInvalidPayload {
		t.Fatalf("a canary in a campaign: %v, want invalid_payload", err)
	}
}

func TestLeakDetection(t *testing.T) {
	t.Parallel()
	for _, disable := range []bool{false, true} {
		t.Run(fmt.Sprint("disable=", disable), func(t *testing.T) {
			b := setup(t, engine.Options{Leaks: engine.LeakOptions{MaxCustomers: 3, MaxIPs: 100, Disable: disable}})
			ctx := context.Background()
			one := int64(1)
			if _, err := b.eng.CreateVoucher(ctx, engine.VoucherInput{Code: "ONCE-1",
				TemplateInput: engine.TemplateInput{Discount: &tenOff, Redemption: &promo.Quantity{Quantity: &one}}}); err != nil {
				t.Fatal(err)
			}
			// An unlimited code is tried by many, and that is fine.
			if _, err := b.eng.CreateVoucher(ctx, engine.VoucherInput{Code: "PUBLIC-1", TemplateInput: engine.TemplateInput{Discount: &tenOff}}); err != nil {
				t.Fatal(err)
			}
			for i := range 6 {
				for _, code := range []string{"ONCE-1", "PUBLIC-1"} {
					if _, err := b.eng.Validate(ctx, redeemReq(code, fmt.Sprint("c", i%5), 5000)); err != nil {
						t.Fatal(err)
					}
				}
			}
			flags, total, err := b.eng.Flags(ctx, promo.FlagFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}})
			if err != nil || total != 1 || flags[0].Kind != promo.FlagLeak || flags[0].Code != "ONCE-1" || flags[0].Disabled != disable {
				t.Fatalf("flags %+v (%d, %v), want one leak flag of ONCE-1, disabled %v", flags, total, err, disable)
			}
			if n := flags[0].Details["distinct_customers"]; n != float64(4) {
				t.Errorf("distinct_customers %v, want 4 (one past the limit of 3)", n)
			}
			v, err := b.eng.Voucher(ctx, "ONCE-1")
			if err != nil || v.Active == disable {
				t.Fatalf("voucher %+v (%v): active should be %v", v, err, !disable)
			}
			// A new window starts afresh.
			b.clock.Add(11 * 60e9)
			if _, err := b.eng.Validate(ctx, redeemReq("ONCE-1", "late", 5000)); err != nil {
				t.Fatal(err)
			}
			if _, total, _ := b.eng.Flags(ctx, promo.FlagFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}}); total != 1 {
				t.Fatalf("%d flags after a new window's first attempt, want 1", total)
			}
		})
	}
}

func TestBlocklist(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	ctx := context.Background()
	for _, in := range []promo.BlockEntry{
		{Kind: promo.BlockIP, Value: "203.0.113.0/24", Reason: "bot farm"},
		{Kind: promo.BlockIP, Value: "2001:db8::7"},
		{Kind: promo.BlockCustomerSourceID, Value: "fraudster"},
		{Kind: promo.BlockCustomerEmail, Value: "Scam@Example.com"},
	} {
		if _, err := b.eng.AddBlock(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []promo.BlockEntry{{Kind: promo.BlockIP, Value: "not-an-ip"}, {Kind: "phone", Value: "1"}, {Kind: promo.BlockCustomerEmail, Value: "nope"}, {Kind: promo.BlockIP}} {
		if _, err := b.eng.AddBlock(ctx, bad); promo.ErrorCode(err) != promo.EInvalidPayload {
			t.Errorf("AddBlock(%+v): %v, want invalid_payload", bad, err)
		}
	}
	if _, err := b.eng.AddBlock(ctx, promo.BlockEntry{Kind: promo.BlockCustomerEmail, Value: "scam@example.com"}); promo.ErrorCode(err) != promo.EDuplicateFound {
		t.Errorf("the same email again: %v, want duplicate", err)
	}
	// A customer whose stored email is blocked, known by source_id.
	if _, err := b.eng.Validate(ctx, engine.RedeemRequest{Redeemables: []engine.RedeemableInput{{Object: "voucher", ID: "X"}},
		Customer: &engine.CustomerInput{SourceID: str("alias"), Email: str("scam@example.com")}}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.eng.Redeem(ctx, engine.RedeemRequest{Redeemables: []engine.RedeemableInput{{Object: "voucher", ID: "X"}},
		Customer: &engine.CustomerInput{SourceID: str("alias"), Email: str("scam@example.com")}}); promo.ErrorCode(err) == "" {
		t.Fatal("redeeming a missing code succeeded")
	}
	for _, tc := range []struct {
		ip      string
		c       *engine.CustomerInput
		blocked bool
	}{
		{"203.0.113.77", nil, true},
		{"203.0.114.1", nil, false},
		{"2001:db8::7", nil, true},
		{"::ffff:203.0.113.5", nil, true},
		{"198.51.100.1", &engine.CustomerInput{SourceID: str("fraudster")}, true},
		{"198.51.100.1", &engine.CustomerInput{SourceID: str("honest")}, false},
		{"", &engine.CustomerInput{SourceID: str("honest"), Email: str("SCAM@example.com")}, true},
		{"", &engine.CustomerInput{SourceID: str("alias")}, true}, // by the stored email
		{"", &engine.CustomerInput{}, false},
	} {
		err := b.eng.CheckBlocked(ctx, tc.ip, tc.c)
		if blocked := promo.ErrorCode(err) == promo.EForbidden; blocked != tc.blocked || (err != nil && !blocked) {
			t.Errorf("CheckBlocked(%q, %+v) = %v, want blocked %v", tc.ip, tc.c, err, tc.blocked)
		}
	}
	list, err := b.store.Blocklist(ctx)
	if err != nil || len(list) != 4 || list[3].Value != "scam@example.com" {
		t.Fatalf("blocklist %+v, %v", list, err)
	}
	if err := b.eng.RemoveBlock(ctx, list[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := b.eng.CheckBlocked(ctx, "203.0.113.77", nil); err != nil {
		t.Fatalf("after the removal: %v", err)
	}
}
