package certificate

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/credential"
	"github.com/govhub/govhub/policy"
)

// fuzzSeed is a verification document whose credential and status are validly signed (the
// receipt is not: Check must fail on it, and on every mutation, without panicking).
func fuzzSeed(t testing.TB) ([]byte, Trust) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const did = "did:web:hub.example"
	typ := policy.CertificateType{Code: "identity-proof", TitleZh: "身份证明", TitleEn: "Identity proof", Department: "public-security",
		Role: "clerk", Purpose: "identity-verification", Since: 1}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	doc := Unsigned(Issuance{ID: "c-AAAAAAAAAAAAAAAAAAAAAAAAAA", Issuer: did, Type: typ, PolicyVersion: 1, Issued: now,
		Claims: map[string]any{"name": "张三"}, StatusURL: "https://hub.example/verify/c-AAAAAAAAAAAAAAAAAAAAAAAAAA/status.json"})
	if err := SetIssueEntry(doc, 7); err != nil {
		t.Fatal(err)
	}
	cred, err := Sign(doc, key, did, now)
	if err != nil {
		t.Fatal(err)
	}
	status, err := Sign(UnsignedStatus(did, Status{Certificate: "c-AAAAAAAAAAAAAAAAAAAAAAAAAA", State: StatusValid, AsOf: now}), key, did, now)
	if err != nil {
		t.Fatal(err)
	}
	dd, _ := credential.DIDWebDocument(did, key.Public().(ed25519.PublicKey))
	ddRaw, _ := json.Marshal(dd)
	v, _ := json.Marshal(Verification{Format: VerificationFormat, Credential: cred, Status: status, DIDDocument: ddRaw,
		IssueReceipt: "c2sp.org/tlog-proof@v1\nindex 7\n\nnot a checkpoint\n"})
	_, vkey, err := note.GenerateKey(rand.Reader, "hub.example/log")
	if err != nil {
		t.Fatal(err)
	}
	lv, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v, Trust{Log: lv}
}

func FuzzCheck(f *testing.F) {
	seed, trust := fuzzSeed(f)
	f.Add(seed)
	f.Add([]byte(`{"format":"govhub/certificate-verification/v1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := Check(data, data, trust); err == nil {
			t.Fatalf("Check accepted a document with no valid receipt:\n%s", data)
		}
	})
}

// The seed fails only at the issue entry's inclusion: its credential and status verify.
func TestCheckStopsAtTheReceipt(t *testing.T) {
	seed, trust := fuzzSeed(t)
	_, err := Check(seed, nil, trust)
	if err == nil || !strings.Contains(err.Error(), "the issue entry's inclusion") {
		t.Fatalf("Check(seed) = %v, want a failure at the issue entry's inclusion", err)
	}
}
