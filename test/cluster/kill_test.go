package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// published is an acknowledged publication.
type published struct {
	id, code, customerID, sourceID string
}

// TestNodeKilled: while clients redeem distinct codes and publish on all
// three nodes, the node running a generation of 200,000 codes is killed
// with SIGKILL. Every redemption and publication acknowledged before or
// during the kill is there afterwards; the generation is taken over by a
// surviving node when its lease ends, resumes after its last batch, and
// ends with exactly 200,000 distinct codes; no request is answered with a
// 5xx. Requests in flight on the killed node get no answer: they were not
// acknowledged and count for nothing.
func TestNodeKilled(t *testing.T) {
	t.Parallel()
	const (
		bigCount    = 200_000
		redeemCodes = 10_000
		poolCodes   = 10_000
		clients     = 30 // spread over the nodes
		afterKill   = 3 * time.Second
		// takeOver bounds the time from the kill to the generation's end:
		// the lease (engine.Options.Lease, 15 s) plus the rest of the
		// generation.
		takeOver = 60 * time.Second
	)
	c := newCluster(t, 3)

	// Codes to redeem once each, imported with known names, and a pool to
	// publish from.
	redeemID := c.createCampaign(t, `{"name":"Kill","type":"STATIC",
		"voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100},"redemption":{"quantity":1}}}`)
	codes := make([]string, redeemCodes)
	items := make([]map[string]string, redeemCodes)
	for i := range codes {
		codes[i] = fmt.Sprintf("KILL-%05d", i)
		items[i] = map[string]string{"code": codes[i]}
	}
	var imp struct {
		AsyncActionID string `json:"async_action_id"`
	}
	c.must(t, c.nodes[0], "POST", "/v1/campaigns/"+redeemID+"/import", items, http.StatusAccepted, &imp)
	if a := c.waitAction(t, c.nodes[0], imp.AsyncActionID, time.Minute); a.Result.DoneCount != redeemCodes {
		t.Fatalf("import: %+v, want %d codes", a, redeemCodes)
	}
	c.createCampaign(t, fmt.Sprintf(`{"name":"KillPool","type":"STATIC","vouchers_count":%d,
		"voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100}}}`, poolCodes))

	var (
		ty        = newTally()
		mu        sync.Mutex
		reds      []redeemed
		pubs      []published
		ackedBy   = map[string]int{} // acknowledgements by node
		nextCode  atomic.Int64
		killed    atomic.Bool
		ackedKill atomic.Int64 // acknowledgements after the kill
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	for i := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				n := c.nodes[(i+k)%len(c.nodes)]
				idx := int(nextCode.Load())
				if rng.IntN(2) == 0 && idx < redeemCodes {
					idx = int(nextCode.Add(1) - 1)
					if idx >= redeemCodes {
						continue
					}
					code := codes[idx]
					status, body, err := c.do(n, "POST", "/v1/redemptions", redeemBody(code, fmt.Sprintf("kill-redeemer-%d", i), 5000))
					ty.add("redeem", n.name, status, body, err)
					if err != nil || status != http.StatusOK {
						continue
					}
					var a redemptionAnswer
					if err := json.Unmarshal(body, &a); err != nil || len(a.Redemptions) != 1 || a.Redemptions[0].Result != "SUCCESS" {
						t.Errorf("redemption of %s answered 200 with %s", code, body)
						continue
					}
					mu.Lock()
					reds = append(reds, redeemed{a.Redemptions[0].ID, code})
					ackedBy[n.name]++
					mu.Unlock()
				} else {
					source := fmt.Sprintf("kill-customer-%d-%d", i, k)
					status, body, err := c.do(n, "POST", "/v1/publications", publishBody("KillPool", source))
					ty.add("publish", n.name, status, body, err)
					if err != nil || status != http.StatusOK {
						continue
					}
					var p publication
					if err := json.Unmarshal(body, &p); err != nil || p.Result != "SUCCESS" || p.Voucher.Code == "" {
						t.Errorf("publication answered 200 with %s", body)
						continue
					}
					mu.Lock()
					pubs = append(pubs, published{p.ID, p.Voucher.Code, p.CustomerID, source})
					ackedBy[n.name]++
					mu.Unlock()
				}
				if killed.Load() {
					ackedKill.Add(1)
				}
			}
		})
	}
	stopLoad := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopLoad()
	time.Sleep(time.Second)

	// The generation, and the node that runs it: the one that logs its
	// start. Its progress shows that it has written a batch, and no more
	// than part of the codes, when it is killed.
	var big struct {
		ID            string `json:"id"`
		AsyncActionID string `json:"async_action_id"`
	}
	c.must(t, c.nodes[1], "POST", "/v1/campaigns", fmt.Sprintf(`{"name":"Big","type":"STATIC","vouchers_count":%d,
		"voucher":{"type":"DISCOUNT_VOUCHER","discount":{"type":"AMOUNT","amount_off":100}}}`, bigCount), http.StatusOK, &big)
	id := big.AsyncActionID
	var owner *node
	var before action
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no node wrote a batch of async action %s within 30 s (owner %v, %+v)", id, owner, before)
		}
		if owner == nil {
			for _, n := range c.nodes {
				if len(n.logLines(`"msg":"async action started"`, id)) > 0 {
					owner = n
				}
			}
			continue
		}
		c.must(t, owner, "GET", "/v1/async-actions/"+id, nil, http.StatusOK, &before)
		if before.Result.DoneCount > 0 {
			break
		}
	}
	if before.Status != "IN_PROGRESS" || before.Result.DoneCount >= bigCount {
		t.Fatalf("async action %s on %s before the kill: %+v; want it in progress (raise bigCount)", id, owner.name, before)
	}
	owner.kill(t)
	killedAt := time.Now()
	killed.Store(true)
	var survivors []*node
	for _, n := range c.nodes {
		if n != owner {
			survivors = append(survivors, n)
		}
	}
	var interrupted action
	c.must(t, survivors[0], "GET", "/v1/async-actions/"+id, nil, http.StatusOK, &interrupted)
	if interrupted.Status != "IN_PROGRESS" || interrupted.Result.DoneCount >= bigCount || len(owner.logLines(`"msg":"async action done"`, id)) > 0 {
		t.Fatalf("the kill did not interrupt async action %s: %+v after it (raise bigCount)", id, interrupted)
	}
	t.Logf("killed %s running async action %s at %d of %d codes", owner.name, id, interrupted.Result.DoneCount, bigCount)

	time.Sleep(afterKill)
	stopLoad()
	done := c.waitAction(t, survivors[0], id, time.Until(killedAt.Add(takeOver)))
	t.Logf("the generation ended %v after the kill: %+v", time.Since(killedAt).Round(100*time.Millisecond), done.Result)
	t.Logf("load of %d clients; %d redemptions and %d publications acknowledged (by node %v, %d after the kill); answers:%s",
		clients, len(reds), len(pubs), ackedBy, ackedKill.Load(), ty)
	ty.noServerErrors(t)
	if ackedBy[owner.name] == 0 || ackedKill.Load() == 0 {
		t.Errorf("acknowledgements by the killed node %d, after the kill %d; want some of both", ackedBy[owner.name], ackedKill.Load())
	}

	// A survivor took the generation over, and resumed it after the last
	// batch the killed node wrote rather than from the start.
	var resumed []string
	for _, n := range survivors {
		resumed = append(resumed, n.logLines(`"msg":"async action started"`, id)...)
	}
	if len(resumed) == 0 {
		t.Errorf("no surviving node logged taking async action %s over", id)
	}
	for _, l := range resumed {
		var e struct{ Done int64 }
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.Done < before.Result.DoneCount {
			t.Errorf("async action %s taken over at %d codes, %d were written before the kill: %s", id, e.Done, before.Result.DoneCount, l)
		}
	}
	c.checkGenerated(t, survivors[0], big.ID, done, bigCount)

	// Every acknowledged redemption and publication is in the store.
	parallel(len(reds), 16, func(i int) {
		r, n := reds[i], survivors[i%len(survivors)]
		status, body, err := c.do(n, "GET", "/v1/redemptions/"+r.id, nil)
		var got struct {
			Result, Status string
			Voucher        struct{ Code string }
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &got) != nil ||
			got.Result != "SUCCESS" || got.Status != "SUCCEEDED" || got.Voucher.Code != r.code {
			t.Errorf("acknowledged redemption %s of %s: GET on %s answers %d %s %v", r.id, r.code, n.name, status, body, err)
		}
	})
	parallel(len(pubs), 16, func(i int) {
		p, n := pubs[i], survivors[i%len(survivors)]
		status, body, err := c.do(n, "GET", "/v1/vouchers/"+url.PathEscape(p.code), nil)
		var v voucher
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &v) != nil ||
			v.HolderID == nil || *v.HolderID != p.customerID || v.Publish.Count != 1 {
			t.Errorf("acknowledged publication %s of %s to %s: GET voucher on %s answers %d %s %v", p.id, p.code, p.customerID, n.name, status, body, err)
			return
		}
		status, body, err = c.do(n, "GET", "/v1/publications?customer="+url.QueryEscape(p.sourceID), nil)
		var list struct {
			Publications []struct{ ID string } `json:"publications"`
		}
		if err != nil || status != http.StatusOK || json.Unmarshal(body, &list) != nil ||
			!slices.ContainsFunc(list.Publications, func(q struct{ ID string }) bool { return q.ID == p.id }) {
			t.Errorf("acknowledged publication %s to %s: GET publications on %s answers %d %s %v", p.id, p.sourceID, n.name, status, body, err)
		}
	})
}

