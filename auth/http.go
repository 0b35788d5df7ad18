package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// TokenFromRequest returns the bearer token of r's Authorization header
// (RFC 6750 §2.1): the scheme "Bearer" in any case, one or more spaces, and a
// token of the b64token characters [A-Za-z0-9-._~+/] optionally followed by
// "=" padding.
//
// A request with no Authorization header, or one using another scheme (such
// as Basic), or "Bearer" with nothing after it (a shell variable that was
// never set), has no bearer token: ErrMissing. Several Authorization headers,
// or a token with other characters: ErrMalformed.
func TokenFromRequest(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	switch len(values) {
	case 0:
		return "", ErrMissing
	case 1:
	default:
		return "", fmt.Errorf("%w: several Authorization headers", ErrMalformed)
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		if scheme == "" {
			return "", ErrMissing
		}
		return "", fmt.Errorf("%w: authorization scheme is not Bearer", ErrMissing)
	}
	token = strings.TrimLeft(token, " ")
	if token == "" {
		return "", fmt.Errorf("%w: empty after Bearer", ErrMissing)
	}
	if !isB64Token(token) {
		return "", fmt.Errorf("%w: bearer token has characters outside b64token", ErrMalformed)
	}
	return token, nil
}

// isB64Token reports whether s matches RFC 6750's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '+', c == '/':
		default:
			return false
		}
	}
	return true
}

// MiddlewareOption configures [Middleware].
type MiddlewareOption func(*middleware)

// WithRejectHook makes the middleware call hook for every request it rejects,
// before writing the response, with the error that caused the rejection. p is
// non-nil only when the caller is known: an authentic but expired token
// ([*ExpiredError]). The hook is where denied attempts get logged or
// ledgered; it must not write to the response.
func WithRejectHook(hook func(r *http.Request, p *Principal, err error)) MiddlewareOption {
	return func(m *middleware) { m.onReject = hook }
}

type middleware struct {
	v        TokenVerifier
	next     http.Handler
	onReject func(*http.Request, *Principal, error)
}

// Middleware authenticates every request with v (the hub's [*Verifier], or a
// [*MultiVerifier] also trusting external identity providers) before handing
// it to next.
//
// A request with a valid bearer token reaches next with its [Principal] in the
// context ([FromContext]). Any other request is answered with status 401, a
// text/plain one-line body "unauthorized: <reason>", and, per RFC 6750 §3,
//
//	WWW-Authenticate: Bearer
//
// when there is no bearer token at all, or otherwise
//
//	WWW-Authenticate: Bearer error="invalid_token", error_description="<reason>"
//
// where <reason> is the message of the sentinel error (such as "token
// expired"). Neither carries the token or any value read from it. The
// response also says Cache-Control: no-store.
//
// Middleware panics if v or next is nil.
func Middleware(v TokenVerifier, next http.Handler, opts ...MiddlewareOption) http.Handler {
	if own, ok := v.(*Verifier); v == nil || ok && own == nil || next == nil {
		panic("auth.Middleware: nil verifier or handler")
	}
	m := &middleware{v: v, next: next}
	for _, opt := range opts {
		opt(m)
	}
	return m
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, err := TokenFromRequest(r)
	if err == nil {
		var p Principal
		if p, err = m.v.Verify(token); err == nil {
			m.next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), p)))
			return
		}
	}
	if m.onReject != nil {
		var known *Principal
		if expired, ok := errors.AsType[*ExpiredError](err); ok {
			p := expired.Principal
			known = &p
		}
		m.onReject(r, known, err)
	}
	writeUnauthorized(w, err)
}

// writeUnauthorized writes the 401 response for err. Only the fixed message
// of err's sentinel reaches the client.
func writeUnauthorized(w http.ResponseWriter, err error) {
	why := reason(err)
	h := w.Header()
	if why == ErrMissing {
		h.Set("WWW-Authenticate", "Bearer")
	} else {
		h.Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+why.Error()+`"`)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusUnauthorized)
	fmt.Fprintf(w, "unauthorized: %s\n", why.Error())
}
