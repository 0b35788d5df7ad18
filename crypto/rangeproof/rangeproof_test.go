package rangeproof

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fp"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

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

// mustProve proves s about a fresh commitment to v.
func mustProve(t testing.TB, rnd *rand.ChaCha8, v int64, s Statement, ctx string) (commit.Commitment, []byte) {
	t.Helper()
	c, r := committed(t, rnd, v)
	p, err := Prove(rnd, c, v, r, s, []byte(ctx))
	if err != nil {
		t.Fatalf("Prove(v=%d, %v): %v", v, s, err)
	}
	return c, p
}

const span = 1<<Bits - 1 // the largest provable difference

func TestGenerators(t *testing.T) {
	gens := generators()
	// The points documented in crypto/commit's package documentation.
	const (
		wantG = "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb"
		wantH = "939bb95ddf30297d778760e64a43f8fa8e599301a070cfab081a03949adb1510d746f392329b519a6f1d528139dec8fc"
	)
	if got := hexPoint(&gens.g); got != wantG {
		t.Errorf("G = %s, want %s", got, wantG)
	}
	if got := hexPoint(&gens.h); got != wantH {
		t.Errorf("H = %s, want %s", got, wantH)
	}
	// Commit(Int(v), r) = v·G + r·H computed here.
	rnd := testRand("TestGenerators")
	for _, v := range []int64{0, 1, 42, -7, math.MaxInt64, math.MinInt64} {
		c, r := committed(t, rnd, v)
		var vs, rs fr.Element
		vs.SetInt64(v)
		if err := rs.SetBytesCanonical(r[:]); err != nil {
			t.Fatal(err)
		}
		p := msm([]bls12381.G1Affine{gens.g, gens.h}, []fr.Element{vs, rs})
		if p.Bytes() != [48]byte(c) {
			t.Errorf("v=%d: v·G + r·H differs from commit.Commit", v)
		}
	}
	// All generators distinct and none the point at infinity.
	seen := map[[48]byte]bool{gens.g.Bytes(): true, gens.h.Bytes(): true, gens.u.Bytes(): true}
	for i := range maxN {
		for _, p := range []*bls12381.G1Affine{&gens.gs[i], &gens.hs[i]} {
			b := p.Bytes()
			if seen[b] || p.IsInfinity() {
				t.Fatalf("generator %d repeated or infinity", i)
			}
			seen[b] = true
		}
	}
	if len(seen) != 2*maxN+3 {
		t.Fatalf("%d distinct generators, want %d", len(seen), 2*maxN+3)
	}
}

func TestStatement(t *testing.T) {
	for _, tc := range []struct {
		s     Statement
		valid bool
	}{
		{AtLeast(3), true},
		{AtMost(-3), true},
		{Between(-3, 3), true},
		{Between(3, 3), true},
		{Between(4, 3), false},
		{Statement{Kind: KindAtLeast, Min: 1, Max: 2}, false},
		{Statement{Kind: KindAtMost, Min: 1, Max: 2}, false},
		{Statement{Kind: "atleast"}, false},
		{Statement{}, false},
	} {
		err := tc.s.Validate()
		if (err == nil) != tc.valid {
			t.Errorf("%+v.Validate() = %v, want valid %v", tc.s, err, tc.valid)
		}
		if err != nil && !errors.Is(err, ErrInvalidStatement) {
			t.Errorf("%+v.Validate() = %v, want ErrInvalidStatement", tc.s, err)
		}
		if !tc.valid && tc.s.Holds(tc.s.Min) {
			t.Errorf("invalid %+v holds", tc.s)
		}
	}
	for _, tc := range []struct {
		s    Statement
		v    int64
		want bool
	}{
		{AtLeast(10), 10, true},
		{AtLeast(10), 9, false},
		{AtLeast(10), 10 + span, true},
		{AtLeast(10), 10 + span + 1, false},
		{AtLeast(-5), -5, true},
		{AtLeast(-5), 0, true},
		{AtLeast(math.MinInt64), math.MinInt64 + span, true},
		{AtLeast(math.MinInt64), math.MaxInt64, false},
		{AtMost(10), 10, true},
		{AtMost(10), 11, false},
		{AtMost(10), 10 - span, true},
		{AtMost(10), 10 - span - 1, false},
		{AtMost(math.MaxInt64), math.MinInt64, false},
		{AtMost(math.MaxInt64), math.MaxInt64, true},
		{Between(-1, 1), -1, true},
		{Between(-1, 1), 1, true},
		{Between(-1, 1), 2, false},
		{Between(-1, 1), -2, false},
		{Between(0, 2*span), span, true},
		{Between(0, 2*span), span + 1, false}, // v − Min = 2^32
		{Between(0, 2*span+1), span, false},   // Max − v = 2^32
	} {
		if got := tc.s.Holds(tc.v); got != tc.want {
			t.Errorf("%v holds for %d: %v, want %v", tc.s, tc.v, got, tc.want)
		}
	}
}

