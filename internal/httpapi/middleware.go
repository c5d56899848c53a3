package httpapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"promo/internal/promo"
)

// ServeHTTP serves r through the middleware, outermost first: a request ID
// (X-Request-Id, and promo.RequestIDFromContext), recovery from panics,
// path cleaning, then the log line and the metrics once the response is
// written. Per route (serveRoute): the body limit, then authentication.
// The mux's own 404 and 405 answers become error envelopes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := a.Now()
	st := &state{requestID: newRequestID(), raw: w}
	w.Header().Set("X-Request-Id", st.requestID)
	rw := &responseWriter{ResponseWriter: w, st: st, intercept: true}
	r = r.WithContext(context.WithValue(promo.NewContextWithRequestID(r.Context(), st.requestID), stateKey{}, st))
	defer func() {
		if v := recover(); v != nil {
			a.recovered(rw, r, v)
		}
		a.finish(rw, r, start)
		if st.abort {
			// The response has begun: cut the connection rather than let a
			// partial body pass for a whole one.
			panic(http.ErrAbortHandler)
		}
	}()
	r.URL = cleanURL(r.URL)
	a.mux.ServeHTTP(rw, r)
	if code := rw.muxStatus; code != 0 {
		rw.intercept, rw.muxStatus = false, 0
		writeError(rw, r, unrouted(r, code, rw.Header().Get("Allow")))
	}
}

// state is what the middleware learns about a request while it is served.
type state struct {
	requestID string
	raw       http.ResponseWriter // the server's, for http.MaxBytesReader
	route     string              // the matched route's pattern; "" for none
	keyID     string
	clientIP  string // as Limits.TrustedProxies say; "" on public routes
	err       error  // what the handler returned, or its panic
	internal  bool   // err is an internal error
	stack     []byte
	abort     bool
}

type stateKey struct{}

// stateFrom returns the request's state, or nil outside ServeHTTP.
func stateFrom(ctx context.Context) *state {
	st, _ := ctx.Value(stateKey{}).(*state)
	return st
}

// noteError keeps the first error of a request for its log line.
func noteError(r *http.Request, err error, internal bool) {
	if st := stateFrom(r.Context()); st != nil {
		if st.err == nil {
			st.err, st.internal = err, internal
		}
		return
	}
	if internal {
		slog.ErrorContext(r.Context(), "internal error", "error", err)
	}
}

// serveRoute runs h for the matched route rt.
func (a *API) serveRoute(w http.ResponseWriter, r *http.Request, rt *route, limit int64, h HandlerFunc) {
	rw, _ := w.(*responseWriter)
	raw := w
	if rw != nil {
		rw.intercept = false
		rw.st.route = rt.pattern
		raw = rw.st.raw
	}
	r.Body = http.MaxBytesReader(raw, r.Body, limit)
	if !rt.public {
		key, err := a.authenticate(w, r, rt)
		if err != nil {
			writeError(w, r, err)
			return
		}
		if rw != nil {
			rw.st.keyID = key.ID
		}
		if a.Limits.Limiter != nil {
			if err := a.limitKey(w, r, key); err != nil {
				writeError(w, r, err)
				return
			}
		}
		ctx := promo.NewContextWithAPIKey(r.Context(), key.ID)
		if key.Kind == promo.KeyClient {
			ctx = context.WithValue(ctx, clientKeyKey{}, true)
		}
		r = a.withClientIP(r.WithContext(ctx))
		if rw != nil {
			rw.st.clientIP = clientIP(r)
		}
	}
	err := h(w, r)
	switch {
	case err == nil:
	case rw != nil && rw.status != 0:
		// Too late for an envelope; the log line still tells.
		_, isApp := err.(*promo.Error)
		noteError(r, err, !isApp)
	default:
		writeError(w, r, err)
	}
}

