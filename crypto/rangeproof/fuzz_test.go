package rangeproof

import (
	"bytes"
	"errors"
	"testing"

	"github.com/govhub/govhub/crypto/commit"
)

// FuzzVerify feeds arbitrary proofs, statements and contexts to Verify. It
// must never panic, every error must be one of the documented ones, and
// nothing but the seeded honest proofs (with their own statement and
// context) may verify: anything else accepted would be a forgery.
func FuzzVerify(f *testing.F) {
	rnd := testRand("FuzzVerify")
	const v = 77
	c, r := committed(f, rnd, v)
	type honest struct {
		s     Statement
		ctx   []byte
		proof []byte
	}
	var valid []honest
	for _, s := range []Statement{AtLeast(-100), AtMost(100), Between(70, 80)} {
		ctx := []byte("fuzz " + s.String())
		p, err := Prove(rnd, c, v, r, s, ctx)
		if err != nil {
			f.Fatal(err)
		}
		valid = append(valid, honest{s, ctx, p})
		f.Add(string(s.Kind), s.Min, s.Max, ctx, p)
	}
	f.Add("atLeast", int64(0), int64(0), []byte{}, []byte{Version})
	f.Add("between", int64(5), int64(1), []byte("x"), valid[2].proof)
	f.Fuzz(func(t *testing.T, kind string, lo, hi int64, ctx, proof []byte) {
		s := Statement{Kind: Kind(kind), Min: lo, Max: hi}
		err := Verify(c, s, ctx, proof)
		if err == nil {
			for _, h := range valid {
				if h.s == s && bytes.Equal(h.ctx, ctx) && bytes.Equal(h.proof, proof) {
					return
				}
			}
			t.Fatalf("a proof that is not an honest one verifies: %v, context %q, proof %x", s, ctx, proof)
		}
		if !errors.Is(err, ErrInvalidStatement) && !errors.Is(err, ErrMalformed) &&
			!errors.Is(err, ErrRejected) && !errors.Is(err, commit.ErrInvalid) {
			t.Fatalf("undocumented error: %v", err)
		}
	})
}

// FuzzParse feeds arbitrary bytes to the proof parser: it must never panic,
// and whatever it accepts must encode back to the same bytes (one encoding
// per proof).
func FuzzParse(f *testing.F) {
	rnd := testRand("FuzzParse")
	for _, s := range []Statement{AtLeast(0), Between(0, 9)} {
		_, p := mustProve(f, rnd, 5, s, "")
		f.Add(p)
	}
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Fuzz(func(t *testing.T, b []byte) {
		for m := 1; m <= maxValues; m++ {
			p, err := parseProof(b, m)
			if err != nil {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("undocumented error: %v", err)
				}
				continue
			}
			if !bytes.Equal(p.marshal(), b) {
				t.Fatalf("accepted a non-canonical encoding %x", b)
			}
		}
	})
}
