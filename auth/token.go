package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"
	lru "github.com/hashicorp/golang-lru/v2"
)

// Algorithm is the only JWS "alg" this package issues or accepts.
const Algorithm = "EdDSA"

// DefaultLeeway is the clock skew a [Verifier] tolerates on "exp", "nbf" and
// "iat" unless [WithLeeway] says otherwise.
const DefaultLeeway = 30 * time.Second

// DefaultAudience is the "aud" an [Issuer] writes and a [Verifier] requires
// unless configured otherwise ([WithIssuerAudience], [WithAudience]).
const DefaultAudience = "govhub"

// DefaultMaxLifetime is the longest lifetime ("exp" minus "iat") an [Issuer]
// issues and a [Verifier] accepts unless configured otherwise
// ([WithIssuerMaxLifetime], [WithMaxLifetime]), for every kind of principal: a
// working day, so that a leaked token is worthless by the next one.
const DefaultMaxLifetime = 24 * time.Hour

// MaxTokenSize is the length in bytes beyond which [Verifier.Verify] refuses a
// token as [ErrMalformed] without parsing it.
const MaxTokenSize = 8 << 10

// KeyID returns the key id of pub carried in the "kid" header of the tokens it
// signs: the first 8 bytes of SHA-256(pub), base64url-encoded without padding
// (11 characters).
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:8])
}

// claims is the JWT payload. Kind, department and role come first so that a
// decoded payload reads naturally.
type claims struct {
	Kind       Kind   `json:"kind"`
	Department string `json:"department,omitempty"`
	Role       string `json:"role,omitempty"`
	jwt.RegisteredClaims
}

// Validate is called by the jwt parser once the signature is verified. It
// checks what the parser's options do not: the token id and the principal.
func (c *claims) Validate() error {
	if !isID(c.ID) {
		return errTokenID
	}
	return c.principal().Validate()
}

var errTokenID = errors.New("missing or bad jti")

func (c *claims) principal() Principal {
	p := Principal{
		Kind:       c.Kind,
		Department: c.Department,
		Role:       c.Role,
		Subject:    c.Subject,
		Issuer:     c.Issuer,
		TokenID:    c.ID,
	}
	if c.ExpiresAt != nil {
		p.Expires = c.ExpiresAt.UTC()
	}
	return p
}

// Issuer signs tokens with an Ed25519 key. It is meant for development, demos
// and the `govhub token` command; production deployments may take tokens
// from an external identity provider instead. An Issuer is safe for
// concurrent use.
type Issuer struct {
	signing     atomic.Pointer[signingKey] // replaced by Rotate
	issuer      string
	audience    string
	maxLifetime time.Duration
	now         func() time.Time
	rand        io.Reader
}

// IssuerOption configures an [Issuer].
type IssuerOption func(*Issuer)

// WithIssuerClock makes the Issuer read the time from now instead of
// [time.Now], for tests and reproducible examples.
func WithIssuerClock(now func() time.Time) IssuerOption {
	return func(i *Issuer) { i.now = now }
}

// WithIssuerAudience sets the "aud" of the tokens the Issuer signs (default
// [DefaultAudience]): the service they are for. It must not be empty.
func WithIssuerAudience(aud string) IssuerOption {
	return func(i *Issuer) { i.audience = aud }
}

// WithIssuerMaxLifetime sets the longest ttl the Issuer issues (default
// [DefaultMaxLifetime]). It must be at least a second.
func WithIssuerMaxLifetime(d time.Duration) IssuerOption {
	return func(i *Issuer) { i.maxLifetime = d }
}

