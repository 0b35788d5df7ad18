package credential_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/govhub/govhub/credential"
)

const (
	issuerDID = "did:web:hub.gov.example:issuers:land-office"
	examples  = "https://www.w3.org/ns/credentials/examples/v2"
)

var created = time.Date(2026, 12, 6, 9, 30, 15, 123456789, time.FixedZone("CET", 3600))

func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func vmOf(key ed25519.PrivateKey) string {
	return credential.VerificationMethodID(issuerDID, key.Public().(ed25519.PublicKey))
}

// sample is a credential with the members GovHub's certificates will use.
func sample() map[string]any {
	return map[string]any{
		"@context":   []any{credential.ContextV2, examples},
		"id":         "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c5",
		"type":       []any{"VerifiableCredential", "BusinessLicenceCredential"},
		"issuer":     map[string]any{"id": issuerDID, "name": "Land Office"},
		"validFrom":  "2026-12-01T00:00:00Z",
		"validUntil": "2027-11-30T23:59:59+01:00",
		"credentialSubject": map[string]any{
			"id":            "did:example:citizen-42",
			"name":          "Zoë Ñandú 李",
			"licenceNumber": "BL-2026-0042",
			"activities":    []any{"retail", "café"},
			"employees":     12,
			"share":         0.25,
			"registered":    true,
			"note":          nil,
		},
		"credentialStatus": map[string]any{
			"id":                   "https://hub.gov.example/status/3#94567",
			"type":                 "BitstringStatusListEntry",
			"statusPurpose":        "revocation",
			"statusListIndex":      "94567",
			"statusListCredential": "https://hub.gov.example/status/3",
		},
		"evidence": []any{map[string]any{"id": "https://hub.gov.example/evidence/77", "type": []any{"Evidence"}}},
	}
}

