package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"promo/codegen"
	"promo/internal/engine"
	"promo/internal/promo"
	"promo/internal/sqlite"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type bundle struct {
	store *sqlite.Store
	eng   *engine.Engine
	clock *clock
	path  string
}

func setup(t *testing.T, opt engine.Options) *bundle {
	t.Helper()
	path := filepath.Join(t.TempDir(), "promo.db")
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock{t: time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)}
	opt.Now = clk.Now
	return &bundle{store: st, eng: engine.New(st, opt), clock: clk, path: path}
}

// runActions runs the worker until every action has ended.
func (b *bundle) runActions(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.eng.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		n := 0
		for _, st := range []string{promo.ActionEnqueued, promo.ActionInProgress} {
			_, total, err := b.store.AsyncActions(context.Background(), promo.ActionFilter{ListParams: promo.ListParams{Limit: 1, Page: 1}, Status: st})
			if err != nil {
				t.Fatal(err)
			}
			n += int(total)
		}
		if n == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("async actions did not end")
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := promo.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// allVouchers lists every voucher of a campaign.
func allVouchers(t *testing.T, st promo.Store, campaignID string) []*promo.Voucher {
	t.Helper()
	var out []*promo.Voucher
	for page := 1; ; page++ {
		vs, _, err := st.Vouchers(context.Background(), promo.VoucherFilter{
			ListParams: promo.ListParams{Limit: 100, Page: page, Ascending: true}, CampaignID: campaignID})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, vs...)
		if len(vs) < 100 {
			return out
		}
	}
}

func distinctCodes(t *testing.T, vs []*promo.Voucher, f *codegen.Format) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[v.Key] {
			t.Fatalf("code %s twice", v.Code)
		}
		seen[v.Key] = true
		if f != nil {
			if _, err := f.Parse(v.Code); err != nil {
				t.Fatalf("code %s does not fit its format: %v", v.Code, err)
			}
		}
	}
}

func TestCreateCampaignGeneratesExactlyCount(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{Batch: 500, Chunk: 1000})
	ctx := context.Background()
	res := must[*engine.CampaignResult](t)(b.eng.CreateCampaign(ctx, engine.CampaignInput{
		Name: "Spring", Type: promo.CampaignStatic, VouchersCount: 2345,
		Voucher: &engine.TemplateInput{
			Discount:   &promo.Discount{Type: promo.DiscountPercent, PercentOff: 1050},
			CodeConfig: &codegen.Config{Pattern: "SPR-####-####"},
		},
	}))
	if res.ActionID == "" || res.Campaign.CreationStatus != promo.StatusInProgress {
		t.Fatalf("campaign %+v, action %q: want an action in progress", res.Campaign, res.ActionID)
	}
	b.runActions(t)
	c := must[*promo.Campaign](t)(b.store.Campaign(ctx, "Spring"))
	if c.VouchersCount != 2345 || c.CreationStatus != promo.StatusDone || c.VouchersGenerationStatus != promo.StatusDone {
		t.Fatalf("campaign after generation: count %d, statuses %s/%s", c.VouchersCount, c.CreationStatus, c.VouchersGenerationStatus)
	}
	a := must[*promo.AsyncAction](t)(b.store.AsyncAction(ctx, res.ActionID))
	if a.Status != promo.ActionDone || a.Progress != 100 || a.Result.DoneCount != 2345 || a.State != nil {
		t.Fatalf("action %+v: want DONE, 100%%, 2345 done and its key erased", a)
	}
	f := must[*codegen.Format](t)(codegen.Compile(codegen.Config{Pattern: "SPR-####-####"}))
	vs := allVouchers(t, b.store, c.ID)
	if len(vs) != 2345 {
		t.Fatalf("%d vouchers listed, want 2345", len(vs))
	}
	distinctCodes(t, vs, f)
	if d := vs[0].Template.Discount; d == nil || d.PercentOff != 1050 {
		t.Fatalf("voucher discount %+v, want the campaign's", d)
	}
	entries, _, err := b.store.Audit(ctx, promo.AuditFilter{ListParams: promo.ListParams{Limit: 10, Page: 1}, CampaignID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if fmt.Sprint(actions) != "[generated created]" {
		t.Fatalf("audit of the campaign: %v, want [generated created]", actions)
	}
}

// TestGenerationResumesAfterCrash stops a generation between batches, as a
// crash does, and lets a new engine on the same store take it over: the
// campaign ends with exactly the count asked for, all distinct.
func TestGenerationResumesAfterCrash(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{Batch: 300, Chunk: 1000})
	ctx := context.Background()
	res := must[*engine.CampaignResult](t)(b.eng.CreateCampaign(ctx, engine.CampaignInput{
		Name: "Crash", VouchersCount: 5000,
		Voucher: &engine.TemplateInput{Discount: &promo.Discount{Type: promo.DiscountAmount, AmountOff: 500}},
	}))
	runCtx, stop := context.WithCancel(ctx)
	var seen atomic.Int64
	crashing := engine.New(b.store, engine.Options{Now: b.clock.Now, Batch: 300, Chunk: 1000, Observer: stopAfter{n: 1500, seen: &seen, stop: stop}})
	crashing.Run(runCtx)
	a := must[*promo.AsyncAction](t)(b.store.AsyncAction(ctx, res.ActionID))
	if a.Status != promo.ActionInProgress || a.Result.DoneCount < 1500 || a.Result.DoneCount >= 5000 {
		t.Fatalf("after the crash: action %s with %d done, want IN_PROGRESS part way", a.Status, a.Result.DoneCount)
	}
	// A later process takes it over at once (the embedded store has one
	// process); with leases only, it waits for the lease to end.
	b.clock.Add(time.Minute)
	b.runActions(t)
	c := must[*promo.Campaign](t)(b.store.Campaign(ctx, "Crash"))
	vs := allVouchers(t, b.store, c.ID)
	if c.VouchersCount != 5000 || len(vs) != 5000 {
		t.Fatalf("after resuming: vouchers_count %d, %d listed; want 5000", c.VouchersCount, len(vs))
	}
	distinctCodes(t, vs, nil)
}

