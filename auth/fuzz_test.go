package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// checkOutcome checks what holds for any result of Verify(token): an error is
// exactly one of the sentinels, one short line, and does not quote the token;
// a principal is valid, verifies again to itself, and travels through an
// Authorization header unchanged.
func checkOutcome(t *testing.T, v *Verifier, token string, p Principal, err error) {
	t.Helper()
	if err != nil {
		checkReason(t, "Verify", err, reason(err), token)
		if p != (Principal{}) {
			t.Errorf("Verify = %+v, %v, want the zero Principal with an error", p, err)
		}
		if expired, ok := errors.AsType[*ExpiredError](err); ok {
			if verr := expired.Principal.Validate(); verr != nil {
				t.Errorf("Verify = %v carrying %+v, which is invalid: %v", err, expired.Principal, verr)
			}
		}
		return
	}
	if verr := p.Validate(); verr != nil {
		t.Errorf("Verify = %+v, which is invalid: %v", p, verr)
	}
	if p.TokenID == "" || p.Expires.IsZero() {
		t.Errorf("Verify = %+v, want TokenID and Expires set", p)
	}
	again, err := v.Verify(token)
	if err != nil || again != p {
		t.Errorf("Verify again = %+v, %v, want %+v, nil", again, err, p)
	}
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	if got, err := TokenFromRequest(r); got != token || err != nil {
		t.Errorf("TokenFromRequest(Bearer <verified token>) = %q, %v, want the token", got, err)
	}
}

// FuzzVerify feeds arbitrary strings to Verify.
func FuzzVerify(f *testing.F) {
	for _, vec := range readVectors(f).Vectors {
		f.Add(vec.Token)
	}
	v := newTestVerifier(f)
	f.Fuzz(func(t *testing.T, token string) {
		p, err := v.Verify(token)
		checkOutcome(t, v, token, p, err)
	})
}

// FuzzVerifySigned signs arbitrary header and payload bytes with the
// verifier's key, so that the fuzzer reaches the checks made after the
// signature. A principal that verifies is issued again and verifies to the
// same principal.
func FuzzVerifySigned(f *testing.F) {
	for _, vec := range readVectors(f).Vectors {
		parts := strings.Split(vec.Token, ".")
		if len(parts) != 3 {
			continue
		}
		h, herr := b64.DecodeString(parts[0])
		p, perr := b64.DecodeString(parts[1])
		if herr == nil && perr == nil {
			f.Add(string(h), string(p))
		}
	}
	v := newTestVerifier(f)
	iss := newTestIssuer(f, testNow)
	key := testKey("hub")
	f.Fuzz(func(t *testing.T, header, payload string) {
		token := signRaw(b64.EncodeToString([]byte(header)), b64.EncodeToString([]byte(payload)), key)
		p, err := v.Verify(token)
		checkOutcome(t, v, token, p, err)
		if err != nil {
			return
		}
		reissued, err := iss.Issue(p, time.Hour)
		if err != nil {
			t.Fatalf("Issue(%+v) = %v", p, err)
		}
		q, err := v.Verify(reissued)
		if err != nil {
			t.Fatalf("Verify(Issue(%+v)) = %v", p, err)
		}
		q.TokenID, q.Expires = p.TokenID, p.Expires
		if q != p {
			t.Errorf("Verify(Issue(%+v)) = %+v, want the same principal", p, q)
		}
	})
}
