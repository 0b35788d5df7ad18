package rangeproof

import (
	"strconv"
	"sync"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

// Domain separation of the generators (see the package documentation).
const (
	// commitHMessage and commitHDST are crypto/commit's derivation of H,
	// repeated here; a test checks that they give the same point.
	commitHMessage = "govhub/commit/v1/H"
	commitHDST     = "GOVHUB-COMMIT-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"

	generatorDST    = "GOVHUB-RANGEPROOF-V1_BLS12381G1_XMD:SHA-256_SSWU_RO_"
	generatorPrefix = "govhub/rangeproof/v1/"
)

// maxValues is the largest number of ranges in one proof (a Between
// statement), maxN the length of the generator vectors.
const (
	maxValues = 2
	maxN      = maxValues * Bits
)

// generatorSet holds every fixed point the proofs use.
type generatorSet struct {
	g, h   bls12381.G1Affine // crypto/commit's G (value) and H (blinding)
	gs, hs []bls12381.G1Affine
	u      bls12381.G1Affine // the inner-product point
}

var generators = sync.OnceValue(func() *generatorSet {
	_, _, g, _ := bls12381.Generators()
	s := &generatorSet{
		g:  g,
		h:  hashToG1(commitHMessage, commitHDST),
		gs: make([]bls12381.G1Affine, maxN),
		hs: make([]bls12381.G1Affine, maxN),
		u:  hashToG1(generatorPrefix+"u", generatorDST),
	}
	for i := range maxN {
		s.gs[i] = hashToG1(generatorPrefix+"g/"+strconv.Itoa(i), generatorDST)
		s.hs[i] = hashToG1(generatorPrefix+"h/"+strconv.Itoa(i), generatorDST)
	}
	return s
})

// hashToG1 is RFC 9380 hash_to_curve with BLS12381G1_XMD:SHA-256_SSWU_RO_.
func hashToG1(msg, dst string) bls12381.G1Affine {
	p, err := bls12381.HashToG1([]byte(msg), []byte(dst))
	if err != nil {
		// Only possible for a domain tag longer than 255 bytes.
		panic("rangeproof: deriving generators: " + err.Error())
	}
	return p
}
