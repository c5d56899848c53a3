package cluster

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"promo/internal/postgres/pgtest"
)

// build is the promo binary, built once for the package's tests.
var build struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// promoBinary builds cmd/promo from the module root on first use: the
// tests run the real binary, flags and logs included. PROMO_CLUSTER_BIN
// names a binary to run instead, such as one built with -race.
func promoBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		if build.path = os.Getenv("PROMO_CLUSTER_BIN"); build.path != "" {
			return
		}
		out, err := exec.Command("go", "env", "GOMOD").Output()
		gomod := strings.TrimSpace(string(out))
		if err != nil || gomod == "" || gomod == os.DevNull {
			build.err = fmt.Errorf("finding the module root: go env GOMOD: %q, %v", gomod, err)
			return
		}
		if build.dir, build.err = os.MkdirTemp("", "promo-cluster-"); build.err != nil {
			return
		}
		path := filepath.Join(build.dir, "promo")
		cmd := exec.Command("go", "build", "-o", path, "./cmd/promo")
		cmd.Dir = filepath.Dir(gomod)
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/promo: %v\n%s", err, out)
			return
		}
		build.path = path
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// cluster is promo serve processes sharing one fresh PostgreSQL schema, and
// an HTTP client with the API key they share.
type cluster struct {
	bin          string
	database     string // URL with the schema's search_path
	appID, token string
	client       *http.Client
	nodes        []*node
}

// newCluster migrates a fresh schema, creates an API key and starts n
// nodes on it. Everything is killed and dropped when t ends; it skips t
// when PROMO_TEST_POSTGRES_URL is unset.
func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	base := pgtest.URL(t)
	c := &cluster{bin: promoBinary(t), database: pgtest.WithSchema(base, pgtest.Schema(t))}
	c.run(t, "migrate", "--database", c.database)
	var key struct {
		AppID string `json:"app_id"`
		Token string `json:"token"`
	}
	out := c.run(t, "apikeys", "create", "--json", "--name", "cluster-test", "--database", c.database)
	if err := json.Unmarshal(out, &key); err != nil || key.AppID == "" || key.Token == "" {
		t.Fatalf("promo apikeys create --json printed %q (%v)", out, err)
	}
	c.appID, c.token = key.AppID, key.Token
	// 300 clients on three hosts: keep their connections rather than
	// opening one per request.
	tr := &http.Transport{MaxIdleConns: 1000, MaxIdleConnsPerHost: 300, IdleConnTimeout: 30 * time.Second}
	c.client = &http.Client{Transport: tr, Timeout: time.Minute}
	t.Cleanup(tr.CloseIdleConnections)
	for range n {
		c.start(t)
	}
	return c
}

// run runs a promo command to its end and returns its stdout.
func (c *cluster) run(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("promo %s: %v\n%s%s", args[0], err, out, stderr.Bytes())
	}
	return out
}

// node is one promo serve process. Its log is read as it comes; kept are
// the lines other than answered requests, and requests answered with a
// 5xx.
type node struct {
	name   string
	addr   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process is gone and its log read

	mu   sync.Mutex
	kept []string
	all  int // log lines read
}

// start starts a node and waits until it listens.
func (c *cluster) start(t *testing.T) *node {
	t.Helper()
	n := &node{name: fmt.Sprintf("node%d", len(c.nodes)), exited: make(chan struct{})}
	// Every client is 127.0.0.1, and quantity_exceeded is a failed
	// attempt: the limit on failed attempts per client IP would soon
	// refuse all of them, and these tests are about the store.
	n.cmd = exec.Command(c.bin, "serve", "--database", c.database, "--addr", "127.0.0.1:0", "--no-migrate",
		"--attempt-limit", "off")
	n.cmd.Stdout = io.Discard // the API key exists: nothing to print
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.nodes = append(c.nodes, n)
	t.Cleanup(func() {
		n.cmd.Process.Kill()
		select {
		case <-n.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s: still running 10 s after SIGKILL", n.name)
		}
		if t.Failed() {
			n.dumpLog(t, 40)
		}
	})
	listening := make(chan string, 1)
	go n.readLog(stderr, listening)
	select {
	case n.addr = <-listening:
	case <-n.exited:
		n.dumpLog(t, 40)
		t.Fatalf("%s exited before listening: %v", n.name, n.cmd.ProcessState)
	case <-time.After(30 * time.Second):
		n.dumpLog(t, 40)
		t.Fatalf("%s did not listen within 30 s", n.name)
	}
	return n
}

