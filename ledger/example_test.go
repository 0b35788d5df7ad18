package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
)

// An example key pair (its seed is public: never use it for a real log).
const (
	exampleSignerKey   = "PRIVATE+KEY+govhub.example/ledger+141cb3f8+AQcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH"
	exampleVerifierKey = "govhub.example/ledger+141cb3f8+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
)

// Append an entry, wait for a checkpoint that covers it, prove its inclusion, and check the proof
// as a verifier does, with the log's verifier key alone. The storage here is in memory; the hub
// uses the store's MongoDB or embedded implementation of ledger.Storage.
func Example() {
	ctx := context.Background()
	signer, err := note.NewSigner(exampleSignerKey)
	if err != nil {
		log.Fatal(err)
	}
	verifier, err := note.NewVerifier(exampleVerifierKey)
	if err != nil {
		log.Fatal(err)
	}
	lg, err := ledger.New(ctx, ledger.Config{Storage: newMemStorage(), Signer: signer, Verifier: verifier})
	if err != nil {
		log.Fatal(err)
	}
	defer lg.Shutdown(ctx)

	// Append: the receipt is the log's signed promise of the entry's index and leaf hash. This is
	// the entry of the package documentation's worked example (testdata/entry-access.txt).
	e := ledger.Entry{
		Version:    1,
		Kind:       ledger.KindAccess,
		Time:       time.Date(2026, 11, 21, 6, 30, 5, 120_000_000, time.UTC),
		Department: "housing",
		Role:       "clerk",
		Purpose:    "home-purchase-eligibility",
		Policy:     1,
		Request:    bytes.Repeat([]byte{0x0f}, 32),
		Outcome:    ledger.OutcomeAllowed,
		Subjects:   [][]byte{bytes.Repeat([]byte{0x5b}, 32)},
		Fields: []ledger.Field{
			{Name: "identity.name", Level: "reveal"},
			{Name: "tax.annualIncome", Level: "commit"},
			{Name: "health.bloodType", Level: "deny"},
		},
	}
	var receipts []ledger.Receipt
	for policy := range uint64(3) {
		e.Policy = policy + 1
		r, err := lg.Append(ctx, e)
		if err != nil {
			log.Fatal(err)
		}
		if err := ledger.CheckReceipt(lg.Reader().Keys().Current(), r); err != nil {
			log.Fatal(err)
		}
		receipts = append(receipts, r)
	}
	r := receipts[0]
	fmt.Printf("receipt: entry %d, leaf hash %s\n", r.Index, r.LeafHash)

	// Checkpoint: a signed tree head covering every entry appended.
	cp, err := lg.WaitCheckpoint(ctx, 3)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("checkpoint: %s, size %d, root %s\n", cp.Origin, cp.Size, cp.Root)

	// Inclusion proof, from the log's read side.
	proof, err := lg.Reader().ProveInclusion(ctx, r.Index, cp.Size)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("inclusion proof of entry %d in the tree of size %d: %d hashes\n", r.Index, cp.Size, len(proof))

	// Check, offline: the checkpoint's signature under the verifier key, then the proof.
	checked, err := ledger.ParseCheckpoint(cp.Note, verifier)
	if err != nil {
		log.Fatal(err)
	}
	if err := ledger.CheckInclusion(proof, checked, r.Index, r.LeafHash); err != nil {
		log.Fatal(err)
	}
	fmt.Println("entry 0 is in the checkpoint")
	err = ledger.CheckInclusion(proof, checked, r.Index, receipts[1].LeafHash)
	fmt.Println("another entry's leaf hash at index 0 is an invalid proof:", errors.Is(err, ledger.ErrInvalidProof))

	// Output:
	// receipt: entry 0, leaf hash 3QgnnL3k0N3c9u2zaPwXu4FCevoTdKbBII8AwlnLqL4=
	// checkpoint: govhub.example/ledger, size 3, root h7MfckXb74DckrIGSYTvRxVWXKl03iain7VcW8Srp+k=
	// inclusion proof of entry 0 in the tree of size 3: 2 hashes
	// entry 0 is in the checkpoint
	// another entry's leaf hash at index 0 is an invalid proof: true
}