func signSample(t testing.TB, key ed25519.PrivateKey) []byte {
	t.Helper()
	secured, err := credential.Sign(sample(), key, vmOf(key), created)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(secured)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keyOf resolves every verification method to key, so that only the signature decides.
func keyOf(key ed25519.PrivateKey) func(string) (ed25519.PublicKey, error) {
	return func(string) (ed25519.PublicKey, error) { return key.Public().(ed25519.PublicKey), nil }
}

func TestIndependentVerifierAcceptsSign(t *testing.T) {
	key := testKey(1)
	b := signSample(t, key)
	if err := independentVerify(t, b, key.Public().(ed25519.PublicKey)); err != nil {
		t.Fatalf("independent verifier: %v\n%s", err, b)
	}
	if err := independentVerify(t, b, testKey(2).Public().(ed25519.PublicKey)); err == nil {
		t.Fatal("independent verifier accepts any key")
	}
	_, options, _ := split(decode(t, b))
	want := map[string]any{
		"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": "2026-12-06T08:30:15Z",
		"verificationMethod": vmOf(key), "proofPurpose": "assertionMethod", "@context": []any{credential.ContextV2, examples},
	}
	if !reflect.DeepEqual(options, want) {
		t.Errorf("proof options:\n got %v\nwant %v", options, want)
	}
}

func TestSignVerifyWithDIDDocument(t *testing.T) {
	key := testKey(1)
	didDoc, err := credential.DIDWebDocument(issuerDID, key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	didJSON, _ := json.Marshal(didDoc)
	v, err := credential.Verify(signSample(t, key), func(vm string) (ed25519.PublicKey, error) {
		return credential.KeyFromDIDDocument(didJSON, vm)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(jsonValue(t, v.Document), jsonValue(t, sample())) {
		t.Errorf("verified document:\n got %v\nwant %v", v.Document, sample())
	}
	if v.Proof.VerificationMethod != vmOf(key) || v.Proof.Created != "2026-12-06T08:30:15Z" || len(v.Proof.Other) != 0 {
		t.Errorf("proof %+v", v.Proof)
	}
	if credential.Issuer(v.Document) != issuerDID {
		t.Errorf("issuer %q", credential.Issuer(v.Document))
	}
}

// jsonValue is v as encoding/json reads it back (numbers as float64).
func jsonValue(t testing.TB, v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEveryByteChange changes each byte of a signed credential in turn: either Verify refuses
// the result or the result means the same as the original.
func TestEveryByteChange(t *testing.T) {
	key := testKey(1)
	b := signSample(t, key)
	var orig any
	if err := json.Unmarshal(b, &orig); err != nil {
		t.Fatal(err)
	}
	accepted := 0
	for i := range b {
		for _, c := range []byte{b[i] ^ 0x01, b[i] ^ 0x20, '0'} {
			if c == b[i] {
				continue
			}
			m := bytes.Clone(b)
			m[i] = c
			if _, err := credential.Verify(m, keyOf(key)); err != nil {
				continue
			}
			accepted++
			var got any
			if err := json.Unmarshal(m, &got); err != nil || !reflect.DeepEqual(got, orig) {
				t.Errorf("byte %d changed to %q verifies and changes the meaning: %s", i, c, m)
			}
		}
	}
	t.Logf("%d bytes, %d meaning-preserving changes accepted", len(b), accepted)
}

func TestTamperedCredentials(t *testing.T) {
	key := testKey(1)
	b := signSample(t, key)
	other := decode(t, signSample(t, testKey(2)))
	edit := func(f func(m map[string]any)) []byte {
		m := decode(t, b)
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	subject := func(m map[string]any) map[string]any { return m["credentialSubject"].(map[string]any) }
	proof := func(m map[string]any) map[string]any { return m["proof"].(map[string]any) }
	for name, f := range map[string]func(m map[string]any){
		"claim":         func(m map[string]any) { subject(m)["licenceNumber"] = "BL-2026-0043" },
		"number claim":  func(m map[string]any) { subject(m)["employees"] = json.Number("13") },
		"boolean claim": func(m map[string]any) { subject(m)["registered"] = false },
		"null claim":    func(m map[string]any) { subject(m)["note"] = "" },
		"subject":       func(m map[string]any) { subject(m)["id"] = "did:example:citizen-43" },
		"added claim":   func(m map[string]any) { subject(m)["extra"] = "x" },
		"removed claim": func(m map[string]any) { delete(subject(m), "note") },
		"array order":   func(m map[string]any) { subject(m)["activities"] = []any{"café", "retail"} },
		"issuer": func(m map[string]any) {
			m["issuer"] = map[string]any{"id": "did:web:evil.example", "name": "Land Office"}
		},
		"issuer name":              func(m map[string]any) { m["issuer"].(map[string]any)["name"] = "Land 0ffice" },
		"validFrom":                func(m map[string]any) { m["validFrom"] = "2026-11-01T00:00:00Z" },
		"validUntil removed":       func(m map[string]any) { delete(m, "validUntil") },
		"status":                   func(m map[string]any) { m["credentialStatus"].(map[string]any)["statusListIndex"] = "94568" },
		"id":                       func(m map[string]any) { m["id"] = "urn:uuid:3978344f-8596-4c3a-a978-8fcaba3903c6" },
		"type":                     func(m map[string]any) { m["type"] = []any{"VerifiableCredential", "IdentityCredential"} },
		"proof created":            func(m map[string]any) { proof(m)["created"] = "2026-12-06T08:30:16Z" },
		"proof created removed":    func(m map[string]any) { delete(proof(m), "created") },
		"proof verificationMethod": func(m map[string]any) { proof(m)["verificationMethod"] = issuerDID + "#key-2" },
		"proof added member":       func(m map[string]any) { proof(m)["nonce"] = "1" },
		"proof @context":           func(m map[string]any) { proof(m)["@context"] = []any{credential.ContextV2} },
		"proofValue of another":    func(m map[string]any) { proof(m)["proofValue"] = proof(other)["proofValue"] },
		"proofValue removed":       func(m map[string]any) { delete(proof(m), "proofValue") },
		"proofValue truncated":     func(m map[string]any) { pv := proof(m)["proofValue"].(string); proof(m)["proofValue"] = pv[:len(pv)-1] },
		"proofValue not z":         func(m map[string]any) { pv := proof(m)["proofValue"].(string); proof(m)["proofValue"] = "u" + pv[1:] },
		"proof removed":            func(m map[string]any) { delete(m, "proof") },
		"proof set":                func(m map[string]any) { m["proof"] = []any{m["proof"]} },
		"context order":            func(m map[string]any) { m["@context"] = []any{examples, credential.ContextV2} },
	} {
		if _, err := credential.Verify(edit(f), keyOf(key)); err == nil {
			t.Errorf("%s: changed credential verifies", name)
		}
	}
	// Changes of form, not of meaning, still verify (RFC 8785 canonicalization).
	for name, text := range map[string][]byte{
		"indented":         indent(t, b),
		"12 written 12.0":  bytes.Replace(b, []byte(`"employees":12`), []byte(`"employees":12.0`), 1),
		"0.25 as 25e-2":    bytes.Replace(b, []byte(`"share":0.25`), []byte(`"share":25e-2`), 1),
		"escaped letter":   bytes.Replace(b, []byte(`"retail"`), []byte(`"r\u0065tail"`), 1),
		"members reversed": edit(func(map[string]any) {}), // encoding/json sorts members: a different order
	} {
		if _, err := credential.Verify(text, keyOf(key)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func indent(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// proofOptions are the options the package uses, for the independent signer to vary.
func proofOptions(key ed25519.PrivateKey) map[string]any {
	return map[string]any{
		"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": "2026-12-06T08:30:15Z",
		"verificationMethod": vmOf(key), "proofPurpose": "assertionMethod", "@context": []any{credential.ContextV2, examples},
	}
}

func TestProofChecks(t *testing.T) {
	key := testKey(1)
	unsecured := jsonValue(t, sample()).(map[string]any)
	if _, err := credential.Verify(independentSign(t, unsecured, proofOptions(key), key), keyOf(key)); err != nil {
		t.Fatalf("independently signed credential: %v", err)
	}
	for name, c := range map[string]struct {
		member string
		value  any
	}{
		"proofPurpose authentication": {"proofPurpose", "authentication"},
		"proofPurpose missing":        {"proofPurpose", nil},
		"cryptosuite eddsa-rdfc-2022": {"cryptosuite", "eddsa-rdfc-2022"},
		"cryptosuite missing":         {"cryptosuite", nil},
		"type Ed25519Signature2020":   {"type", "Ed25519Signature2020"},
		"type missing":                {"type", nil},
		"verificationMethod missing":  {"verificationMethod", nil},
		"verificationMethod number":   {"verificationMethod", 7},
		"created not a dateTime":      {"created", "yesterday"},
		"created not a date":          {"created", "2026-02-30T00:00:00Z"},
		"expires not a dateTime":      {"expires", "2026-12-06"},
		"previousProof":               {"previousProof", "urn:uuid:1"},
	} {
		opts := proofOptions(key)
		if c.value == nil {
			delete(opts, c.member)
		} else {
			opts[c.member] = c.value
		}
		if _, err := credential.Verify(independentSign(t, unsecured, opts, key), keyOf(key)); err == nil {
			t.Errorf("%s: verifies", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// Members the package does not interpret are signed and reported.
	opts := proofOptions(key)
	opts["domain"], opts["challenge"], opts["expires"] = "hub.gov.example", "abc", "2027-01-01T00:00:00Z"
	v, err := credential.Verify(independentSign(t, unsecured, opts, key), keyOf(key))
	if err != nil || v.Proof.Other["domain"] != "hub.gov.example" || v.Proof.Other["challenge"] != "abc" || v.Proof.Expires != "2027-01-01T00:00:00Z" {
		t.Errorf("other members: %+v, %v", v, err)
	}
}

func TestWrongKey(t *testing.T) {
	key := testKey(1)
	b := signSample(t, key)
	if _, err := credential.Verify(b, keyOf(testKey(2))); err == nil {
		t.Error("verifies with another key")
	}
	boom := errors.New("no such key")
	if _, err := credential.Verify(b, func(string) (ed25519.PublicKey, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Errorf("resolver error: %v", err)
	}
	if _, err := credential.Verify(b, func(string) (ed25519.PublicKey, error) { return make([]byte, 31), nil }); err == nil {
		t.Error("verifies with a short key")
	}
}

// TestProofContext follows vc-di-eddsa section 3.3.2 step 4: the document's @context must start
// with the proof's, which is the @context of the verified document.
func TestProofContext(t *testing.T) {
	key := testKey(1)
	unsecured := jsonValue(t, sample()).(map[string]any)
	signWith := func(proofCtx any, docCtx []any) []byte {
		opts := proofOptions(key)
		if proofCtx == nil {
			delete(opts, "@context")
		} else {
			opts["@context"] = proofCtx
		}
		doc := map[string]any{}
		for k, v := range unsecured {
			doc[k] = v
		}
		doc["@context"] = docCtx
		return independentSign(t, doc, opts, key)
	}
	replaceContext := func(b []byte, ctx []any) []byte {
		m := decode(t, b)
		m["@context"] = ctx
		out, _ := json.Marshal(m)
		return out
	}
	orig := []any{credential.ContextV2, examples}
	extended := []any{credential.ContextV2, examples, "https://evil.example/context"}

	for name, text := range map[string][]byte{
		"proof @context differs":              signWith([]any{credential.ContextV2, "https://other.example/v1"}, orig),
		"proof @context longer than document": signWith(extended, orig),
		"document @context reordered":         replaceContext(signWith(orig, orig), []any{examples, credential.ContextV2}),
		"document @context shortened":         replaceContext(signWith(orig, orig), []any{credential.ContextV2}),
		"document @context removed":           replaceContext(signWith(orig, orig), nil),
		"no proof @context, document changed": replaceContext(signWith(nil, orig), extended),
	} {
		if _, err := credential.Verify(text, keyOf(key)); err == nil {
			t.Errorf("%s: verifies", name)
		}
	}
	// A document whose @context was extended after signing verifies (the spec allows it, for
	// proof sets and chains), but the verified document has the signed @context.
	v, err := credential.Verify(replaceContext(signWith(orig, orig), extended), keyOf(key))
	if err != nil {
		t.Fatalf("extended @context: %v", err)
	}
	if !reflect.DeepEqual(v.Document["@context"], orig) {
		t.Errorf("verified @context %v, want %v", v.Document["@context"], orig)
	}
	// A proof without @context (the spec's step 2 skipped) covers the document's own @context.
	if v, err := credential.Verify(signWith(nil, extended), keyOf(key)); err != nil || !reflect.DeepEqual(v.Document["@context"], extended) || v.Proof.Context != nil {
		t.Errorf("proof without @context: %v", err)
	}
}

// TestStrictJSON: texts that canonicalize like a signed text but read differently are refused.
func TestStrictJSON(t *testing.T) {
	key := testKey(1)
	b := signSample(t, key)
	for name, text := range map[string][]byte{
		"duplicate member": bytes.Replace(b, []byte(`"issuer":`), []byte(`"issuer":"did:web:evil.example","issuer":`), 1),
		"lone surrogate":   bytes.Replace(b, []byte(`"retail"`), []byte(`"retail\ud800"`), 1),
		"invalid UTF-8":    bytes.Replace(b, []byte(`"retail"`), []byte("\"retail\xff\""), 1),
		"trailing data":    append(bytes.Clone(b), []byte(`{}`)...),
		"not an object":    []byte(`["VerifiableCredential"]`),
		"deeply nested":    []byte(strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100)),
		"huge exponent":    bytes.Replace(b, []byte(`"employees":12`), []byte(`"employees":1e-999999999`), 1),
		"empty":            nil,
	} {
		if _, err := credential.Verify(text, keyOf(key)); err == nil {
			t.Errorf("%s: verifies", name)
		}
	}
	// encoding/json reads an unpaired surrogate escape and invalid UTF-8 as U+FFFD: without
	// the checks, a credential signed with U+FFFD would verify with either in its place.
	withFFFD := jsonValue(t, sample()).(map[string]any)
	withFFFD["credentialSubject"].(map[string]any)["name"] = "Zo\ufffd"
	signed := independentSign(t, withFFFD, proofOptions(key), key)
	if _, err := credential.Verify(signed, keyOf(key)); err != nil {
		t.Fatal(err)
	}
	for _, repl := range []string{`\ud800`, `\udc00`, "\xff", "\xed\xa0\x80"} {
		text := bytes.Replace(signed, []byte("Zo\ufffd"), []byte("Zo"+repl), 1)
		if bytes.Equal(text, signed) {
			t.Fatal("no replacement")
		}
		if _, err := credential.Verify(text, keyOf(key)); err == nil {
			t.Errorf("U+FFFD replaced by %q verifies", repl)
		}
	}

	// 2^53+1 and 2^53 have one canonical form: without the check a signature over one would
	// verify the other.
	unsecured := jsonValue(t, sample()).(map[string]any)
	unsecured["credentialSubject"].(map[string]any)["employees"] = json.Number("9007199254740993")
	if !bytes.Equal(jcsOf(t, json.Number("9007199254740993")), jcsOf(t, json.Number("9007199254740992"))) {
		t.Fatal("JCS keeps 2^53+1")
	}
	if _, err := credential.Verify(independentSign(t, unsecured, proofOptions(key), key), keyOf(key)); err == nil {
		t.Error("a number beyond double precision verifies")
	}
	if _, err := credential.Sign(unsecured, key, vmOf(key), created); err == nil {
		t.Error("Sign accepts a number beyond double precision")
	}
	unsecured["credentialSubject"].(map[string]any)["employees"] = "\xff"
	if _, err := credential.Sign(unsecured, key, vmOf(key), created); err == nil {
		t.Error("Sign accepts invalid UTF-8")
	}
}

func TestSignRefuses(t *testing.T) {
	key := testKey(1)
	for name, f := range map[string]func(m map[string]any){
		"no @context":                  func(m map[string]any) { delete(m, "@context") },
		"@context a string":            func(m map[string]any) { m["@context"] = credential.ContextV2 },
		"@context v1 first":            func(m map[string]any) { m["@context"] = []any{"https://www.w3.org/2018/credentials/v1"} },
		"@context item a number":       func(m map[string]any) { m["@context"] = []any{credential.ContextV2, 1} },
		"no VerifiableCredential":      func(m map[string]any) { m["type"] = []any{"BusinessLicenceCredential"} },
		"type a number":                func(m map[string]any) { m["type"] = 1 },
		"id not a URL":                 func(m map[string]any) { m["id"] = "licence 42" },
		"no issuer":                    func(m map[string]any) { delete(m, "issuer") },
		"issuer not a URL":             func(m map[string]any) { m["issuer"] = "Land Office" },
		"issuer object without id":     func(m map[string]any) { m["issuer"] = map[string]any{"name": "Land Office"} },
		"no credentialSubject":         func(m map[string]any) { delete(m, "credentialSubject") },
		"credentialSubject empty list": func(m map[string]any) { m["credentialSubject"] = []any{} },
		"credentialSubject a string":   func(m map[string]any) { m["credentialSubject"] = "did:example:1" },
		"validFrom not a dateTime":     func(m map[string]any) { m["validFrom"] = "1 December 2026" },
		"validFrom without zone":       func(m map[string]any) { m["validFrom"] = "2026-12-01T00:00:00" },
		"validUntil before validFrom":  func(m map[string]any) { m["validUntil"] = "2026-11-30T23:59:59Z" },
		"status without type":          func(m map[string]any) { delete(m["credentialStatus"].(map[string]any), "type") },
		"evidence not an object":       func(m map[string]any) { m["evidence"] = "a photo" },
		"already has a proof":          func(m map[string]any) { m["proof"] = map[string]any{} },
	} {
		doc := sample()
		f(doc)
		if _, err := credential.Sign(doc, key, vmOf(key), created); err == nil {
			t.Errorf("%s: Sign accepted it", name)
		}
	}
	if _, err := credential.Sign(sample(), key[:32], vmOf(key), created); err == nil {
		t.Error("Sign accepted a short key")
	}
	if _, err := credential.Sign(sample(), key, "key-1", created); err == nil {
		t.Error("Sign accepted a verification method that is not a URL")
	}
	// Without a created time the proof has none.
	secured, err := credential.Sign(sample(), key, vmOf(key), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, present := secured["proof"].(map[string]any)["created"]; present {
		t.Error("zero created time written")
	}
	b, _ := json.Marshal(secured)
	if _, err := credential.Verify(b, keyOf(key)); err != nil {
		t.Error(err)
	}
}

func TestSignLeavesItsInputAlone(t *testing.T) {
	doc := sample()
	if _, err := credential.Sign(doc, testKey(1), vmOf(testKey(1)), created); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(doc, sample()) {
		t.Error("Sign changed its input")
	}
}

func TestCheckValidAt(t *testing.T) {
	doc := sample() // valid from 2026-12-01T00:00:00Z until 2027-11-30T22:59:59Z
	for at, ok := range map[string]bool{
		"2026-11-30T23:59:59Z": false,
		"2026-12-01T00:00:00Z": true,
		"2027-06-01T00:00:00Z": true,
		"2027-11-30T22:59:59Z": true,
		"2027-11-30T23:00:00Z": false,
	} {
		tm, _ := time.Parse(time.RFC3339, at)
		if err := credential.CheckValidAt(doc, tm); (err == nil) != ok {
			t.Errorf("CheckValidAt(%s) = %v", at, err)
		}
	}
	if err := credential.CheckValidAt(map[string]any{}, time.Now()); err != nil {
		t.Errorf("no validity period: %v", err)
	}
	if err := credential.CheckValidAt(map[string]any{"validFrom": "soon"}, time.Now()); err == nil {
		t.Error("bad validFrom accepted")
	}
}

func TestCheckIssuerKey(t *testing.T) {
	vm := vmOf(testKey(1))
	doc := sample()
	if err := credential.CheckIssuerKey(doc, vm); err != nil {
		t.Error(err)
	}
	doc["issuer"] = issuerDID // a string issuer
	if err := credential.CheckIssuerKey(doc, vm); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{issuerDID, issuerDID + "#", issuerDID + "X#key-1", "did:web:hub.gov.example#key-1", "did:web:evil.example#" + issuerDID} {
		if err := credential.CheckIssuerKey(doc, bad); err == nil {
			t.Errorf("CheckIssuerKey(%s) accepted", bad)
		}
	}
	delete(doc, "issuer")
	if err := credential.CheckIssuerKey(doc, vm); err == nil {
		t.Error("no issuer accepted")
	}
}

func TestSignedContextsAreNotShared(t *testing.T) {
	secured, err := credential.Sign(sample(), testKey(1), vmOf(testKey(1)), created)
	if err != nil {
		t.Fatal(err)
	}
	secured["@context"].([]any)[1] = "https://evil.example/context"
	if got := secured["proof"].(map[string]any)["@context"].([]any)[1]; got != examples {
		t.Errorf("proof @context changed with the document's: %v", got)
	}
}
