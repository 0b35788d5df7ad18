package credential_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"github.com/govhub/govhub/credential"
)

// An issuer publishes its key in a did:web DID document, signs a certificate, and a verifier
// checks it with the DID document, then checks what Verify leaves to it.
func Example() {
	// The issuer (a fixed seed so that the output is stable; use ed25519.GenerateKey).
	const did = "did:web:hub.gov.example:issuers:land-office"
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	pub := key.Public().(ed25519.PublicKey)
	didDocument, err := credential.DIDWebDocument(did, pub)
	if err != nil {
		panic(err)
	}
	didURL, _ := credential.DIDWebURL(did)
	published, _ := json.Marshal(didDocument) // served at didURL
	fmt.Println("DID document at", didURL)

	secured, err := credential.Sign(map[string]any{
		"@context":  []any{credential.ContextV2},
		"type":      []any{"VerifiableCredential", "HomePurchaseEligibilityCredential"},
		"issuer":    did,
		"validFrom": "2026-12-01T00:00:00Z",
		"credentialSubject": map[string]any{
			"id":       "did:example:citizen-42",
			"eligible": true,
		},
	}, key, credential.VerificationMethodID(did, pub), time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	if err != nil {
		panic(err)
	}
	certificate, _ := json.Marshal(secured)

	// The verifier: resolve the verification method with the issuer's DID document (fetched
	// from DIDWebURL of the DID in the verification method).
	v, err := credential.Verify(certificate, func(vm string) (ed25519.PublicKey, error) {
		return credential.KeyFromDIDDocument(published, vm)
	})
	if err != nil {
		fmt.Println("not verified:", err)
		return
	}
	// What Verify leaves to its caller: the key's DID is the credential's issuer, the
	// validity period, and the status (not shown).
	fmt.Println("issuer's key:", credential.CheckIssuerKey(v.Document, v.Proof.VerificationMethod) == nil)
	fmt.Println("valid now:", credential.CheckValidAt(v.Document, time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)) == nil)
	fmt.Println("eligible:", v.Document["credentialSubject"].(map[string]any)["eligible"])

	// Any change breaks it.
	tampered := bytes.Replace(certificate, []byte(`"eligible":true`), []byte(`"eligible":false`), 1)
	_, err = credential.Verify(tampered, func(vm string) (ed25519.PublicKey, error) {
		return credential.KeyFromDIDDocument(published, vm)
	})
	fmt.Println("tampered:", err)
	// Output:
	// DID document at https://hub.gov.example/issuers/land-office/did.json
	// issuer's key: true
	// valid now: true
	// eligible: true
	// tampered: credential: signature does not verify
}
