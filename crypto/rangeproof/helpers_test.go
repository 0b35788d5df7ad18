package rangeproof

import (
	"encoding/hex"
	"fmt"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
)

func hexPoint(p *bls12381.G1Affine) string {
	b := p.Bytes()
	return hex.EncodeToString(b[:])
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
