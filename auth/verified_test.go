package auth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"testing"
	"time"
)

// A token Verify remembers is answered from memory only where verifying it in full would give the
// same answer: at every time TestVerifyLeeway checks, after the token was verified (and
// remembered) at a time it was valid; under other keys; and never for another token.
func TestVerifyRemembersOnlyWhatStillVerifies(t *testing.T) {
	pub := testKey("hub").Public().(ed25519.PublicKey)
	tok := issue(t, testNow, clerk, time.Hour)
	times := []struct {
		name string
		at   time.Duration // from testNow; the token is valid from testNow for an hour
		want error
	}{
		{"29s before nbf", -29 * time.Second, nil},
		{"31s before nbf (the clock set back)", -31 * time.Second, ErrNotYetValid},
		{"29s after exp", time.Hour + 29*time.Second, nil},
		{"30s after exp", time.Hour + 30*time.Second, ErrExpired},
		{"a day after exp", 25 * time.Hour, ErrExpired},
	}
	for _, tt := range times {
		t.Run(tt.name, func(t *testing.T) {
			now := testNow.Add(time.Minute)
			v, err := NewVerifier(pub, testIssuer, WithClock(func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			first, err := v.Verify(tok)
			if err != nil {
				t.Fatalf("Verify at %v = %v", now, err)
			}
			now = testNow.Add(tt.at)
			got, err := v.Verify(tok)
			if tt.want == nil {
				if err != nil || got != first {
					t.Errorf("Verify again at %v = %+v, %v; want %+v", now, got, err, first)
				}
				return
			}
			checkReason(t, "Verify again", err, tt.want, tok)
			if tt.want == ErrExpired {
				if expired, ok := errors.AsType[*ExpiredError](err); !ok || expired.Principal != first {
					t.Errorf("Verify again at %v = %v, want an *ExpiredError for %+v", now, err, first)
				}
			}
		})
	}

	t.Run("keys rotated", func(t *testing.T) {
		v := newTestVerifier(t)
		if _, err := v.Verify(tok); err != nil {
			t.Fatal(err)
		}
		other := testKey("other").Public().(ed25519.PublicKey)
		if err := v.Rotate(other); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok); !errors.Is(err, ErrSignature) {
			t.Errorf("Verify after the key was rotated out = %v, want ErrSignature", err)
		}
		if err := v.Rotate(other, pub); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("Verify with the key kept as a previous one = %v, want nil", err)
		}
		if err := v.Rotate(other); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(tok); !errors.Is(err, ErrSignature) {
			t.Errorf("Verify after the previous key was dropped = %v, want ErrSignature", err)
		}
	})

	t.Run("another token", func(t *testing.T) {
		v := newTestVerifier(t)
		if _, err := v.Verify(tok); err != nil {
			t.Fatal(err)
		}
		// The same header and claims with the signature's last character changed.
		last := tok[len(tok)-1]
		changed := tok[:len(tok)-1] + map[bool]string{true: "B", false: "A"}[last == 'A']
		if _, err := v.Verify(changed); err == nil {
			t.Errorf("Verify of the token with its signature changed = nil, want an error")
		}
		if _, err := v.Verify(tok); err != nil {
			t.Errorf("Verify of the token after = %v", err)
		}
	})
}

// BenchmarkVerifyNewTokens verifies more tokens than a Verifier remembers, in turn: each in full
// (BenchmarkVerify verifies one token again and again, as a department system sends it).
func BenchmarkVerifyNewTokens(b *testing.B) {
	v := newTestVerifier(b)
	toks := make([]string, verifiedTokens+1)
	is := newTestIssuer(b, testNow)
	for i := range toks {
		var err error
		if toks[i], err = is.Issue(Principal{Kind: KindDepartment, Department: "housing", Role: "clerk", Subject: fmt.Sprintf("o%d", i)}, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if _, err := v.Verify(toks[i%len(toks)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