// authenticate checks the request's API key and what it may call: a
// client key on a client route, from an origin it allows (which the answer
// then grants to the browser); a secret key, or a restricted key with the
// route's scope, on any other route.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request, rt *route) (*promo.APIKey, error) {
	idHeader, tokenHeader := "X-App-Id", "X-App-Token"
	if rt.client {
		idHeader, tokenHeader = "X-Client-Application-Id", "X-Client-Token"
	}
	appID, token := r.Header.Get(idHeader), r.Header.Get(tokenHeader)
	if appID == "" || token == "" {
		return nil, promo.Errorf(promo.EUnauthorized, "send the %s and %s headers of an API key", idHeader, tokenHeader)
	}
	invalid := promo.Errorf(promo.EUnauthorized, "the %s and %s pair is not valid", idHeader, tokenHeader)
	if a.Auth == nil {
		return nil, invalid
	}
	key, err := a.Auth.Authenticate(r.Context(), appID, token)
	if err != nil {
		switch promo.ErrorCode(err) {
		case promo.EUnauthorized, promo.ETooManyRequests, promo.EUnavailable, promo.EInternal:
			return nil, err
		}
		invalid.Err = err
		return nil, invalid
	}
	switch {
	case rt.client:
		if key.Kind != promo.KeyClient {
			return nil, promo.Errorf(promo.EForbidden, "the /client/v1 routes take a client-side key; this is a %s key", key.Kind)
		}
		origin := r.Header.Get("Origin")
		if !key.AllowsOrigin(origin) {
			return nil, promo.Errorf(promo.EForbidden, "origin %q is not one this key allows", origin)
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Add("Vary", "Origin")
	case key.Kind == promo.KeyClient:
		return nil, promo.Errorf(promo.EForbidden, "a client-side key only calls the /client/v1 routes")
	case !key.Allows(rt.scope):
		if rt.scope == "" {
			return nil, promo.Errorf(promo.EForbidden, "only a secret key may call this route")
		}
		return nil, promo.Errorf(promo.EForbidden, "this key's scopes do not include %s", rt.scope)
	}
	return key, nil
}

// clientKeyKey marks the context of a request made with a client key.
type clientKeyKey struct{}

// byClient reports whether a request was made with a client key.
func byClient(r *http.Request) bool {
	b, _ := r.Context().Value(clientKeyKey{}).(bool)
	return b
}

// unrouted is the error for a request no route matched: code is the
// status ServeMux chose, 404 or 405, and allow its Allow header.
func unrouted(r *http.Request, code int, allow string) error {
	if code == http.StatusMethodNotAllowed {
		return promo.Errorf(promo.EMethodNotAllowed, "%s is not allowed on %s; allowed: %s", r.Method, r.URL.Path, allow)
	}
	return promo.Errorf(promo.ENotFound, "no route for %s %s", r.Method, r.URL.Path)
}

// recovered turns the panic v into a 500 envelope, or cuts the connection
// when the response has begun.
func (a *API) recovered(rw *responseWriter, r *http.Request, v any) {
	st := rw.st
	if v == http.ErrAbortHandler {
		st.abort = true
		return
	}
	err, ok := v.(error)
	if ok {
		err = fmt.Errorf("panic: %w", err)
	} else {
		err = fmt.Errorf("panic: %v", v)
	}
	st.stack = debug.Stack()
	st.err, st.internal = nil, false // the panic is what the log line must show
	if rw.status != 0 {
		noteError(r, err, true)
		st.abort = true
		return
	}
	rw.intercept, rw.muxStatus = false, 0
	writeError(rw, r, err)
}

