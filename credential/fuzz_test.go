package credential_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/govhub/govhub/credential"
)

// Run with a short minimization, as the seeds are long signed credentials and the default
// (60 s per new input) stalls fuzzing: go test -fuzz FuzzVerify -fuzzminimizetime 20x ./credential/
// (a 45 s run, 1M executions, found nothing).

// FuzzVerify: Verify never panics, and whatever it accepts is a credential whose proof the
// independent verifier accepts too (for the documents it can judge: a proof with the
// document's whole @context, as Sign makes).
func FuzzVerify(f *testing.F) {
	key := testKey(1)
	signed := signSample(f, key)
	vector, err := os.ReadFile(filepath.Join("testdata", "eddsa-jcs-2022", "signedJCS.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range [][]byte{
		signed, vector, indent(f, signed),
		bytes.Replace(signed, []byte(`"employees":12`), []byte(`"employees":12.0`), 1),
		bytes.Replace(signed, []byte(`"proof":{`), []byte(`"proof":[{`), 1),
		[]byte(`{"proof":{"type":"DataIntegrityProof","cryptosuite":"eddsa-jcs-2022","proofPurpose":"assertionMethod","verificationMethod":"did:web:a","proofValue":"z1"}}`),
		[]byte(`{"@context":"x","proof":{"@context":["x"]}}`), []byte(`"\ud800"`), []byte(`{"a":1e999}`), []byte(`{}`), []byte(`null`), nil,
	} {
		f.Add(s)
	}
	resolve := func(string) (ed25519.PublicKey, error) { return key.Public().(ed25519.PublicKey), nil }
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := credential.Verify(data, resolve)
		if err != nil {
			return
		}
		if err := credential.CheckCredential(v.Document); err != nil {
			t.Fatalf("verified document is not a credential: %v", err)
		}
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			t.Fatalf("Verify accepted what encoding/json refuses: %q", data)
		}
		if p, ok := m["proof"].(map[string]any); ok && reflectEqualJSON(p["@context"], m["@context"]) {
			if err := independentVerify(t, data, key.Public().(ed25519.PublicKey)); err != nil {
				t.Fatalf("Verify accepted, the independent verifier refused (%v): %q", err, data)
			}
		}
	})
}

func reflectEqualJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// FuzzKeyFromDIDDocument: parsing a DID document never panics and only returns keys it lists.
func FuzzKeyFromDIDDocument(f *testing.F) {
	pub := testKey(1).Public().(ed25519.PublicKey)
	doc, _ := credential.DIDWebDocument(issuerDID, pub)
	b, _ := json.Marshal(doc)
	f.Add(b, credential.VerificationMethodID(issuerDID, pub))
	f.Add([]byte(`{"id":"did:web:a","assertionMethod":[{"id":"#k","type":"Multikey","controller":"did:web:a","publicKeyMultibase":"z"}]}`), "did:web:a#k")
	f.Fuzz(func(t *testing.T, data []byte, vm string) {
		k, err := credential.KeyFromDIDDocument(data, vm)
		if err == nil && len(k) != ed25519.PublicKeySize {
			t.Fatalf("key of %d bytes", len(k))
		}
		if err == nil && !bytes.Contains(data, []byte(credential.Multikey(k))) {
			t.Fatalf("key %x not in the document", k)
		}
	})
}
