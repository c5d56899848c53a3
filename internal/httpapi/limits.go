package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"promo/internal/engine"
	"promo/internal/promo"
	"promo/internal/ratelimit"
)

// Limits protect the API from floods and from code guessing. The zero value
// limits nothing.
type Limits struct {
	// Limiter limits every authenticated call to KeyRate per API key.
	Limiter ratelimit.Limiter
	KeyRate ratelimit.Rate
	// Failures limits failed validation and redemption attempts to Attempts
	// per window, per client IP and per customer: past the limit, every
	// attempt from the IP or for the customer is refused with 429 until
	// the window ends, even for a valid code, so guessing codes stops
	// after a few tries.
	Failures ratelimit.Failures
	Attempts ratelimit.Window
	// TrustedProxies are the addresses of proxies whose X-Forwarded-For
	// header names the client: the client IP of a request from one of them
	// is the right-most address of the header that is not a trusted proxy.
	// From any other address, the client IP is the connection's.
	TrustedProxies []netip.Prefix
}

// clientIPKey is the context key of a request's client IP.
type clientIPKey struct{}

// withClientIP puts the request's client IP, as Limits.TrustedProxies
// say, into its context.
func (a *API) withClientIP(r *http.Request) *http.Request {
	ip := remoteIP(r)
	if len(a.Limits.TrustedProxies) > 0 && a.trusted(ip) {
		ip = a.forwardedFor(r, ip)
	}
	return r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip.String()))
}

// remoteIP is the address of the connection's other end.
func remoteIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, _ := netip.ParseAddr(host)
	return ip.Unmap()
}

func (a *API) trusted(ip netip.Addr) bool {
	for _, p := range a.Limits.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// forwardedFor walks X-Forwarded-For from the right, past trusted proxies,
// and returns the first address that is not one; an unparsable entry stops
// the walk at the last trusted hop, since anything left of it is the
// client's to forge.
func (a *API) forwardedFor(r *http.Request, hop netip.Addr) netip.Addr {
	values := r.Header.Values("X-Forwarded-For")
	for i := len(values) - 1; i >= 0; i-- {
		parts := strings.Split(values[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			ip, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return hop
			}
			ip = ip.Unmap()
			if !a.trusted(ip) {
				return ip
			}
			hop = ip
		}
	}
	return hop
}

// clientIP is the request's client IP: see Limits.TrustedProxies.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	return remoteIP(r).String()
}

// limitKey applies the API key's rate to a call and writes the
// X-Rate-Limit headers. A limiter that fails (Redis down) lets the call
// through, with the failure in the request's log line: refusing every call
// would turn a cache outage into an API outage.
//
// A client key's answers carry the headers only on refusal: otherwise
// X-Rate-Limit-Remaining, counting down, would set apart answers that must
// be alike (see the client routes).
func (a *API) limitKey(w http.ResponseWriter, r *http.Request, key *promo.APIKey) error {
	d, err := a.Limits.Limiter.Allow(r.Context(), "key|"+key.ID, a.Limits.KeyRate)
	if err != nil {
		noteError(r, fmt.Errorf("rate limiter: %w", err), true)
		return nil
	}
	if !d.Allowed || key.Kind != promo.KeyClient {
		ratelimit.SetHeaders(w.Header(), d)
	}
	if d.Allowed {
		return nil
	}
	return tooMany(fmt.Sprintf("the API key may make %d calls per %s; retry in %s",
		a.Limits.KeyRate.Limit, a.Limits.KeyRate.Period, roundUp(d.RetryAfter)))
}

func tooMany(details string) error {
	return &promo.Error{Code: promo.ETooManyRequests, Message: "Too many requests", Details: details}
}

// roundUp rounds d up to a whole second, as Retry-After does.
func roundUp(d time.Duration) time.Duration { return (d + time.Second - 1).Truncate(time.Second) }

// attemptGuard applies the blocklist and the failure windows of Limits to
// the validations and redemptions of one request.
type attemptGuard struct {
	lim  *Limits
	eng  *engine.Engine
	w    http.ResponseWriter
	r    *http.Request
	keys []string              // the window keys: the client IP's, then the customer's
	cust *engine.CustomerInput // the customer of the customer's window
}

