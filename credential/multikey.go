package credential

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ed25519PubHeader is the multicodec header of an Ed25519 public key, ed25519-pub (0xed) as an
// unsigned varint (Controlled Identifiers v1.0, "Multikey"; vc-di-eddsa section 2.1.1).
var ed25519PubHeader = []byte{0xed, 0x01}

// Multikey returns the publicKeyMultibase of an Ed25519 public key: 'z' followed by the base-58-btc
// encoding of 0xed 0x01 and the 32 key bytes (vc-di-eddsa section 2.1.1).
func Multikey(pub ed25519.PublicKey) string {
	return encodeMultibase(append(append([]byte{}, ed25519PubHeader...), pub...))
}

// ParseMultikey parses the publicKeyMultibase of an Ed25519 Multikey, refusing any other
// multibase encoding or multicodec header (vc-di-eddsa section 2.1.1).
func ParseMultikey(s string) (ed25519.PublicKey, error) {
	b, err := decodeMultibase(s)
	if err != nil {
		return nil, fmt.Errorf("multikey: %w", err)
	}
	if len(b) != len(ed25519PubHeader)+ed25519.PublicKeySize || !bytes.HasPrefix(b, ed25519PubHeader) {
		return nil, errors.New("multikey: not an Ed25519 public key (header 0xed01 and 32 bytes)")
	}
	return ed25519.PublicKey(b[len(ed25519PubHeader):]), nil
}

// didWeb matches a did:web DID (did:web Method Specification, "Method-Specific Identifier"):
// a domain name, with a port written %3A, then optional ':'-separated path segments.
var didWeb = regexp.MustCompile(`^did:web:([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(%3[aA][0-9]{1,5})?((:[A-Za-z0-9._~-]+)*)$`)

// DIDWebURL returns the URL of the DID document of a did:web DID (did:web Method Specification,
// "Read (Resolve)"): did:web:example.com is https://example.com/.well-known/did.json and
// did:web:example.com:issuers:a is https://example.com/issuers/a/did.json.
func DIDWebURL(did string) (string, error) {
	m := didWeb.FindStringSubmatch(did)
	if m == nil {
		return "", fmt.Errorf("did:web: %q is not a did:web DID", did)
	}
	host, port, path := m[1], m[5], m[6]
	if port != "" {
		port = ":" + port[3:]
	}
	if path == "" {
		return "https://" + host + port + "/.well-known/did.json", nil
	}
	segs := strings.Split(path[1:], ":")
	for _, s := range segs {
		if s == "." || s == ".." {
			return "", fmt.Errorf("did:web: bad path segment %q", s)
		}
	}
	return "https://" + host + port + "/" + strings.Join(segs, "/") + "/did.json", nil
}

// VerificationMethodID returns the URL by which a DID document made by DIDWebDocument names
// the key: the DID with the key's multikey as fragment, so that a new key gets a new URL.
func VerificationMethodID(did string, pub ed25519.PublicKey) string {
	return did + "#" + Multikey(pub)
}

// DIDWebDocument returns the DID document to publish at DIDWebURL(did): a verification method
// of type Multikey controlled by the DID, listed under assertionMethod, the verification
// relationship of credential proofs (Controlled Identifiers v1.0, "Multikey" and "Assertion").
func DIDWebDocument(did string, pub ed25519.PublicKey) (map[string]any, error) {
	if _, err := DIDWebURL(did); err != nil {
		return nil, err
	}
	if len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("did:web: bad Ed25519 public key")
	}
	vm := VerificationMethodID(did, pub)
	return map[string]any{
		"@context": []any{"https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"},
		"id":       did,
		"verificationMethod": []any{map[string]any{
			"id":                 vm,
			"type":               "Multikey",
			"controller":         did,
			"publicKeyMultibase": Multikey(pub),
		}},
		"assertionMethod": []any{vm},
	}, nil
}

// KeyFromDIDDocument returns the Ed25519 key that a DID document (its JSON text) authorizes for
// assertionMethod under the URL verificationMethod, following the retrieval of a verification
// method in Controlled Identifiers v1.0, section 3.3 "Retrieve Verification Method": the URL is the document's id with a
// fragment; the document's assertionMethod lists it (by reference or embedded); the method is
// a Multikey whose controller is the document's id. It does not fetch anything: the caller
// gets the document from DIDWebURL of the DID it expects (and should check that DID is the
// credential's issuer).
func KeyFromDIDDocument(didDocument []byte, verificationMethod string) (ed25519.PublicKey, error) {
	v, err := decodeStrict(didDocument)
	if err != nil {
		return nil, fmt.Errorf("did document: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("did document: not a JSON object")
	}
	id, _ := doc["id"].(string)
	base, fragment, found := strings.Cut(verificationMethod, "#")
	if id == "" || base != id || !found || fragment == "" {
		return nil, fmt.Errorf("did document: %s is not a verification method of %q", verificationMethod, id)
	}
	// abs resolves a relative reference ("#key-1") against the document's id.
	abs := func(ref string) string {
		if strings.HasPrefix(ref, "#") {
			return id + ref
		}
		return ref
	}
	var method map[string]any
	authorized := false
	rels, _ := doc["assertionMethod"].([]any)
	for _, r := range rels {
		switch r := r.(type) {
		case string:
			if abs(r) == verificationMethod {
				authorized = true
			}
		case map[string]any:
			if s, _ := r["id"].(string); abs(s) == verificationMethod {
				authorized, method = true, r
			}
		}
	}
	if !authorized {
		return nil, fmt.Errorf("did document: %s is not an assertionMethod of %s", verificationMethod, id)
	}
	if method == nil {
		vms, _ := doc["verificationMethod"].([]any)
		for _, m := range vms {
			if m, ok := m.(map[string]any); ok {
				if s, _ := m["id"].(string); abs(s) == verificationMethod {
					if method != nil {
						return nil, fmt.Errorf("did document: %s is listed twice", verificationMethod)
					}
					method = m
				}
			}
		}
	}
	if method == nil {
		return nil, fmt.Errorf("did document: no verification method %s", verificationMethod)
	}
	if method["type"] != "Multikey" {
		return nil, fmt.Errorf("did document: %s is not a Multikey", verificationMethod)
	}
	if method["controller"] != id {
		return nil, fmt.Errorf("did document: %s is not controlled by %s", verificationMethod, id)
	}
	mb, _ := method["publicKeyMultibase"].(string)
	return ParseMultikey(mb)
}
