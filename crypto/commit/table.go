package commit

import (
	"sync"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Fixed-base scalar multiplication.
//
// A scalar s < q < 2²⁵⁵ is recoded into numWindows signed digits
// d_i ∈ [-2^(w-1)+1, 2^(w-1)] with s = Σ d_i·2^(w·i), and s·B is the sum of
// the precomputed points d_i·(2^(w·i)·B): numWindows mixed additions and no
// doublings. For each window the table holds the affine points
// j·2^(w·i)·B for j = 1 … 2^(w-1); negative digits use the negated point.
//
// With w = 8 that is 32 windows of 128 points (384 KiB per base), so a
// commitment costs 64 mixed additions and one inversion, against two
// 255-bit variable-base multiplications without tables.
//
// The lookups are indexed by digits of the (secret) value and blinding, so
// like gnark-crypto's own scalar multiplication this code is not
// constant-time.
const (
	windowBits = 8
	numWindows = (fr.Bits + windowBits - 1) / windowBits
	windowSize = 1 << (windowBits - 1)
	windowMask = 1<<windowBits - 1
)

// The top window holds fr.Bits-windowBits·(numWindows-1) bits of a canonical
// scalar; it must be at most windowBits-1 so that the top digit plus a carry
// stays within windowSize and the recoding never needs an extra window.
const _ = uint(windowBits - 1 - (fr.Bits - windowBits*(numWindows-1)))

// baseTable holds j·2^(windowBits·i)·B at [i][j-1] for one base B.
type baseTable [numWindows][windowSize]bls12381.G1Affine

// generators are the fixed bases G and H and their tables. They are computed
// once, on first use, and never change.
type generators struct {
	g, h           bls12381.G1Affine
	gTable, hTable *baseTable
}

var fixedGenerators = sync.OnceValue(func() *generators {
	_, _, g, _ := bls12381.Generators()
	h := hashGenerator()
	return &generators{g: g, h: h, gTable: newBaseTable(&g), hTable: newBaseTable(&h)}
})

// hashGenerator derives H from its documented domain tag.
func hashGenerator() bls12381.G1Affine {
	h, err := bls12381.HashToG1([]byte(generatorHMessage), []byte(generatorHDST))
	if err != nil {
		// Only possible for a domain tag longer than 255 bytes.
		panic("commit: deriving H: " + err.Error())
	}
	return h
}

// newBaseTable precomputes the fixed-base table for b.
func newBaseTable(b *bls12381.G1Affine) *baseTable {
	jac := make([]bls12381.G1Jac, numWindows*windowSize)
	var base bls12381.G1Affine // 2^(windowBits·i)·b
	base.Set(b)
	for i := range numWindows {
		row := jac[i*windowSize : (i+1)*windowSize]
		row[0].FromAffine(&base)
		for j := 1; j < windowSize; j++ {
			row[j].Set(&row[j-1]).AddMixed(&base)
		}
		// 2^(windowBits·(i+1))·b = 2·(windowSize·2^(windowBits·i)·b).
		var next bls12381.G1Jac
		next.Double(&row[windowSize-1])
		base.FromJacobian(&next)
	}
	aff := bls12381.BatchJacobianToAffineG1(jac)
	t := new(baseTable)
	for i := range numWindows {
		copy(t[i][:], aff[i*windowSize:(i+1)*windowSize])
	}
	return t
}

// mulAdd sets acc to acc + s·B, where B is t's base.
func (t *baseTable) mulAdd(acc *bls12381.G1Jac, s *fr.Element) {
	limbs := s.Bits() // canonical form, little-endian 64-bit limbs
	carry := uint64(0)
	for i := range numWindows {
		d := window(&limbs, i) + carry
		if d > windowSize {
			// The digit is d - 2^windowBits ≤ 0: subtract and carry one.
			if m := 1<<windowBits - d; m != 0 {
				var neg bls12381.G1Affine
				neg.Neg(&t[i][m-1])
				acc.AddMixed(&neg)
			}
			carry = 1
			continue
		}
		carry = 0
		if d != 0 {
			acc.AddMixed(&t[i][d-1])
		}
	}
}

// window returns bits [windowBits·i, windowBits·(i+1)) of the 256-bit
// little-endian integer limbs.
func window(limbs *[4]uint64, i int) uint64 {
	pos := windowBits * i
	limb, shift := pos/64, pos%64
	v := limbs[limb] >> shift
	if shift+windowBits > 64 && limb+1 < len(limbs) {
		v |= limbs[limb+1] << (64 - shift)
	}
	return v & windowMask
}

// infinity returns the point at infinity in Jacobian coordinates.
func infinity() bls12381.G1Jac {
	var p bls12381.G1Jac
	p.X.SetOne()
	p.Y.SetOne()
	return p
}
