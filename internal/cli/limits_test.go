package cli

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"promo/internal/ratelimit"
)

func TestParseLimit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want ratelimit.Window
		on   bool
		bad  bool
	}{
		{in: "100/s", want: ratelimit.Window{Limit: 100, Period: time.Second}, on: true},
		{in: "5/60s", want: ratelimit.Window{Limit: 5, Period: time.Minute}, on: true},
		{in: "6000/1m", want: ratelimit.Window{Limit: 6000, Period: time.Minute}, on: true},
		{in: "2/h", want: ratelimit.Window{Limit: 2, Period: time.Hour}, on: true},
		{in: "off"},
		{in: "", bad: true},
		{in: "100", bad: true},
		{in: "0/s", bad: true},
		{in: "-1/s", bad: true},
		{in: "10/fortnight", bad: true},
		{in: "10/0s", bad: true},
	} {
		got, on, err := parseLimit("--x", tc.in)
		if (err != nil) != tc.bad || got != tc.want || on != tc.on {
			t.Errorf("parseLimit(%q) = %+v, %v, %v; want %+v, %v, error %v", tc.in, got, on, err, tc.want, tc.on, tc.bad)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	got, err := parsePrefixes(" 10.0.0.0/8, 127.0.0.1,::1 ,192.168.1.7/16")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("192.168.0.0/16"),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "1.2.3"} {
		if _, err := parsePrefixes(bad); err == nil {
			t.Errorf("parsePrefixes(%q) took it", bad)
		}
	}
}

// TestAttemptLimitAcrossNodes: two servers sharing Redis let one client IP
// fail at most the limit, plus one for a race, in all: the window is
// counted in Redis, not per node.
func TestAttemptLimitAcrossNodes(t *testing.T) {
	t.Parallel()
	redisURL := os.Getenv("PROMO_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("set PROMO_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run the Redis tests")
	}
	var servers []client
	for range 2 {
		dir := t.TempDir()
		id, token := newKey(t, dir)
		s := startServer(t, nil, "--addr", "127.0.0.1:0", "--data-dir", dir, "--redis", redisURL,
			"--trusted-proxies", "127.0.0.1", "--attempt-limit", "5/60s")
		servers = append(servers, client{url: s.url, id: id, token: token})
	}
	// An address of its own, so that other runs' windows in the same
	// Redis do not count.
	var b [3]byte
	rand.Read(b[:])
	ip := fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		status = map[int]int{}
	)
	start := make(chan struct{})
	for i := range 40 {
		c := servers[i%2]
		wg.Go(func() {
			<-start
			code := c.callWith(t, "POST", "/v1/validations",
				fmt.Sprintf(`{"redeemables":[{"object":"voucher","id":"NOPE-%d"}]}`, i), map[string]string{"X-Forwarded-For": ip})
			mu.Lock()
			status[code]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if ok := 40 - status[429]; ok > 6 || ok < 5 || status[200] != ok {
		t.Fatalf("answers by status %v: %d not 429 over two nodes, want 5 or 6 (the limit, and one for a race)", status, ok)
	}
	// The IP stays refused on both nodes, even for a request that would
	// not fail.
	for _, c := range servers {
		if code := c.callWith(t, "GET", "/v1/vouchers", "", nil); code != 200 {
			t.Fatalf("a call that is no attempt: %d", code)
		}
		if code := c.callWith(t, "POST", "/v1/validations", `{"redeemables":[{"object":"voucher","id":"ANY"}]}`, map[string]string{"X-Forwarded-For": ip}); code != 429 {
			t.Fatalf("after the window filled: %d, want 429", code)
		}
	}
}

// callWith sends a request with extra headers and returns its status.
func (c client) callWith(t *testing.T, method, path, body string, headers map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(method, c.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-App-Id", c.id)
	req.Header.Set("X-App-Token", c.token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err)
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestLeakOptions(t *testing.T) {
	t.Parallel()
	yes := true
	for _, tc := range []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "3/5m", want: "{Window:5m0s MaxCustomers:3 MaxIPs:3 Disable:true}"},
		{in: "off", wantErr: true},
		{in: "3", wantErr: true},
	} {
		in := tc.in
		got, err := limitFlags{leaks: &in, leakDisable: &yes}.leakOptions()
		if (err != nil) != tc.wantErr || (err == nil && fmt.Sprintf("%+v", got) != tc.want) {
			t.Errorf("leakOptions(%q) = %+v, %v; want %s, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