// checkGenerated checks that a campaign's generation made exactly want
// codes: the action's count, the campaign's vouchers_count, the voucher
// list's total, and, in the database, the distinct codes of the campaign
// (the API pages through no more than 100,000).
func (c *cluster) checkGenerated(t *testing.T, n *node, campaignID string, a action, want int64) {
	t.Helper()
	if a.Result.DoneCount != want || a.Progress != 100 {
		t.Errorf("async action %s: %+v, want %d codes done", a.ID, a, want)
	}
	var camp struct {
		VouchersCount            int64  `json:"vouchers_count"`
		CreationStatus           string `json:"creation_status"`
		VouchersGenerationStatus string `json:"vouchers_generation_status"`
	}
	c.must(t, n, "GET", "/v1/campaigns/"+campaignID, nil, http.StatusOK, &camp)
	if camp.VouchersCount != want || camp.CreationStatus != "DONE" || camp.VouchersGenerationStatus != "DONE" {
		t.Errorf("campaign %s: %+v, want %d vouchers, DONE", campaignID, camp, want)
	}
	var list struct {
		Total int64 `json:"total"`
	}
	c.must(t, n, "GET", "/v1/vouchers?limit=1&campaign="+campaignID, nil, http.StatusOK, &list)
	if list.Total != want {
		t.Errorf("campaign %s lists %d vouchers, want %d", campaignID, list.Total, want)
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, c.database)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var rows, keys, codes int64
	err = pool.QueryRow(ctx, `SELECT count(*), count(DISTINCT key), count(DISTINCT code) FROM vouchers
		WHERE campaign_seq = (SELECT seq FROM campaigns WHERE id = $1)`, campaignID).Scan(&rows, &keys, &codes)
	if err != nil {
		t.Fatal(err)
	}
	if rows != want || keys != want || codes != want {
		t.Errorf("campaign %s in the database: %d vouchers, %d distinct keys, %d distinct codes; want %d", campaignID, rows, keys, codes, want)
	}
}
