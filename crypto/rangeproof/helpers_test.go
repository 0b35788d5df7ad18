package rangeproof

import (
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
	"math/big"

	"crypto/sha512"
	"encoding/hex"
	"fmt"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

func hexPoint(p *bls12381.G1Affine) string {
	b := p.Bytes()
	return hex.EncodeToString(b[:])
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func sha512Sum(b []byte) [64]byte { return sha512.Sum512(b) }

// fold returns x·lo[i] + y·hi[i] for each i.
func fold(lo, hi []bls12381.G1Affine, x, y *fr.Element) []bls12381.G1Affine {
	bx, by := x.BigInt(new(big.Int)), y.BigInt(new(big.Int))
	out := make([]bls12381.G1Jac, len(lo))
	for i := range lo {
		var t bls12381.G1Jac
		out[i].FromAffine(&lo[i])
		out[i].ScalarMultiplication(&out[i], bx)
		t.FromAffine(&hi[i])
		t.ScalarMultiplication(&t, by)
		out[i].AddAssign(&t)
	}
	return bls12381.BatchJacobianToAffineG1(out)
}
