package auth

import (
	"crypto/sha256"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Tokens verified lately.
//
// Verify's answer for a token depends only on the token's bytes, the Verifier's fixed settings
// (issuer, audience, maximum lifetime, leeway), the keys it holds, and the time. So a token that
// verified once verifies again, to the same principal, while the Verifier holds the same keys
// (the same *verifierKeys: Rotate, and a reload, replace them) and the time is still within the
// token's validity: not before its "iat" and "nbf", and before its "exp", each give or take the
// leeway, as the parser checks them. Verify remembers such tokens by their SHA-256 and answers
// them without parsing or checking the signature again; for one out of its window, or verified
// under other keys, it verifies in full (and so reports an expired token as before).
// Only tokens that verified are remembered: a refused one is refused again in full.

// verifiedTokens is how many tokens a Verifier remembers (each about 300 bytes).
const verifiedTokens = 4096

// verifiedToken is a token Verify accepted.
type verifiedToken struct {
	keys      *verifierKeys // the keys it verified under
	principal Principal
	notBefore time.Time // the later of "iat" and "nbf"
	expires   time.Time // "exp"
}

func newVerifiedTokens() *lru.Cache[[sha256.Size]byte, verifiedToken] {
	c, err := lru.New[[sha256.Size]byte, verifiedToken](verifiedTokens)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return c
}

// seen returns the principal of the token whose SHA-256 is sum when it verified under keys and
// would verify now.
func (v *Verifier) seen(sum [sha256.Size]byte, keys *verifierKeys) (Principal, bool) {
	t, ok := v.verified.Get(sum)
	if !ok || t.keys != keys {
		return Principal{}, false
	}
	now := v.now()
	if now.Before(t.notBefore.Add(-v.leeway)) || !now.Before(t.expires.Add(v.leeway)) {
		return Principal{}, false
	}
	return t.principal, true
}

// remember keeps the token whose SHA-256 is sum, just verified under keys with claims c, as p.
func (v *Verifier) remember(sum [sha256.Size]byte, keys *verifierKeys, c *claims, p Principal) {
	if c.ExpiresAt == nil || c.IssuedAt == nil { // never, once verified: both are required
		return
	}
	t := verifiedToken{keys: keys, principal: p, notBefore: c.IssuedAt.Time, expires: c.ExpiresAt.Time}
	if c.NotBefore != nil && c.NotBefore.After(t.notBefore) {
		t.notBefore = c.NotBefore.Time
	}
	v.verified.Add(sum, t)
}