func TestProveVerify(t *testing.T) {
	rnd := testRand("TestProveVerify")
	for _, tc := range []struct {
		v int64
		s Statement
	}{
		{10, AtLeast(10)},
		{10 + span, AtLeast(10)},
		{0, AtLeast(0)},
		{0, AtLeast(-1)},
		{-1, AtLeast(-span - 1)},
		{-5, AtLeast(-5)},
		{math.MinInt64, AtLeast(math.MinInt64)},
		{math.MaxInt64, AtLeast(math.MaxInt64 - span)},
		{10, AtMost(10)},
		{10 - span, AtMost(10)},
		{0, AtMost(0)},
		{-7, AtMost(-3)},
		{math.MaxInt64, AtMost(math.MaxInt64)},
		{math.MinInt64, AtMost(math.MinInt64 + span)},
		{5, Between(5, 5)},
		{-3, Between(-3, 7)},
		{7, Between(-3, 7)},
		{0, Between(-3, 7)},
		{span, Between(0, 2*span)},
		{math.MinInt64, Between(math.MinInt64, math.MinInt64+1)},
	} {
		c, p := mustProve(t, rnd, tc.v, tc.s, "request 1")
		if len(p) != ProofSize(tc.s) {
			t.Errorf("%v: proof of %d bytes, want %d", tc.s, len(p), ProofSize(tc.s))
		}
		if err := Verify(c, tc.s, []byte("request 1"), p); err != nil {
			t.Errorf("Verify(v=%d, %v): %v", tc.v, tc.s, err)
		}
	}
}

func TestProofSize(t *testing.T) {
	if got := ProofSize(AtLeast(0)); got != 833 {
		t.Errorf("one-sided proof size %d, want 833", got)
	}
	if got := ProofSize(AtMost(0)); got != 833 {
		t.Errorf("one-sided proof size %d, want 833", got)
	}
	if got := ProofSize(Between(0, 1)); got != 929 {
		t.Errorf("between proof size %d, want 929", got)
	}
}

