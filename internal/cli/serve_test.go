package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"promo/internal/promo"
)

// promoBinary builds the promo command once per test run, without the
// race detector whatever the tests run with: the servers the tests start
// are the real program, and a million codes under the race detector would
// take minutes.
var promoBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "promo-test-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "promo")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(gobin, "build", "-o", bin, "promo/cmd/promo").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// server is a `promo serve` process.
type server struct {
	cmd    *exec.Cmd
	url    string
	stdout lockedBuffer
	exited chan error
}

// lockedBuffer is a buffer a process writes while a test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer starts `promo serve` with args and env on a free port and
// waits until it listens.
func startServer(t *testing.T, env []string, args ...string) *server {
	t.Helper()
	bin, err := promoBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	s := &server{cmd: cmd, exited: make(chan error, 1)}
	cmd.Stdout = &s.stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				addr <- line.Addr
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
	})
	select {
	case a := <-addr:
		s.url = "http://" + a
	case err := <-s.exited:
		t.Fatalf("promo serve exited: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("promo serve did not listen")
	}
	return s
}

// stop sends SIGTERM and returns the exit error.
func (s *server) stop(t *testing.T) error {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.exited <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("promo serve did not stop on SIGTERM")
		return nil
	}
}

// kill stops the server at once, as a crash does.
func (s *server) kill(t *testing.T) {
	t.Helper()
	s.cmd.Process.Signal(syscall.SIGKILL)
	err := <-s.exited
	s.exited <- err
}

type client struct {
	url, id, token string
}

func (c client) call(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-App-Id", c.id)
	req.Header.Set("X-App-Token", c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return resp.StatusCode, v
}

// newKey creates an API key in dir with the CLI.
func newKey(t *testing.T, dir string) (id, token string) {
	t.Helper()
	code, out, errOut := run(t, context.Background(), "apikeys", "create", "--name", "test", "--json", "--data-dir", dir)
	if code != ExitOK {
		t.Fatalf("apikeys create: %d %s", code, errOut)
	}
	var k struct{ AppID, Token string }
	if err := json.Unmarshal([]byte(out), &struct {
		AppID *string `json:"app_id"`
		Token *string `json:"token"`
	}{&k.AppID, &k.Token}); err != nil {
		t.Fatal(err)
	}
	return k.AppID, k.Token
}

// TestServeFirstStart starts a server on an empty data dir, with the address
// from the environment overridden by the flag: it prints a first API key
// that works, serves the operational routes, and stops cleanly on SIGTERM.
func TestServeFirstStart(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	s := startServer(t, []string{"PROMO_ADDR=256.0.0.1:1", "PROMO_DATA_DIR=" + dir}, "--addr", "127.0.0.1:0")
	// The key is printed before the server listens, but reaches us through
	// a pipe: give it a moment.
	var id, token string
	for deadline := time.Now().Add(10 * time.Second); (id == "" || token == "") && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, line := range strings.Split(s.stdout.String(), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "X-App-Id:"); ok {
				id = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "X-App-Token:"); ok {
				token = strings.TrimSpace(v)
			}
		}
	}
	if id == "" || token == "" {
		t.Fatalf("no first key printed: %q", s.stdout.String())
	}
	c := client{s.url, id, token}
	if status, _ := c.call(t, "GET", "/v1/campaigns", ""); status != 200 {
		t.Fatalf("the first key: %d", status)
	}
	if status, _ := (client{s.url, id, "wrong"}).call(t, "GET", "/v1/campaigns", ""); status != 401 {
		t.Fatalf("a wrong token: %d", status)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(s.url + path)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	// A key revoked with the CLI while the server runs stops working.
	if code, _, errOut := run(t, context.Background(), "apikeys", "revoke", id, "--data-dir", dir); code != ExitOK {
		t.Fatalf("revoke: %s", errOut)
	}
	deadline := time.Now().Add(10 * time.Second)
	for status, _ := c.call(t, "GET", "/v1/campaigns", ""); status != 401; status, _ = c.call(t, "GET", "/v1/campaigns", "") {
		if time.Now().After(deadline) {
			t.Fatal("a revoked key still works")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "promo.db")); err != nil {
		t.Fatalf("no store in the data dir: %v", err)
	}
}

// TestServeResumesGenerationAfterKill kills the server with SIGKILL while it
// generates a million codes, starts it again, and checks that the campaign
// ends with exactly a million distinct codes.
func TestServeResumesGenerationAfterKill(t *testing.T) {
	t.Parallel()
	const total = 1_000_000
	dir := t.TempDir()
	id, token := newKey(t, dir)
	s := startServer(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir)
	c := client{s.url, id, token}
	status, camp := c.call(t, "POST", "/v1/campaigns", fmt.Sprintf(`{"name":"Million","type":"STATIC","vouchers_count":%d,
		"voucher":{"discount":{"type":"AMOUNT","amount_off":100},"code_config":{"pattern":"MIL-####-####-####"}}}`, total))
	if status != 200 {
		t.Fatalf("create: %d %v", status, camp)
	}
	actionID := camp["async_action_id"].(string)
	waitFor := func(c client, what string, done func(a map[string]any) bool) map[string]any {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if status, a := c.call(t, "GET", "/v1/async-actions/"+actionID, ""); status == 200 && done(a) {
				return a
			}
		}
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
	doneCount := func(a map[string]any) float64 { return a["result"].(map[string]any)["done_count"].(float64) }
	a := waitFor(c, "a first part of the codes", func(a map[string]any) bool { return doneCount(a) >= total/10 })
	s.kill(t)
	if doneCount(a) >= total {
		t.Fatalf("the generation ended before the kill; nothing was tested")
	}

	s = startServer(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir)
	c.url = s.url
	a = waitFor(c, "the generation to end", func(a map[string]any) bool {
		return a["status"] == promo.ActionDone || a["status"] == promo.ActionFailed
	})
	if a["status"] != promo.ActionDone || doneCount(a) != total {
		t.Fatalf("after the restart: %v", a)
	}
	status, camp = c.call(t, "GET", "/v1/campaigns/Million", "")
	if status != 200 || camp["vouchers_count"].(float64) != total || camp["vouchers_generation_status"] != promo.StatusDone {
		t.Fatalf("campaign after the restart: %d %v", status, camp)
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	// Count the rows themselves, not the counter: the codes' keys are
	// unique in the store, so a million rows are a million distinct codes.
	st, err := openStore(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cp, err := st.Campaign(context.Background(), "Million")
	if err != nil {
		t.Fatal(err)
	}
	_, n, err := st.Vouchers(context.Background(), promo.VoucherFilter{ListParams: promo.ListParams{Limit: 1, Page: 1}, CampaignID: cp.ID})
	if err != nil || n != total {
		t.Fatalf("%d voucher rows (%v), want %d", n, err, total)
	}
}

func TestGCPercent(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if p, ok := gcPercent(env(nil)); !ok || p != serveGCPercent {
		t.Errorf("without GOGC: %d, %v; want %d, true", p, ok, serveGCPercent)
	}
	if p, ok := gcPercent(env(map[string]string{"GOGC": "100"})); ok {
		t.Errorf("with GOGC=100, serve sets %d", p)
	}
}
