package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"promo/internal/httpapi"
	"promo/internal/ratelimit"
)

// fakeClock is a settable clock for the limiters.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// limited starts a spring server with in-memory limits on clk: rate per
// API key and attempts per window, behind the trusted proxy 127.0.0.1.
func limited(t *testing.T, clk *fakeClock, rate ratelimit.Rate, attempts ratelimit.Window) *bundle {
	t.Helper()
	mem := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: clk.Now})
	b := setup(t, func(c *httpapi.Config) {
		c.Limits = httpapi.Limits{
			Limiter: mem, KeyRate: rate,
			Failures: mem, Attempts: attempts,
			TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		}
	})
	b.must(t, "POST", "/v1/vouchers", springBody)
	return b
}

// send sends a request with the bundle's key and returns the response
// with its body.
func (b *bundle) send(t *testing.T, method, path, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-App-Id", b.appID)
	req.Header.Set("X-App-Token", b.token)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(out)
}

func TestKeyRateLimit(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	b := limited(t, clk, ratelimit.Rate{Limit: 3, Period: time.Minute}, ratelimit.DefaultWindow)
	clk.Add(time.Minute) // the setup's call is forgotten
	for i := range 3 {
		resp, body := b.send(t, "GET", "/v1/vouchers/SPRING-AB12", "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("call %d: %d %s", i+1, resp.StatusCode, body)
		}
		if got, want := resp.Header.Get("X-Rate-Limit-Limit"), "3"; got != want {
			t.Errorf("X-Rate-Limit-Limit %q, want %q", got, want)
		}
		if got, want := resp.Header.Get("X-Rate-Limit-Remaining"), fmt.Sprint(2-i); got != want {
			t.Errorf("call %d: X-Rate-Limit-Remaining %q, want %q", i+1, got, want)
		}
	}
	resp, body := b.send(t, "GET", "/v1/vouchers/SPRING-AB12", "", nil)
	if resp.StatusCode != 429 || !strings.Contains(body, `"key":"too_many_requests"`) || !strings.Contains(body, `"request_id"`) {
		t.Fatalf("the 4th call in a minute: %d %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Retry-After"); got != "20" {
		t.Errorf("Retry-After %q, want 20 (one call's share of the minute)", got)
	}
	if got := resp.Header.Get("X-Rate-Limit-Remaining"); got != "0" {
		t.Errorf("X-Rate-Limit-Remaining %q on refusal, want 0", got)
	}
	// Public routes are not limited.
	if resp, _ := b.send(t, "GET", "/healthz", "", nil); resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	clk.Add(20 * time.Second)
	if resp, body := b.send(t, "GET", "/v1/vouchers/SPRING-AB12", "", nil); resp.StatusCode != 200 {
		t.Fatalf("after Retry-After: %d %s", resp.StatusCode, body)
	}
}

// TestFailedAttemptsWindow: after 5 failed attempts from an IP, the IP is
// refused even for a valid code until the window ends; another IP, and the
// same customer's window, count on their own.
func TestFailedAttemptsWindow(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	b := limited(t, clk, ratelimit.PerSecond(1_000_000), ratelimit.Window{Limit: 5, Period: time.Minute})
	from := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }
	bad := redeemBody(1000, "NOPE-0000")
	good := redeemBody(1000, "SPRING-AB12")

	for i := range 5 {
		resp, body := b.send(t, "POST", "/v1/validations", bad, from("203.0.113.7"))
		if resp.StatusCode != 200 || !strings.Contains(body, `"valid":false`) {
			t.Fatalf("failed attempt %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	for _, req := range []struct{ path, body string }{
		{"/v1/validations", good},
		{"/v1/redemptions", good},
		{"/v1/vouchers/SPRING-AB12/validate", `{"order":{"amount":1000}}`},
		{"/v1/vouchers/SPRING-AB12/redemption", `{"order":{"amount":1000}}`},
	} {
		resp, body := b.send(t, "POST", req.path, req.body, from("203.0.113.7"))
		if resp.StatusCode != 429 || !strings.Contains(body, "too many failed attempts from this IP address") {
			t.Fatalf("%s after 5 failures: %d %s", req.path, resp.StatusCode, body)
		}
		if resp.Header.Get("Retry-After") != "60" {
			t.Errorf("Retry-After %q, want 60", resp.Header.Get("Retry-After"))
		}
	}
	if n := b.redeemed(t, "SPRING-AB12"); n != 0 {
		t.Fatalf("a refused redemption redeemed: redeemed_quantity %v", n)
	}
	// The window's filling is recorded once, as a REFUSED attempt; the
	// refusals after it are not recorded one by one.
	var refusedLog string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, refusedLog = b.send(t, "GET", "/v1/attempts?ip=203.0.113.7&result=REFUSED", "", nil)
		if strings.Contains(refusedLog, `"total":1`) {
			break
		}
	}
	if !strings.Contains(refusedLog, `"total":1`) || !strings.Contains(refusedLog, `"kind":"validation"`) ||
		!strings.Contains(refusedLog, `"reason":"too many failed attempts from this IP address; refused for 1m0s"`) {
		t.Errorf("the REFUSED attempts of 203.0.113.7: %s", refusedLog)
	}
	// Another IP is not affected, nor is a request without the trusted
	// header (the proxy's own address).
	if resp, body := b.send(t, "POST", "/v1/validations", good, from("198.51.100.1")); resp.StatusCode != 200 {
		t.Fatalf("another IP: %d %s", resp.StatusCode, body)
	}
	// A customer's failures count wherever they come from.
	cust := func(code string) string {
		return fmt.Sprintf(`{"redeemables":[{"object":"voucher","id":%q}],"customer":{"source_id":"guesser"},"order":{"amount":1000}}`, code)
	}
	for i := range 5 {
		resp, body := b.send(t, "POST", "/v1/validations", cust("NOPE-1"), from(fmt.Sprintf("198.51.100.%d", 10+i)))
		if resp.StatusCode != 200 {
			t.Fatalf("customer's failure %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := b.send(t, "POST", "/v1/validations", cust("SPRING-AB12"), from("198.51.100.99"))
	if resp.StatusCode != 429 || !strings.Contains(body, "too many failed attempts from this customer") {
		t.Fatalf("the customer after 5 failures from 5 IPs: %d %s", resp.StatusCode, body)
	}
	// The window ends.
	clk.Add(time.Minute)
	if resp, body := b.send(t, "POST", "/v1/redemptions", good, from("203.0.113.7")); resp.StatusCode != 200 {
		t.Fatalf("after the window: %d %s", resp.StatusCode, body)
	}
}

// TestFailedAttemptsRace: 50 concurrent failed redemptions from one IP get
// at most 5 answers that are not 429.
func TestFailedAttemptsRace(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	b := limited(t, clk, ratelimit.PerSecond(1_000_000), ratelimit.Window{Limit: 5, Period: time.Minute})
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		status = map[int]int{}
	)
	start := make(chan struct{})
	for i := range 50 {
		wg.Go(func() {
			<-start
			resp, _ := b.send(t, "POST", "/v1/redemptions", redeemBody(1000, fmt.Sprintf("NOPE-%d", i)), map[string]string{"X-Forwarded-For": "203.0.113.9"})
			mu.Lock()
			status[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	if status[429] < 45 || status[429]+status[404]+status[400] != 50 {
		t.Fatalf("answers by status %v; want at most 5 that are not 429", status)
	}
}

func TestClientIPFromTrustedProxies(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)}
	b := limited(t, clk, ratelimit.PerSecond(1_000_000), ratelimit.DefaultWindow)
	for i, tc := range []struct {
		name, xff, want string
	}{
		{"no header: the socket's address", "", "127.0.0.1"},
		{"one client", "203.0.113.5", "203.0.113.5"},
		{"the right-most untrusted address", "10.9.9.9, 203.0.113.5", "203.0.113.5"},
		{"trusted hops are skipped", "203.0.113.5, 127.0.0.1", "203.0.113.5"},
		{"a forged entry left of the client is ignored", "1.2.3.4, 203.0.113.6", "203.0.113.6"},
		{"garbage stops the walk at the last trusted hop", "garbage", "127.0.0.1"},
		{"IPv6", "2001:db8::1", "2001:db8::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.xff != "" {
				hdr["X-Forwarded-For"] = tc.xff
			}
			code := fmt.Sprintf("NOPE-IP-%d", i)
			b.send(t, "POST", "/v1/validations", redeemBody(1000, code), hdr)
			// Validation attempts are written in batches: wait for it.
			var body string
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				var resp *http.Response
				resp, body = b.send(t, "GET", "/v1/attempts?code="+code, "", nil)
				if resp.StatusCode != 200 {
					t.Fatalf("attempts: %d %s", resp.StatusCode, body)
				}
				if strings.Contains(body, `"total":1`) {
					break
				}
			}
			if !strings.Contains(body, `"client_ip":"`+tc.want+`"`) {
				t.Errorf("the attempt lacks client_ip %s: %s", tc.want, body)
			}
		})
	}
}