// stopAfter cancels the worker's context once n codes are generated.
type stopAfter struct {
	n    int64
	seen *atomic.Int64
	stop func()
}

func (s stopAfter) CodesGenerated(n int64) {
	if s.seen.Add(n) >= s.n {
		s.stop()
	}
}
func (stopAfter) Published(int64) {}

// TestGenerationSkipsTakenCodes fills most of a tiny code space by import,
// then generates the rest: taken codes are skipped and replaced, the count
// is exact, and one more code than the space holds fails the action.
func TestGenerationSkipsTakenCodes(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{Limits: codegen.Limits{MaxDensity: 1, WarnDensity: 1}, Batch: 16, Chunk: 40})
	ctx := context.Background()
	cfg := &codegen.Config{Pattern: "T##", Charset: "numbers"}
	must[*engine.CampaignResult](t)(b.eng.CreateCampaign(ctx, engine.CampaignInput{
		Name: "Tiny", Voucher: &engine.TemplateInput{CodeConfig: cfg}}))
	var items []engine.ImportItem
	for i := 0; i < 100; i += 2 {
		items = append(items, engine.ImportItem{Code: fmt.Sprintf("t%02d", i)}) // lower case: the same key as T00
	}
	items = append(items, engine.ImportItem{Code: "T00"}, engine.ImportItem{Code: "bad\u200bcode"}, engine.ImportItem{Code: ""})
	imp := must[*promo.AsyncAction](t)(b.eng.Import(ctx, "Tiny", items, false))
	b.runActions(t)
	imp = must[*promo.AsyncAction](t)(b.store.AsyncAction(ctx, imp.ID))
	if imp.Result.DoneCount != 50 || imp.Result.FailedCount != 3 || len(imp.Result.Failed) != 3 {
		t.Fatalf("import result %+v: want 50 done and 3 failed", imp.Result)
	}
	_, actionID, err := b.eng.AddVouchers(ctx, "Tiny", 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.runActions(t)
	c := must[*promo.Campaign](t)(b.store.Campaign(ctx, "Tiny"))
	vs := allVouchers(t, b.store, c.ID)
	if len(vs) != 100 || c.VouchersCount != 100 {
		t.Fatalf("%d vouchers (count %d), want the whole space of 100", len(vs), c.VouchersCount)
	}
	distinctCodes(t, vs, nil)
	if a := must[*promo.AsyncAction](t)(b.store.AsyncAction(ctx, actionID)); a.Status != promo.ActionDone || a.Result.DoneCount != 50 {
		t.Fatalf("generation %+v, want DONE with 50", a)
	}
	// More codes than the space holds are refused up front ...
	_, _, err = b.eng.AddVouchers(ctx, "Tiny", 2, nil)
	wantCode(t, err, promo.EInvalidCodeConfig)
	// ... and when another campaign holds the space, the action that finds
	// it full fails rather than loops.
	res := must[*engine.CampaignResult](t)(b.eng.CreateCampaign(ctx, engine.CampaignInput{
		Name: "Tiny2", VouchersCount: 2, Voucher: &engine.TemplateInput{CodeConfig: cfg}}))
	b.runActions(t)
	a := must[*promo.AsyncAction](t)(b.store.AsyncAction(ctx, res.ActionID))
	if a.Status != promo.ActionFailed {
		t.Fatalf("generation in a full space: %s %q, want FAILED", a.Status, a.Result.Message)
	}
	if c := must[*promo.Campaign](t)(b.store.Campaign(ctx, "Tiny2")); c.VouchersGenerationStatus != promo.StatusFailed || c.VouchersCount != 0 {
		t.Fatalf("campaign after a failed generation: %s, %d", c.VouchersGenerationStatus, c.VouchersCount)
	}
	_, err = b.eng.CreateVoucher(ctx, engine.VoucherInput{Campaign: "Tiny"})
	wantCode(t, err, promo.EInvalidCodeConfig)
}

func TestUnsafeCodeConfigIsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	_, err := b.eng.CreateCampaign(context.Background(), engine.CampaignInput{
		Name: "Guessable", VouchersCount: 5000, Voucher: &engine.TemplateInput{CodeConfig: &codegen.Config{Pattern: "####"}}})
	wantCode(t, err, promo.EInvalidCodeConfig)
	var pe *promo.Error
	if !errors.As(err, &pe) || pe.Details == "" {
		t.Fatalf("refusal %v carries no numbers", err)
	}
	if _, err := b.store.Campaign(context.Background(), "Guessable"); promo.ErrorCode(err) != promo.ENotFound {
		t.Fatalf("a refused campaign was stored: %v", err)
	}
}

func newPool(t *testing.T, b *bundle, name, typ string, n int) *promo.Campaign {
	t.Helper()
	must[*engine.CampaignResult](t)(b.eng.CreateCampaign(context.Background(), engine.CampaignInput{
		Name: name, Type: typ, VouchersCount: int64(n),
		Voucher: &engine.TemplateInput{Discount: &promo.Discount{Type: promo.DiscountAmount, AmountOff: 100}}}))
	b.runActions(t)
	return must[*promo.Campaign](t)(b.store.Campaign(context.Background(), name))
}

func sourceID(s string) *engine.CustomerInput { return &engine.CustomerInput{SourceID: &s} }

func TestConcurrentPublicationsNeverShareACode(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	newPool(t, b, "Pool", promo.CampaignStatic, 150)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[string]string{}
		empty int
	)
	for i := range 200 {
		wg.Go(func() {
			p, _, err := b.eng.Publish(context.Background(), engine.PublishInput{
				Campaign: &engine.CampaignRef{Name: "Pool"}, Customer: sourceID(fmt.Sprintf("c%d", i))})
			mu.Lock()
			defer mu.Unlock()
			switch promo.ErrorCode(err) {
			case "":
				code := p.Publication.Vouchers[0].Code
				if other, ok := codes[code]; ok {
					t.Errorf("code %s went to %s and c%d", code, other, i)
				}
				codes[code] = fmt.Sprintf("c%d", i)
			case promo.ENoVoucherSuitable:
				empty++
			default:
				t.Errorf("publication: %v", err)
			}
		})
	}
	wg.Wait()
	if len(codes) != 150 || empty != 50 {
		t.Fatalf("%d codes published and %d refused, want 150 and 50", len(codes), empty)
	}
}

func TestJoinOnceGivesTheSameCode(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	newPool(t, b, "Once", promo.CampaignStatic, 20)
	yes := true
	var wg sync.WaitGroup
	got := make([]string, 50)
	for i := range got {
		wg.Go(func() {
			p, _, err := b.eng.Publish(context.Background(), engine.PublishInput{
				Campaign: &engine.CampaignRef{Name: "Once"}, Customer: sourceID("same"), JoinOnce: &yes})
			if err != nil {
				t.Error(err)
				return
			}
			got[i] = p.Publication.Vouchers[0].Code
		})
	}
	wg.Wait()
	for _, c := range got {
		if c != got[0] {
			t.Fatalf("join_once gave %s and %s", got[0], c)
		}
	}
	c := must[*promo.Customer](t)(b.store.Customer(context.Background(), "same"))
	vs, _, err := b.store.Vouchers(context.Background(), promo.VoucherFilter{ListParams: promo.ListParams{Limit: 100, Page: 1}, HolderID: c.ID})
	if err != nil || len(vs) != 1 {
		t.Fatalf("the customer holds %d vouchers (%v), want 1", len(vs), err)
	}
}

