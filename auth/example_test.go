package auth_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/govhub/govhub/auth"
)

// exampleKey returns an Ed25519 key derived from a fixed seed, so that the
// examples' output never changes. Real keys come from a key file.
func exampleKey() ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("govhub example issuer"))
	return ed25519.NewKeyFromSeed(seed[:])
}

func ExampleKeyID() {
	pub := exampleKey().Public().(ed25519.PublicKey)
	fmt.Println(auth.KeyID(pub))
	// Output: _Y6hKufI6qo
}

func ExampleVerifier_Verify() {
	issued := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	issuer, err := auth.NewIssuer(exampleKey(), "govhub", auth.WithIssuerClock(func() time.Time { return issued }))
	if err != nil {
		panic(err)
	}
	token, err := issuer.Issue(auth.Principal{Kind: auth.KindDepartment, Department: "housing", Role: "clerk", Subject: "u123"}, time.Hour)
	if err != nil {
		panic(err)
	}

	for _, at := range []time.Time{issued.Add(10 * time.Minute), issued.Add(2 * time.Hour)} {
		v, err := auth.NewVerifier(issuer.Public(), "govhub", auth.WithClock(func() time.Time { return at }))
		if err != nil {
			panic(err)
		}
		p, err := v.Verify(token)
		var expired *auth.ExpiredError
		switch {
		case err == nil:
			fmt.Printf("at %s: %s %s/%s %s, expires %s\n", at.Format("15:04"), p.Kind, p.Department, p.Role, p.Subject, p.Expires.Format(time.RFC3339))
		case errors.As(err, &expired):
			fmt.Printf("at %s: %v for %s %s\n", at.Format("15:04"), err, expired.Principal.Kind, expired.Principal.Subject)
		default:
			fmt.Printf("at %s: %v\n", at.Format("15:04"), err)
		}
	}
	// Output:
	// at 09:10: department housing/clerk u123, expires 2026-03-01T10:00:00Z
	// at 11:00: token expired for department u123
}

func ExampleMiddleware() {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	issuer, err := auth.NewIssuer(exampleKey(), "govhub", auth.WithIssuerClock(clock))
	if err != nil {
		panic(err)
	}
	v, err := auth.NewVerifier(issuer.Public(), "govhub", auth.WithClock(clock))
	if err != nil {
		panic(err)
	}
	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s %s\n", p.Kind, p.Subject)
	})
	h := auth.Middleware(v, hello, auth.WithRejectHook(func(r *http.Request, p *auth.Principal, err error) {
		fmt.Printf("rejected: %v\n", err)
	}))

	citizen, err := issuer.Issue(auth.Principal{Kind: auth.KindCitizen, Subject: "C000001"}, time.Hour)
	if err != nil {
		panic(err)
	}
	for _, authorization := range []string{"Bearer " + citizen, "", "Bearer " + strings.ToUpper(citizen)} {
		r := httptest.NewRequest(http.MethodGet, "/portal", nil)
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Printf("%d %q %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body)
	}
	// Output:
	// 200 "" hello citizen C000001
	// rejected: missing bearer token
	// 401 "Bearer" unauthorized: missing bearer token
	// rejected: malformed token: not base64url-encoded JSON
	// 401 "Bearer error=\"invalid_token\", error_description=\"malformed token\"" unauthorized: malformed token
}
