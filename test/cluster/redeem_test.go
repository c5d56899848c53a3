package cluster

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// loadDuration is how long TestRedemptionsUnderLoad drives the cluster.
// PROMO_CLUSTER_DURATION (a Go duration such as 5s) shortens it for local
// runs.
const loadDuration = 30 * time.Second

func testDuration(t *testing.T) time.Duration {
	t.Helper()
	s := os.Getenv("PROMO_CLUSTER_DURATION")
	if s == "" {
		return loadDuration
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("PROMO_CLUSTER_DURATION=%q is not a positive duration", s)
	}
	return d
}

const (
	loadCodes    = 1000
	loadQuantity = 5
	clientsEach  = 100 // clients per node
)

// redeemBody is a redemption or validation of one code by a customer.
func redeemBody(code, customer string, amount int) map[string]any {
	return map[string]any{
		"redeemables": []map[string]string{{"object": "voucher", "id": code}},
		"customer":    map[string]string{"source_id": customer},
		"order":       map[string]int{"amount": amount},
	}
}

// redemptionAnswer is the part of POST /v1/redemptions's answer the tests
// read.
type redemptionAnswer struct {
	Redemptions []struct {
		ID      string `json:"id"`
		Result  string `json:"result"`
		Status  string `json:"status"`
		Voucher struct {
			Code string `json:"code"`
		} `json:"voucher"`
	} `json:"redemptions"`
}

// redeemed is an acknowledged redemption.
type redeemed struct{ id, code string }

