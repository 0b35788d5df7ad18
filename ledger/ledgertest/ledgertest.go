// Package ledgertest holds what tests of the ledger and of its users (mirrors, the browser
// verifiers) make the same way: note keys for a log.
package ledgertest

import (
	"crypto/rand"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// NoteKey makes a fresh Ed25519 note key named name (a log's origin): its signer, its verifier and
// the verifier key's text.
func NoteKey(t testing.TB, name string) (note.Signer, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v, vkey
}
