package witness_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"

	"github.com/govhub/govhub/ledger/witness"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// hashList is an in-memory tlog.HashReader.
type hashList []tlog.Hash

func (l hashList) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = l[x]
	}
	return out, nil
}

// A log pushes its checkpoints to a witness, which cosigns them; when the log's idea of the
// witness's size is stale, the 409 answer tells it where to prove from.
func Example() {
	ctx := context.Background()

	// The log: a note key and a tree of three records.
	logSkey, logVkey, _ := note.GenerateKey(rand.Reader, "example.gov/tax-log")
	logSigner, _ := note.NewSigner(logSkey)
	logVerifier, _ := note.NewVerifier(logVkey)
	var hashes hashList
	for i := range 3 {
		hs, _ := tlog.StoredHashes(int64(i), fmt.Appendf(nil, "record %d", i), hashes)
		hashes = append(hashes, hs...)
	}
	checkpoint := func(size int64) []byte {
		root, _ := tlog.TreeHash(size, hashes)
		text := fmt.Sprintf("example.gov/tax-log\n%d\n%s\n", size, root)
		signed, _ := note.Sign(&note.Note{Text: text}, logSigner)
		return signed
	}
	proof := func(old, size int64) [][32]byte {
		p, _ := tlog.ProveTree(size, old, hashes)
		out := make([][32]byte, len(p))
		for i, h := range p {
			out[i] = h
		}
		return out
	}

	// The witness, following that log.
	wSkey, wVkey, _ := note.GenerateKey(rand.Reader, "witness.example.gov/w1")
	wSigner, _ := fnote.NewSignerForCosignatureV1(wSkey)
	dir, _ := os.MkdirTemp("", "witness")
	defer os.RemoveAll(dir)
	srv, err := witness.NewServer(witness.Config{
		Signer:   wSigner,
		Logs:     []witness.Log{{Origin: "example.gov/tax-log", Verifier: logVerifier}},
		StateDir: dir,
	})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// The log's side.
	wVerifier, _ := fnote.NewVerifierForCosignatureV1(wVkey)
	c := witness.NewClient(ts.URL, wVerifier, ts.Client())
	if _, err := c.AddCheckpoint(ctx, 0, nil, checkpoint(2)); err != nil {
		log.Fatal(err)
	}
	fmt.Println("cosigned size 2")

	_, err = c.AddCheckpoint(ctx, 0, nil, checkpoint(3)) // forgot where the witness is
	var conflict *witness.ConflictError
	if errors.As(err, &conflict) {
		fmt.Println("witness is at size", conflict.Size)
	}
	cosig, err := c.AddCheckpoint(ctx, conflict.Size, proof(int64(conflict.Size), 3), checkpoint(3))
	if err != nil {
		log.Fatal(err)
	}
	cosigned, err := note.Open(append(checkpoint(3), cosig...), note.VerifierList(logVerifier, wVerifier))
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range cosigned.Sigs {
		fmt.Println("size 3 signed by", s.Name)
	}
	// Output:
	// cosigned size 2
	// witness is at size 2
	// size 3 signed by example.gov/tax-log
	// size 3 signed by witness.example.gov/w1
}
