package auth

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const testIssuer = "govhub-test"

// testNow is the fixed time of the test clocks.
var testNow = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// testKey returns the Ed25519 key derived from name, the same on every run.
func testKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("govhub/auth/test/" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// fixedClock returns a clock stuck at t.
func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// newTestIssuer returns an Issuer with the "hub" test key, a clock stuck at
// now, and a deterministic source of token ids.
func newTestIssuer(tb testing.TB, now time.Time) *Issuer {
	tb.Helper()
	i, err := NewIssuer(testKey("hub"), testIssuer, WithIssuerClock(fixedClock(now)))
	if err != nil {
		tb.Fatalf("NewIssuer: %v", err)
	}
	i.rand = rand.NewChaCha8([32]byte{1})
	return i
}

// newTestVerifier returns a Verifier for the "hub" test key with a clock stuck
// at testNow.
func newTestVerifier(tb testing.TB) *Verifier {
	tb.Helper()
	v, err := NewVerifier(testKey("hub").Public().(ed25519.PublicKey), testIssuer, WithClock(fixedClock(testNow)))
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	return v
}

// issue issues a token for p valid for ttl from now, with the test issuer.
func issue(tb testing.TB, now time.Time, p Principal, ttl time.Duration) string {
	tb.Helper()
	tok, err := newTestIssuer(tb, now).Issue(p, ttl)
	if err != nil {
		tb.Fatalf("Issue(%+v, %v): %v", p, ttl, err)
	}
	return tok
}

var b64 = base64.RawURLEncoding

// segment returns v as JSON, base64url-encoded.
func segment(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b64.EncodeToString(b)
}

// signRaw returns header.payload signed with key, whatever they hold.
func signRaw(header, payload string, key ed25519.PrivateKey) string {
	input := header + "." + payload
	return input + "." + b64.EncodeToString(ed25519.Sign(key, []byte(input)))
}

// sign returns a token with the given header and claims signed by key.
func sign(tb testing.TB, header, claims map[string]any, key ed25519.PrivateKey) string {
	tb.Helper()
	return signRaw(segment(tb, header), segment(tb, claims), key)
}

// edHeader is the header the issuer writes for key.
func edHeader(key ed25519.PrivateKey) map[string]any {
	return map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": KeyID(key.Public().(ed25519.PublicKey))}
}

// goodClaims returns valid claims of a housing clerk, open at testNow, with
// the changes applied (a nil value deletes the claim).
func goodClaims(changes map[string]any) map[string]any {
	c := map[string]any{
		"kind":       "department",
		"department": "housing",
		"role":       "clerk",
		"iss":        testIssuer,
		"aud":        DefaultAudience,
		"sub":        "u123",
		"iat":        testNow.Add(-time.Minute).Unix(),
		"nbf":        testNow.Add(-time.Minute).Unix(),
		"exp":        testNow.Add(time.Hour).Unix(),
		"jti":        "test-token-1",
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// preAudienceToken is a housing clerk's token as this package issued them
// before tokens carried "aud" (the worked example of doc.go then): refused.
const preAudienceToken = "eyJhbGciOiJFZERTQSIsImtpZCI6IlRGR1NrTHpqdUg4IiwidHlwIjoiSldUIn0." +
	"eyJraW5kIjoiZGVwYXJ0bWVudCIsImRlcGFydG1lbnQiOiJob3VzaW5nIiwicm9sZSI6ImNsZXJrIiwiaXNzIjoiZ292aHViLXRlc3QiLCJzdWIiOiJ1MTIzIiwiZXhwIjoxNzcyMzU5MTQwLCJuYmYiOjE3NzIzNTU1NDAsImlhdCI6MTc3MjM1NTU0MCwianRpIjoiYXVaNFAwLTk2UnR1dUl0enBJN1NSdyJ9." +
	"MIhdGkIu9BqHuP84K_T7OtXrkD0hnTu2BnBjWJ_Z_j-y5YhMvIm4KBEYi3LO4qi59dar9aFgJMet0GGkm4UEBw"

// clerk is the principal of goodClaims.
var clerk = Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: "u123"}

type rejectCase struct {
	name  string
	auth  []string // Authorization header values; "Bearer "+token if nil and token is set
	token string
	want  error
}

// rejections lists requests the middleware must refuse. Those with a token
// are also refused by Verify.
func rejections(tb testing.TB) []rejectCase {
	hub := testKey("hub")
	other := testKey("other")
	pub := hub.Public().(ed25519.PublicKey)
	good := sign(tb, edHeader(hub), goodClaims(nil), hub)
	parts := strings.Split(good, ".")

	hs256, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(goodClaims(nil))).SignedString([]byte(pub))
	if err != nil {
		tb.Fatal(err)
	}
	// The signature is 64 bytes: its last base64url character carries 2 bits
	// and 4 zero padding bits. Setting a padding bit leaves the decoded bytes
	// unchanged under lenient decoding.
	sig := []byte(parts[2])
	last := strings.IndexByte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", sig[len(sig)-1])
	sig[len(sig)-1] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[last|1]
	nonCanonical := parts[0] + "." + parts[1] + "." + string(sig)

	tampered := parts[0] + "." + segment(tb, goodClaims(map[string]any{"role": "director"})) + "." + parts[2]
	rs256 := segment(tb, map[string]any{"alg": "RS256", "typ": "JWT"}) + "." + parts[1] + "." + b64.EncodeToString(make([]byte, 256))
	noKid := edHeader(other)
	delete(noKid, "kid")
	crit := edHeader(hub)
	crit["crit"] = []string{"exp"}
	day := testNow.Add(-time.Minute).Add(DefaultMaxLifetime)

	return []rejectCase{
		{name: "no Authorization header", want: ErrMissing},
		{name: "empty Authorization header", auth: []string{""}, want: ErrMissing},
		{name: "Basic scheme", auth: []string{"Basic dXNlcjpwYXNz"}, want: ErrMissing},
		{name: "token without scheme", auth: []string{good}, want: ErrMissing},
		{name: "Bearer without token", auth: []string{"Bearer"}, want: ErrMissing},
		{name: "Bearer and spaces", auth: []string{"Bearer    "}, want: ErrMissing},
		{name: "two Authorization headers", auth: []string{"Bearer " + good, "Bearer " + good}, want: ErrMalformed},
		{name: "token with a space", auth: []string{"Bearer " + parts[0] + " " + parts[1]}, want: ErrMalformed},
		{name: "token with a quote", auth: []string{`Bearer ab"cd`}, want: ErrMalformed},
		{name: "garbage", token: "garbage", want: ErrMalformed},
		{name: "two segments", token: parts[0] + "." + parts[1], want: ErrMalformed},
		{name: "four segments", token: good + "." + parts[2], want: ErrMalformed},
		{name: "empty segments", token: "..", want: ErrMalformed},
		{name: "oversized", token: parts[0] + "." + strings.Repeat("A", MaxTokenSize) + "." + parts[2], want: ErrMalformed},
		{name: "standard base64 alphabet", token: parts[0] + "." + parts[1] + "+/." + parts[2], want: ErrMalformed},
		{name: "padded base64", token: parts[0] + "=." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "non-canonical base64 signature", token: nonCanonical, want: ErrMalformed},
		{name: "header not JSON", token: b64.EncodeToString([]byte("{alg:EdDSA}")) + "." + parts[1] + "." + parts[2], want: ErrMalformed},
		{name: "payload not JSON", token: signRaw(parts[0], b64.EncodeToString([]byte("not json")), hub), want: ErrMalformed},
		{name: "exp not a number", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"exp": "tomorrow"}), hub), want: ErrMalformed},
		{name: "crit header", token: sign(tb, crit, goodClaims(nil), hub), want: ErrMalformed},
		{name: "alg none", token: segment(tb, map[string]any{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".", want: ErrAlgorithm},
		{name: "alg NONE", token: segment(tb, map[string]any{"alg": "NONE"}) + "." + parts[1] + ".", want: ErrAlgorithm},
		{name: "alg HS256 keyed with the public key", token: hs256, want: ErrAlgorithm},
		{name: "alg RS256", token: rs256, want: ErrAlgorithm},
		{name: "alg Ed25519", token: sign(tb, map[string]any{"alg": "Ed25519"}, goodClaims(nil), hub), want: ErrAlgorithm},
		{name: "alg missing", token: sign(tb, map[string]any{"typ": "JWT"}, goodClaims(nil), hub), want: ErrAlgorithm},
		{name: "alg not a string", token: sign(tb, map[string]any{"alg": []string{"EdDSA"}}, goodClaims(nil), hub), want: ErrAlgorithm},
		{name: "header is null", token: "bnVsbA." + parts[1] + "." + parts[2], want: ErrAlgorithm},
		{name: "other key with its kid", token: sign(tb, edHeader(other), goodClaims(nil), other), want: ErrSignature},
		{name: "other key with our kid", token: sign(tb, edHeader(hub), goodClaims(nil), other), want: ErrSignature},
		{name: "other key without kid", token: sign(tb, noKid, goodClaims(nil), other), want: ErrSignature},
		{name: "kid not a string", token: sign(tb, map[string]any{"alg": "EdDSA", "kid": 7}, goodClaims(nil), hub), want: ErrSignature},
		{name: "tampered payload", token: tampered, want: ErrSignature},
		{name: "empty signature", token: parts[0] + "." + parts[1] + ".", want: ErrSignature},
		{name: "expired", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"exp": testNow.Add(-time.Minute).Unix()}), hub), want: ErrExpired},
		{name: "not yet valid", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"nbf": testNow.Add(time.Minute).Unix()}), hub), want: ErrNotYetValid},
		{name: "issued in the future", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"iat": testNow.Add(time.Minute).Unix()}), hub), want: ErrNotYetValid},
		{name: "wrong issuer", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"iss": "someone-else"}), hub), want: ErrClaims},
		{name: "missing iss", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"iss": nil}), hub), want: ErrClaims},
		{name: "missing aud", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"aud": nil}), hub), want: ErrClaims},
		{name: "another audience", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"aud": "payroll"}), hub), want: ErrClaims},
		{name: "audiences without ours", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"aud": []string{"payroll", "GOVHUB"}}), hub), want: ErrClaims},
		{name: "missing iat", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"iat": nil}), hub), want: ErrClaims},
		{name: "lifetime a second over the maximum", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"exp": day.Add(time.Second).Unix()}), hub), want: ErrClaims},
		{name: "a hundred years", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"exp": testNow.AddDate(100, 0, 0).Unix()}), hub), want: ErrClaims},
		{name: "expired for another audience", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"aud": "payroll", "exp": testNow.Add(-time.Minute).Unix()}), hub), want: ErrClaims},
		{name: "issued before audiences", token: preAudienceToken, want: ErrClaims},
		{name: "missing exp", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"exp": nil}), hub), want: ErrClaims},
		{name: "missing jti", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"jti": nil}), hub), want: ErrClaims},
		{name: "missing sub", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"sub": nil}), hub), want: ErrClaims},
		{name: "missing kind", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"kind": nil}), hub), want: ErrClaims},
		{name: "unknown kind", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"kind": "admin"}), hub), want: ErrClaims},
		{name: "department without role", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"role": nil}), hub), want: ErrClaims},
		{name: "bad department code", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"department": "Housing Bureau"}), hub), want: ErrClaims},
		{name: "officer with clerk role", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"kind": "officer"}), hub), want: ErrClaims},
		{name: "citizen with department", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"kind": "citizen", "role": nil, "sub": "C000001"}), hub), want: ErrClaims},
		{name: "citizen with bad id", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"kind": "citizen", "department": nil, "role": nil, "sub": "110101199003078888"}), hub), want: ErrClaims},
		{name: "expired with wrong issuer", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"iss": "x", "exp": testNow.Add(-time.Hour).Unix()}), hub), want: ErrClaims},
		{name: "expired with bad principal", token: sign(tb, edHeader(hub), goodClaims(map[string]any{"kind": "root", "exp": testNow.Add(-time.Hour).Unix()}), hub), want: ErrClaims},
	}
}

