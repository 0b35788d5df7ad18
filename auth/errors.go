package auth

import "errors"

// The reasons a token is refused. Callers test them with [errors.Is]. Each
// message is a short reason fit to show the client; the errors returned by
// this package may add a fixed detail after a colon, and never echo the token
// or any value read from it.
var (
	// ErrMissing reports a request without a bearer token (no Authorization
	// header, or one with another scheme).
	ErrMissing = errors.New("missing bearer token")
	// ErrMalformed reports a token that is not a well-formed compact JWS:
	// wrong number of segments, bad base64url, bad JSON, oversized.
	ErrMalformed = errors.New("malformed token")
	// ErrSignature reports a token not signed by the verifier's key.
	ErrSignature = errors.New("invalid token signature")
	// ErrAlgorithm reports a token whose "alg" is anything but "EdDSA".
	ErrAlgorithm = errors.New("unsupported token algorithm")
	// ErrExpired reports an authentic token past its "exp". Verify returns it
	// as an [*ExpiredError] carrying the principal.
	ErrExpired = errors.New("token expired")
	// ErrNotYetValid reports an authentic token before its "nbf" or "iat".
	ErrNotYetValid = errors.New("token not yet valid")
	// ErrClaims reports an authentic token with missing or bad claims: wrong
	// issuer, no "exp", no "jti", or a principal that fails
	// [Principal.Validate].
	ErrClaims = errors.New("invalid token claims")
)

// ExpiredError is the error [Verifier.Verify] returns for a token whose
// signature and claims are valid but whose expiry has passed. It carries the
// principal so that the denied attempt of a known party can be recorded.
// errors.Is(err, ErrExpired) holds for it.
type ExpiredError struct {
	Principal Principal
}

func (e *ExpiredError) Error() string { return ErrExpired.Error() }

// Is reports whether target is [ErrExpired].
func (e *ExpiredError) Is(target error) bool { return target == ErrExpired }

// reasons lists the sentinels in the order [reason] tests them.
var reasons = []error{ErrMissing, ErrMalformed, ErrSignature, ErrAlgorithm, ErrExpired, ErrNotYetValid, ErrClaims}

// reason returns the sentinel err wraps, or ErrMalformed if it wraps none.
// Its message is the fixed text shown to clients.
func reason(err error) error {
	for _, s := range reasons {
		if errors.Is(err, s) {
			return s
		}
	}
	return ErrMalformed
}
