package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// TokenVerifier turns a bearer token into the [Principal] it speaks for. A
// [*Verifier] (the hub's own tokens) and a [*MultiVerifier] (the hub's own
// tokens and those of external OpenID Connect issuers) are TokenVerifiers;
// [Middleware] takes one.
type TokenVerifier interface {
	Verify(token string) (Principal, error)
}

// OIDCAlgorithms are the JWS algorithms accepted on tokens of an external
// OpenID Connect issuer. Anything else ("none", HMAC, RSA-PSS, other curves)
// is refused as [ErrAlgorithm] before any key is fetched.
var OIDCAlgorithms = []string{oidc.RS256, oidc.ES256, oidc.EdDSA}

// ClaimMapping names the claims of an external issuer's token that make up a
// [Principal]. See the package documentation for the default mapping and the
// syntax of [ParseClaimMapping].
type ClaimMapping struct {
	Kind       string // the claim holding the Kind: department, officer, citizen, auditor or operator
	Department string // the claim holding the department code (department and officer kinds)
	Role       string // the claim holding the role (department kind; officers are given RoleOfficer)
	Subject    string // the claim holding the subject of every kind but citizen
	Citizen    string // the claim holding a citizen's id (citizen kind)
}

// DefaultClaimMapping is the mapping of an issuer configured without one.
var DefaultClaimMapping = ClaimMapping{
	Kind:       "govhub_kind",
	Department: "govhub_department",
	Role:       "govhub_role",
	Subject:    "sub",
	Citizen:    "govhub_citizen_id",
}

// ParseClaimMapping parses a mapping written as semicolon-separated
// field=claim pairs (not commas, which separate list items in the hub's
// environment variables), the fields being kind, department, role, subject and
// citizen; fields not named keep their [DefaultClaimMapping] claim, and an
// empty string is the default mapping. For example
// "kind=roles_kind;subject=preferred_username".
func ParseClaimMapping(s string) (ClaimMapping, error) {
	m := DefaultClaimMapping
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(s, ";") {
		field, claim, ok := strings.Cut(strings.TrimSpace(pair), "=")
		field, claim = strings.TrimSpace(field), strings.TrimSpace(claim)
		if !ok || claim == "" {
			return ClaimMapping{}, fmt.Errorf("claim mapping: %q is not field=claim", pair)
		}
		if strings.Contains(claim, ",") {
			return ClaimMapping{}, fmt.Errorf("claim mapping: %q: pairs are separated by ';', not ','", pair)
		}
		if seen[field] {
			return ClaimMapping{}, fmt.Errorf("claim mapping: field %q given twice", field)
		}
		seen[field] = true
		switch field {
		case "kind":
			m.Kind = claim
		case "department":
			m.Department = claim
		case "role":
			m.Role = claim
		case "subject":
			m.Subject = claim
		case "citizen":
			m.Citizen = claim
		default:
			return ClaimMapping{}, fmt.Errorf("claim mapping: unknown field %q (kind, department, role, subject or citizen)", field)
		}
	}
	return m, nil
}

// OIDCIssuer is an external OpenID Connect issuer the hub trusts.
type OIDCIssuer struct {
	URL     string       // the issuer identifier: its "iss", and where its discovery document is
	Mapping ClaimMapping // how its claims make a Principal
}

// ParseOIDCIssuer parses the value of the --oidc-issuer flag: an issuer URL,
// optionally followed by "=" and a claim mapping ([ParseClaimMapping]). The URL
// must be absolute, https (or http for a loopback host, for tests and
// development), without query or fragment.
func ParseOIDCIssuer(s string) (OIDCIssuer, error) {
	raw, mapping, _ := strings.Cut(strings.TrimSpace(s), "=")
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return OIDCIssuer{}, fmt.Errorf("OIDC issuer %q: not an absolute URL without query or fragment", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != "localhost" && h != "127.0.0.1" && h != "::1" {
			return OIDCIssuer{}, fmt.Errorf("OIDC issuer %q: http is only allowed for a loopback host", raw)
		}
	default:
		return OIDCIssuer{}, fmt.Errorf("OIDC issuer %q: scheme must be https", raw)
	}
	m, err := ParseClaimMapping(mapping)
	if err != nil {
		return OIDCIssuer{}, fmt.Errorf("OIDC issuer %q: %w", raw, err)
	}
	return OIDCIssuer{URL: raw, Mapping: m}, nil
}