// checkReason fails unless err wraps want and no other sentinel, and reads as
// one short line that does not quote token.
func checkReason(t *testing.T, call string, err, want error, token string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want %v", call, err, want)
		return
	}
	for _, s := range reasons {
		if s != want && errors.Is(err, s) {
			t.Errorf("%s = %v, which is also %v", call, err, s)
		}
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") || len(msg) > 120 {
		t.Errorf("%s = %q, want one short line", call, msg)
	}
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 && strings.Contains(msg, part) {
			t.Errorf("%s = %q, which quotes the token", call, msg)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	v := newTestVerifier(t)
	for _, tt := range rejections(t) {
		if tt.token == "" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			p, err := v.Verify(tt.token)
			checkReason(t, "Verify("+tt.name+")", err, tt.want, tt.token)
			if p != (Principal{}) {
				t.Errorf("Verify(%s) = %+v, want the zero Principal", tt.name, p)
			}
		})
	}
}

func TestVerifyEmpty(t *testing.T) {
	_, err := newTestVerifier(t).Verify("")
	checkReason(t, `Verify("")`, err, ErrMissing, "")
}

func TestVerifyExpiredCarriesPrincipal(t *testing.T) {
	issued := testNow.Add(-2 * time.Hour)
	tok := issue(t, issued, clerk, time.Hour)
	_, err := newTestVerifier(t).Verify(tok)
	var expired *ExpiredError
	if !errors.As(err, &expired) {
		t.Fatalf("Verify(expired) = %v, want *ExpiredError", err)
	}
	if !errors.Is(err, ErrExpired) {
		t.Errorf("errors.Is(%v, ErrExpired) = false, want true", err)
	}
	got := expired.Principal
	want := clerk
	want.Issuer = testIssuer
	want.Expires = issued.Add(time.Hour)
	want.TokenID = got.TokenID
	if got != want || got.TokenID == "" {
		t.Errorf("Verify(expired) principal = %+v, want %+v with a token id", got, want)
	}
}

