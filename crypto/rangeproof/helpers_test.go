package rangeproof

import (
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
