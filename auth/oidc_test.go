package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// testOP is a real OpenID Provider (zitadel's op package on the in-memory
// storage of its example) with what the example lacks: service accounts
// that get JWT access tokens carrying govhub_* claims by the client
// credentials grant, and signing keys that can be rotated.
type testOP struct {
	*storage.Storage
	URL string

	mu       sync.Mutex
	keys     []*opKey // the last one signs
	accounts map[string]opAccount
}

type opAccount struct {
	secret, subject, audience string
	claims                    map[string]any
}

type opKey struct {
	id   string
	alg  jose.SignatureAlgorithm
	priv any
	pub  any
}

func (k *opKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *opKey) Key() any                                    { return k.priv }
func (k *opKey) ID() string                                  { return k.id }

type opPublicKey struct{ k *opKey }

func (p opPublicKey) ID() string                         { return p.k.id }
func (p opPublicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p opPublicKey) Use() string                        { return "sig" }
func (p opPublicKey) Key() any                           { return p.k.pub }

func newOPKey(t *testing.T, alg jose.SignatureAlgorithm) *opKey {
	t.Helper()
	k := &opKey{id: fmt.Sprintf("%s-%d", alg, time.Now().UnixNano()), alg: alg}
	switch alg {
	case jose.RS256:
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.pub = priv, &priv.PublicKey
	case jose.ES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.pub = priv, &priv.PublicKey
	case jose.EdDSA:
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		k.priv, k.pub = priv, pub
	}
	return k
}

func (o *testOP) SigningKey(context.Context) (op.SigningKey, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.keys[len(o.keys)-1], nil
}

func (o *testOP) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var algs []jose.SignatureAlgorithm
	for _, k := range o.keys {
		algs = append(algs, k.alg)
	}
	return algs, nil
}

func (o *testOP) KeySet(context.Context) ([]op.Key, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var ks []op.Key
	for _, k := range o.keys {
		ks = append(ks, opPublicKey{k})
	}
	return ks, nil
}

// rotate makes a new key of alg the signing key, published alongside the old.
func (o *testOP) rotate(t *testing.T, alg jose.SignatureAlgorithm) {
	k := newOPKey(t, alg)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.keys = append(o.keys, k)
}

// serviceClient is a client of the client credentials grant whose access
// tokens are JWTs.
type serviceClient struct{ *storage.Client }