func TestAutoUpdateMakesCodesWhenThePoolIsEmpty(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	newPool(t, b, "Auto", promo.CampaignAutoUpdate, 0)
	for i := range 3 {
		p, _, err := b.eng.Publish(context.Background(), engine.PublishInput{
			Campaign: &engine.CampaignRef{Name: "Auto"}, Customer: sourceID(fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		if p.Publication.Vouchers[0].HolderID == "" {
			t.Fatal("a published voucher has no holder")
		}
	}
	if c := must[*promo.Campaign](t)(b.store.Campaign(context.Background(), "Auto")); c.VouchersCount != 3 {
		t.Fatalf("vouchers_count %d, want 3", c.VouchersCount)
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	ctx := context.Background()
	k, token, err := b.eng.CreateAPIKey(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := b.eng.Authenticate(ctx, k.ID, token); err != nil || got.ID != k.ID || got.Kind != promo.KeySecret || got.TokenHash != nil {
		t.Fatalf("right token: %+v, %v", got, err)
	}
	for _, c := range []struct{ id, token string }{{k.ID, token + "x"}, {k.ID, ""}, {"app_nope", token}, {"", token}} {
		_, err := b.eng.Authenticate(ctx, c.id, c.token)
		wantCode(t, err, promo.EUnauthorized)
	}
	if err := b.eng.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	fresh := engine.New(b.store, engine.Options{}) // no cache
	_, err = fresh.Authenticate(ctx, k.ID, token)
	wantCode(t, err, promo.EUnauthorized)
	if got, err := b.store.APIKey(ctx, k.ID); err != nil || string(got.TokenHash) == token {
		t.Fatalf("stored key %+v, %v: the token must be stored hashed", got, err)
	}
}

func TestCreateKey(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	ctx := context.Background()
	for _, bad := range []engine.KeyInput{
		{Kind: "admin"},
		{Kind: promo.KeyRestricted},
		{Kind: promo.KeyRestricted, Scopes: []string{"everything"}},
		{Kind: promo.KeyRestricted, Scopes: []string{promo.ScopeValidations}, Origins: []string{"https://a.example"}},
		{Kind: promo.KeyClient},
		{Kind: promo.KeyClient, Origins: []string{"shop.example"}},
		{Kind: promo.KeyClient, Origins: []string{"https://shop.example/path"}},
		{Kind: promo.KeySecret, Scopes: []string{promo.ScopeValidations}},
	} {
		if _, _, err := b.eng.CreateKey(ctx, bad); promo.ErrorCode(err) != promo.EInvalidPayload {
			t.Errorf("CreateKey(%+v): %v, want invalid_payload", bad, err)
		}
	}
	k, token, err := b.eng.CreateKey(ctx, engine.KeyInput{Name: "web", Kind: promo.KeyClient, Origins: []string{"https://shop.example", "*"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.eng.Authenticate(ctx, k.ID, token)
	if err != nil || got.Kind != promo.KeyClient || !got.AllowsOrigin("https://other.example") || got.Allows(promo.ScopeValidations) {
		t.Fatalf("client key %+v, %v", got, err)
	}
	r, token, err := b.eng.CreateKey(ctx, engine.KeyInput{Kind: promo.KeyRestricted, Scopes: []string{promo.ScopeValidations}})
	if err != nil {
		t.Fatal(err)
	}
	got, err = b.eng.Authenticate(ctx, r.ID, token)
	if err != nil || !got.Allows(promo.ScopeValidations) || got.Allows(promo.ScopeCampaigns) {
		t.Fatalf("restricted key %+v, %v", got, err)
	}
}

// TestEnsureAPIKeyOnce: servers starting together on one empty store
// create one first key between them.
func TestEnsureAPIKeyOnce(t *testing.T) {
	t.Parallel()
	b := setup(t, engine.Options{})
	var (
		wg      sync.WaitGroup
		created atomic.Int32
	)
	for range 10 {
		wg.Go(func() {
			k, _, err := b.eng.EnsureAPIKey(context.Background())
			if err != nil {
				t.Error(err)
			}
			if k != nil {
				created.Add(1)
			}
		})
	}
	wg.Wait()
	keys, err := b.store.APIKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || created.Load() != 1 {
		t.Fatalf("%d keys stored, %d reported created; want 1 and 1", len(keys), created.Load())
	}
}
