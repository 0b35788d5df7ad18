package credential

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
)

// The test vectors of draft-msporny-base58-03, section 5.
func TestBase58DraftVectors(t *testing.T) {
	for _, v := range []struct {
		in  []byte
		out string
	}{
		{[]byte("Hello World!"), "2NEpo7TZRRrLZSi2U"},
		{[]byte("The quick brown fox jumps over the lazy dog."), "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"},
		{[]byte{0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd}, "11233QC4"},
	} {
		if got := encodeBase58(v.in); got != v.out {
			t.Errorf("encodeBase58(%x) = %s, want %s", v.in, got, v.out)
		}
		got, err := decodeBase58(v.out)
		if err != nil || !bytes.Equal(got, v.in) {
			t.Errorf("decodeBase58(%s) = %x, %v, want %x", v.out, got, err, v.in)
		}
	}
}

func TestBase58RoundTripAndErrors(t *testing.T) {
	for _, in := range [][]byte{nil, {0}, {0, 0, 0}, {0, 1}, {57}, {58}, {0xff, 0xff}, bytes.Repeat([]byte{0xab}, 64)} {
		s := encodeBase58(in)
		out, err := decodeBase58(s)
		if err != nil || !bytes.Equal(out, in) {
			t.Errorf("%x -> %q -> %x, %v", in, s, out, err)
		}
	}
	for _, s := range []string{"0", "O", "I", "l", "2NEpo7TZRRrLZSi2U+", "é", strings.Repeat("2", maxBase58Len+1)} {
		if b, err := decodeBase58(s); err == nil {
			t.Errorf("decodeBase58(%q) = %x, want an error", s, b)
		}
	}
	for _, s := range []string{"", "2NEpo7TZRRrLZSi2U", "f00", "m00"} {
		if b, err := decodeMultibase(s); err == nil {
			t.Errorf("decodeMultibase(%q) = %x, want an error", s, b)
		}
	}
}

func TestMultikeyRoundTrip(t *testing.T) {
	// The public key of the Multikey example of vc-di-eddsa section 2.1.1, decoded by hand.
	const example = "z6Mkf5rGMoatrSj1f4CyvuHBeXJELe9RPdzo2PKGNCKVtZxP"
	pub, err := ParseMultikey(example)
	if err != nil {
		t.Fatal(err)
	}
	if got := Multikey(pub); got != example {
		t.Errorf("Multikey(ParseMultikey(%s)) = %s", example, got)
	}
	seed, _ := hex.DecodeString("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60") // RFC 8032 test 1
	key := ed25519.NewKeyFromSeed(seed)
	mk := Multikey(key.Public().(ed25519.PublicKey))
	if !strings.HasPrefix(mk, "z6Mk") { // every Ed25519 multikey starts so
		t.Errorf("Multikey = %s", mk)
	}
	back, err := ParseMultikey(mk)
	if err != nil || !back.Equal(key.Public()) {
		t.Errorf("ParseMultikey(Multikey(pub)) = %x, %v", back, err)
	}
	pubBytes := []byte(key.Public().(ed25519.PublicKey))
	for name, s := range map[string]string{
		"not base58btc":       "u" + mk[1:],
		"secret key header":   "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq",
		"short":               encodeMultibase(append([]byte{0xed, 0x01}, pubBytes[:31]...)),
		"long":                encodeMultibase(append(append([]byte{0xed, 0x01}, pubBytes...), 0)),
		"secp256k1 header":    encodeMultibase(append([]byte{0xe7, 0x01}, pubBytes...)),
		"no header":           encodeMultibase(append([]byte{0, 0}, pubBytes...)),
		"invalid base58 char": mk[:10] + "0" + mk[11:],
	} {
		if k, err := ParseMultikey(s); err == nil {
			t.Errorf("%s: ParseMultikey(%s) = %x, want an error", name, s, k)
		}
	}
}

