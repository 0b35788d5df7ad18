package rangeproof

import (
	"errors"
	"fmt"

	"github.com/consensys/gnark-crypto/ecc"
	bls12381 "github.com/consensys/gnark-crypto/ecc/bls12-381"
	"github.com/consensys/gnark-crypto/ecc/bls12-381/fr"

	"github.com/govhub/govhub/crypto/commit"
)

// ErrRejected means a well-formed proof does not prove the statement about
// the commitment with the context given.
var ErrRejected = errors.New("rangeproof: the proof does not verify")

// Verify checks that proof proves s about the integer committed in c,
// with the same context as given to [Prove]. It returns nil if the proof
// verifies, and otherwise an error wrapping [ErrInvalidStatement] (s is
// malformed), [commit.ErrInvalid] (c is not a valid commitment),
// [ErrMalformed] (the proof is not a canonical encoding for s) or
// [ErrRejected] (the proof is well formed but does not verify). It never
// panics, whatever its input.
func Verify(c commit.Commitment, s Statement, context []byte, proof []byte) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if _, err := commit.ParseCommitmentBytes(c[:]); err != nil {
		return fmt.Errorf("rangeproof: verifying: %w", err)
	}
	var cPoint bls12381.G1Affine
	if _, err := cPoint.SetBytes(c[:]); err != nil {
		return fmt.Errorf("rangeproof: verifying: commitment: %w", commit.ErrInvalid)
	}
	bs := s.bounds()
	m := len(bs)
	p, err := parseProof(proof, m)
	if err != nil {
		return err
	}
	if !verify(newTranscript(c, s, context), &cPoint, bs, p) {
		return ErrRejected
	}
	return nil
}

