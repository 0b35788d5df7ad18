package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestTokenFromRequest(t *testing.T) {
	tests := []struct {
		name string
		auth []string
		want string
		err  error
	}{
		{"bearer", []string{"Bearer abc.def.ghi"}, "abc.def.ghi", nil},
		{"lower-case scheme", []string{"bearer abc.def.ghi"}, "abc.def.ghi", nil},
		{"upper-case scheme", []string{"BEARER abc"}, "abc", nil},
		{"several spaces", []string{"Bearer   abc"}, "abc", nil},
		{"b64token characters", []string{"Bearer aZ09-._~+/=="}, "aZ09-._~+/==", nil},
		{"no header", nil, "", ErrMissing},
		{"empty header", []string{""}, "", ErrMissing},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, "", ErrMissing},
		{"bearer prefix of another scheme", []string{"Bearerx abc"}, "", ErrMissing},
		{"token alone", []string{"abc.def.ghi"}, "", ErrMissing},
		{"bearer alone", []string{"Bearer"}, "", ErrMissing},
		{"bearer and a space (an unset shell variable)", []string{"Bearer "}, "", ErrMissing},
		{"bearer and spaces", []string{"Bearer   "}, "", ErrMissing},
		{"tab separator", []string{"Bearer\tabc"}, "", ErrMissing},
		{"only padding", []string{"Bearer =="}, "", ErrMalformed},
		{"padding inside", []string{"Bearer ab=c"}, "", ErrMalformed},
		{"two tokens", []string{"Bearer abc def"}, "", ErrMalformed},
		{"comma", []string{"Bearer abc,def"}, "", ErrMalformed},
		{"non-ASCII", []string{"Bearer abcé"}, "", ErrMalformed},
		{"two headers", []string{"Bearer abc", "Bearer abc"}, "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/graphql", nil)
			for _, a := range tt.auth {
				r.Header.Add("Authorization", a)
			}
			got, err := TokenFromRequest(r)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("TokenFromRequest(%q) = %q, %v, want %q, %v", tt.auth, got, err, tt.want, tt.err)
			}
		})
	}
}

// hookCall records one call of the reject hook.
type hookCall struct {
	p   *Principal
	err error
}

func TestMiddlewareRejects(t *testing.T) {
	v := newTestVerifier(t)
	for _, tt := range rejections(t) {
		t.Run(tt.name, func(t *testing.T) {
			var calls []hookCall
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("next handler called for %s", tt.name)
			})
			h := Middleware(v, next, WithRejectHook(func(r *http.Request, p *Principal, err error) {
				calls = append(calls, hookCall{p, err})
			}))
			r := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/graphql", strings.NewReader(`{"query":"{ __typename }"}`))
			auth := tt.auth
			if auth == nil && tt.token != "" {
				auth = []string{"Bearer " + tt.token}
			}
			for _, a := range auth {
				r.Header.Add("Authorization", a)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			if w.Code != http.StatusUnauthorized {
				t.Errorf("status = %d, want %d", w.Code, http.StatusUnauthorized)
			}
			wantAuth := `Bearer error="invalid_token", error_description="` + tt.want.Error() + `"`
			if tt.want == ErrMissing {
				wantAuth = "Bearer"
			}
			if got := w.Header().Values("WWW-Authenticate"); len(got) != 1 || got[0] != wantAuth {
				t.Errorf("WWW-Authenticate = %q, want %q", got, wantAuth)
			}
			if got, want := w.Header().Get("Content-Type"), "text/plain; charset=utf-8"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got, want := w.Body.String(), "unauthorized: "+tt.want.Error()+"\n"; got != want {
				t.Errorf("body = %q, want %q", got, want)
			}
			for _, part := range strings.Split(tt.token, ".") {
				if len(part) >= 8 && (strings.Contains(w.Body.String(), part) || strings.Contains(w.Header().Get("WWW-Authenticate"), part)) {
					t.Errorf("response quotes the token")
				}
			}

			if len(calls) != 1 {
				t.Fatalf("reject hook called %d times, want 1", len(calls))
			}
			checkReason(t, "hook error", calls[0].err, tt.want, tt.token)
			if tt.want == ErrExpired {
				if calls[0].p == nil || *calls[0].p != (Principal{Kind: clerk.Kind, Department: clerk.Department, Role: clerk.Role, Subject: clerk.Subject, Issuer: testIssuer, TokenID: "test-token-1", Expires: testNow.Add(-time.Minute)}) {
					t.Errorf("hook principal = %+v, want the clerk's", calls[0].p)
				}
			} else if calls[0].p != nil {
				t.Errorf("hook principal = %+v, want nil", *calls[0].p)
			}
		})
	}
}

func TestMiddlewareAccepts(t *testing.T) {
	v := newTestVerifier(t)
	tok := issue(t, testNow, clerk, time.Hour)
	var got Principal
	var gotOK bool
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, gotOK = FromContext(r.Context())
		w.WriteHeader(http.StatusTeapot)
	})
	h := Middleware(v, next, WithRejectHook(func(r *http.Request, p *Principal, err error) {
		t.Errorf("reject hook called with %v", err)
	}))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/graphql", nil)
	r.Header.Set("Authorization", "bearer "+tok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusTeapot {
		t.Errorf("status = %d, want %d from next", w.Code, http.StatusTeapot)
	}
	want, _ := v.Verify(tok)
	if !gotOK || got != want || got.Subject != clerk.Subject {
		t.Errorf("FromContext in next = %+v, %v, want %+v, true", got, gotOK, want)
	}
}

func TestMiddlewareWithoutHook(t *testing.T) {
	h := Middleware(newTestVerifier(t), http.NotFoundHandler())
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("status = %d, want %d", w.Code, http.StatusUnauthorized)
	}
}

func TestMiddlewarePanicsOnNil(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    *Verifier
		next http.Handler
	}{
		{"nil verifier", nil, http.NotFoundHandler()},
		{"nil handler", newTestVerifier(t), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("Middleware(%s) did not panic", tt.name)
				}
			}()
			Middleware(tt.v, tt.next)
		})
	}
}

func BenchmarkMiddleware(b *testing.B) {
	v := newTestVerifier(b)
	h := Middleware(v, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
	r.Header.Set("Authorization", "Bearer "+issue(b, testNow, clerk, time.Hour))
	w := httptest.NewRecorder()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
	if w.Code != http.StatusOK {
		b.Fatalf("status = %d", w.Code)
	}
}