// finish writes the request's log line and metrics.
func (a *API) finish(rw *responseWriter, r *http.Request, start time.Time) {
	st := rw.st
	d := a.Now().Sub(start)
	status := rw.status
	if status == 0 {
		status = http.StatusOK // what net/http sends for a handler that writes nothing
	}
	route := st.route
	if route == "" {
		route = "unmatched"
	}
	a.requests.With(route, methodLabel(r.Method), statusLabel(status)).Inc()
	a.duration.With(route).Observe(d.Seconds())

	var skipped int64
	if status == http.StatusTooManyRequests {
		var ok bool
		if ok, skipped = a.refusals.allow(start); !ok {
			return
		}
	}
	level := slog.LevelInfo
	var buf [14]slog.Attr
	attrs := append(buf[:0],
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(d.Microseconds())/1000),
		slog.String("request_id", st.requestID),
		slog.Int64("bytes", rw.bytes),
	)
	if st.keyID != "" {
		attrs = append(attrs, slog.String("key_id", st.keyID), slog.String("client_ip", st.clientIP))
	}
	if skipped > 0 {
		attrs = append(attrs, slog.Int64("refusals_not_logged", skipped))
	}
	if st.err != nil {
		attrs = append(attrs, slog.String("error_key", promo.ErrorCode(st.err)))
		if st.internal || status >= 500 {
			attrs = append(attrs, slog.String("error", st.err.Error()))
			if e, ok := st.err.(*promo.Error); ok && e.Err != nil {
				attrs = append(attrs, slog.String("cause", e.Err.Error()))
			}
			level = slog.LevelWarn
		}
		if st.internal {
			level = slog.LevelError
		}
	}
	if st.stack != nil {
		attrs = append(attrs, slog.String("stack", string(st.stack)))
		level = slog.LevelError
	}
	if a.RequestLog != nil {
		writeRequestLine(a.RequestLog, time.Now(), level, attrs)
		return
	}
	a.Logger.LogAttrs(r.Context(), level, "request", attrs...)
}

// responseWriter records the status and size of a response, and holds
// back the plain-text 404 and 405 that ServeMux writes for requests no
// route matched, so that ServeHTTP can answer with an envelope instead.
type responseWriter struct {
	http.ResponseWriter
	st        *state
	status    int
	bytes     int64
	intercept bool // no route has matched yet
	muxStatus int  // the 404 or 405 held back
}

func (w *responseWriter) WriteHeader(code int) {
	if w.status != 0 || w.muxStatus != 0 {
		return
	}
	if code < 200 {
		w.ResponseWriter.WriteHeader(code) // informational; more may follow
		return
	}
	if w.intercept && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		w.muxStatus = code
		return
	}
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.muxStatus != 0 {
		return len(b), nil
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush sends what is buffered, for handlers that stream (CSV exports).
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// cleanURL tolerates what clients get wrong in paths: doubled slashes
// (an SDK apiUrl that ends in a slash gives //v1/...), a trailing slash
// (POST /v1/vouchers/) and dot segments. It cleans the escaped path, so an
// encoded slash inside a path value (%2F) stays one, and returns u itself
// when there is nothing to clean.
func cleanURL(u *url.URL) *url.URL {
	p := u.EscapedPath()
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	clean := path.Clean(p)
	if clean == u.EscapedPath() {
		return u
	}
	unescaped, err := url.PathUnescape(clean)
	if err != nil {
		return u // cannot happen: clean came from a valid escaped path
	}
	c := *u
	c.Path, c.RawPath = unescaped, clean
	return &c
}

// newRequestID returns "v-" and 18 random hex digits, as Voucherify's
// request IDs look. They name requests in logs; they are not secrets.
func newRequestID() string {
	var b [9]byte
	x, y := rand.Uint64(), rand.Uint32()
	for i := range 8 {
		b[i] = byte(x >> (8 * i))
	}
	b[8] = byte(y)
	var out [len(promo.PrefixRequest) + 18]byte
	copy(out[:], promo.PrefixRequest)
	hex.Encode(out[len(promo.PrefixRequest):], b[:])
	return string(out[:])
}

// methodLabel bounds the method label of the metrics: a client can send
// any token as a method.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusLabels holds the status label of every status code, so that
// labelling a request does not allocate.
var statusLabels = func() (s [600]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

func statusLabel(code int) string {
	if 0 <= code && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// logSampler thins the log lines of 429 answers to one a second: a flood of
// refused requests would otherwise write a line for each, which costs a
// fifth of a refusal's time and fills disks. The metrics still count every
// one, and the next line logged says how many went unlogged.
type logSampler struct {
	next    atomic.Int64 // Unix nanoseconds before which no line is logged
	skipped atomic.Int64
}

// allow reports whether a refusal at now gets its line, and how many went
// unlogged before it.
func (s *logSampler) allow(now time.Time) (bool, int64) {
	t, next := now.UnixNano(), s.next.Load()
	if t < next || !s.next.CompareAndSwap(next, t+int64(time.Second)) {
		s.skipped.Add(1)
		return false, 0
	}
	return true, s.skipped.Swap(0)
}