func TestProveRefuses(t *testing.T) {
	rnd := testRand("TestProveRefuses")
	for _, tc := range []struct {
		v int64
		s Statement
	}{
		{9, AtLeast(10)},
		{10 + span + 1, AtLeast(10)},
		{math.MaxInt64, AtLeast(math.MinInt64)},
		{11, AtMost(10)},
		{10 - span - 1, AtMost(10)},
		{math.MinInt64, AtMost(math.MaxInt64)},
		{-4, Between(-3, 7)},
		{8, Between(-3, 7)},
		{span, Between(0, 2*span+1)},
	} {
		c, r := committed(t, rnd, tc.v)
		if _, err := Prove(rnd, c, tc.v, r, tc.s, nil); !errors.Is(err, ErrFalse) {
			t.Errorf("Prove(v=%d, %v) = %v, want ErrFalse", tc.v, tc.s, err)
		}
	}

	// An opening that does not match.
	c, r := committed(t, rnd, 100)
	if _, err := Prove(rnd, c, 101, r, AtLeast(0), nil); !errors.Is(err, commit.ErrMismatch) {
		t.Errorf("Prove with another value = %v, want commit.ErrMismatch", err)
	}
	_, r2 := committed(t, rnd, 100)
	if _, err := Prove(rnd, c, 100, r2, AtLeast(0), nil); !errors.Is(err, commit.ErrMismatch) {
		t.Errorf("Prove with another blinding = %v, want commit.ErrMismatch", err)
	}
	if _, err := Prove(rnd, c, 100, commit.Blinding{}, AtLeast(0), nil); !errors.Is(err, commit.ErrInvalid) {
		t.Errorf("Prove with a zero blinding = %v, want commit.ErrInvalid", err)
	}
	// A false statement is refused only once the opening is checked.
	if _, err := Prove(rnd, c, 99, r, AtLeast(100), nil); !errors.Is(err, commit.ErrMismatch) {
		t.Errorf("Prove with another value and a false statement = %v, want commit.ErrMismatch", err)
	}
	if _, err := Prove(rnd, c, 100, r, Between(2, 1), nil); !errors.Is(err, ErrInvalidStatement) {
		t.Errorf("Prove an invalid statement = %v, want ErrInvalidStatement", err)
	}
	// A failing randomness source.
	if _, err := Prove(bytes.NewReader(make([]byte, 100)), c, 100, r, AtLeast(0), nil); err == nil {
		t.Error("Prove with a short randomness source succeeded")
	}
	// nil randomness means crypto/rand.
	p, err := Prove(nil, c, 100, r, AtLeast(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(c, AtLeast(0), nil, p); err != nil {
		t.Fatal(err)
	}
}

// TestCheatingProver runs the prover on differences that are not the ones
// committed (as a cheating prover would, for a false statement): the
// proofs must not verify.
func TestCheatingProver(t *testing.T) {
	rnd := testRand("TestCheatingProver")
	for _, tc := range []struct {
		v     int64
		s     Statement
		claim []uint64 // the differences the cheat proves
	}{
		{9, AtLeast(10), []uint64{0}},              // v − t = −1, claimed 0
		{9, AtLeast(10), []uint64{span}},           // claimed 2^32 − 1
		{10 + span + 1, AtLeast(10), []uint64{0}},  // 2^32 truncated to 32 bits
		{11, AtMost(10), []uint64{0}},              // t − v = −1
		{5, AtLeast(4), []uint64{2}},               // true statement, wrong difference
		{8, Between(-3, 7), []uint64{11, 0}},       // upper bound false
		{-4, Between(-3, 7), []uint64{0, 10}},      // lower bound false
		{0, Between(-3, 7), []uint64{3, 7 + 1<<1}}, // wrong upper difference
	} {
		c, r := committed(t, rnd, tc.v)
		var gamma fr.Element
		if err := gamma.SetBytesCanonical(r[:]); err != nil {
			t.Fatal(err)
		}
		bs := tc.s.bounds()
		gammas := make([]fr.Element, len(bs))
		for j, b := range bs {
			gammas[j] = gamma
			if b.upper {
				gammas[j].Neg(&gamma)
			}
		}
		ctx := []byte("cheat")
		p, err := prove(rnd, newTranscript(c, tc.s, ctx), tc.claim, gammas)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(c, tc.s, ctx, p.marshal()); !errors.Is(err, ErrRejected) {
			t.Errorf("cheating proof of %v for v=%d: Verify = %v, want ErrRejected", tc.s, tc.v, err)
		}
	}
}

func TestVerifyBinding(t *testing.T) {
	rnd := testRand("TestVerifyBinding")
	const v = 1000
	ctx := []byte("certificate 7")
	c, r := committed(t, rnd, v)
	otherR, _ := committed(t, rnd, v)   // same value, other blinding
	otherV, _ := committed(t, rnd, v+1) // other value
	for _, s := range []Statement{AtLeast(900), AtMost(1100), Between(900, 1100)} {
		p, err := Prove(rnd, c, v, r, s, ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(c, s, ctx, p); err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		reject := func(what string, c commit.Commitment, s Statement, ctx []byte) {
			t.Helper()
			if err := Verify(c, s, ctx, p); err == nil {
				t.Errorf("proof of %v verifies with %s", s, what)
			}
		}
		reject("another commitment to the same value", otherR, s, ctx)
		reject("a commitment to another value", otherV, s, ctx)
		reject("another context", c, s, []byte("certificate 8"))
		reject("no context", c, s, nil)
		reject("a longer context", c, s, append(append([]byte(nil), ctx...), 0))
		other := s
		other.Min--
		if s.Kind != KindAtMost {
			reject("another minimum", c, other, ctx)
		}
		other = s
		other.Max++
		if s.Kind != KindAtLeast {
			reject("another maximum", c, other, ctx)
		}
		switch s.Kind {
		case KindAtLeast:
			reject("another kind", c, AtMost(900), ctx)
			reject("another kind", c, AtMost(1100), ctx)
			reject("another kind", c, Between(900, 1100), ctx)
		case KindAtMost:
			reject("another kind", c, AtLeast(1100), ctx)
			reject("another kind", c, AtLeast(900), ctx)
		case KindBetween:
			reject("another kind", c, AtLeast(900), ctx)
			reject("swapped bounds", c, Between(1100, 900), ctx)
		}
		reject("an invalid statement", c, Statement{Kind: s.Kind, Min: 1, Max: 0}, ctx)
		reject("an invalid commitment", commit.Commitment{}, s, ctx)
	}
}

// TestFlippedBits flips one bit of every byte of a proof in turn (bit i
// mod 8 of byte i); no result may verify.
func TestFlippedBits(t *testing.T) {
	if testing.Short() {
		t.Skip("about 1,800 verifications")
	}
	rnd := testRand("TestFlippedBits")
	for _, s := range []Statement{AtLeast(-20), Between(-20, 20)} {
		c, p := mustProve(t, rnd, 3, s, "flip")
		for i := range p {
			q := bytes.Clone(p)
			q[i] ^= 1 << (i % 8)
			if err := Verify(c, s, []byte("flip"), q); err == nil {
				t.Errorf("%v: proof with bit %d of byte %d flipped verifies", s, i%8, i)
			}
		}
	}
}

func TestLength(t *testing.T) {
	rnd := testRand("TestLength")
	s := AtLeast(0)
	c, p := mustProve(t, rnd, 1, s, "")
	for n := range len(p) {
		if err := Verify(c, s, nil, p[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("proof truncated to %d bytes: %v, want ErrMalformed", n, err)
		}
	}
	for _, extra := range [][]byte{{0}, {1}, make([]byte, 48), p} {
		if err := Verify(c, s, nil, append(bytes.Clone(p), extra...)); !errors.Is(err, ErrMalformed) {
			t.Errorf("proof extended by %d bytes: %v, want ErrMalformed", len(extra), err)
		}
	}
	// A one-sided proof is not a between proof, nor the reverse.
	if err := Verify(c, Between(0, 1), nil, p); !errors.Is(err, ErrMalformed) {
		t.Errorf("one-sided proof checked as between: %v, want ErrMalformed", err)
	}
	cb, pb := mustProve(t, rnd, 1, Between(0, 1), "")
	if err := Verify(cb, AtLeast(0), nil, pb); !errors.Is(err, ErrMalformed) {
		t.Errorf("between proof checked as one-sided: %v, want ErrMalformed", err)
	}
}

// offsets of the fields of a one-sided proof.
const (
	offA    = 1
	offTaux = 1 + 4*48
	offL1   = offTaux + 3*32
	offA2   = offL1 + 10*48 // the final scalar a
	offB2   = offA2 + 32
)

func TestNonCanonical(t *testing.T) {
	rnd := testRand("TestNonCanonical")
	s := AtMost(50)
	c, p := mustProve(t, rnd, 1, s, "nc")
	if offB2+32 != len(p) {
		t.Fatalf("offsets do not match a proof of %d bytes", len(p))
	}
	qBytes := fr.Modulus().FillBytes(make([]byte, 32))

	// Every scalar field: q, and its own value plus q when that fits.
	for _, off := range []int{offTaux, offTaux + 32, offTaux + 64, offA2, offB2} {
		q := bytes.Clone(p)
		copy(q[off:], qBytes)
		mustMalformed(t, c, s, q, "scalar = q at %d", off)
		var v big.Int
		v.SetBytes(p[off : off+32])
		v.Add(&v, fr.Modulus())
		if v.BitLen() <= 256 {
			q = bytes.Clone(p)
			v.FillBytes(q[off : off+32])
			mustMalformed(t, c, s, q, "scalar + q at %d", off)
		}
		q = bytes.Clone(p)
		copy(q[off:], bytes.Repeat([]byte{0xff}, 32))
		mustMalformed(t, c, s, q, "scalar 2^256−1 at %d", off)
	}

	notInSubgroup := pointOffSubgroup(t)
	var xTooBig [48]byte // x = p, not reduced, with the compressed flag
	fp.Modulus().FillBytes(xTooBig[:])
	xTooBig[0] |= 0x80
	notOnCurve := notOnCurvePoint(t)
	var inf [48]byte
	inf[0] = 0xc0
	for _, off := range []int{offA, offA + 48, offA + 96, offA + 144, offL1, offL1 + 48, offL1 + 9*48} {
		for name, enc := range map[string][]byte{
			"infinity":         inf[:],
			"not in subgroup":  notInSubgroup[:],
			"x not below p":    xTooBig[:],
			"not on the curve": notOnCurve[:],
		} {
			q := bytes.Clone(p)
			copy(q[off:], enc)
			mustMalformed(t, c, s, q, "%s at %d", name, off)
		}
		// Uncompressed flag cleared (the start of an uncompressed point).
		q := bytes.Clone(p)
		q[off] &^= 0x80
		mustMalformed(t, c, s, q, "compressed flag cleared at %d", off)
		// Infinity flag set on a point.
		q = bytes.Clone(p)
		q[off] |= 0x40
		mustMalformed(t, c, s, q, "infinity flag set at %d", off)
	}
	for _, v := range []byte{0, 2, 0xff} {
		q := bytes.Clone(p)
		q[0] = v
		mustMalformed(t, c, s, q, "version %d", v)
	}
	if err := Verify(c, s, []byte("nc"), p); err != nil {
		t.Fatalf("the unmodified proof does not verify: %v", err)
	}
}

func mustMalformed(t *testing.T, c commit.Commitment, s Statement, proof []byte, format string, args ...any) {
	t.Helper()
	if err := Verify(c, s, []byte("nc"), proof); !errors.Is(err, ErrMalformed) {
		t.Errorf("%s: Verify = %v, want ErrMalformed", sprintf(format, args...), err)
	}
}

// pointOffSubgroup returns the compressed encoding of a point on the curve
// y² = x³ + 4 that is not in the prime-order subgroup.
func pointOffSubgroup(t *testing.T) [48]byte {
	t.Helper()
	for x := uint64(1); x < 1000; x++ {
		var p bls12381.G1Affine
		p.X.SetUint64(x)
		var rhs, four fp.Element
		four.SetUint64(4)
		rhs.Square(&p.X).Mul(&rhs, &p.X).Add(&rhs, &four)
		if p.Y.Sqrt(&rhs) == nil {
			continue
		}
		if !p.IsOnCurve() || p.IsInSubGroup() {
			continue
		}
		return p.Bytes()
	}
	t.Fatal("no point outside the subgroup found")
	return [48]byte{}
}

// notOnCurvePoint returns a compressed encoding whose x has no y on the
// curve.
func notOnCurvePoint(t *testing.T) [48]byte {
	t.Helper()
	for x := uint64(1); x < 1000; x++ {
		var rhs, four, xe, y fp.Element
		xe.SetUint64(x)
		four.SetUint64(4)
		rhs.Square(&xe).Mul(&rhs, &xe).Add(&rhs, &four)
		if y.Sqrt(&rhs) != nil {
			continue
		}
		var b [48]byte
		xb := xe.Bytes()
		copy(b[:], xb[:])
		b[0] |= 0x80
		return b
	}
	t.Fatal("no x off the curve found")
	return [48]byte{}
}