// DefaultKeyRefresh is the shortest time between two fetches of an issuer's
// key set prompted by tokens naming a key not in it, unless
// [WithOIDCKeyRefresh] says otherwise: tokens with made-up "kid"s cannot
// make the hub hammer an identity provider.
const DefaultKeyRefresh = 10 * time.Second

// WithOIDCKeyRefresh sets the shortest time between two fetches of an
// issuer's key set (default [DefaultKeyRefresh]); tokens signed with a key
// published meanwhile are refused until the next fetch. It must not be
// negative.
func WithOIDCKeyRefresh(d time.Duration) OIDCOption {
	return func(m *MultiVerifier) { m.minRefresh = d }
}

// OIDCOption configures a [MultiVerifier].
type OIDCOption func(*MultiVerifier)

// WithOIDCHTTPClient sets the client that fetches discovery documents and
// key sets (default: one with a 10-second timeout).
func WithOIDCHTTPClient(c *http.Client) OIDCOption {
	return func(m *MultiVerifier) { m.client = c }
}

// WithOIDCClock makes the MultiVerifier check the external issuers' tokens
// against now instead of [time.Now]. (The hub's own tokens are checked by its
// [Verifier] with its own clock.)
func WithOIDCClock(now func() time.Time) OIDCOption {
	return func(m *MultiVerifier) { m.now = now }
}

// MultiVerifier verifies the hub's own tokens with a [Verifier] and those of
// configured external OpenID Connect issuers with their published keys. It is
// safe for concurrent use.
type MultiVerifier struct {
	own         *Verifier
	issuers     map[string]*oidcIssuer
	client      *http.Client
	now         func() time.Time
	audience    string
	maxLifetime time.Duration
	minRefresh  time.Duration
}

// oidcIssuer is the state kept per external issuer: its verifier, created
// on first use by discovery.
type oidcIssuer struct {
	cfg      OIDCIssuer
	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	keys     *keySet
	failed   time.Time // when discovery last failed; retried after discoveryRetry
}

// discoveryRetry is how long a failed discovery is not retried: tokens of
// that issuer are refused meanwhile without contacting it.
const discoveryRetry = 10 * time.Second

// NewMultiVerifier returns a verifier of the hub's own tokens (own) and of the
// tokens of issuers. An external token must name the same audience as own
// requires and must not be issued for longer than own's maximum lifetime.
// Discovery happens on the first token of each issuer, so that the hub starts
// while an identity provider is down; an issuer's URL must not be own's.
func NewMultiVerifier(own *Verifier, issuers []OIDCIssuer, opts ...OIDCOption) (*MultiVerifier, error) {
	if own == nil {
		return nil, errors.New("creating token verifier: nil own verifier")
	}
	m := &MultiVerifier{
		own:         own,
		issuers:     map[string]*oidcIssuer{},
		client:      &http.Client{Timeout: 10 * time.Second},
		now:         time.Now,
		audience:    own.audience,
		maxLifetime: own.maxLifetime,
		minRefresh:  DefaultKeyRefresh,
	}
	for _, opt := range opts {
		opt(m)
	}
	if m.client == nil || m.now == nil {
		return nil, errors.New("creating token verifier: nil HTTP client or clock")
	}
	if m.minRefresh < 0 {
		return nil, fmt.Errorf("creating token verifier: negative key refresh interval %v", m.minRefresh)
	}
	for _, is := range issuers {
		switch {
		case is.URL == "":
			return nil, errors.New("creating token verifier: empty OIDC issuer URL")
		case is.URL == own.issuer:
			return nil, fmt.Errorf("creating token verifier: OIDC issuer %q is the hub's own issuer", is.URL)
		case m.issuers[is.URL] != nil:
			return nil, fmt.Errorf("creating token verifier: OIDC issuer %q given twice", is.URL)
		}
		m.issuers[is.URL] = &oidcIssuer{cfg: is}
	}
	return m, nil
}

