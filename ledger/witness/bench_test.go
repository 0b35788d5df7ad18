package witness_test

import (
	"testing"
)

// BenchmarkAddCheckpoint measures one add-checkpoint round trip over loopback HTTP: parse,
// verify the log signature and a consistency proof, cosign, persist (with two fsyncs), and
// verify the cosignature in the client. Each iteration grows the log by one leaf.
func BenchmarkAddCheckpoint(b *testing.B) {
	const start = 1000
	f := newFixture(b, start+b.N)
	f.advance(b, start)
	cps := make([][]byte, b.N)
	proofs := make([][][32]byte, b.N)
	for i := range b.N {
		n := int64(start + i + 1)
		cps[i] = f.log.checkpoint(b, n)
		proofs[i] = f.log.tree.proof(b, n-1, n)
	}
	b.ResetTimer()
	for i := range b.N {
		if _, err := f.client.AddCheckpoint(b.Context(), uint64(start+i), proofs[i], cps[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddCheckpointRefused measures a refused request (409): what a witness spends on
// a stale or hostile submission that carries a valid log signature.
func BenchmarkAddCheckpointRefused(b *testing.B) {
	f := newFixture(b, 10)
	f.advance(b, 5)
	body := body(0, nil, f.log.checkpoint(b, 10))
	b.ResetTimer()
	for range b.N {
		if rec := postRecorder(b, f.server, body); rec.Code != 409 {
			b.Fatalf("status %d, want 409", rec.Code)
		}
	}
}