// NewIssuer returns an Issuer that signs with key and names itself issuer in
// the "iss" claim. The key must be a well-formed Ed25519 private key (its
// public half matching its seed) and issuer must not be empty.
func NewIssuer(key ed25519.PrivateKey, issuer string, opts ...IssuerOption) (*Issuer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("creating token issuer: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub := key.Public().(ed25519.PublicKey)
	if !ed25519.NewKeyFromSeed(key.Seed()).Public().(ed25519.PublicKey).Equal(pub) {
		return nil, errors.New("creating token issuer: private key's public half does not match its seed")
	}
	if issuer == "" {
		return nil, errors.New("creating token issuer: empty issuer name")
	}
	i := &Issuer{
		issuer:      issuer,
		audience:    DefaultAudience,
		maxLifetime: DefaultMaxLifetime,
		now:         time.Now,
		rand:        rand.Reader,
	}
	for _, opt := range opts {
		opt(i)
	}
	if i.now == nil {
		return nil, errors.New("creating token issuer: nil clock")
	}
	if i.audience == "" {
		return nil, errors.New("creating token issuer: empty audience")
	}
	if i.maxLifetime < time.Second {
		return nil, fmt.Errorf("creating token issuer: maximum lifetime %v is shorter than 1s", i.maxLifetime)
	}
	i.signing.Store(&signingKey{key: ed25519.NewKeyFromSeed(key.Seed()), kid: KeyID(pub)})
	return i, nil
}

// signingKey is the key an Issuer signs with, and its "kid".
type signingKey struct {
	key ed25519.PrivateKey
	kid string
}

// Public returns the public key that verifies the Issuer's tokens.
func (i *Issuer) Public() ed25519.PublicKey {
	return i.signing.Load().key.Public().(ed25519.PublicKey)
}

// Rotate makes the Issuer sign with key from now on (a token issuer key rotation). Tokens it
// signed before still verify where the old public key is kept ([WithPreviousKeys]).
func (i *Issuer) Rotate(key ed25519.PrivateKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("rotating token issuer: private key is %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	pub := ed25519.NewKeyFromSeed(key.Seed()).Public().(ed25519.PublicKey)
	i.signing.Store(&signingKey{key: ed25519.NewKeyFromSeed(key.Seed()), kid: KeyID(pub)})
	return nil
}

// Issue returns a signed token for p valid for ttl (at least one second, at
// most the Issuer's maximum lifetime) from now. The token carries "iat" and
// "nbf" set to now, "exp" to now+ttl (whole seconds), "iss", "aud", "sub", a
// random 128-bit "jti", and a "kid" header. An officer principal with an empty
// Role is given [RoleOfficer]; p.Issuer, p.TokenID and p.Expires are ignored. A principal that fails [Principal.Validate] is
// refused with an error wrapping [ErrInvalidPrincipal].
func (i *Issuer) Issue(p Principal, ttl time.Duration) (string, error) {
	if p.Kind == KindOfficer && p.Role == "" {
		p.Role = RoleOfficer
	}
	if err := p.Validate(); err != nil {
		return "", fmt.Errorf("issuing token: %w", err)
	}
	if ttl < time.Second {
		return "", fmt.Errorf("issuing token: ttl %v is shorter than 1s", ttl)
	}
	if ttl > i.maxLifetime {
		return "", fmt.Errorf("issuing token: ttl %v is longer than the maximum token lifetime %v", ttl, i.maxLifetime)
	}
	var id [16]byte
	if _, err := io.ReadFull(i.rand, id[:]); err != nil {
		return "", fmt.Errorf("issuing token: reading random token id: %w", err)
	}
	now := i.now()
	c := &claims{
		Kind:       p.Kind,
		Department: p.Department,
		Role:       p.Role,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    i.issuer,
			Audience:  jwt.ClaimStrings{i.audience},
			Subject:   p.Subject,
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        base64.RawURLEncoding.EncodeToString(id[:]),
		},
	}
	sk := i.signing.Load()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, c)
	tok.Header["kid"] = sk.kid
	s, err := tok.SignedString(sk.key)
	if err != nil {
		return "", fmt.Errorf("issuing token: %w", err)
	}
	return s, nil
}

// Verifier checks tokens signed by one Ed25519 key for one issuer. A Verifier
// is safe for concurrent use.
type Verifier struct {
	keys        atomic.Pointer[verifierKeys] // replaced by Rotate
	reload      func() (ed25519.PublicKey, []ed25519.PublicKey, error)
	reloadMu    sync.Mutex
	lastReload  time.Time
	issuer      string
	audience    string
	maxLifetime time.Duration
	parser      *jwt.Parser
	now         func() time.Time
	leeway      time.Duration
	// verified remembers the tokens verified lately (verified.go): a department system sends one
	// token with many requests, and each Ed25519 verification costs more than the rest of Verify.
	verified *lru.Cache[[sha256.Size]byte, verifiedToken]
}

