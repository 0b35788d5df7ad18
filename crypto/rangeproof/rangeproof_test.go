package rangeproof

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/govhub/govhub/crypto/commit"
)

// testRand returns a deterministic randomness source for seed.
func testRand(seed string) *rand.ChaCha8 {
	var s [32]byte
	copy(s[:], seed)
	return rand.NewChaCha8(s)
}

// committed returns a commitment to v with a blinding from rnd.
func committed(t testing.TB, rnd *rand.ChaCha8, v int64) (commit.Commitment, commit.Blinding) {
	t.Helper()
	r, err := commit.NewBlinding(rnd)
	if err != nil {
		t.Fatal(err)
	}
	return commit.Commit(commit.Int(v), r), r
}

func TestProveVerify(t *testing.T) {
	rnd := testRand("TestProveVerify")
	for _, tc := range []struct {
		v int64
		s Statement
	}{
		{10, AtLeast(10)},
	} {
		c, r := committed(t, rnd, tc.v)
		p, err := Prove(rnd, c, tc.v, r, tc.s, []byte("ctx"))
		if err != nil {
			t.Fatalf("Prove(%d, %v): %v", tc.v, tc.s, err)
		}
		if err := Verify(c, tc.s, []byte("ctx"), p); err != nil {
			t.Fatalf("Verify(%d, %v): %v", tc.v, tc.s, err)
		}
		if err := Verify(c, tc.s, []byte("ctx2"), p); !errors.Is(err, ErrRejected) {
			t.Fatalf("Verify other context: %v", err)
		}
	}
}
