package ledger_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/govhub/govhub/ledger"
	"github.com/govhub/govhub/ledger/witness"
	"github.com/govhub/govhub/store/storetest"
)

// testWitness is a real witness server on httptest, following one log.
type testWitness struct {
	srv      *httptest.Server
	verifier note.Verifier // its cosignature verifier
	client   *witness.Client
}

func startWitness(t *testing.T, name string, logV note.Verifier) *testWitness {
	t.Helper()
	return startWitnessOf(t, name, logV)
}

func cosigners(ws ...*testWitness) []ledger.Cosigner {
	out := make([]ledger.Cosigner, len(ws))
	for i, w := range ws {
		out[i] = w.client
	}
	return out
}

func verifiers(ws ...*testWitness) []ledger.Witness {
	out := make([]ledger.Witness, len(ws))
	for i, w := range ws {
		out[i] = w.verifier
	}
	return out
}

// Checkpoints are published once a quorum of witnesses cosigned them; a witness down does not stop
// publication while the quorum holds; below the quorum nothing new is published.
func TestWitnessQuorum(t *testing.T) {
	env := storetest.Embedded(t)
	s, v := keys(t)
	w1, w2, w3 := startWitness(t, "w1.example", v), startWitness(t, "w2.example", v), startWitness(t, "w3.example", v)
	l := openLog(t, env, s, v, ledger.WithWitnesses(cosigners(w1, w2, w3), 2))
	appendN(t, l, 300)
	wait := func(n uint64, d time.Duration) (ledger.Checkpoint, error) {
		ctx, cancel := context.WithTimeout(t.Context(), d)
		defer cancel()
		return l.WaitCheckpoint(ctx, n)
	}
	cp, err := wait(300, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledger.CheckCosignatures(cp.Note, v, verifiers(w1, w2, w3), 3); err != nil {
		t.Errorf("all three witnesses up: %v", err)
	}

	w3.srv.Close()
	appendN(t, l, 10)
	cp, err = wait(310, 10*time.Second)
	if err != nil {
		t.Fatalf("with one witness down and a quorum of 2: %v", err)
	}
	if err := ledger.CheckCosignatures(cp.Note, v, verifiers(w1, w2, w3), 2); err != nil {
		t.Errorf("two of three: %v", err)
	}

	w2.srv.Close()
	appendN(t, l, 10)
	if _, err := wait(320, 1500*time.Millisecond); err == nil {
		t.Fatal("a checkpoint was published with one witness of a quorum of two")
	}
	if got := l.Integrated().Size; got != 320 {
		t.Errorf("integrated size = %d, want 320 (signing goes on; publishing waits)", got)
	}
	if got := l.Latest().Size; got != 310 {
		t.Errorf("published size = %d, want 310", got)
	}

	// A restarted log serves the last cosigned checkpoint.
	l.Shutdown(t.Context())
	l2 := openLog(t, env, s, v, ledger.WithWitnesses(cosigners(w1, w2, w3), 2))
	if got := l2.Latest(); got.Size != 310 || ledger.CheckCosignatures(got.Note, v, verifiers(w1, w2), 2) != nil {
		t.Errorf("after restart Latest = size %d, want the cosigned 310", got.Size)
	}
}

// A split view — two different trees of the same size under the same log key — is refused by a
// witness that cosigned one of them.
func TestWitnessRefusesSplitView(t *testing.T) {
	s, v := keys(t)
	w := startWitness(t, "w.example", v)
	honest := openLog(t, storetest.Embedded(t), s, v, ledger.WithWitnesses(cosigners(w), 1))
	for i := range 20 {
		if _, err := honest.Append(t.Context(), entry(i)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := honest.WaitCheckpoint(ctx, 20); err != nil {
		t.Fatal(err)
	}
	fork := openLog(t, storetest.Embedded(t), s, v, ledger.WithWitnesses(cosigners(w), 1))
	for i := range 20 {
		if _, err := fork.Append(t.Context(), entry(1000+i)); err != nil {
			t.Fatal(err)
		}
	}
	// The fork signs its own checkpoint of size 20, but the witness never cosigns it.
	if err := fork.WaitCaughtUp(ctx); err != nil || fork.Integrated().Size != 20 {
		t.Fatalf("fork integrated size %d, %v; want 20", fork.Integrated().Size, err)
	}
	time.Sleep(500 * time.Millisecond) // rounds in which the fork pushes to the witness
	if got := fork.Latest(); got.Note != nil && got.Size == 20 {
		t.Fatalf("the witness cosigned a second tree of size 20")
	}
	pushed, err := w.client.AddCheckpoint(t.Context(), 20, nil, fork.Integrated().Note)
	if !errors.Is(err, witness.ErrInconsistent) || pushed != nil {
		t.Errorf("pushing the fork's checkpoint of the same size = %v, want ErrInconsistent", err)
	}
	// A longer fork is refused too: its proof from its own tree of size 20 does not extend the
	// honest one.
	for i := range 5 {
		if _, err := fork.Append(t.Context(), entry(2000+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fork.WaitCaughtUp(ctx); err != nil || fork.Integrated().Size != 25 {
		t.Fatalf("fork integrated size %d, %v; want 25", fork.Integrated().Size, err)
	}
	proof, err := fork.Reader().ProveConsistency(t.Context(), 20, 25)
	if err != nil {
		t.Fatal(err)
	}
	pb := make([][32]byte, len(proof))
	for i := range proof {
		pb[i] = proof[i]
	}
	pushed, err = w.client.AddCheckpoint(t.Context(), 20, pb, fork.Integrated().Note)
	if !errors.Is(err, witness.ErrInconsistent) || pushed != nil {
		t.Errorf("pushing the longer fork's checkpoint = %v, want ErrInconsistent", err)
	}
	time.Sleep(500 * time.Millisecond)
	if got := fork.Latest(); got.Note != nil {
		t.Errorf("the fork got a checkpoint cosigned: %s", strings.SplitN(string(got.Note), "\n", 3)[1])
	}
}
