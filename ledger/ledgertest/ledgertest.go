// Package ledgertest holds what tests of the ledger and of its users (mirrors, the browser
// verifiers) make the same way: note keys, witnesses, a log key's rotation entry.
package ledgertest

import (
	"crypto/rand"
	"net/http/httptest"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/witness"
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

// Witness is a real witness (package ledger/witness) on httptest.
type Witness struct {
	Server   *httptest.Server
	Verifier note.Verifier   // its cosignature/v1 verifier
	VKey     string          // the same, as text (what govhub keygen prints)
	PlainKey string          // the same key in the older Ed25519 (0x01) encoding, which verifiers also take
	Client   *witness.Client // what a log pushes its checkpoints to
}

// StartWitness starts a witness named name that follows every given log (origin), closed when
// the test ends.
func StartWitness(t testing.TB, name string, logs ...note.Verifier) *Witness {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	cvkey, err := fnote.VKeyToCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := fnote.NewSignerForCosignatureV1(skey)
	if err != nil {
		t.Fatal(err)
	}
	var ls []witness.Log
	for _, v := range logs {
		ls = append(ls, witness.Log{Origin: v.Name(), Verifier: v})
	}
	ws, err := witness.NewServer(witness.Config{Signer: signer, StateDir: t.TempDir(), Logs: ls})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	v, err := fnote.NewVerifierForCosignatureV1(cvkey)
	if err != nil {
		t.Fatal(err)
	}
	return &Witness{Server: srv, Verifier: v, VKey: cvkey, PlainKey: vkey, Client: witness.NewClient(srv.URL, v, srv.Client())}
}

// LogKeyRotation is the rotation entry of the log key to vkey, as an operator's (ledger.Log.RotateKey).
func LogKeyRotation(vkey string) ledger.Entry {
	return ledger.Entry{Kind: ledger.KindRotation, Time: time.Now().UTC().Truncate(time.Millisecond), Department: "operations",
		Role: "operator", Policy: 1, Outcome: ledger.OutcomeAllowed, Reason: ledger.ReasonLogKey, Record: ledger.LogKeyDigest(vkey)}
}
