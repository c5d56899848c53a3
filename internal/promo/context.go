package promo

import "context"

type contextKey int

const (
	apiKeyContextKey contextKey = iota + 1
	requestIDContextKey
)

// NewContextWithAPIKey returns a context carrying the ID of the API key a
// request authenticated with; the audit log records it.
func NewContextWithAPIKey(ctx context.Context, keyID string) context.Context {
	return context.WithValue(ctx, apiKeyContextKey, keyID)
}

// APIKeyFromContext returns the API key ID in ctx, or "".
func APIKeyFromContext(ctx context.Context) string {
	id, _ := ctx.Value(apiKeyContextKey).(string)
	return id
}

// NewContextWithRequestID returns a context carrying a request's ID.
func NewContextWithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDContextKey, id)
}

// RequestIDFromContext returns the request ID in ctx, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDContextKey).(string)
	return id
}