// VerifierOption configures a [Verifier].
type VerifierOption func(*verifierConfig)

type verifierConfig struct {
	previous    []ed25519.PublicKey
	reload      func() (ed25519.PublicKey, []ed25519.PublicKey, error)
	now         func() time.Time
	leeway      time.Duration
	audience    string
	maxLifetime time.Duration
}

// WithClock makes the Verifier read the time from now instead of [time.Now].
func WithClock(now func() time.Time) VerifierOption {
	return func(c *verifierConfig) { c.now = now }
}

// WithPreviousKeys makes the Verifier also accept tokens signed by keys rotated out (during the
// overlap after a rotation: until every token they signed has expired). A token signed by one of
// them must name it in its "kid"; a token without "kid" verifies with the current key only.
func WithPreviousKeys(pubs ...ed25519.PublicKey) VerifierOption {
	return func(c *verifierConfig) { c.previous = append(c.previous, pubs...) }
}

// WithKeyReload gives the Verifier a way to read its keys again (the current key and those
// rotated out but still accepted) when a token names a key it does not hold: another instance may
// have rotated. It is called at most once a second.
func WithKeyReload(reload func() (current ed25519.PublicKey, previous []ed25519.PublicKey, err error)) VerifierOption {
	return func(c *verifierConfig) { c.reload = reload }
}

// WithLeeway sets the clock skew tolerated on "exp", "nbf" and "iat"
// (default [DefaultLeeway]). It must not be negative.
func WithLeeway(d time.Duration) VerifierOption {
	return func(c *verifierConfig) { c.leeway = d }
}

// WithAudience sets the audience the Verifier requires in "aud" (default
// [DefaultAudience]): a token for another service is refused. It must not be
// empty.
func WithAudience(aud string) VerifierOption {
	return func(c *verifierConfig) { c.audience = aud }
}

// WithMaxLifetime sets the longest lifetime, "exp" minus "iat", the Verifier
// accepts (default [DefaultMaxLifetime]). It must be at least a second.
func WithMaxLifetime(d time.Duration) VerifierOption {
	return func(c *verifierConfig) { c.maxLifetime = d }
}

// NewVerifier returns a Verifier accepting tokens signed by key with "iss"
// equal to issuer.
func NewVerifier(key ed25519.PublicKey, issuer string, opts ...VerifierOption) (*Verifier, error) {
	if len(key) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("creating token verifier: public key is %d bytes, want %d", len(key), ed25519.PublicKeySize)
	}
	if issuer == "" {
		return nil, errors.New("creating token verifier: empty issuer name")
	}
	cfg := verifierConfig{now: time.Now, leeway: DefaultLeeway, audience: DefaultAudience, maxLifetime: DefaultMaxLifetime}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.now == nil {
		return nil, errors.New("creating token verifier: nil clock")
	}
	if cfg.leeway < 0 {
		return nil, fmt.Errorf("creating token verifier: negative leeway %v", cfg.leeway)
	}
	if cfg.audience == "" {
		return nil, errors.New("creating token verifier: empty audience")
	}
	if cfg.maxLifetime < time.Second {
		return nil, fmt.Errorf("creating token verifier: maximum lifetime %v is shorter than 1s", cfg.maxLifetime)
	}
	v := &Verifier{
		reload:      cfg.reload,
		issuer:      issuer,
		audience:    cfg.audience,
		maxLifetime: cfg.maxLifetime,
		now:         cfg.now,
		leeway:      cfg.leeway,
		verified:    newVerifiedTokens(),
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{Algorithm}),
			jwt.WithExpirationRequired(),
			jwt.WithIssuer(issuer),
			jwt.WithAudience(cfg.audience),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(cfg.leeway),
			jwt.WithTimeFunc(cfg.now),
			jwt.WithStrictDecoding(),
		),
	}
	if err := v.Rotate(key, cfg.previous...); err != nil {
		return nil, fmt.Errorf("creating token verifier: %w", err)
	}
	return v, nil
}

