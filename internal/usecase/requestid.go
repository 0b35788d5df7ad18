package usecase

import "context"

// requestIDKey is the context key of the request's id.
type requestIDKey struct{}

// WithRequestID returns ctx carrying the id of the request it serves, which the use cases write on
// the request-id line of the entries they append (the edge chooses it: ledger tokens only).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id ctx carries, or "" if it carries none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
