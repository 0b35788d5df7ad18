package credential

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Names fixed by VC Data Integrity 1.0 and Data Integrity EdDSA Cryptosuites v1.0.
const (
	ProofType       = "DataIntegrityProof" // vc-di-eddsa section 2.2.1
	Cryptosuite     = "eddsa-jcs-2022"     // vc-di-eddsa section 3.3
	AssertionMethod = "assertionMethod"    // the proof purpose of a credential's proof (VC Data Integrity section 2.2)
)

// Proof is a verified Data Integrity proof (VC Data Integrity 1.0, section 2.1).
type Proof struct {
	Type               string
	Cryptosuite        string
	Created            string // XML Schema dateTime, or "" if the proof has none
	Expires            string // XML Schema dateTime, or "" if the proof has none
	VerificationMethod string
	ProofPurpose       string
	ProofValue         string
	// Context is the proof's @context (nil if it has none): the credential's @context when
	// the proof was made (vc-di-eddsa section 3.3.1, step 2).
	Context any
	// Other holds the remaining members of the proof (id, domain, challenge, nonce, ...), all
	// of which were signed.
	Other map[string]any
}

// Verified is what Verify returns for a credential whose proof verifies.
type Verified struct {
	// Document is the verified document (vc-di-eddsa section 3.3.2, "verifiedDocument"): the
	// secured document without its proof, with its @context replaced by the proof's @context
	// when the proof has one. Use it, not the input, to read the credential: members of the
	// input's @context after those of the proof's are not covered by the signature.
	// Numbers are json.Number.
	Document map[string]any
	Proof    Proof
}

// signingInput is what the hashing algorithm of vc-di-eddsa section 3.3.4 reads.
type signingInput struct {
	canonicalDocument    []byte // the transformation (section 3.3.3) of the unsecured document
	canonicalProofConfig []byte // the proof configuration (section 3.3.5)
	hashData             []byte // SHA-256(canonicalProofConfig) ‖ SHA-256(canonicalDocument)
}

// hashingInput runs the transformation, proof configuration and hashing algorithms of
// eddsa-jcs-2022 (vc-di-eddsa sections 3.3.3, 3.3.5, 3.3.4) on an unsecured document and the
// proof options (the proof without proofValue).
func hashingInput(unsecured, options map[string]any) (*signingInput, error) {
	// Transformation, step 1 and proof configuration, step 2: the suite is ours.
	if options["type"] != ProofType || options["cryptosuite"] != Cryptosuite {
		return nil, fmt.Errorf("proof is not a %s with cryptosuite %s", ProofType, Cryptosuite)
	}
	// Proof configuration, step 3: created, if set, is an XML Schema dateTime.
	if c, present := options["created"]; present {
		s, ok := c.(string)
		if !ok {
			return nil, errors.New("proof created is not a string")
		}
		if _, err := parseDateTime(s, false); err != nil {
			return nil, fmt.Errorf("proof created: %v", err)
		}
	}
	config, err := canonicalize(options)
	if err != nil {
		return nil, err
	}
	doc, err := canonicalize(unsecured)
	if err != nil {
		return nil, err
	}
	ph, dh := sha256.Sum256(config), sha256.Sum256(doc)
	return &signingInput{
		canonicalDocument:    doc,
		canonicalProofConfig: config,
		hashData:             append(ph[:], dh[:]...),
	}, nil
}

// Sign secures a credential with an eddsa-jcs-2022 Data Integrity proof, following the Create
// Proof algorithm of vc-di-eddsa section 3.3.1 with proof options {type: "DataIntegrityProof",
// cryptosuite: "eddsa-jcs-2022", created, verificationMethod, proofPurpose: "assertionMethod"}.
//
// doc must meet CheckCredential, must not have a proof already, and must be made of JSON values
// (as encoding/json marshals them) meeting the rules of decodeStrict. created is written in UTC
// to the second ("2006-01-02T15:04:05Z"); if it is the zero time the proof has no created.
// verificationMethod is the URL of the public key of key, e.g. a did:web DID with the fragment
// DIDWebDocument gives it; nothing checks that it names key.
//
// Sign returns a new document: doc as it was signed (numbers as json.Number) with "proof" added.
func Sign(doc map[string]any, key ed25519.PrivateKey, verificationMethod string, created time.Time) (map[string]any, error) {
	secured, _, err := sign(doc, key, verificationMethod, created)
	return secured, err
}

