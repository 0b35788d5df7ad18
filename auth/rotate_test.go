package auth

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// A token issuer key rotation: tokens signed before it verify with a Verifier that keeps the old
// key as a previous one, and not with one that does not; the JWKS lists both keys.
func TestIssuerRotation(t *testing.T) {
	_, oldKey, _ := ed25519.GenerateKey(nil)
	_, newKey, _ := ed25519.GenerateKey(nil)
	iss, err := NewIssuer(oldKey, "govhub-test")
	if err != nil {
		t.Fatal(err)
	}
	p := Principal{Kind: KindDepartment, Department: "tax", Role: "clerk", Subject: "t1"}
	before, err := iss.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	oldPub := iss.Public()
	if err := iss.Rotate(newKey); err != nil {
		t.Fatal(err)
	}
	newPub := newKey.Public().(ed25519.PublicKey)
	if !iss.Public().Equal(newPub) {
		t.Fatal("Public() is not the rotated key")
	}
	after, err := iss.Issue(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	overlap, err := NewVerifier(newPub, "govhub-test", WithPreviousKeys(oldPub))
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"before": before, "after": after} {
		if _, err := overlap.Verify(tok); err != nil {
			t.Errorf("overlap verifier, token issued %s the rotation: %v", name, err)
		}
	}
	onlyNew, _ := NewVerifier(newPub, "govhub-test")
	if _, err := onlyNew.Verify(before); !errors.Is(err, ErrSignature) || !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("a token of the old key without the old key = %v, want ErrSignature and ErrUnknownKeyID", err)
	}
	onlyOld, _ := NewVerifier(oldPub, "govhub-test")
	if _, err := onlyOld.Verify(after); !errors.Is(err, ErrUnknownKeyID) {
		t.Errorf("a token of the new key with only the old key = %v, want ErrUnknownKeyID", err)
	}
	b, err := JWKS(newPub, oldPub)
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0].KeyID != KeyID(newPub) || set.Keys[1].KeyID != KeyID(oldPub) {
		t.Fatalf("JWKS = %s", b)
	}
	if k, ok := set.Keys[1].Key.(ed25519.PublicKey); !ok || !k.Equal(oldPub) {
		t.Errorf("JWKS key 1 = %#v", set.Keys[1].Key)
	}
}

// A Verifier with a key reload learns of a key rotated in elsewhere when a token names it, and
// asks at most once a second.
func TestVerifierKeyReload(t *testing.T) {
	_, oldKey, _ := ed25519.GenerateKey(nil)
	_, newKey, _ := ed25519.GenerateKey(nil)
	oldPub, newPub := oldKey.Public().(ed25519.PublicKey), newKey.Public().(ed25519.PublicKey)
	current, calls := oldPub, 0
	v, err := NewVerifier(oldPub, "govhub-test", WithKeyReload(func() (ed25519.PublicKey, []ed25519.PublicKey, error) {
		calls++
		return current, []ed25519.PublicKey{oldPub}, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	iss, _ := NewIssuer(newKey, "govhub-test")
	tok, _ := iss.Issue(Principal{Kind: KindAuditor, Subject: "a1"}, time.Hour)
	if _, err := v.Verify(tok); !errors.Is(err, ErrUnknownKeyID) || calls != 1 {
		t.Fatalf("before the key files changed: %v after %d reloads", err, calls)
	}
	current = newPub
	if _, err := v.Verify(tok); !errors.Is(err, ErrUnknownKeyID) || calls != 1 {
		t.Fatalf("within a second of the last reload: %v after %d reloads, want no new reload", err, calls)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := v.Verify(tok); err != nil || calls != 2 {
		t.Fatalf("after the rotation elsewhere: %v after %d reloads", err, calls)
	}
}
