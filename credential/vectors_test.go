package credential

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The eddsa-jcs-2022 test vectors of the W3C vc-di-eddsa specification (testdata/README.md
// gives their source and commit).

func vector(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "eddsa-jcs-2022", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorText is a one-line vector file without its final newline.
func vectorText(t *testing.T, name string) string {
	return strings.TrimRight(string(vector(t, name)), "\n")
}

// vectorKey returns the vector's key pair. The secret key is a Multikey with the multicodec
// header ed25519-priv (0x1300, varint 0x80 0x26) and the 32-byte seed.
func vectorKey(t *testing.T) (ed25519.PrivateKey, string) {
	t.Helper()
	var kp struct{ PublicKeyMultibase, PrivateKeyMultibase string }
	if err := json.Unmarshal(vector(t, "keyPair.json"), &kp); err != nil {
		t.Fatal(err)
	}
	b, err := decodeMultibase(kp.PrivateKeyMultibase)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 34 || b[0] != 0x80 || b[1] != 0x26 {
		t.Fatalf("secret key multikey: % x", b)
	}
	return ed25519.NewKeyFromSeed(b[2:]), kp.PublicKeyMultibase
}

func vectorDoc(t *testing.T, name string) map[string]any {
	t.Helper()
	v, err := decodeStrict(vector(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func TestVectorKeyPair(t *testing.T) {
	key, pubMultibase := vectorKey(t)
	if got := Multikey(key.Public().(ed25519.PublicKey)); got != pubMultibase {
		t.Errorf("Multikey(public key of the vector's seed) = %s, vector has %s", got, pubMultibase)
	}
	pub, err := ParseMultikey(pubMultibase)
	if err != nil || !pub.Equal(key.Public()) {
		t.Errorf("ParseMultikey(%s) = %x, %v", pubMultibase, pub, err)
	}
}

// TestVectorSign signs the vector's unsigned credential with the vector's key, created time and
// verification method and compares every intermediate value with the vector's.
func TestVectorSign(t *testing.T) {
	key, _ := vectorKey(t)
	options := vectorDoc(t, "proofConfigJCS.json")
	vm := options["verificationMethod"].(string)
	created, err := time.Parse(time.RFC3339, options["created"].(string))
	if err != nil {
		t.Fatal(err)
	}
	secured, in, err := sign(vectorDoc(t, "unsigned.json"), key, vm, created)
	if err != nil {
		t.Fatal(err)
	}
	hexSum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	proof := secured["proof"].(map[string]any)
	sig, err := decodeMultibase(proof["proofValue"].(string))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, got, file string }{
		{"canonical document", string(in.canonicalDocument), "canonDocJCS.txt"},
		{"document hash", hexSum(in.canonicalDocument), "docHashJCS.txt"},
		{"canonical proof configuration", string(in.canonicalProofConfig), "proofCanonJCS.txt"},
		{"proof configuration hash", hexSum(in.canonicalProofConfig), "proofHashJCS.txt"},
		{"hashData", hex.EncodeToString(in.hashData), "combinedHashJCS.txt"},
		{"signature", hex.EncodeToString(sig), "sigHexJCS.txt"},
		{"proofValue", proof["proofValue"].(string), "sigBTC58JCS.txt"},
	} {
		if want := vectorText(t, c.file); c.got != want {
			t.Errorf("%s:\n got %s\nwant %s (%s)", c.what, c.got, want, c.file)
		}
	}
	// The proof without proofValue is the vector's proof options, and the whole secured
	// credential is the vector's signed credential.
	withoutValue := map[string]any{}
	for k, v := range proof {
		if k != "proofValue" {
			withoutValue[k] = v
		}
	}
	sameCanon(t, "proof options", withoutValue, options)
	sameCanon(t, "secured credential", secured, vectorDoc(t, "signedJCS.json"))
}

func sameCanon(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err1 := canonicalize(got)
	w, err2 := canonicalize(want)
	if err1 != nil || err2 != nil || !bytes.Equal(g, w) {
		t.Errorf("%s:\n got %s\nwant %s (%v %v)", what, g, w, err1, err2)
	}
}

func TestVectorVerify(t *testing.T) {
	_, pubMultibase := vectorKey(t)
	signed := vector(t, "signedJCS.json")
	var asked []string
	resolve := func(vm string) (ed25519.PublicKey, error) {
		asked = append(asked, vm)
		// The vector's verification method is a did:key URL: did:key:<multikey>#<multikey>.
		mk, ok := strings.CutPrefix(vm, "did:key:"+pubMultibase+"#")
		if !ok {
			return nil, fmt.Errorf("unknown verification method %s", vm)
		}
		return ParseMultikey(mk)
	}
	v, err := Verify(signed, resolve)
	if err != nil {
		t.Fatalf("Verify(signedJCS.json): %v", err)
	}
	if len(asked) != 1 {
		t.Errorf("resolver called %d times", len(asked))
	}
	canon, _ := canonicalize(v.Document)
	if want := vectorText(t, "canonDocJCS.txt"); string(canon) != want {
		t.Errorf("verified document:\n got %s\nwant %s", canon, want)
	}
	if v.Proof.ProofValue != vectorText(t, "sigBTC58JCS.txt") || v.Proof.Created != "2023-02-24T23:36:38Z" ||
		v.Proof.ProofPurpose != AssertionMethod || v.Proof.Cryptosuite != Cryptosuite || v.Proof.Type != ProofType {
		t.Errorf("verified proof: %+v", v.Proof)
	}
	// The same text with one signature byte changed does not verify.
	bad := bytes.Replace(signed, []byte("z2HnFSSPPBzR36"), []byte("z2HnFSSPPBzR37"), 1)
	if _, err := Verify(bad, resolve); err == nil {
		t.Error("Verify accepted the vector with a changed proofValue")
	}
}