func (serviceClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (serviceClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeJWT }

func (o *testOP) ClientCredentials(_ context.Context, clientID, secret string) (op.Client, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a, ok := o.accounts[clientID]
	if !ok || a.secret != secret {
		return nil, errors.New("wrong client or secret")
	}
	return serviceClient{storage.WebClient(clientID, secret)}, nil
}

func (o *testOP) ClientCredentialsTokenRequest(_ context.Context, clientID string, scopes []string) (op.TokenRequest, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	a, ok := o.accounts[clientID]
	if !ok {
		return nil, errors.New("unknown client")
	}
	return &oidc.JWTTokenRequest{Subject: a.subject, Audience: []string{a.audience}, Scopes: scopes}, nil
}

func (o *testOP) GetPrivateClaimsFromScopes(_ context.Context, _, clientID string, _ []string) (map[string]any, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.accounts[clientID].claims, nil
}

// startOP starts an OpenID Provider on a test server; its issuer is the
// server's URL.
func startOP(t *testing.T) *testOP {
	t.Helper()
	o := &testOP{accounts: map[string]opAccount{}, keys: []*opKey{newOPKey(t, jose.RS256)}}
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	o.URL = srv.URL
	o.Storage = storage.NewStorage(storage.NewUserStore(srv.URL))
	var cryptoKey [32]byte
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		t.Fatal(err)
	}
	p, err := op.NewProvider(&op.Config{CryptoKey: cryptoKey, SupportedUILocales: []language.Tag{language.English}},
		o, op.StaticIssuer(srv.URL), op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	handler = p
	return o
}

func (o *testOP) addAccount(id, subject, audience string, claims map[string]any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.accounts[id] = opAccount{secret: id + "-secret", subject: subject, audience: audience, claims: claims}
}

// token gets an access token for account id by the client credentials grant.
func (o *testOP) token(t *testing.T, id string) string {
	t.Helper()
	resp, err := http.PostForm(o.URL+"/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {id + "-secret"}, "scope": {"openid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tr) != nil || tr.AccessToken == "" {
		t.Fatalf("token endpoint: %s %s", resp.Status, body)
	}
	return tr.AccessToken
}

func tokenHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	h, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// rawToken builds a compact JWS from header and claims with signature sig.
func rawToken(header, claims map[string]any, sig []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func newTestMulti(t *testing.T, o *testOP, opts ...OIDCOption) (*MultiVerifier, *Issuer) {
	t.Helper()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	own, err := NewVerifier(key.Public().(ed25519.PublicKey), "govhub-test", WithMaxLifetime(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	iss, err := NewIssuer(key, "govhub-test")
	if err != nil {
		t.Fatal(err)
	}
	is, err := ParseOIDCIssuer(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMultiVerifier(own, []OIDCIssuer{is}, append([]OIDCOption{WithOIDCKeyRefresh(0)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return m, iss
}

func TestOIDCProvider(t *testing.T) {
	o := startOP(t)
	o.addAccount("housing-clerk", "u123", DefaultAudience, map[string]any{
		"govhub_kind": "department", "govhub_department": "housing", "govhub_role": "clerk"})
	o.addAccount("citizen", "someone", DefaultAudience, map[string]any{"govhub_kind": "citizen", "govhub_citizen_id": "C000001"})
	o.addAccount("other-service", "u123", "payroll", map[string]any{
		"govhub_kind": "department", "govhub_department": "housing", "govhub_role": "clerk"})
	o.addAccount("no-kind", "u123", DefaultAudience, nil)
	m, own := newTestMulti(t, o)

	tok := o.token(t, "housing-clerk")
	if alg := tokenHeader(t, tok)["alg"]; alg != "RS256" {
		t.Fatalf("OP signed with %v, want RS256", alg)
	}
	p, err := m.Verify(tok)
	if err != nil {
		t.Fatalf("token of the OP refused: %v", err)
	}
	if p.Kind != KindDepartment || p.Department != "housing" || p.Role != "clerk" || p.Subject != "u123" || p.Issuer != o.URL || p.TokenID == "" || p.Expires.IsZero() {
		t.Fatalf("mapped to %+v", p)
	}

	// The same subject from the hub's own issuer is another person.
	ownTok, err := own.Issue(Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: "u123"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	q, err := m.Verify(ownTok)
	if err != nil {
		t.Fatalf("hub's own token refused: %v", err)
	}
	if q.Issuer != "govhub-test" || q.Subject != "u123" || p.Same(q) {
		t.Fatalf("own %+v and OP %+v: Same must be false", q, p)
	}

	c, err := m.Verify(o.token(t, "citizen"))
	if err != nil || c.Kind != KindCitizen || c.Subject != "C000001" || c.Issuer != o.URL {
		t.Fatalf("citizen: %+v, %v", c, err)
	}

	if _, err := m.Verify(o.token(t, "other-service")); !errors.Is(err, ErrClaims) {
		t.Errorf("token for another audience: %v, want ErrClaims", err)
	}
	if _, err := m.Verify(o.token(t, "no-kind")); !errors.Is(err, ErrClaims) {
		t.Errorf("token without govhub_kind: %v, want ErrClaims", err)
	}

	// Verified an hour later, the OP's five-minute token has expired.
	later, _ := newTestMulti(t, o, WithOIDCClock(func() time.Time { return time.Now().Add(time.Hour) }))
	var expired *ExpiredError
	if _, err := later.Verify(tok); !errors.As(err, &expired) || expired.Principal.Issuer != o.URL {
		t.Errorf("expired token: %v, want ExpiredError naming the principal", err)
	}

	// A lifetime over the maximum (here, one of a minute) is refused.
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	shortOwn, _ := NewVerifier(key.Public().(ed25519.PublicKey), "govhub-test", WithMaxLifetime(time.Minute))
	short, _ := NewMultiVerifier(shortOwn, []OIDCIssuer{{URL: o.URL, Mapping: DefaultClaimMapping}})
	if _, err := short.Verify(tok); !errors.Is(err, ErrClaims) {
		t.Errorf("token over the maximum lifetime: %v, want ErrClaims", err)
	}

	// Tampered and forged tokens.
	now := time.Now()
	claims := map[string]any{"iss": o.URL, "sub": "u123", "aud": []string{DefaultAudience}, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"govhub_kind": "auditor"}
	stranger := newOPKey(t, jose.RS256)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: stranger.priv, KeyID: stranger.id}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	forged, _ := jws.CompactSerialize()
	if _, err := m.Verify(forged); !errors.Is(err, ErrSignature) {
		t.Errorf("token signed by an unknown key: %v, want ErrSignature", err)
	}
	// The unknown key again, under the kid of the OP's key.
	signer, _ = jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: stranger.priv, KeyID: o.keys[0].id}}, nil)
	jws, _ = signer.Sign(payload)
	forged, _ = jws.CompactSerialize()
	if _, err := m.Verify(forged); !errors.Is(err, ErrSignature) {
		t.Errorf("token signed by an unknown key under a known kid: %v, want ErrSignature", err)
	}
	parts := strings.Split(tok, ".")
	if _, err := m.Verify(parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]); !errors.Is(err, ErrSignature) {
		t.Errorf("OP token with another payload: %v, want ErrSignature", err)
	}
	for _, alg := range []string{"none", "HS256", "RS384", "PS256"} {
		h := map[string]any{"alg": alg, "typ": "JWT", "kid": o.keys[0].id}
		if _, err := m.Verify(rawToken(h, claims, []byte("sig"))); !errors.Is(err, ErrAlgorithm) {
			t.Errorf("alg %s: %v, want ErrAlgorithm", alg, err)
		}
	}
	if _, err := m.Verify(rawToken(map[string]any{"alg": "none"}, claims, nil)); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("alg none without signature: %v, want ErrAlgorithm", err)
	}

	// With the default key refresh interval, a verifier that has just
	// fetched the keys does not fetch them again for a made-up kid, nor for
	// a new key until the interval has passed.
	throttled, err := NewMultiVerifier(m.own, []OIDCIssuer{{URL: o.URL, Mapping: DefaultClaimMapping}}, WithOIDCKeyRefresh(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := throttled.Verify(tok); err != nil {
		t.Fatal(err)
	}

	// Key rotation: the OP signs with a new ES256 key, unknown to the
	// verifier's cached key set; it is fetched, and the old key still works.
	o.rotate(t, jose.ES256)
	rotated := o.token(t, "housing-clerk")
	if h := tokenHeader(t, rotated); h["alg"] != "ES256" || h["kid"] == o.keys[0].id {
		t.Fatalf("after rotation the OP signed with %v", h)
	}
	if p2, err := m.Verify(rotated); err != nil || !p2.Same(p) {
		t.Fatalf("token signed with the rotated key: %+v, %v", p2, err)
	}
	if _, err := m.Verify(tok); err != nil {
		t.Errorf("token of the old key, still published: %v", err)
	}
	if _, err := throttled.Verify(rotated); !errors.Is(err, ErrSignature) {
		t.Errorf("new key within the refresh interval: %v, want ErrSignature", err)
	}
	ks := throttled.issuers[o.URL].keys
	ks.mu.Lock()
	ks.fetched = ks.fetched.Add(-2 * time.Hour) // as if the interval had passed
	ks.mu.Unlock()
	if _, err := throttled.Verify(rotated); err != nil {
		t.Errorf("new key after the refresh interval: %v", err)
	}
	o.rotate(t, jose.EdDSA)
	if _, err := m.Verify(o.token(t, "housing-clerk")); err != nil {
		t.Errorf("token signed with an EdDSA key: %v", err)
	}
}

func TestOIDCMiddleware(t *testing.T) {
	o := startOP(t)
	o.addAccount("auditor", "a1", DefaultAudience, map[string]any{"govhub_kind": "auditor"})
	m, _ := newTestMulti(t, o)
	h := Middleware(m, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := FromContext(r.Context())
		fmt.Fprint(w, p.Kind, " ", p.Subject, " ", p.Issuer)
	}))
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+o.token(t, "auditor"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Body.String() != "auditor a1 "+o.URL {
		t.Fatalf("got %d %q", w.Code, w.Body)
	}
}

func TestOIDCUnreachableIssuer(t *testing.T) {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	own, _ := NewVerifier(key.Public().(ed25519.PublicKey), "govhub-test")
	m, err := NewMultiVerifier(own, []OIDCIssuer{{URL: "http://127.0.0.1:1", Mapping: DefaultClaimMapping}})
	if err != nil {
		t.Fatal(err)
	}
	tok := rawToken(map[string]any{"alg": "RS256"}, map[string]any{"iss": "http://127.0.0.1:1"}, []byte("x"))
	if _, err := m.Verify(tok); !errors.Is(err, ErrSignature) {
		t.Fatalf("token of an unreachable issuer: %v, want ErrSignature", err)
	}
}

func TestParseOIDCIssuer(t *testing.T) {
	is, err := ParseOIDCIssuer("https://id.example.gov/realms/x=kind=role_kind;subject=preferred_username")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultClaimMapping
	want.Kind, want.Subject = "role_kind", "preferred_username"
	if is.URL != "https://id.example.gov/realms/x" || is.Mapping != want {
		t.Fatalf("got %+v", is)
	}
	if is, err := ParseOIDCIssuer("https://id.example.gov"); err != nil || is.Mapping != DefaultClaimMapping {
		t.Fatalf("default mapping: %+v, %v", is, err)
	}
	for _, bad := range []string{"", "id.example.gov", "http://id.example.gov", "https://id.example.gov?x=1", "https://id.example.gov=kind",
		"https://id.example.gov=colour=x", "https://id.example.gov=kind=a;kind=b", "https://id.example.gov=kind=a,subject=b", "ftp://id.example.gov"} {
		if _, err := ParseOIDCIssuer(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzClaimMapping(f *testing.F) {
	f.Add("kind=k;subject=s", `{"k":"officer","s":"o1","govhub_department":"health"}`)
	f.Add("", `{"govhub_kind":"citizen","govhub_citizen_id":"C000001"}`)
	f.Fuzz(func(t *testing.T, mapping, claims string) {
		m, err := ParseClaimMapping(mapping)
		if err != nil {
			return
		}
		var c map[string]any
		if json.Unmarshal([]byte(claims), &c) != nil {
			return
		}
		p, err := m.principal(c)
		if err == nil {
			if verr := p.Validate(); verr != nil {
				t.Fatalf("mapped an invalid principal %+v: %v", p, verr)
			}
		} else if !errors.Is(err, ErrClaims) {
			t.Fatalf("error %v is not ErrClaims", err)
		}
	})
}