func sign(doc map[string]any, key ed25519.PrivateKey, verificationMethod string, created time.Time) (map[string]any, *signingInput, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, nil, errors.New("credential: bad Ed25519 private key")
	}
	if !isURL(verificationMethod) {
		return nil, nil, errors.New("credential: verificationMethod must be a URL")
	}
	if _, present := doc["proof"]; present {
		return nil, nil, errors.New("credential: document already has a proof (proof sets and chains are not supported)")
	}
	unsecured, err := normalize(doc)
	if err != nil {
		return nil, nil, fmt.Errorf("credential: %w", err)
	}
	if err := CheckCredential(unsecured); err != nil {
		return nil, nil, fmt.Errorf("credential: %w", err)
	}
	// Step 1: proof is a clone of the options.
	proof := map[string]any{
		"type":               ProofType,
		"cryptosuite":        Cryptosuite,
		"verificationMethod": verificationMethod,
		"proofPurpose":       AssertionMethod,
	}
	if !created.IsZero() {
		proof["created"] = created.UTC().Format("2006-01-02T15:04:05Z")
	}
	// Step 2: the proof carries the document's @context.
	if ctx, present := unsecured["@context"]; present {
		c, err := json.Marshal(ctx) // a copy, not shared with the document
		if err != nil {
			return nil, nil, fmt.Errorf("credential: %w", err)
		}
		if proof["@context"], err = decodeStrict(c); err != nil {
			return nil, nil, fmt.Errorf("credential: %w", err)
		}
	}
	// Steps 3-5: proof configuration, transformation, hashing.
	in, err := hashingInput(unsecured, proof)
	if err != nil {
		return nil, nil, fmt.Errorf("credential: %w", err)
	}
	// Steps 6-7: proof serialization (section 3.3.6) and its base-58-btc multibase encoding.
	proof["proofValue"] = encodeMultibase(ed25519.Sign(key, in.hashData))
	secured := make(map[string]any, len(unsecured)+1)
	for k, v := range unsecured {
		secured[k] = v
	}
	secured["proof"] = proof
	return secured, in, nil
}

// Verify verifies the eddsa-jcs-2022 proof of a secured credential (its JSON text), following
// the Verify Proof algorithms of VC Data Integrity 1.0 (section 4.4) and vc-di-eddsa (section
// 3.3.2). resolve returns the public key of a verificationMethod URL; it must also check that
// the key is authorized for assertionMethod by its controller and that the controller is
// entitled to issue the credential (see the package documentation). Verify returns the verified
// document and proof, or an error saying why verification failed.
func Verify(secured []byte, resolve func(verificationMethod string) (ed25519.PublicKey, error)) (*Verified, error) {
	v, err := decodeStrict(secured)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("credential: document is not a JSON object")
	}
	return verify(doc, resolve)
}

