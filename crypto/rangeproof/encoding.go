package rangeproof

import (
	"errors"
	"fmt"

	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"
)

// Version is the first byte of every proof in the format of the package
// documentation.
const Version = 0x01

const (
	pointSize  = bls12381.SizeOfG1AffineCompressed // 48
	scalarSize = fr.Bytes                          // 32
)

// ErrMalformed means a proof is not a well-formed encoding for its
// statement: a wrong version or length, a scalar not below q, or bytes
// that are not the canonical compressed encoding of a point of G1 other
// than the point at infinity.
var ErrMalformed = errors.New("rangeproof: malformed proof")

// proof is a decoded Bulletproofs range proof of m·Bits bits.
type proof struct {
	A, S, T1, T2   bls12381.G1Affine
	taux, mu, that fr.Element
	L, R           []bls12381.G1Affine // one each per inner-product round
	a, b           fr.Element
}

// rounds returns log2(m·Bits), the number of inner-product rounds for m
// ranges (m is 1 or 2).
func rounds(m int) int {
	k := 0
	for n := m * Bits; n > 1; n >>= 1 {
		k++
	}
	return k
}

// ProofSize returns the length in bytes of a proof of a valid statement:
// 833 for atLeast and atMost, 929 for between.
func ProofSize(s Statement) int {
	return proofSize(len(s.bounds()))
}

func proofSize(m int) int {
	if m == 0 {
		return 0
	}
	return 1 + 4*pointSize + 3*scalarSize + 2*rounds(m)*pointSize + 2*scalarSize
}

// marshal encodes p in the format of the package documentation.
func (p *proof) marshal() []byte {
	out := make([]byte, 0, 1+(4+2*len(p.L))*pointSize+5*scalarSize)
	out = append(out, Version)
	for _, q := range []*bls12381.G1Affine{&p.A, &p.S, &p.T1, &p.T2} {
		b := q.Bytes()
		out = append(out, b[:]...)
	}
	for _, s := range []*fr.Element{&p.taux, &p.mu, &p.that} {
		b := s.Bytes()
		out = append(out, b[:]...)
	}
	for k := range p.L {
		l, r := p.L[k].Bytes(), p.R[k].Bytes()
		out = append(out, l[:]...)
		out = append(out, r[:]...)
	}
	for _, s := range []*fr.Element{&p.a, &p.b} {
		b := s.Bytes()
		out = append(out, b[:]...)
	}
	return out
}

// parseProof decodes a proof of m ranges, rejecting every non-canonical
// encoding.
func parseProof(b []byte, m int) (*proof, error) {
	if want := proofSize(m); len(b) != want {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMalformed, len(b), want)
	}
	if b[0] != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrMalformed, b[0], Version)
	}
	r := reader{b: b[1:]}
	p := &proof{}
	names := []string{"A", "S", "T1", "T2"}
	for i, q := range []*bls12381.G1Affine{&p.A, &p.S, &p.T1, &p.T2} {
		if err := r.point(q, names[i]); err != nil {
			return nil, err
		}
	}
	names = []string{"tau_x", "mu", "t"}
	for i, s := range []*fr.Element{&p.taux, &p.mu, &p.that} {
		if err := r.scalar(s, names[i]); err != nil {
			return nil, err
		}
	}
	k := rounds(m)
	p.L = make([]bls12381.G1Affine, k)
	p.R = make([]bls12381.G1Affine, k)
	for i := range k {
		if err := r.point(&p.L[i], fmt.Sprintf("L%d", i+1)); err != nil {
			return nil, err
		}
		if err := r.point(&p.R[i], fmt.Sprintf("R%d", i+1)); err != nil {
			return nil, err
		}
	}
	if err := r.scalar(&p.a, "a"); err != nil {
		return nil, err
	}
	if err := r.scalar(&p.b, "b"); err != nil {
		return nil, err
	}
	if len(r.b) != 0 { // unreachable after the length check; kept for safety
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(r.b))
	}
	return p, nil
}

type reader struct{ b []byte }

// point reads a canonical compressed point of the prime-order subgroup of
// G1, not the point at infinity.
func (r *reader) point(p *bls12381.G1Affine, name string) error {
	if len(r.b) < pointSize {
		return fmt.Errorf("%w: too short for %s", ErrMalformed, name)
	}
	enc := r.b[:pointSize]
	r.b = r.b[pointSize:]
	if enc[0]&0x80 == 0 {
		return fmt.Errorf("%w: %s is not a compressed point", ErrMalformed, name)
	}
	if enc[0]&0x40 != 0 {
		return fmt.Errorf("%w: %s is the point at infinity", ErrMalformed, name)
	}
	// SetBytes checks that x < p, that the point is on the curve and that
	// it is in the prime-order subgroup.
	if _, err := p.SetBytes(enc); err != nil {
		return fmt.Errorf("%w: %s is not a point of G1", ErrMalformed, name)
	}
	if p.IsInfinity() {
		return fmt.Errorf("%w: %s is the point at infinity", ErrMalformed, name)
	}
	if c := p.Bytes(); string(c[:]) != string(enc) {
		return fmt.Errorf("%w: %s is not canonically encoded", ErrMalformed, name)
	}
	return nil
}

// scalar reads a 32-byte big-endian scalar below q.
func (r *reader) scalar(s *fr.Element, name string) error {
	if len(r.b) < scalarSize {
		return fmt.Errorf("%w: too short for %s", ErrMalformed, name)
	}
	enc := r.b[:scalarSize]
	r.b = r.b[scalarSize:]
	if err := s.SetBytesCanonical(enc); err != nil {
		return fmt.Errorf("%w: %s is not below the group order", ErrMalformed, name)
	}
	return nil
}