func TestVerifyLeeway(t *testing.T) {
	pub := testKey("hub").Public().(ed25519.PublicKey)
	tests := []struct {
		name   string
		leeway time.Duration
		now    time.Time // verifier's time; token valid from testNow for an hour
		want   error
	}{
		{"default leeway, 29s before nbf", DefaultLeeway, testNow.Add(-29 * time.Second), nil},
		{"default leeway, 31s before nbf", DefaultLeeway, testNow.Add(-31 * time.Second), ErrNotYetValid},
		{"default leeway, 29s after exp", DefaultLeeway, testNow.Add(time.Hour + 29*time.Second), nil},
		{"default leeway, 30s after exp", DefaultLeeway, testNow.Add(time.Hour + 30*time.Second), ErrExpired},
		{"no leeway, at nbf", 0, testNow, nil},
		{"no leeway, 1s before nbf", 0, testNow.Add(-time.Second), ErrNotYetValid},
		{"no leeway, 1s before exp", 0, testNow.Add(time.Hour - time.Second), nil},
		{"no leeway, at exp", 0, testNow.Add(time.Hour), ErrExpired},
		{"5m leeway, 4m after exp", 5 * time.Minute, testNow.Add(time.Hour + 4*time.Minute), nil},
	}
	tok := issue(t, testNow, clerk, time.Hour)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(pub, testIssuer, WithLeeway(tt.leeway), WithClock(fixedClock(tt.now)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(tok)
			if tt.want == nil {
				if err != nil {
					t.Errorf("Verify at %v = %v, want nil", tt.now, err)
				}
				return
			}
			checkReason(t, "Verify", err, tt.want, tok)
		})
	}
}

func TestIssueVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   Principal
		want Principal // without TokenID and Expires
	}{
		{"department", clerk, clerk},
		{"officer", Principal{Kind: KindOfficer, Department: "privacy-office", Role: RoleOfficer, Subject: "o7"}, Principal{Kind: KindOfficer, Department: "privacy-office", Role: RoleOfficer, Subject: "o7"}},
		{"officer given the officer role", Principal{Kind: KindOfficer, Department: "privacy-office", Subject: "o7"}, Principal{Kind: KindOfficer, Department: "privacy-office", Role: RoleOfficer, Subject: "o7"}},
		{"citizen", Principal{Kind: KindCitizen, Subject: "C000001"}, Principal{Kind: KindCitizen, Subject: "C000001"}},
		{"auditor", Principal{Kind: KindAuditor, Subject: "audit-1"}, Principal{Kind: KindAuditor, Subject: "audit-1"}},
		{"token id and expiry ignored", Principal{Kind: KindAuditor, Subject: "a", TokenID: "mine", Expires: testNow.Add(1000 * time.Hour)}, Principal{Kind: KindAuditor, Subject: "a"}},
	}
	v := newTestVerifier(t)
	ids := map[string]bool{}
	iss := newTestIssuer(t, testNow.Add(-time.Minute))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Issue(tt.in, 2*time.Hour+500*time.Millisecond)
			if err != nil {
				t.Fatalf("Issue(%+v) = %v", tt.in, err)
			}
			got, err := v.Verify(tok)
			if err != nil {
				t.Fatalf("Verify(Issue(%+v)) = %v", tt.in, err)
			}
			want := tt.want
			want.Issuer = testIssuer
			want.Expires = testNow.Add(-time.Minute + 2*time.Hour)
			want.TokenID = got.TokenID
			if got != want {
				t.Errorf("Verify(Issue(%+v)) = %+v, want %+v", tt.in, got, want)
			}
			if len(got.TokenID) != 22 || ids[got.TokenID] {
				t.Errorf("Verify(Issue(%+v)).TokenID = %q, want 22 fresh characters", tt.in, got.TokenID)
			}
			ids[got.TokenID] = true
		})
	}
}

