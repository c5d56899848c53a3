package storetest

import (
	"fmt"

	"promo/internal/promo"
)

// AuditLog returns n audit entries as the engine writes them: half about
// new customers, a quarter about vouchers of 20 campaigns (naming their
// voucher and campaign), a quarter about those campaigns (naming
// themselves). The stores' plan tests read such a log by campaign and by
// voucher, camp_3 and promo.VoucherID(7) among them.
func AuditLog(n int) []*promo.AuditEntry {
	es := make([]*promo.AuditEntry, n)
	for i := range es {
		e := &promo.AuditEntry{Time: promo.TimeFromMillis(int64(i)), Action: promo.AuditCreated, ResourceType: "customer",
			ResourceID: fmt.Sprintf("cust_%d", i)}
		switch i % 4 {
		case 1:
			v := promo.VoucherID(int64(i % 1000))
			e.ResourceType, e.ResourceID, e.CampaignID, e.VoucherID = "voucher", v, fmt.Sprintf("camp_%d", i%20), v
		case 2:
			e.ResourceType, e.ResourceID, e.CampaignID = "campaign", fmt.Sprintf("camp_%d", i%20), fmt.Sprintf("camp_%d", i%20)
		}
		es[i] = e
	}
	return es
}