// readLog reads the node's JSON log lines until the process ends, and
// sends the address of its "listening" line.
func (n *node) readLog(r io.Reader, listening chan<- string) {
	defer close(n.exited)
	br := bufio.NewReaderSize(r, 1<<16)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			n.record(line, listening)
		}
		if err != nil {
			break
		}
	}
	n.cmd.Wait()
}

func (n *node) record(line []byte, listening chan<- string) {
	keep := !bytes.Contains(line, []byte(`"msg":"request"`)) || bytes.Contains(line, []byte(`"status":5`))
	n.mu.Lock()
	n.all++
	if keep {
		n.kept = append(n.kept, string(bytes.TrimSpace(line)))
	}
	n.mu.Unlock()
	if bytes.Contains(line, []byte(`"msg":"listening"`)) {
		var l struct{ Addr string }
		if json.Unmarshal(line, &l) == nil && l.Addr != "" {
			select {
			case listening <- l.Addr:
			default:
			}
		}
	}
}

// logLines returns the kept log lines that contain every one of subs.
func (n *node) logLines(subs ...string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, l := range n.kept {
		if !slices.ContainsFunc(subs, func(s string) bool { return !strings.Contains(l, s) }) {
			out = append(out, l)
		}
	}
	return out
}

// dumpLog logs the node's last kept log lines, for a failure's reader.
func (n *node) dumpLog(t *testing.T, last int) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	lines := n.kept[max(0, len(n.kept)-last):]
	t.Logf("%s at %s: %d log lines, the last %d kept:\n%s", n.name, n.addr, n.all, len(lines), strings.Join(lines, "\n"))
}

// kill ends the node with SIGKILL and waits until it is gone.
func (n *node) kill(t *testing.T) {
	t.Helper()
	if err := n.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", n.name, err)
	}
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still running 10 s after SIGKILL", n.name)
	}
}

// do sends a request to a node with the cluster's key: body is JSON text
// or a value to marshal. An error means no answer came.
func (c *cluster) do(n *node, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+n.addr+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-App-Id", c.appID)
	req.Header.Set("X-App-Token", c.token)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, out, nil
}

// must sends a request that must answer status, and decodes the answer
// into out when out is not nil.
func (c *cluster) must(t *testing.T, n *node, method, path string, body any, status int, out any) {
	t.Helper()
	got, b, err := c.do(n, method, path, body)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, n.name, err)
	}
	if got != status {
		t.Fatalf("%s %s on %s: status %d, want %d: %s", method, path, n.name, got, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s on %s: %v in %s", method, path, n.name, err, b)
		}
	}
}

// action is the part of an async action the tests read.
type action struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress int    `json:"progress"`
	Result   struct {
		Message     string `json:"message"`
		DoneCount   int64  `json:"done_count"`
		FailedCount int64  `json:"failed_count"`
	} `json:"result"`
}