func TestDIDWebURL(t *testing.T) {
	for did, want := range map[string]string{
		"did:web:w3c-ccg.github.io":                   "https://w3c-ccg.github.io/.well-known/did.json",
		"did:web:w3c-ccg.github.io:user:alice":        "https://w3c-ccg.github.io/user/alice/did.json",
		"did:web:example.com%3A3000:user:alice":       "https://example.com:3000/user/alice/did.json",
		"did:web:hub.gov.example":                     "https://hub.gov.example/.well-known/did.json",
		"did:web:hub.gov.example:issuers:land-office": "https://hub.gov.example/issuers/land-office/did.json",
	} {
		if got, err := DIDWebURL(did); err != nil || got != want {
			t.Errorf("DIDWebURL(%s) = %q, %v, want %q", did, got, err, want)
		}
	}
	for _, did := range []string{"", "did:key:z6Mk", "did:web:", "did:web:Example.com", "did:web:a..b", "did:web:a.com/x",
		"did:web:a.com:..", "did:web:a.com:x/y", "did:web:a.com::x", "did:web:a.com#frag", "did:web:-a.com", "did:web:a.com?q"} {
		if got, err := DIDWebURL(did); err == nil {
			t.Errorf("DIDWebURL(%q) = %q, want an error", did, got)
		}
	}
}

func TestDIDWebDocumentRoundTrip(t *testing.T) {
	const did = "did:web:hub.gov.example:issuers:land-office"
	pub, _, _ := ed25519.GenerateKey(nil)
	doc, err := DIDWebDocument(did, pub)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	vm := VerificationMethodID(did, pub)
	got, err := KeyFromDIDDocument(b, vm)
	if err != nil || !got.Equal(pub) {
		t.Fatalf("KeyFromDIDDocument = %x, %v", got, err)
	}
	var parsed struct {
		Context            []string `json:"@context"`
		ID                 string
		VerificationMethod []struct{ ID, Type, Controller, PublicKeyMultibase string }
		AssertionMethod    []string
	}
	if err := json.Unmarshal(b, &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed.ID != did || len(parsed.VerificationMethod) != 1 || parsed.VerificationMethod[0].Type != "Multikey" ||
		parsed.VerificationMethod[0].Controller != did || parsed.VerificationMethod[0].ID != vm ||
		parsed.VerificationMethod[0].PublicKeyMultibase != Multikey(pub) || len(parsed.AssertionMethod) != 1 ||
		parsed.AssertionMethod[0] != vm || len(parsed.Context) != 2 || parsed.Context[0] != "https://www.w3.org/ns/did/v1" {
		t.Errorf("DID document: %s", b)
	}
	if _, err := DIDWebDocument("did:web:bad/host", pub); err == nil {
		t.Error("DIDWebDocument accepted a bad DID")
	}
	if _, err := DIDWebDocument(did, pub[:31]); err == nil {
		t.Error("DIDWebDocument accepted a short key")
	}

	// Relative references resolve against the document's id.
	rel := strings.ReplaceAll(string(b), `"`+vm+`"`, `"#`+Multikey(pub)+`"`)
	if got, err := KeyFromDIDDocument([]byte(rel), vm); err != nil || !got.Equal(pub) {
		t.Errorf("relative references: %x, %v", got, err)
	}
	// Everything the retrieval checks.
	other, _, _ := ed25519.GenerateKey(nil)
	for name, c := range map[string]struct{ doc, vm string }{
		"other DID's method":      {string(b), "did:web:other.example#" + Multikey(pub)},
		"no fragment":             {string(b), did},
		"unknown method":          {string(b), VerificationMethodID(did, other)},
		"not an assertionMethod":  {strings.Replace(string(b), `"assertionMethod"`, `"authentication"`, 1), vm},
		"other controller":        {strings.Replace(string(b), `"controller":"`+did+`"`, `"controller":"did:web:evil.example"`, 1), vm},
		"not a Multikey":          {strings.Replace(string(b), `"Multikey"`, `"JsonWebKey"`, 1), vm},
		"document of another DID": {strings.Replace(string(b), `"id":"`+did+`"`, `"id":"did:web:evil.example"`, 1), vm},
		"duplicate member":        {strings.Replace(string(b), `{`, `{"id":"x",`, 1), vm},
		"not an object":           {`[]`, vm},
		"method listed twice":     {strings.Replace(string(b), `"verificationMethod":[`, `"verificationMethod":[{"id":"`+vm+`","type":"Multikey","controller":"`+did+`","publicKeyMultibase":"`+Multikey(other)+`"},`, 1), vm},
	} {
		if k, err := KeyFromDIDDocument([]byte(c.doc), c.vm); err == nil {
			t.Errorf("%s: KeyFromDIDDocument = %x, want an error", name, k)
		}
	}
}
