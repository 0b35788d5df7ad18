package main

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// defaultRequestTimeout is the default deadline of a request (--request-timeout).
const defaultRequestTimeout = 30 * time.Second

// withRequestDeadline gives every request's context a deadline d from its start: the store and the
// ledger calls made for it inherit it, so a slow database fails the request instead of holding it.
// GraphQL (/graphql) sets its own, per operation (graph.HandlerConfig.RequestTimeout), so that
// running out of time is a GraphQL error. Streams are exempt: a websocket or server-sent-events
// subscription lives as long as its token (graph's untilTokenExpires) or the connection.
func withRequestDeadline(d time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/graphql" || strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), d)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// requestTimeout is the configured deadline of a request, or the default.
func (a *app) requestTimeout() time.Duration {
	if a.cfg.RequestTimeout > 0 {
		return a.cfg.RequestTimeout
	}
	return defaultRequestTimeout
}