// waitAction polls an async action on n until it ends, and fails t if it
// does not end within timeout or ends other than DONE.
func (c *cluster) waitAction(t *testing.T, n *node, id string, timeout time.Duration) action {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var a action
		c.must(t, n, "GET", "/v1/async-actions/"+id, nil, http.StatusOK, &a)
		switch {
		case a.Status == "DONE":
			return a
		case a.Status == "FAILED":
			t.Fatalf("async action %s failed: %+v", id, a)
		case time.Now().After(deadline):
			t.Fatalf("async action %s not done after %v: %+v", id, timeout, a)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createCampaign creates a campaign from JSON and waits until its codes
// are made; it returns the campaign's ID.
func (c *cluster) createCampaign(t *testing.T, body string) string {
	t.Helper()
	var camp struct {
		ID            string `json:"id"`
		AsyncActionID string `json:"async_action_id"`
	}
	c.must(t, c.nodes[0], "POST", "/v1/campaigns", body, http.StatusOK, &camp)
	if camp.AsyncActionID != "" {
		c.waitAction(t, c.nodes[0], camp.AsyncActionID, time.Minute)
	}
	return camp.ID
}

// voucher is the part of a voucher the tests read.
type voucher struct {
	ID         string  `json:"id"`
	Code       string  `json:"code"`
	CampaignID string  `json:"campaign_id"`
	HolderID   *string `json:"holder_id"`
	Redemption struct {
		Quantity         *int64 `json:"quantity"`
		RedeemedQuantity int64  `json:"redeemed_quantity"`
	} `json:"redemption"`
	Publish struct {
		Count int64 `json:"count"`
	} `json:"publish"`
}

// campaignVouchers lists a campaign's vouchers, which must be want.
func (c *cluster) campaignVouchers(t *testing.T, campaign string, want int) []voucher {
	t.Helper()
	var all []voucher
	seen := map[string]bool{}
	for page := 1; ; page++ {
		var list struct {
			Vouchers []voucher `json:"vouchers"`
			Total    int       `json:"total"`
		}
		c.must(t, c.nodes[0], "GET", fmt.Sprintf("/v1/vouchers?campaign=%s&limit=100&page=%d&order=created_at", url.QueryEscape(campaign), page),
			nil, http.StatusOK, &list)
		if list.Total != want {
			t.Fatalf("campaign %s has %d vouchers, want %d", campaign, list.Total, want)
		}
		for _, v := range list.Vouchers {
			if seen[v.Code] {
				t.Fatalf("campaign %s lists %s twice", campaign, v.Code)
			}
			seen[v.Code] = true
			all = append(all, v)
		}
		if len(list.Vouchers) < 100 {
			break
		}
	}
	if len(all) != want {
		t.Fatalf("campaign %s: listed %d vouchers, want %d", campaign, len(all), want)
	}
	return all
}

// tally counts answers by a key such as "redeem 400 quantity_exceeded",
// and keeps a few examples of the answers no client should see.
type tally struct {
	mu         sync.Mutex
	counts     map[string]int
	serverErrs atomic.Int64 // 5xx answers
	examples   []string     // of 5xx answers
	noAnswer   []string     // examples of requests that got no answer
}

func newTally() *tally { return &tally{counts: map[string]int{}} }

// add counts an answer of op: a status and body, or an error when none
// came.
func (ty *tally) add(op, nodeName string, status int, body []byte, err error) {
	key := fmt.Sprintf("%s %d", op, status)
	switch {
	case err != nil:
		key = op + " no answer"
	case status >= 400:
		var e struct{ Key string }
		json.Unmarshal(body, &e)
		key += " " + e.Key
	}
	if status >= 500 {
		ty.serverErrs.Add(1)
	}
	ty.mu.Lock()
	defer ty.mu.Unlock()
	ty.counts[key]++
	switch {
	case err != nil && len(ty.noAnswer) < 5:
		ty.noAnswer = append(ty.noAnswer, fmt.Sprintf("%s on %s: %v", op, nodeName, err))
	case err == nil && status >= 500 && len(ty.examples) < 10:
		ty.examples = append(ty.examples, fmt.Sprintf("%s on %s: %d %s", op, nodeName, status, body))
	}
}

// count returns how many answers had key.
func (ty *tally) count(key string) int {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	return ty.counts[key]
}

// String lists the counts in key order, one per line.
func (ty *tally) String() string {
	ty.mu.Lock()
	defer ty.mu.Unlock()
	keys := make([]string, 0, len(ty.counts))
	for k := range ty.counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n  %-50s %7d", k, ty.counts[k])
	}
	return b.String()
}

// noServerErrors fails t when any request was answered with a 5xx.
func (ty *tally) noServerErrors(t *testing.T) {
	t.Helper()
	if n := ty.serverErrs.Load(); n > 0 {
		ty.mu.Lock()
		defer ty.mu.Unlock()
		t.Errorf("%d answers with a 5xx status; for example:\n%s", n, strings.Join(ty.examples, "\n"))
	}
}

// parallel runs fn(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}
