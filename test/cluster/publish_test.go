package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// publication is the part of POST /v1/publications's answer the tests
// read.
type publication struct {
	ID         string `json:"id"`
	Result     string `json:"result"`
	CustomerID string `json:"customer_id"`
	Voucher    struct {
		Code string `json:"code"`
	} `json:"voucher"`
}

// publishBody publishes one code of a campaign to a customer.
func publishBody(campaign, customer string) map[string]any {
	return map[string]any{"campaign": map[string]string{"name": campaign}, "customer": map[string]string{"source_id": customer}}
}

// TestPublicationPool: 300 customers, 100 on each node at once, ask for a
// code from a STATIC pool of 200. Exactly 200 get one, each a different
// code, each code held by its customer; 100 are told
// no_voucher_suitable_for_publication; no 5xx.
func TestPublicationPool(t *testing.T) {
	t.Parallel()
	const pool, customers = 200, 300
	c := newCluster(t, 3)
	c.createCampaign(t, fmt.Sprintf(`{"name":"Pool","type":"STATIC","vouchers_count":%d,
		"voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100}}}`, pool))
	inPool := map[string]bool{}
	for _, v := range c.campaignVouchers(t, "Pool", pool) {
		inPool[v.Code] = true
	}

	var (
		ty    = newTally()
		pubs  = make([]*publication, customers)
		ready sync.WaitGroup
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	ready.Add(customers)
	for i := range customers {
		n := c.nodes[i%len(c.nodes)]
		wg.Go(func() {
			body := publishBody("Pool", fmt.Sprintf("pool-customer-%d", i))
			ready.Done()
			<-start
			status, out, err := c.do(n, "POST", "/v1/publications", body)
			ty.add("publish", n.name, status, out, err)
			if err != nil || status != http.StatusOK {
				return
			}
			var p publication
			if err := json.Unmarshal(out, &p); err != nil || p.Result != "SUCCESS" || p.Voucher.Code == "" || p.CustomerID == "" {
				t.Errorf("publication answered 200 with %s", out)
				return
			}
			pubs[i] = &p
		})
	}
	ready.Wait()
	close(start)
	wg.Wait()
	t.Logf("%d publications from a pool of %d on %d nodes; answers:%s", customers, pool, len(c.nodes), ty)
	ty.noServerErrors(t)

	holderOf := map[string]string{} // code -> customer ID
	customerIDs := map[string]bool{}
	for i, p := range pubs {
		if p == nil {
			continue
		}
		if prev, ok := holderOf[p.Voucher.Code]; ok {
			t.Errorf("code %s published to %s and to %s (customer %d)", p.Voucher.Code, prev, p.CustomerID, i)
		}
		if !inPool[p.Voucher.Code] {
			t.Errorf("publication %s gave %s, not a code of the pool", p.ID, p.Voucher.Code)
		}
		if customerIDs[p.CustomerID] {
			t.Errorf("customer %s got two publications", p.CustomerID)
		}
		holderOf[p.Voucher.Code], customerIDs[p.CustomerID] = p.CustomerID, true
	}
	ok, empty := ty.count("publish 200"), ty.count("publish 400 no_voucher_suitable_for_publication")
	if ok != pool || len(holderOf) != pool || empty != customers-pool || ok+empty != customers {
		t.Errorf("%d publications succeeded with %d distinct codes, %d found no code; want %d, %d and %d",
			ok, len(holderOf), empty, pool, pool, customers-pool)
	}
	// The store agrees: each code of the pool is held by the customer it
	// was published to, once.
	for _, v := range c.campaignVouchers(t, "Pool", pool) {
		want, published := holderOf[v.Code]
		switch {
		case !published:
			t.Errorf("voucher %s: no client was given it; holder %v, published %d times", v.Code, v.HolderID, v.Publish.Count)
		case v.HolderID == nil || *v.HolderID != want || v.Publish.Count != 1:
			t.Errorf("voucher %s: holder %v, published %d times; want holder %s, once", v.Code, v.HolderID, v.Publish.Count, want)
		}
	}
}
