package hub

import (
	"crypto/ed25519"
	"errors"
	"slices"
	"sync/atomic"

	"github.com/govhub/govhub/certificate"
)

// CredentialKeys is the credential key certificates and statuses are signed with, and the keys it
// replaced (a key rotation), whose certificates and statuses still verify: the issuer's DID
// document (DIDDocument, served at /.well-known/did.json and carried in every verification
// document) lists the current key first, then the earlier ones, newest first, each its own
// verification method. A rotation swaps the key and the document together, so a credential is
// never signed by a key the document being served does not list. It is safe for concurrent use.
type CredentialKeys struct {
	did string
	cur atomic.Pointer[credentialKeySet]
}

type credentialKeySet struct {
	key    ed25519.PrivateKey
	public []ed25519.PublicKey // the current key first, then the earlier ones, newest first
	didDoc []byte
}

// NewCredentialKeys returns the credential keys of the issuer did: key signs; previous are the
// keys it replaced, newest first (a key given twice, or key itself, is listed once).
func NewCredentialKeys(did string, key ed25519.PrivateKey, previous ...ed25519.PublicKey) (*CredentialKeys, error) {
	k := &CredentialKeys{did: did}
	if err := k.Rotate(key, previous...); err != nil {
		return nil, err
	}
	return k, nil
}

// Rotate makes key the signing key, with previous (newest first) the earlier keys the DID
// document keeps listing; the caller includes the key being replaced. Certificates signed from
// then on are signed by key.
func (k *CredentialKeys) Rotate(key ed25519.PrivateKey, previous ...ed25519.PublicKey) error {
	if len(key) != ed25519.PrivateKeySize {
		return errors.New("hub: a credential key is an Ed25519 private key")
	}
	public := []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}
	for _, p := range previous {
		if len(p) != ed25519.PublicKeySize {
			return errors.New("hub: an earlier credential key is not an Ed25519 public key")
		}
		if !slices.ContainsFunc(public, func(q ed25519.PublicKey) bool { return q.Equal(p) }) {
			public = append(public, slices.Clone(p))
		}
	}
	doc, err := certificate.DIDDocument(k.did, public...)
	if err != nil {
		return err
	}
	k.cur.Store(&credentialKeySet{key: key, public: public, didDoc: doc})
	return nil
}

// Public returns the public keys, the current one first, then the earlier ones, newest first.
func (k *CredentialKeys) Public() []ed25519.PublicKey {
	return slices.Clone(k.cur.Load().public)
}

// DIDDocument returns the issuer's DID document (JSON) listing every key.
func (k *CredentialKeys) DIDDocument() []byte { return slices.Clone(k.cur.Load().didDoc) }

// signing returns the current key and the DID document that lists it.
func (k *CredentialKeys) signing() (ed25519.PrivateKey, []byte) {
	s := k.cur.Load()
	return s.key, s.didDoc
}