// verifierKeys are the keys a Verifier accepts: the current one, and those rotated out.
type verifierKeys struct {
	pub      ed25519.PublicKey
	kid      string
	previous map[string]ed25519.PublicKey // by kid
}

// Rotate makes the Verifier accept tokens of current, and of previous (by their "kid") during
// the overlap after a rotation, in place of the keys it held.
func (v *Verifier) Rotate(current ed25519.PublicKey, previous ...ed25519.PublicKey) error {
	if len(current) != ed25519.PublicKeySize {
		return fmt.Errorf("public key is %d bytes, want %d", len(current), ed25519.PublicKeySize)
	}
	k := &verifierKeys{pub: slices.Clone(current), kid: KeyID(current), previous: map[string]ed25519.PublicKey{}}
	for _, p := range previous {
		if len(p) != ed25519.PublicKeySize {
			return fmt.Errorf("a previous public key is %d bytes, want %d", len(p), ed25519.PublicKeySize)
		}
		k.previous[KeyID(p)] = slices.Clone(p)
	}
	v.keys.Store(k)
	return nil
}

// reloadKeys reads the keys again (WithKeyReload), at most once a second; it reports whether it
// did.
func (v *Verifier) reloadKeys() bool {
	if v.reload == nil {
		return false
	}
	v.reloadMu.Lock()
	defer v.reloadMu.Unlock()
	if time.Since(v.lastReload) < time.Second {
		return false
	}
	v.lastReload = time.Now()
	cur, prev, err := v.reload()
	if err != nil {
		return false
	}
	return v.Rotate(cur, prev...) == nil
}

var (
	errCritical   = errors.New("crit header")
	errUnknownKey = errors.New("unknown kid")
)

// ErrUnknownKeyID is wrapped (with [ErrSignature]) by the error of a token whose "kid" names a
// key the Verifier does not hold: perhaps one rotated in on another instance.
var ErrUnknownKeyID = errors.New("unknown key id")

// keyFor is the parser's key function: it refuses extensions it does not
// understand (RFC 7515 §4.1.11) and keys it does not hold.
func (v *Verifier) keyFor(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok {
		return nil, errCritical
	}
	keys := v.keys.Load()
	if kid, ok := t.Header["kid"]; ok {
		s, _ := kid.(string)
		if s == keys.kid {
			return keys.pub, nil
		}
		if p, ok := keys.previous[s]; ok {
			return p, nil
		}
		return nil, errUnknownKey
	}
	return keys.pub, nil
}

// Verify checks token and returns the principal it speaks for, with TokenID
// and Expires filled in.
//
// The token must be a compact JWS with "alg" "EdDSA", a valid signature by
// the Verifier's key ("kid", if present, must be [KeyID] of that key; a "crit"
// header is refused), strict unpadded base64url, and claims "iss" equal to
// the Verifier's issuer, "exp" in the future, "nbf" and "iat" (if present) not
// in the future, all up to the leeway, "aud" naming the Verifier's audience,
// an "iat" no more than the maximum lifetime before "exp", a "jti", and a
// principal passing [Principal.Validate]. The principal's Issuer is the "iss".
//
// Errors wrap exactly one of [ErrMissing] (empty token), [ErrMalformed],
// [ErrAlgorithm], [ErrSignature], [ErrClaims], [ErrNotYetValid] or
// [ErrExpired]; the last is an [*ExpiredError] holding the principal, since
// the token is authentic. A token with bad claims is reported as ErrClaims
// even if it has also expired. Errors never contain the token or values read
// from it.
func (v *Verifier) Verify(token string) (Principal, error) {
	switch {
	case token == "":
		return Principal{}, ErrMissing
	case len(token) > MaxTokenSize:
		return Principal{}, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxTokenSize)
	case strings.Count(token, ".") != 2:
		return Principal{}, fmt.Errorf("%w: not three dot-separated segments", ErrMalformed)
	}
	sum := sha256.Sum256([]byte(token))
	keys := v.keys.Load()
	if p, ok := v.seen(sum, keys); ok {
		return p, nil
	}
	var c claims
	tok, err := v.parser.ParseWithClaims(token, &c, v.keyFor)
	if errors.Is(err, errUnknownKey) && v.reloadKeys() {
		c = claims{}
		tok, err = v.parser.ParseWithClaims(token, &c, v.keyFor)
	}
	if err != nil {
		return Principal{}, v.classify(tok, &c, err)
	}
	if err := v.checkLifetime(&c); err != nil {
		return Principal{}, err
	}
	p := c.principal()
	v.remember(sum, keys, &c, p)
	return p, nil
}