// TestRedemptionsUnderLoad: 100 clients per node validate, redeem and roll
// back at random on 1,000 codes of quantity 5 whose rollbacks give the
// redemption back. Afterwards every code's successful, not rolled back
// redemptions are at most 5, equal to its redeemed_quantity and to what
// the clients were acknowledged; no request is answered with a 5xx.
//
// It is not parallel: it loads the machine on purpose, and the other
// tests would only slow it down.
func TestRedemptionsUnderLoad(t *testing.T) {
	c := newCluster(t, 3)
	campaignID := c.createCampaign(t, fmt.Sprintf(`{"name":"Load","type":"STATIC","vouchers_count":%d,
		"rollback_restores_quantity":true,
		"voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100},"redemption":{"quantity":%d}}}`,
		loadCodes, loadQuantity))
	vs := c.campaignVouchers(t, "Load", loadCodes)
	codes := make([]string, len(vs))
	for i, v := range vs {
		codes[i] = v.Code
		if v.Redemption.Quantity == nil || *v.Redemption.Quantity != loadQuantity {
			t.Fatalf("voucher %s: redemption quantity %v, want %d", v.Code, v.Redemption.Quantity, loadQuantity)
		}
	}

	var (
		ty         = newTally()
		mu         sync.Mutex
		redemption []redeemed         // acknowledged
		rolledBack = map[string]int{} // acknowledged rollbacks by redemption ID
		wg         sync.WaitGroup
		d          = testDuration(t)
		stop       = time.Now().Add(d)
	)
	for i := range clientsEach * len(c.nodes) {
		n := c.nodes[i%len(c.nodes)]
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			var own []redeemed // acknowledged, not rolled back
			for time.Now().Before(stop) {
				code := codes[rng.IntN(len(codes))]
				customer := fmt.Sprintf("load-customer-%d", rng.IntN(200))
				switch op := rng.IntN(10); {
				case op < 3:
					status, body, err := c.do(n, "POST", "/v1/validations", redeemBody(code, customer, 1000+rng.IntN(9000)))
					ty.add("validate", n.name, status, body, err)
				case op < 8 || len(own) == 0:
					status, body, err := c.do(n, "POST", "/v1/redemptions", redeemBody(code, customer, 1000+rng.IntN(9000)))
					ty.add("redeem", n.name, status, body, err)
					if err != nil || status != http.StatusOK {
						continue
					}
					var a redemptionAnswer
					if err := json.Unmarshal(body, &a); err != nil || len(a.Redemptions) != 1 ||
						a.Redemptions[0].Result != "SUCCESS" || a.Redemptions[0].ID == "" {
						t.Errorf("redemption of %s answered 200 with %s", code, body)
						continue
					}
					r := redeemed{a.Redemptions[0].ID, code}
					own = append(own, r)
					mu.Lock()
					redemption = append(redemption, r)
					mu.Unlock()
				default:
					k := rng.IntN(len(own))
					r := own[k]
					own = append(own[:k], own[k+1:]...)
					status, body, err := c.do(n, "POST", "/v1/redemptions/"+r.id+"/rollback", nil)
					ty.add("rollback", n.name, status, body, err)
					if err == nil && status == http.StatusOK {
						mu.Lock()
						rolledBack[r.id]++
						mu.Unlock()
					}
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d clients on %d nodes for %v; answers:%s", clientsEach*len(c.nodes), len(c.nodes), d, ty)
	ty.noServerErrors(t)
	for _, op := range []string{"validate", "redeem", "rollback"} {
		if n := ty.count(op + " no answer"); n > 0 {
			t.Errorf("%d %s requests got no answer from a live node; for example:\n%s", n, op, strings.Join(ty.noAnswer, "\n"))
		}
	}

	// A load that redeems and rolls back next to nothing proves nothing:
	// say so rather than pass.
	if len(redemption) < 100 || len(rolledBack) < 10 {
		t.Errorf("only %d redemptions and %d rollbacks acknowledged: too few to test anything", len(redemption), len(rolledBack))
	}

	// What the clients were acknowledged, by code.
	acked := map[string]int{}
	ackedLive := map[string]string{} // redemption ID -> code, not rolled back
	for _, r := range redemption {
		acked[r.code]++
		ackedLive[r.id] = r.code
	}
	for id, n := range rolledBack {
		if n > 1 {
			t.Errorf("redemption %s rolled back %d times", id, n)
		}
		code, ok := ackedLive[id]
		if !ok {
			t.Errorf("rollback of redemption %s that no client was acknowledged", id)
			continue
		}
		acked[code]--
		delete(ackedLive, id)
	}

	// What the store holds: the campaign's successful redemptions.
	succeeded, rolled := c.campaignRedemptions(t, "Load")
	perCode := map[string]int{}
	for id, code := range succeeded {
		perCode[code]++
		if _, ok := ackedLive[id]; !ok {
			t.Errorf("redemption %s of %s succeeded in the store, but no client has it acknowledged and not rolled back", id, code)
		}
	}
	for id, code := range ackedLive {
		if _, ok := succeeded[id]; !ok {
			t.Errorf("acknowledged redemption %s of %s is not a successful, not rolled back redemption in the store", id, code)
		}
	}
	for id := range rolledBack {
		if _, ok := rolled[id]; !ok {
			t.Errorf("acknowledged rollback of %s: the store does not show the redemption ROLLED_BACK", id)
		}
	}
	if len(rolled) != len(rolledBack) {
		t.Errorf("the store has %d rolled back redemptions, the clients were acknowledged %d rollbacks", len(rolled), len(rolledBack))
	}

	// Each code's redeemed_quantity, from all nodes.
	quantity := make([]int64, len(codes))
	parallel(len(codes), 16, func(i int) {
		n := c.nodes[i%len(c.nodes)]
		status, body, err := c.do(n, "GET", "/v1/vouchers/"+url.PathEscape(codes[i]), nil)
		var v voucher
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &v) != nil {
			t.Errorf("GET voucher %s on %s: %d %s %v", codes[i], n.name, status, body, err)
			return
		}
		quantity[i] = v.Redemption.RedeemedQuantity
	})
	var full, bad int
	for i, code := range codes {
		q, store, seen := quantity[i], perCode[code], acked[code]
		if store == loadQuantity {
			full++
		}
		if store > loadQuantity || int64(store) != q || seen != store {
			if bad++; bad <= 20 {
				t.Errorf("code %s: %d successful redemptions in the store (at most %d), redeemed_quantity %d, %d acknowledged to clients",
					code, store, loadQuantity, q, seen)
			}
		}
	}
	if bad > 20 {
		t.Errorf("... %d codes in all are wrong", bad)
	}
	t.Logf("campaign %s: %d redemptions and %d rollbacks acknowledged; %d redemptions stand, on %d codes used up",
		campaignID, len(redemption), len(rolledBack), len(succeeded), full)
}

// campaignRedemptions pages through a campaign's successful redemptions
// (GET /v1/redemptions?campaign=...&result=SUCCESS), and returns the code
// of each one that stands and each one rolled back, by ID.
func (c *cluster) campaignRedemptions(t *testing.T, campaign string) (succeeded, rolledBack map[string]string) {
	t.Helper()
	type entry struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Result  string `json:"result"`
		Status  string `json:"status"`
		Voucher struct {
			Code string `json:"code"`
		} `json:"voucher"`
	}
	type page struct {
		Redemptions []entry `json:"redemptions"`
		Total       int     `json:"total"`
	}
	path := func(p int) string {
		return fmt.Sprintf("/v1/redemptions?campaign=%s&result=SUCCESS&order=created_at&limit=100&page=%d", url.QueryEscape(campaign), p)
	}
	var first page
	c.must(t, c.nodes[0], "GET", path(1), nil, http.StatusOK, &first)
	pages := (first.Total + 99) / 100
	if pages > 1000 {
		t.Fatalf("%d redemptions: more than the API pages through (1,000 pages of 100)", first.Total)
	}
	all := make([][]entry, max(pages, 1))
	all[0] = first.Redemptions
	parallel(pages-1, 8, func(i int) {
		n := c.nodes[i%len(c.nodes)]
		status, body, err := c.do(n, "GET", path(i+2), nil)
		var p page
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &p) != nil {
			t.Errorf("GET %s on %s: %d %s %v", path(i+2), n.name, status, body, err)
			return
		}
		if p.Total != first.Total {
			t.Errorf("GET %s: total %d, page 1 said %d", path(i+2), p.Total, first.Total)
		}
		all[i+1] = p.Redemptions
	})
	succeeded, rolledBack = map[string]string{}, map[string]string{}
	seen := 0
	for _, p := range all {
		for _, r := range p {
			seen++
			if succeeded[r.ID] != "" || rolledBack[r.ID] != "" {
				t.Errorf("redemption %s listed twice", r.ID)
			}
			switch {
			case r.Result != "SUCCESS":
				t.Errorf("result=SUCCESS lists %+v", r)
			case r.Object == "redemption_rollback":
			case r.Object != "redemption":
				t.Errorf("redemption list has an object %q: %+v", r.Object, r)
			case r.Status == "SUCCEEDED":
				succeeded[r.ID] = r.Voucher.Code
			case r.Status == "ROLLED_BACK":
				rolledBack[r.ID] = r.Voucher.Code
			default:
				t.Errorf("successful redemption with status %q: %+v", r.Status, r)
			}
		}
	}
	if seen != first.Total {
		t.Errorf("paged through %d redemptions, the list's total is %d", seen, first.Total)
	}
	return succeeded, rolledBack
}