// verify replays the transcript and checks both Bulletproofs equations at
// once, as a single multi-scalar multiplication that must be the point at
// infinity (see the package documentation).
func verify(tr *transcript, cPoint *bls12381.G1Affine, bs []bound, p *proof) bool {
	gens := generators()
	m := len(bs)
	n := m * Bits
	k := len(p.L)

	tr.appendPoint("A", &p.A)
	tr.appendPoint("S", &p.S)
	y := tr.challenge("y")
	z := tr.challenge("z")
	tr.appendPoint("T1", &p.T1)
	tr.appendPoint("T2", &p.T2)
	x := tr.challenge("x")
	tr.appendScalar("tau_x", &p.taux)
	tr.appendScalar("mu", &p.mu)
	tr.appendScalar("t", &p.that)
	w := tr.challenge("w")
	u := make([]fr.Element, k)
	for i := range k {
		tr.appendPoint("L", &p.L[i])
		tr.appendPoint("R", &p.R[i])
		u[i] = tr.challenge("u")
	}
	tr.appendScalar("a", &p.a)
	tr.appendScalar("b", &p.b)
	c := tr.challenge("batch")

	// Inverses of the non-zero challenges y and u_1 … u_k, in one batch.
	inv := fr.BatchInvert(append([]fr.Element{y}, u...))
	yInv, uInv := inv[0], inv[1:]

	points := make([]bls12381.G1Affine, 0, 2*n+10+2*k)
	scalars := make([]fr.Element, 0, cap(points))

	// s_i = Π_r u_r^(±1): +1 when bit k−1−r of i is set (round r splits
	// the vectors on that bit), −1 otherwise; sInv_i its inverse.
	s := make([]fr.Element, n)
	sInv := make([]fr.Element, n)
	for i := range n {
		s[i].SetOne()
		sInv[i].SetOne()
		for r := range k {
			if i>>(k-1-r)&1 == 1 {
				s[i].Mul(&s[i], &u[r])
				sInv[i].Mul(&sInv[i], &uInv[r])
			} else {
				s[i].Mul(&s[i], &uInv[r])
				sInv[i].Mul(&sInv[i], &u[r])
			}
		}
	}

	// g_i: −z − a·s_i.
	var t, t2 fr.Element
	for i := range n {
		var e fr.Element
		e.Mul(&p.a, &s[i])
		e.Add(&e, &z)
		e.Neg(&e)
		scalars = append(scalars, e)
	}
	points = append(points, gens.gs[:n]...)

	// h_i: z + (z^(2+j)·2^(i mod Bits) − b·sInv_i)·y^(−i), i in value j.
	zPow := powers(&z, m+3)
	var two fr.Element
	two.SetUint64(2)
	var yInvPow fr.Element
	yInvPow.SetOne()
	for j := range m {
		var pow2 fr.Element
		pow2.Set(&zPow[2+j])
		for i := range Bits {
			idx := j*Bits + i
			var e fr.Element
			t.Mul(&p.b, &sInv[idx])
			e.Sub(&pow2, &t)
			e.Mul(&e, &yInvPow)
			e.Add(&e, &z)
			scalars = append(scalars, e)
			pow2.Mul(&pow2, &two)
			yInvPow.Mul(&yInvPow, &yInv)
		}
	}
	points = append(points, gens.hs[:n]...)

	// delta = (z − z²)·Σ_{i<n} y^i − Σ_j z^(3+j)·(2^Bits − 1).
	var sumY, yPow, delta fr.Element
	yPow.SetOne()
	for range n {
		sumY.Add(&sumY, &yPow)
		yPow.Mul(&yPow, &y)
	}
	delta.Sub(&z, &zPow[2])
	delta.Mul(&delta, &sumY)
	var ones fr.Element
	ones.SetUint64(1<<Bits - 1)
	for j := range m {
		t.Mul(&zPow[2+j], &z)
		t.Mul(&t, &ones)
		delta.Sub(&delta, &t)
	}

	// V_j = σ_j·(C − t_j·G), σ_j = +1 for a lower bound, −1 for an upper
	// bound: C gets c·Σ σ_j z^(2+j) and G gets −c·Σ σ_j z^(2+j) t_j.
	var cCoef, gFromV fr.Element
	for j, b := range bs {
		var tj fr.Element
		tj.SetInt64(b.t)
		e := zPow[2+j]
		if b.upper {
			e.Neg(&e)
		}
		cCoef.Add(&cCoef, &e)
		tj.Mul(&tj, &e)
		gFromV.Add(&gFromV, &tj)
	}
	cCoef.Mul(&cCoef, &c)

	// G: c·(delta − t − Σ σ_j z^(2+j) t_j).
	var gCoef fr.Element
	gCoef.Sub(&delta, &p.that)
	gCoef.Sub(&gCoef, &gFromV)
	gCoef.Mul(&gCoef, &c)
	// H: −mu − c·tau_x.
	var hCoef fr.Element
	hCoef.Mul(&c, &p.taux)
	hCoef.Add(&hCoef, &p.mu)
	hCoef.Neg(&hCoef)
	// u: (t − a·b)·w.
	var uCoef fr.Element
	uCoef.Mul(&p.a, &p.b)
	uCoef.Sub(&p.that, &uCoef)
	uCoef.Mul(&uCoef, &w)
	// T1: c·x, T2: c·x², S: x, A: 1.
	var t1Coef, t2Coef fr.Element
	t1Coef.Mul(&c, &x)
	t2Coef.Mul(&t1Coef, &x)
	one := fr.One()
	points = append(points, gens.g, gens.h, gens.u, *cPoint, p.A, p.S, p.T1, p.T2)
	scalars = append(scalars, gCoef, hCoef, uCoef, cCoef, one, x, t1Coef, t2Coef)
	// L_r: u_r², R_r: u_r^(−2).
	for r := range k {
		t.Square(&u[r])
		t2.Square(&uInv[r])
		points = append(points, p.L[r], p.R[r])
		scalars = append(scalars, t, t2)
	}

	var res bls12381.G1Jac
	if _, err := res.MultiExp(points, scalars, ecc.MultiExpConfig{}); err != nil {
		return false
	}
	return res.Z.IsZero()
}