func TestIssueClaims(t *testing.T) {
	tok := issue(t, testNow, Principal{Kind: KindOfficer, Department: "privacy-office", Subject: "o7"}, time.Hour)
	parts := strings.Split(tok, ".")
	var header, payload map[string]any
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := b64.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	wantHeader := map[string]any{"alg": "EdDSA", "typ": "JWT", "kid": KeyID(testKey("hub").Public().(ed25519.PublicKey))}
	for k, want := range wantHeader {
		if header[k] != want {
			t.Errorf("header[%q] = %v, want %v", k, header[k], want)
		}
	}
	if len(header) != len(wantHeader) {
		t.Errorf("header = %v, want only %v", header, wantHeader)
	}
	wantPayload := map[string]any{
		"kind": "officer", "department": "privacy-office", "role": "officer",
		"iss": testIssuer, "sub": "o7",
		"iat": float64(testNow.Unix()), "nbf": float64(testNow.Unix()), "exp": float64(testNow.Add(time.Hour).Unix()),
	}
	for k, want := range wantPayload {
		if payload[k] != want {
			t.Errorf("payload[%q] = %v, want %v", k, payload[k], want)
		}
	}
	if aud, _ := payload["aud"].([]any); len(aud) != 1 || aud[0] != DefaultAudience {
		t.Errorf("payload[aud] = %v, want [%s]", payload["aud"], DefaultAudience)
	}
	if jti, _ := payload["jti"].(string); len(jti) != 22 {
		t.Errorf("payload[jti] = %v, want 22 characters", payload["jti"])
	}
	if len(payload) != len(wantPayload)+2 {
		t.Errorf("payload = %v, want only %v, aud and jti", payload, wantPayload)
	}
}

