// Package auth turns bearer tokens into a [Principal]: who is calling, as a
// department official, a privacy officer, a citizen or an auditor. It
// authenticates; it does not authorize.
//
// Tokens are JSON Web Tokens (RFC 7519) in JWS compact serialization
// (RFC 7515), signed with Ed25519 ("alg": "EdDSA", RFC 8037). An [Issuer]
// signs them (for development, demos and `govhub token`); a [Verifier] checks
// them; [Middleware] guards HTTP handlers with a Verifier and puts the
// Principal in the request context ([FromContext]).
//
// # Wire format
//
// A token is three base64url segments without padding, joined by dots:
// header, payload, and the Ed25519 signature (64 bytes) of the ASCII bytes
// "header.payload". The header is
//
//	{"alg":"EdDSA","kid":"TFGSkLzjuH8","typ":"JWT"}
//
// where "kid" is [KeyID] of the signing key: the first 8 bytes of the SHA-256
// of the 32-byte public key, base64url-encoded. The payload of a housing clerk
// u123's token, issued by "govhub-test" at 2026-03-01T08:59:00Z for an hour,
// is
//
//	{"kind":"department","department":"housing","role":"clerk","iss":"govhub-test",
//	 "sub":"u123","aud":["govhub"],"exp":1772359140,"nbf":1772355540,
//	 "iat":1772355540,"jti":"auZ4P0-96RtuuItzpI7SRw"}
//
// (on one line): "kind" is the [Kind]; "department" and "role" are present
// only for the kinds that have them (see [Principal.Validate]); "sub" is the
// subject; "iss" names the issuer; "aud" the service the token is for
// ([DefaultAudience] unless configured); "exp", "nbf" and "iat" are whole
// seconds since the Unix epoch, "exp" no more than the maximum lifetime
// ([DefaultMaxLifetime] unless configured) after "iat"; "jti" is 16 random
// bytes, base64url. With the Ed25519
// seed 6aac991333a68bd7b6ff8a69c5c2a74e23571891f29c7ad6ffe40752da178aa7 the
// token is
//
//	eyJhbGciOiJFZERTQSIsImtpZCI6IlRGR1NrTHpqdUg4IiwidHlwIjoiSldUIn0.
//	eyJraW5kIjoiZGVwYXJ0bWVudCIsImRlcGFydG1lbnQiOiJob3VzaW5nIiwicm9sZSI6ImNsZXJrIiwiaXNzIjoiZ292aHViLXRlc3QiLCJzdWIiOiJ1MTIzIiwiYXVkIjpbImdvdmh1YiJdLCJleHAiOjE3NzIzNTkxNDAsIm5iZiI6MTc3MjM1NTU0MCwiaWF0IjoxNzcyMzU1NTQwLCJqdGkiOiJhdVo0UDAtOTZSdHV1SXR6cEk3U1J3In0.
//	fhXr5wkahLYJTzBSHmsbJyHVTkLUcRv3zDRdEQMcn7-e63MUv0NdHSXCKo2PkLpQMjg0xJNNhfdbYaSs2lEFDA
//
// (without the line breaks). testdata/vectors.json holds this and other
// tokens, valid and invalid, with the verdict of a Verifier at a fixed time.
//
// # Verification
//
// [Verifier.Verify] accepts only "alg" "EdDSA": "none", HMAC (including HS256
// keyed with the public key's bytes) and RSA or ECDSA algorithms are refused
// as [ErrAlgorithm] before any key is used. It requires strict base64url, the
// signature of its key (a "kid" naming another key is refused), the expected
// "iss", its audience in "aud" (a token for another service is refused), an
// "exp" and an "iat" no further apart than the maximum lifetime, a "jti" and a
// valid principal; "exp", "nbf" and "iat" are checked with a leeway
// ([DefaultLeeway]). Every refusal wraps one sentinel
// error ([ErrMissing], [ErrMalformed], [ErrSignature], [ErrAlgorithm],
// [ErrExpired], [ErrNotYetValid], [ErrClaims]) whose message is a short
// reason safe to show the client; an authentic expired token yields an
// [*ExpiredError] carrying its principal, so that the denied attempt can be
// recorded against a known party. No error quotes the token.
//
// A Verifier remembers the last 4,096 tokens it accepted, by their SHA-256,
// with the keys it held and the token's validity window, and answers one of
// them again without parsing it or checking its signature (about 0.5 µs
// instead of 55) while it holds the same keys and the time is within that
// window; otherwise it verifies in full (verified.go).
//
// # Identity
//
// A principal is one party per (issuer, subject): the "iss" that vouches for
// it ([Principal.Issuer]) and its subject compared in canonical form
// ([CanonicalSubject]: ASCII case does not count). [Principal.Same] is the one
// comparison; code deciding whether two requests come from the same person
// (maker-checker, for one) uses it, or the canonical subject where only the
// subject was recorded.
//
// # External identity providers
//
// A [MultiVerifier] accepts, besides the hub's own tokens, the bearer tokens
// (JWT access tokens or ID tokens) of configured OpenID Connect issuers
// ([OIDCIssuer], the --oidc-issuer flag). It reads the token's "iss" without
// trusting it: the hub's own issuer, or any issuer not configured, goes to the
// hub's [Verifier]; a configured issuer's token is verified with that
// issuer's keys, found through its discovery document
// (ISSUER/.well-known/openid-configuration) and its JWKS. The key is chosen
// by "kid"; a "kid" not in the cached key set makes the set be fetched again,
// so a provider may rotate its keys at any time, but at most once per
// [DefaultKeyRefresh], so that made-up "kid"s cannot make the hub hammer the
// provider. Only "alg" RS256, ES256 and
// EdDSA are accepted ([OIDCAlgorithms]); "none", HMAC and every other
// algorithm are refused as [ErrAlgorithm] before any key is fetched. "iss"
// must be the issuer URL exactly, "aud" must contain the hub's audience (the
// same as for its own tokens), "exp" and "iat" must be present and no further
// apart than the hub's maximum lifetime, and "exp", "nbf" and "iat" are
// checked with [DefaultLeeway]. Discovery happens on an issuer's first token
// (so the hub starts while a provider is down) and is retried at most every
// 10 seconds after a failure; meanwhile its tokens are refused as
// [ErrSignature].
//
// The claims become a [Principal] by the issuer's [ClaimMapping], which names
// the claim read for each field. The default ([DefaultClaimMapping]):
//
//	govhub_kind        the Kind: department, officer, citizen, auditor or operator
//	govhub_department  the department code (department and officer)
//	govhub_role        the role (department; an officer's is always "officer")
//	sub                the Subject (every kind but citizen)
//	govhub_citizen_id  a citizen's Subject, their citizen id (C000001)
//
// A mapped claim must be a string; a missing one is empty; the result must
// pass [Principal.Validate], or the token is refused as [ErrClaims]. A mapping
// is written "field=claim;field=claim" with the fields kind, department,
// role, subject and citizen, the others keeping their default
// ([ParseClaimMapping]); --oidc-issuer takes "URL" or "URL=MAPPING", e.g.
//
//	--oidc-issuer 'https://id.example.gov/realms/gov=subject=preferred_username;kind=gov_kind'
//
// [Principal.Issuer] is the issuer URL, so that (issuer, subject) names one
// person across providers: "u123" of a provider and "u123" of the hub's own
// issuer are two principals ([Principal.Same] is false).
package auth