// checkLifetime checks what the parser's options do not: that the token has
// an "iat" and was issued for no longer than the maximum lifetime.
func (v *Verifier) checkLifetime(c *claims) error {
	switch {
	case c.IssuedAt == nil:
		return fmt.Errorf("%w: missing iat", ErrClaims)
	case c.ExpiresAt != nil && c.ExpiresAt.Sub(c.IssuedAt.Time) > (v.maxLifetime+time.Second-1).Truncate(time.Second):
		// Rounded up: an Issuer's "iat" and "exp" are whole seconds.
		return fmt.Errorf("%w: lifetime over the maximum of %v", ErrClaims, v.maxLifetime)
	}
	return nil
}

// classify turns an error of the jwt parser into one of ours, without
// keeping the parser's message (which may quote the token).
func (v *Verifier) classify(tok *jwt.Token, c *claims, err error) error {
	if tok == nil || errors.Is(err, jwt.ErrTokenMalformed) {
		return fmt.Errorf("%w: not base64url-encoded JSON", ErrMalformed)
	}
	if alg, _ := tok.Header["alg"].(string); alg != Algorithm {
		return fmt.Errorf("%w: alg must be %s", ErrAlgorithm, Algorithm)
	}
	switch {
	case errors.Is(err, errCritical):
		return fmt.Errorf("%w: unsupported crit header", ErrMalformed)
	case errors.Is(err, errUnknownKey):
		return fmt.Errorf("%w: %w", ErrSignature, ErrUnknownKeyID)
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case !errors.Is(err, jwt.ErrTokenInvalidClaims):
		return fmt.Errorf("%w: unverifiable", ErrSignature)
	}
	// The signature is valid: the claims are ours to judge.
	switch {
	case c.Issuer == "":
		return fmt.Errorf("%w: missing iss", ErrClaims)
	case c.Issuer != v.issuer:
		return fmt.Errorf("%w: wrong issuer", ErrClaims)
	case len(c.Audience) == 0:
		return fmt.Errorf("%w: missing aud", ErrClaims)
	case !slices.Contains(c.Audience, v.audience):
		return fmt.Errorf("%w: wrong audience", ErrClaims)
	case c.ExpiresAt == nil:
		return fmt.Errorf("%w: missing exp", ErrClaims)
	case !isID(c.ID):
		return fmt.Errorf("%w: %w", ErrClaims, errTokenID)
	}
	p := c.principal()
	if perr := p.Validate(); perr != nil {
		return fmt.Errorf("%w: %w", ErrClaims, perr)
	}
	if lerr := v.checkLifetime(c); lerr != nil {
		return lerr
	}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return &ExpiredError{Principal: p}
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fmt.Errorf("%w: before nbf", ErrNotYetValid)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fmt.Errorf("%w: before iat", ErrNotYetValid)
	}
	return ErrClaims
}

// JWKS returns the JSON Web Key Set (RFC 7517) of the given Ed25519 public keys, each an OKP key
// (RFC 8037) with its "kid" ([KeyID]), "alg" EdDSA and "use" sig: how the hub publishes its token
// keys, both of them during the overlap after a rotation.
func JWKS(pubs ...ed25519.PublicKey) ([]byte, error) {
	set := jose.JSONWebKeySet{}
	for _, p := range pubs {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: p, KeyID: KeyID(p), Algorithm: Algorithm, Use: "sig"})
	}
	return json.Marshal(set)
}