// guard starts the guard of a request, and refuses it when its client IP
// is blocked or its window is full. Call customer once the body names the
// customer.
func (h *handlers) guard(w http.ResponseWriter, r *http.Request) (*attemptGuard, error) {
	g := &attemptGuard{lim: h.limits, eng: h.eng, w: w, r: r}
	if g.lim == nil || g.lim.Failures == nil {
		return g, h.eng.CheckBlocked(r.Context(), clientIP(r), nil)
	}
	g.keys = append(g.keys, "ip|"+clientIP(r))
	if err := g.check(g.keys[0], "this IP address"); err != nil {
		return g, err
	}
	return g, h.eng.CheckBlocked(r.Context(), clientIP(r), nil)
}

// customer refuses the request when its customer is blocked, or when the
// customer's window is full.
func (g *attemptGuard) customer(c *engine.CustomerInput) error {
	if c == nil {
		return nil
	}
	if err := g.eng.CheckBlocked(g.r.Context(), "", c); err != nil {
		return err
	}
	if g.keys == nil {
		return nil
	}
	var key string
	switch {
	case c.ID != "":
		key = "cust|id|" + c.ID
	case c.SourceID != nil && *c.SourceID != "":
		key = "cust|src|" + *c.SourceID
	default:
		return nil
	}
	g.keys, g.cust = append(g.keys, key), c
	return g.check(key, "this customer")
}

func (g *attemptGuard) check(key, who string) error {
	d, err := g.lim.Failures.Check(g.r.Context(), key, g.lim.Attempts)
	if err != nil {
		noteError(g.r, fmt.Errorf("attempt limiter: %w", err), true)
		return nil
	}
	return g.refuse(d, who)
}

func (g *attemptGuard) refuse(d ratelimit.Decision, who string) error {
	if d.Allowed {
		return nil
	}
	ratelimit.SetHeaders(g.w.Header(), d)
	// Built without fmt: this is the hot path of a flood.
	return tooMany("too many failed attempts from " + who + ": at most " + strconv.Itoa(g.lim.Attempts.Limit) +
		" per " + g.lim.Attempts.Period.String() + "; retry in " + roundUp(d.RetryAfter).String())
}

// failed counts a failed attempt of kind (validation or redemption) in
// every window of the request. It returns the 429 to answer instead of the
// failure when a window was already full: so a window lets at most its
// limit of failures through, however many requests race, on one node or
// many. The failure that fills a window is recorded as a REFUSED attempt.
func (g *attemptGuard) failed(kind string) error {
	var refused error
	for i, key := range g.keys {
		d, err := g.lim.Failures.Fail(g.r.Context(), key, g.lim.Attempts)
		if err != nil {
			noteError(g.r, fmt.Errorf("attempt limiter: %w", err), true)
			continue
		}
		who, cust := "this IP address", (*engine.CustomerInput)(nil)
		if i > 0 {
			who, cust = "this customer", g.cust
		}
		if d.Allowed && d.Remaining == 0 {
			g.eng.RecordWindowFull(g.r.Context(), kind, clientIP(g.r), cust,
				"too many failed attempts from "+who+"; refused for "+roundUp(d.ResetAfter).String())
		}
		if err := g.refuse(d, who); err != nil && refused == nil {
			refused = err
		}
	}
	return refused
}

// validated counts a validation that found a code inapplicable as a failed
// attempt.
func (g *attemptGuard) validated(val *engine.Validation) error {
	if g.keys == nil || val.Valid {
		return nil
	}
	return g.failed(promo.AttemptValidation)
}

// redeemed counts a redemption that failed on its codes (the engine
// stored the failure: res is set) as a failed attempt, and returns the
// error to answer: 429 when a window was full, else err, or for a client
// key its one refusal of a code.
func (g *attemptGuard) redeemed(res *engine.RedemptionResult, err error) error {
	if g.keys != nil && res != nil {
		if refused := g.failed(promo.AttemptRedemption); refused != nil {
			return refused
		}
	}
	if byClient(g.r) {
		return clientError(res, err)
	}
	return err
}