func verify(doc map[string]any, resolve func(string) (ed25519.PublicKey, error)) (*Verified, error) {
	// Data Integrity 4.4, step 2: the proof is a map. (A list is a proof set, not supported.)
	proof, ok := doc["proof"].(map[string]any)
	if !ok {
		if _, isList := doc["proof"].([]any); isList {
			return nil, errors.New("credential: proof sets are not supported")
		}
		return nil, errors.New("credential: no proof object")
	}
	p, err := readProof(proof)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	// Data Integrity 4.4, step 4: the expected proof purpose of a credential.
	if p.ProofPurpose != AssertionMethod {
		return nil, fmt.Errorf("credential: proof purpose is %q, not %q", p.ProofPurpose, AssertionMethod)
	}
	if p.Type != ProofType || p.Cryptosuite != Cryptosuite {
		return nil, fmt.Errorf("credential: proof is %s/%s, not %s/%s", p.Type, p.Cryptosuite, ProofType, Cryptosuite)
	}
	if _, chained := proof["previousProof"]; chained {
		return nil, errors.New("credential: proof chains (previousProof) are not supported")
	}
	// vc-di-eddsa 3.3.2 steps 1-3: the unsecured document, the proof options, the proof bytes.
	unsecured := make(map[string]any, len(doc))
	for k, v := range doc {
		if k != "proof" {
			unsecured[k] = v
		}
	}
	options := make(map[string]any, len(proof))
	for k, v := range proof {
		if k != "proofValue" {
			options[k] = v
		}
	}
	sig, err := decodeMultibase(p.ProofValue)
	if err != nil {
		return nil, fmt.Errorf("credential: proofValue: %w", err)
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("credential: proofValue is %d bytes, not an Ed25519 signature", len(sig))
	}
	// Step 4: the document's @context starts with the proof's, which replaces it.
	if pctx, present := options["@context"]; present {
		if !contextStartsWith(unsecured["@context"], pctx) {
			return nil, errors.New("credential: the document's @context does not start with the proof's @context")
		}
		unsecured["@context"] = pctx
	}
	if err := CheckCredential(unsecured); err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	// Steps 5-7: transformation, proof configuration, hashing.
	in, err := hashingInput(unsecured, options)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	// Step 8: proof verification (section 3.3.7).
	pub, err := resolve(p.VerificationMethod)
	if err != nil {
		return nil, fmt.Errorf("credential: resolving %s: %w", p.VerificationMethod, err)
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("credential: %s resolved to a key that is not Ed25519", p.VerificationMethod)
	}
	if !ed25519.Verify(pub, in.hashData, sig) {
		return nil, errors.New("credential: signature does not verify")
	}
	return &Verified{Document: unsecured, Proof: *p}, nil
}

// readProof reads the members of a proof, requiring those Data Integrity 4.4 step 3 requires
// (type, verificationMethod, proofPurpose) and the proofValue and cryptosuite of a
// DataIntegrityProof (VC Data Integrity section 2.1), all as strings.
func readProof(proof map[string]any) (*Proof, error) {
	p := &Proof{Context: proof["@context"], Other: map[string]any{}}
	fields := map[string]*string{
		"type": &p.Type, "cryptosuite": &p.Cryptosuite, "verificationMethod": &p.VerificationMethod,
		"proofPurpose": &p.ProofPurpose, "proofValue": &p.ProofValue, "created": &p.Created, "expires": &p.Expires,
	}
	for k, v := range proof {
		dst, known := fields[k]
		if !known {
			if k != "@context" {
				p.Other[k] = v
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("proof %s is not a string", k)
		}
		*dst = s
	}
	for _, k := range []string{"type", "cryptosuite", "verificationMethod", "proofPurpose", "proofValue"} {
		if *fields[k] == "" {
			return nil, fmt.Errorf("proof has no %s", k)
		}
	}
	for _, k := range []string{"created", "expires"} {
		if _, present := proof[k]; present {
			if _, err := parseDateTime(*fields[k], false); err != nil {
				return nil, fmt.Errorf("proof %s: %v", k, err)
			}
		}
	}
	return p, nil
}

// contextStartsWith reports whether the document's @context starts with all the values of the
// proof's @context in the same order (vc-di-eddsa section 3.3.2, step 4). A single value counts
// as a list of one.
func contextStartsWith(docCtx, proofCtx any) bool {
	d, p := asList(docCtx), asList(proofCtx)
	if docCtx == nil || len(p) > len(d) {
		return false
	}
	for i := range p {
		if !sameJSON(d[i], p[i]) {
			return false
		}
	}
	return true
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// sameJSON compares two decoded JSON values by their canonical form.
func sameJSON(a, b any) bool {
	ca, err1 := canonicalize(a)
	cb, err2 := canonicalize(b)
	return err1 == nil && err2 == nil && string(ca) == string(cb)
}
