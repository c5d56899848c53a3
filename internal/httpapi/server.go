// Package httpapi serves Promo's JSON API, compatible with the core of
// Voucherify's REST API v1: one route table, the middleware around it, and
// the table from error codes to HTTP statuses.
package httpapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"promo/internal/metrics"
	"promo/internal/promo"
)

// Default body limits.
const (
	DefaultMaxBodyBytes    = 1 << 20
	DefaultImportBodyBytes = 16 << 20
)

// Config configures an API. Every field is optional.
type Config struct {
	// Logger gets one line per request. Default: JSON lines on stderr.
	Logger *slog.Logger
	// RequestLog, when set, gets the per-request lines instead of Logger:
	// the lines Logger's JSONHandler would write, written directly, which
	// costs the busiest log far less. Set it to what Logger's handler
	// writes to, when that is a slog.JSONHandler at level INFO.
	RequestLog io.Writer
	// Metrics gets the HTTP metrics and is served on GET /metrics.
	// Default: a new registry.
	Metrics *metrics.Registry
	// Auth checks the X-App-Id and X-App-Token headers of every route that
	// is not Public. When nil, such routes answer 401 to everyone.
	Auth Authenticator
	// Ready reports whether the server can serve requests (the store is
	// reachable, ...); GET /readyz answers 503 while it fails. Default:
	// always ready.
	Ready func(context.Context) error
	// MaxBodyBytes bounds request bodies. Default: DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// ImportBodyBytes bounds the bodies of Upload routes. Default:
	// DefaultImportBodyBytes.
	ImportBodyBytes int64
	// Now is the clock that times requests. Default: time.Now.
	Now func() time.Time
	// Limits are the rate limits and failure windows; the zero value
	// limits nothing.
	Limits Limits
}

// Authenticator checks an API key: the application ID and token a client
// sends. It returns the key (its ID goes into the request's context:
// promo.APIKeyFromContext), which the API does not change. An unknown pair
// or a wrong token is an error with code EUnauthorized; ETooManyRequests,
// EUnavailable and internal errors reach the client as they are, and any
// other application error becomes EUnauthorized.
type Authenticator interface {
	Authenticate(ctx context.Context, appID, token string) (*promo.APIKey, error)
}

// AuthenticatorFunc lets a function be an Authenticator.
type AuthenticatorFunc func(ctx context.Context, appID, token string) (*promo.APIKey, error)

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, appID, token string) (*promo.APIKey, error) {
	return f(ctx, appID, token)
}

// HandlerFunc serves one route. It writes the response itself on success
// and returns an error otherwise, which the API writes as the error
// envelope with the status its code maps to. A handler never picks an error
// status.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// API is the HTTP API: the configuration, the route table, and the
// middleware around it. Build it with New, add routes with Handle, and
// serve it: API is an http.Handler.
type API struct {
	Config

	mux      *http.ServeMux
	routes   []*route
	refusals logSampler
	requests *metrics.CounterVec
	duration *metrics.HistogramVec
}

// New returns an API with cfg's defaults filled in and the operational
// routes registered: GET /healthz, GET /readyz and GET /metrics, all
// Public.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewRegistry()
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.ImportBodyBytes <= 0 {
		cfg.ImportBodyBytes = DefaultImportBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{Config: cfg, mux: http.NewServeMux()}
	a.requests = cfg.Metrics.Counter("promo_http_requests_total",
		"HTTP requests served, by route pattern, method and status.", "route", "method", "status")
	a.duration = cfg.Metrics.Histogram("promo_http_request_duration_seconds",
		"Time to serve HTTP requests, by route pattern.",
		[]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, "route")
	a.registerOps()
	return a
}

// RouteOption changes how Handle serves a route.
type RouteOption func(*route)

// route is a registered route and its options.
type route struct {
	pattern string // "GET /v1/campaigns/{id}": the metrics' route label
	public  bool
	upload  bool
	scope   string // the scope a restricted key needs; "" for secret keys only
	client  bool
}

// Public serves a route without authentication.
func Public() RouteOption { return func(r *route) { r.public = true } }

// Scope lets restricted keys with scope call a route; secret keys call
// every route. A route without a scope is for secret keys only.
func Scope(scope string) RouteOption { return func(r *route) { r.scope = scope } }

// Client makes a route client-side: it takes client keys only, in the
// X-Client-Application-Id and X-Client-Token headers, from an Origin the
// key allows, and answers browsers' CORS checks.
func Client() RouteOption { return func(r *route) { r.client = true } }

// Routes lists the registered routes: pattern, scope, and whether public
// and client-side.
func (a *API) Routes() []RouteInfo {
	out := make([]RouteInfo, len(a.routes))
	for i, rt := range a.routes {
		out[i] = RouteInfo{Pattern: rt.pattern, Scope: rt.scope, Public: rt.public, Client: rt.client}
	}
	return out
}

// RouteInfo describes a registered route.
type RouteInfo struct {
	Pattern string
	Scope   string
	Public  bool
	Client  bool
}

// Upload gives a route the larger body limit, ImportBodyBytes.
func Upload() RouteOption { return func(r *route) { r.upload = true } }

// Handle registers h for method (GET, POST, ...; "" for any) and pattern,
// a path in http.ServeMux syntax such as "/v1/campaigns/{id}" (read path
// values with r.PathValue). Unless Public, a route requires an API key.
// Registering a pattern twice or a conflicting one panics, as ServeMux does.
func (a *API) Handle(method, pattern string, h HandlerFunc, opts ...RouteOption) {
	rt := &route{pattern: pattern}
	if method != "" {
		rt.pattern = method + " " + pattern
	}
	for _, o := range opts {
		o(rt)
	}
	a.routes = append(a.routes, rt)
	limit := a.MaxBodyBytes
	if rt.upload {
		limit = a.ImportBodyBytes
	}
	a.mux.HandleFunc(rt.pattern, func(w http.ResponseWriter, r *http.Request) {
		a.serveRoute(w, r, rt, limit, h)
	})
}

// Handler returns the API with all its middleware, to serve.
func (a *API) Handler() http.Handler { return a }

// registerOps adds the routes for operators and their probes.
func (a *API) registerOps() {
	a.Handle(http.MethodGet, "/healthz", func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	}, Public())
	a.Handle(http.MethodGet, "/readyz", func(w http.ResponseWriter, r *http.Request) error {
		if a.Ready != nil {
			if err := a.Ready(r.Context()); err != nil {
				return &promo.Error{Code: promo.EUnavailable, Message: "Service unavailable",
					Details: "the server is not ready to serve requests", Err: err}
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	}, Public())
	a.Handle(http.MethodGet, "/metrics", func(w http.ResponseWriter, r *http.Request) error {
		a.Metrics.ServeHTTP(w, r)
		return nil
	}, Public())
}