func TestIssueErrors(t *testing.T) {
	iss := newTestIssuer(t, testNow)
	tests := []struct {
		name string
		p    Principal
		ttl  time.Duration
		want error // nil: any error
	}{
		{"invalid principal", Principal{Kind: KindCitizen, Subject: "bob"}, time.Hour, ErrInvalidPrincipal},
		{"no kind", Principal{Subject: "bob"}, time.Hour, ErrInvalidPrincipal},
		{"zero ttl", clerk, 0, nil},
		{"negative ttl", clerk, -time.Hour, nil},
		{"sub-second ttl", clerk, 999 * time.Millisecond, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Issue(tt.p, tt.ttl)
			if err == nil || tok != "" || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Issue(%+v, %v) = %q, %v, want an error (%v)", tt.p, tt.ttl, tok, err, tt.want)
			}
		})
	}
}

func TestNewIssuerErrors(t *testing.T) {
	key := testKey("hub")
	mismatched := append(ed25519.PrivateKey{}, key...)
	copy(mismatched[32:], testKey("other")[32:])
	tests := []struct {
		name   string
		key    ed25519.PrivateKey
		issuer string
		opts   []IssuerOption
	}{
		{"nil key", nil, testIssuer, nil},
		{"seed only", key.Seed(), testIssuer, nil},
		{"public half of another key", mismatched, testIssuer, nil},
		{"empty issuer", key, "", nil},
		{"nil clock", key, testIssuer, []IssuerOption{WithIssuerClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i, err := NewIssuer(tt.key, tt.issuer, tt.opts...); err == nil {
				t.Errorf("NewIssuer(%s) = %v, nil, want an error", tt.name, i)
			}
		})
	}
}

func TestNewVerifierErrors(t *testing.T) {
	pub := testKey("hub").Public().(ed25519.PublicKey)
	tests := []struct {
		name   string
		key    ed25519.PublicKey
		issuer string
		opts   []VerifierOption
	}{
		{"nil key", nil, testIssuer, nil},
		{"short key", pub[:31], testIssuer, nil},
		{"empty issuer", pub, "", nil},
		{"negative leeway", pub, testIssuer, []VerifierOption{WithLeeway(-time.Second)}},
		{"nil clock", pub, testIssuer, []VerifierOption{WithClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := NewVerifier(tt.key, tt.issuer, tt.opts...); err == nil {
				t.Errorf("NewVerifier(%s) = %v, nil, want an error", tt.name, v)
			}
		})
	}
}

func TestVerifierCopiesKey(t *testing.T) {
	pub := append(ed25519.PublicKey{}, testKey("hub").Public().(ed25519.PublicKey)...)
	v, err := NewVerifier(pub, testIssuer, WithClock(fixedClock(testNow)))
	if err != nil {
		t.Fatal(err)
	}
	copy(pub, testKey("other").Public().(ed25519.PublicKey))
	if _, err := v.Verify(issue(t, testNow, clerk, time.Hour)); err != nil {
		t.Errorf("Verify after the caller reused the key's memory = %v, want nil", err)
	}
}

func TestKeyID(t *testing.T) {
	pub := testKey("hub").Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	if got, want := KeyID(pub), b64.EncodeToString(sum[:8]); got != want || len(got) != 11 {
		t.Errorf("KeyID(pub) = %q, want %q (11 characters)", got, want)
	}
	if KeyID(pub) == KeyID(testKey("other").Public().(ed25519.PublicKey)) {
		t.Errorf("KeyID of two keys is the same")
	}
}

func BenchmarkIssue(b *testing.B) {
	iss := newTestIssuer(b, testNow)
	for b.Loop() {
		if _, err := iss.Issue(clerk, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v := newTestVerifier(b)
	tok := issue(b, testNow, clerk, time.Hour)
	for b.Loop() {
		if _, err := v.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	v := newTestVerifier(b)
	tok := issue(b, testNow, clerk, time.Hour)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkVerifyRejectAlgNone(b *testing.B) {
	v := newTestVerifier(b)
	tok := segment(b, map[string]any{"alg": "none"}) + "." + segment(b, goodClaims(nil)) + "."
	for b.Loop() {
		if _, err := v.Verify(tok); !errors.Is(err, ErrAlgorithm) {
			b.Fatal(err)
		}
	}
}