// Verify checks token and returns its principal. A token whose (unverified)
// "iss" is one of the configured OpenID Connect issuers is verified with that
// issuer's keys ([MultiVerifier.verifyOIDC]); any other token, the hub's own
// included, is judged by the hub's own [Verifier]. Errors are as for
// [Verifier.Verify].
func (m *MultiVerifier) Verify(token string) (Principal, error) {
	if len(m.issuers) == 0 || token == "" || len(token) > MaxTokenSize || strings.Count(token, ".") != 2 {
		return m.own.Verify(token)
	}
	iss, ok := unverifiedIssuer(token)
	if !ok || iss == m.own.issuer {
		return m.own.Verify(token)
	}
	is := m.issuers[iss]
	if is == nil {
		return m.own.Verify(token)
	}
	return m.verifyOIDC(is, token)
}

// unverifiedIssuer returns the "iss" of token's payload, read without any
// verification: only to choose the keys to verify it with.
func unverifiedIssuer(token string) (string, bool) {
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", false
	}
	return c.Issuer, true
}

// unverifiedAlg returns the "alg" of token's header.
func unverifiedAlg(token string) (string, bool) {
	header, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return "", false
	}
	var h struct {
		Alg  string          `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if json.Unmarshal(b, &h) != nil || h.Crit != nil {
		return "", false
	}
	return h.Alg, true
}

// verifier returns is's token verifier, discovering the issuer first if
// need be.
func (m *MultiVerifier) verifier(is *oidcIssuer) (*oidc.IDTokenVerifier, error) {
	is.mu.Lock()
	defer is.mu.Unlock()
	if is.verifier != nil {
		return is.verifier, nil
	}
	if !is.failed.IsZero() && time.Since(is.failed) < discoveryRetry {
		return nil, errors.New("discovery failed recently")
	}
	// The context carries the HTTP client to the provider and its key set,
	// which keep it for their later fetches.
	ctx := oidc.ClientContext(context.Background(), m.client)
	p, err := oidc.NewProvider(ctx, is.cfg.URL)
	if err != nil {
		is.failed = time.Now()
		return nil, err
	}
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURL == "" {
		is.failed = time.Now()
		return nil, errors.New("discovery document without jwks_uri")
	}
	ks := &keySet{url: meta.JWKSURL, client: m.client, minRefresh: m.minRefresh}
	is.keys = ks
	is.verifier = oidc.NewVerifier(is.cfg.URL, ks, &oidc.Config{
		ClientID:             m.audience,
		SupportedSigningAlgs: OIDCAlgorithms,
		// Checked here, with the leeway and the lifetime, and so that an
		// expired token still names its principal.
		SkipExpiryCheck: true,
	})
	return is.verifier, nil
}

// oidcClaims are the registered claims checked after go-oidc's checks of the
// signature, "iss" and "aud".
type oidcClaims struct {
	Expiry    *float64 `json:"exp"`
	IssuedAt  *float64 `json:"iat"`
	NotBefore *float64 `json:"nbf"`
	ID        string   `json:"jti"`
}

// verifyOIDC checks token against is: "alg" RS256, ES256 or EdDSA; a
// signature by a key of the issuer's JWKS (chosen by "kid"; a "kid" not in the
// cached set makes the set be fetched again, which is how a rotated key is
// found); "iss" the issuer; "aud" containing the hub's audience; "exp" and
// "iat" present, "exp" no more than the maximum lifetime after "iat"; "exp",
// "nbf" and "iat" checked with [DefaultLeeway]; and claims mapping to a valid
// principal, whose Issuer is the issuer URL.
func (m *MultiVerifier) verifyOIDC(is *oidcIssuer, token string) (Principal, error) {
	alg, ok := unverifiedAlg(token)
	if !ok {
		return Principal{}, fmt.Errorf("%w: bad header", ErrMalformed)
	}
	if !slices.Contains(OIDCAlgorithms, alg) {
		return Principal{}, fmt.Errorf("%w: alg must be RS256, ES256 or EdDSA", ErrAlgorithm)
	}
	v, err := m.verifier(is)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: identity provider unavailable", ErrSignature)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	idt, err := v.Verify(ctx, token)
	if err != nil {
		// go-oidc's messages quote claims: keep only a fixed reason.
		switch msg := err.Error(); {
		case strings.Contains(msg, "malformed jwt"), strings.Contains(msg, "unmarshal claims"):
			return Principal{}, fmt.Errorf("%w: not a well-formed JWS", ErrMalformed)
		case strings.Contains(msg, "expected audience"):
			return Principal{}, fmt.Errorf("%w: wrong audience", ErrClaims)
		case strings.Contains(msg, "different provider"):
			return Principal{}, fmt.Errorf("%w: wrong issuer", ErrClaims)
		}
		return Principal{}, fmt.Errorf("%w: not signed by a key of the issuer", ErrSignature)
	}
	var reg oidcClaims
	var all map[string]any
	if err := idt.Claims(&reg); err != nil {
		return Principal{}, fmt.Errorf("%w: bad registered claims", ErrClaims)
	}
	if err := idt.Claims(&all); err != nil {
		return Principal{}, fmt.Errorf("%w: bad claims", ErrClaims)
	}
	p, err := is.cfg.Mapping.principal(all)
	if err != nil {
		return Principal{}, err
	}
	p.Issuer, p.TokenID = is.cfg.URL, reg.ID
	return m.checkTimes(p, &reg)
}

// checkTimes checks "exp", "nbf" and "iat" and the lifetime, and fills in
// p.Expires.
func (m *MultiVerifier) checkTimes(p Principal, c *oidcClaims) (Principal, error) {
	if c.Expiry == nil {
		return Principal{}, fmt.Errorf("%w: missing exp", ErrClaims)
	}
	if c.IssuedAt == nil {
		return Principal{}, fmt.Errorf("%w: missing iat", ErrClaims)
	}
	for _, f := range []*float64{c.Expiry, c.IssuedAt, c.NotBefore} {
		// NumericDates from 1970 to 2255: beyond, nanoseconds overflow an int64.
		if f != nil && (*f < 0 || *f > 9e9) {
			return Principal{}, fmt.Errorf("%w: time claim out of range", ErrClaims)
		}
	}
	at := func(f float64) time.Time { return time.Unix(0, int64(f*1e9)) }
	exp, iat := at(*c.Expiry), at(*c.IssuedAt)
	if exp.Sub(iat) > (m.maxLifetime + time.Second - 1).Truncate(time.Second) {
		return Principal{}, fmt.Errorf("%w: lifetime over the maximum of %v", ErrClaims, m.maxLifetime)
	}
	p.Expires = exp.UTC()
	now := m.now()
	switch {
	case !now.Before(exp.Add(DefaultLeeway)):
		return Principal{}, &ExpiredError{Principal: p}
	case c.NotBefore != nil && now.Add(DefaultLeeway).Before(at(*c.NotBefore)):
		return Principal{}, fmt.Errorf("%w: before nbf", ErrNotYetValid)
	case now.Add(DefaultLeeway).Before(iat):
		return Principal{}, fmt.Errorf("%w: before iat", ErrNotYetValid)
	}
	return p, nil
}

// principal maps claims to a Principal by m, and validates it.
func (m ClaimMapping) principal(claims map[string]any) (Principal, error) {
	str := func(name string) (string, error) {
		v, ok := claims[name]
		if !ok {
			return "", nil
		}
		s, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("%w: a mapped claim is not a string", ErrClaims)
		}
		return s, nil
	}
	kind, err := str(m.Kind)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{Kind: Kind(kind)}
	var subjectClaim string
	switch p.Kind {
	case KindDepartment:
		subjectClaim = m.Subject
		if p.Department, err = str(m.Department); err != nil {
			return Principal{}, err
		}
		if p.Role, err = str(m.Role); err != nil {
			return Principal{}, err
		}
	case KindOfficer:
		subjectClaim = m.Subject
		if p.Department, err = str(m.Department); err != nil {
			return Principal{}, err
		}
		p.Role = RoleOfficer
	case KindCitizen:
		subjectClaim = m.Citizen
	case KindAuditor, KindOperator:
		subjectClaim = m.Subject
	default:
		return Principal{}, fmt.Errorf("%w: %w", ErrClaims, invalid("kind must be department, officer, citizen, auditor or operator"))
	}
	if p.Subject, err = str(subjectClaim); err != nil {
		return Principal{}, err
	}
	if err := p.Validate(); err != nil {
		return Principal{}, fmt.Errorf("%w: %w", ErrClaims, err)
	}
	return p, nil
}

// keySet is an issuer's JWKS, cached. A token whose "kid" is not in the
// cache makes it be fetched again, at most once per minRefresh; a token
// whose "kid" is cached but whose signature does not verify does not.
type keySet struct {
	url        string
	client     *http.Client
	minRefresh time.Duration

	fetchMu sync.Mutex // held while fetching: one fetch at a time
	mu      sync.RWMutex
	keys    []jose.JSONWebKey
	fetched time.Time
}

// maxJWKSSize bounds the key set document read.
const maxJWKSSize = 1 << 20

var oidcJoseAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// VerifySignature implements [oidc.KeySet].
func (k *keySet) VerifySignature(ctx context.Context, token string) ([]byte, error) {
	jws, err := jose.ParseSigned(token, oidcJoseAlgs)
	if err != nil {
		return nil, fmt.Errorf("oidc: malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("oidc: malformed jwt: not one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	if payload, known := k.verify(jws, kid); payload != nil || known {
		return verified(payload)
	}
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	// Another token may have had the keys fetched meanwhile.
	if payload, known := k.verify(jws, kid); payload != nil || known {
		return verified(payload)
	}
	k.mu.RLock()
	recent := !k.fetched.IsZero() && time.Since(k.fetched) < k.minRefresh
	k.mu.RUnlock()
	if recent {
		return nil, errors.New("unknown key, key set fetched recently")
	}
	if err := k.fetch(ctx); err != nil {
		return nil, err
	}
	payload, _ := k.verify(jws, kid)
	return verified(payload)
}

func verified(payload []byte) ([]byte, error) {
	if payload == nil {
		return nil, errors.New("signature does not verify")
	}
	return payload, nil
}

// verify tries the cached keys named kid (all of them if kid is empty). known
// reports whether one was named kid.
func (k *keySet) verify(jws *jose.JSONWebSignature, kid string) (payload []byte, known bool) {
	k.mu.RLock()
	keys := k.keys
	k.mu.RUnlock()
	for i := range keys {
		key := &keys[i]
		if kid != "" && key.KeyID != kid {
			continue
		}
		known = kid != ""
		if p, err := jws.Verify(key); err == nil {
			return p, true
		}
	}
	return nil, known
}

// fetch replaces the cached keys by the issuer's current key set.
func (k *keySet) fetch(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.fetched = time.Now()
	k.mu.Unlock()
	resp, err := k.client.Do(req)
	if err != nil {
		return fmt.Errorf("fetching keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetching keys: %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJWKSSize)).Decode(&set); err != nil {
		return fmt.Errorf("decoding keys: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.Use == "" || key.Use == "sig" {
			keys = append(keys, key)
		}
	}
	k.mu.Lock()
	k.keys = keys
	k.mu.Unlock()
	return nil
}
