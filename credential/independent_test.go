package credential_test

// An independent implementation of eddsa-jcs-2022 (vc-di-eddsa section 3.3), used to check what
// the package signs and to make proofs the package would not make. It uses only encoding/json,
// the jcs library, crypto/sha256, crypto/ed25519 and math/big, none of the package's code.

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"testing"

	"github.com/gowebpki/jcs"
)

const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

// b58 encodes with big.Int arithmetic (draft-msporny-base58-03 section 3).
func b58(b []byte) string {
	n := new(big.Int).SetBytes(b)
	var out []byte
	for mod := new(big.Int); n.Sign() > 0; {
		n.DivMod(n, big.NewInt(58), mod)
		out = append([]byte{alphabet[mod.Int64()]}, out...)
	}
	for _, c := range b {
		if c != 0 {
			break
		}
		out = append([]byte{'1'}, out...)
	}
	return string(out)
}

// unb58 decodes with big.Int arithmetic (draft-msporny-base58-03 section 4).
func unb58(s string) ([]byte, error) {
	n := new(big.Int)
	zeros := 0
	for zeros < len(s) && s[zeros] == '1' {
		zeros++
	}
	for i := zeros; i < len(s); i++ {
		d := bytes.IndexByte([]byte(alphabet), s[i])
		if d < 0 {
			return nil, errors.New("bad base58")
		}
		n.Mul(n, big.NewInt(58)).Add(n, big.NewInt(int64(d)))
	}
	return append(make([]byte, zeros), n.Bytes()...), nil
}

func jcsOf(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	c, err := jcs.Transform(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// hashData is SHA-256(JCS(proof options)) ‖ SHA-256(JCS(unsecured document)) (section 3.3.4).
func hashData(t testing.TB, unsecured, options map[string]any) []byte {
	p, d := sha256.Sum256(jcsOf(t, options)), sha256.Sum256(jcsOf(t, unsecured))
	return append(p[:], d[:]...)
}

// decode parses JSON keeping numbers as written.
func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func split(secured map[string]any) (unsecured, options map[string]any, proofValue string) {
	unsecured, options = map[string]any{}, map[string]any{}
	for k, v := range secured {
		if k != "proof" {
			unsecured[k] = v
		}
	}
	proof, _ := secured["proof"].(map[string]any)
	for k, v := range proof {
		if k != "proofValue" {
			options[k] = v
		}
	}
	proofValue, _ = proof["proofValue"].(string)
	return
}

// independentVerify verifies a secured document the package made: its proof carries the
// document's whole @context, so the document is hashed as it is.
func independentVerify(t testing.TB, secured []byte, pub ed25519.PublicKey) error {
	unsecured, options, proofValue := split(decode(t, secured))
	if options["type"] != "DataIntegrityProof" || options["cryptosuite"] != "eddsa-jcs-2022" || options["proofPurpose"] != "assertionMethod" {
		return fmt.Errorf("proof options %v", options)
	}
	if !bytes.Equal(jcsOf(t, options["@context"]), jcsOf(t, unsecured["@context"])) {
		return errors.New("proof @context is not the document's")
	}
	if len(proofValue) == 0 || proofValue[0] != 'z' {
		return errors.New("proofValue is not base58btc")
	}
	sig, err := unb58(proofValue[1:])
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, hashData(t, unsecured, options), sig) {
		return errors.New("signature does not verify")
	}
	return nil
}

// independentSign adds to unsecured a proof made from options as they are (vc-di-eddsa
// section 3.3.1 steps 3-7, without step 2: options carry the @context the test wants).
func independentSign(t testing.TB, unsecured, options map[string]any, key ed25519.PrivateKey) []byte {
	t.Helper()
	proof := map[string]any{}
	for k, v := range options {
		proof[k] = v
	}
	proof["proofValue"] = "z" + b58(ed25519.Sign(key, hashData(t, unsecured, options)))
	secured := map[string]any{"proof": proof}
	for k, v := range unsecured {
		secured[k] = v
	}
	b, err := json.Marshal(secured)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The independent base58 agrees with the specification's proofValue vector, so it is a fair judge.
func TestIndependentBase58(t *testing.T) {
	const proofValue = "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"
	sig, err := unb58(proofValue[1:])
	if err != nil || len(sig) != 64 || "z"+b58(sig) != proofValue {
		t.Fatalf("%x %v", sig, err)
	}
	if b58([]byte{0, 0, 0x28, 0x7f, 0xb4, 0xcd}) != "11233QC4" {
		t.Fatal("leading zeros")
	}
}
